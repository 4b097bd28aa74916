//! The one error type of the kernel module, with its exhaustive errno
//! mapping.

use core::fmt;

use illumos_ddi as errno;
use kstat_export::ExportError;
use vmm_client::VmmError;
use zfs_tunables::TunableError;

/// Everything an entry point can refuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KmodError {
    /// `arctun_mod_init()` has not run, or `arctun_mod_fini()` has.
    NotInitialized,
    /// `arctun_mod_init()` ran already.
    AlreadyInitialized,
    /// A required pointer argument was NULL.
    NullPointer,
    /// An ops vector of a version this module does not speak.
    UnsupportedVersion {
        /// The version the caller passed.
        version: u32,
    },
    /// A client is already registered in this role.
    AlreadyRegistered,
    /// The client (vmm) is not registered.
    NotRegistered,
    /// More tunable variables than `ARCTUN_MAX_VARS`.
    TooManyVariables,
    /// A variable's name is not valid UTF-8 or is not NUL-terminated
    /// within the significant length of a tunable name.
    BadVariableName,
    /// A variable is listed twice.
    DuplicateVariable,
    /// A variable is not 8-byte aligned (it could not be read atomically).
    MisalignedVariable,
    /// A variable names a tunable that can only be set at boot, which has
    /// no runtime value to keep in step.
    NotRuntimeTunable,
    /// A headroom owner's module or name is empty, too long, or not of
    /// `[a-z0-9_]`.
    BadOwnerName,
    /// A headroom owner of this module and name is registered already.
    OwnerExists,
    /// `ARCTUN_MAX_OWNERS` headroom owners are registered.
    OwnersFull,
    /// No headroom owner has this id.
    UnknownOwner,
    /// The owner holds headroom or has a growth in flight, so it cannot
    /// be unregistered (or grown again, for a growth in flight).
    OwnerBusy,
    /// An owner's buffer holds no growth in flight (never filled, already
    /// consumed, or not this owner's).
    NoGrowth,
    /// A shrink of more than the owner's committed headroom.
    ShrinkExceedsCommitted {
        /// Bytes the owner tried to give back.
        requested: u64,
        /// Bytes it holds.
        committed: u64,
    },
    /// A reservation that could never fit on this host, whatever else is
    /// reserved (the core's `NeverFits`): `ENOSPC` at an owner's
    /// boundary, as for a guest, so that the caller does not retry.
    NeverFits(TunableError),
    /// OS-8638's `ZFS_IOC_ARC`: a new minimum below 64 MiB.
    ResizeMinTooSmall {
        /// The refused minimum.
        c_min: u64,
    },
    /// OS-8638's `ZFS_IOC_ARC`: a minimum above the maximum, where a limit
    /// given as 0 counts with the value in force.
    ResizeMinAboveMax {
        /// The minimum that would be in force.
        c_min: u64,
        /// The maximum that would be in force.
        c_max: u64,
    },
    /// OS-8638's `ZFS_IOC_ARC`: a maximum at or above `allmem`.
    ResizeMaxTooLarge {
        /// The refused maximum.
        c_max: u64,
        /// `allmem`.
        allmem: u64,
    },
    /// OS-8638's `ZFS_IOC_ARC`: a command this module does not know.
    ResizeBadCommand {
        /// The command.
        cmd: i32,
    },
    /// The core refused.
    Tunable(TunableError),
    /// kstat-export refused.
    Export(ExportError),
    /// vmm-client refused.
    Vmm(VmmError),
}

impl KmodError {
    /// The illumos errno for this error (`uts/common/sys/errno.h`, through
    /// the bindings; the crate root asserts they equal zfs-tunables' own).
    #[must_use]
    pub const fn to_errno(self) -> i32 {
        match self {
            KmodError::NotInitialized => errno::ENXIO,
            KmodError::AlreadyInitialized => errno::EBUSY,
            KmodError::NullPointer => errno::EINVAL,
            KmodError::UnsupportedVersion { .. } => errno::ENOTSUP,
            KmodError::AlreadyRegistered => errno::EBUSY,
            KmodError::NotRegistered => errno::ENXIO,
            KmodError::TooManyVariables => errno::EINVAL,
            KmodError::BadVariableName => errno::EINVAL,
            KmodError::DuplicateVariable => errno::EINVAL,
            KmodError::MisalignedVariable => errno::EINVAL,
            KmodError::NotRuntimeTunable => errno::EINVAL,
            KmodError::BadOwnerName => errno::EINVAL,
            KmodError::OwnerExists => errno::EEXIST,
            KmodError::OwnersFull => errno::ENOSPC,
            KmodError::UnknownOwner => errno::ENOENT,
            KmodError::OwnerBusy => errno::EBUSY,
            KmodError::NoGrowth => errno::EINVAL,
            KmodError::ShrinkExceedsCommitted { .. } => errno::EINVAL,
            KmodError::NeverFits(_) => errno::ENOSPC,
            KmodError::ResizeMinTooSmall { .. } => errno::EINVAL,
            KmodError::ResizeMinAboveMax { .. } => errno::ERANGE,
            KmodError::ResizeMaxTooLarge { .. } => errno::ENOMEM,
            KmodError::ResizeBadCommand { .. } => errno::EINVAL,
            KmodError::Tunable(e) => e.to_errno(),
            KmodError::Export(e) => e.to_errno(),
            KmodError::Vmm(e) => e.to_errno(),
        }
    }
}

impl From<TunableError> for KmodError {
    fn from(e: TunableError) -> Self {
        KmodError::Tunable(e)
    }
}

impl fmt::Display for KmodError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KmodError::NotInitialized => write!(f, "the module is not initialized"),
            KmodError::AlreadyInitialized => write!(f, "the module is already initialized"),
            KmodError::NullPointer => write!(f, "a required pointer is NULL"),
            KmodError::UnsupportedVersion { version } => {
                write!(f, "ops version {version} is not supported")
            }
            KmodError::AlreadyRegistered => write!(f, "a client is already registered"),
            KmodError::NotRegistered => write!(f, "the client is not registered"),
            KmodError::TooManyVariables => write!(f, "too many tunable variables"),
            KmodError::BadVariableName => write!(f, "a tunable variable's name is malformed"),
            KmodError::DuplicateVariable => write!(f, "a tunable variable is listed twice"),
            KmodError::MisalignedVariable => write!(f, "a tunable variable is misaligned"),
            KmodError::NotRuntimeTunable => {
                write!(f, "a tunable variable names a boot-only tunable")
            }
            KmodError::BadOwnerName => write!(
                f,
                "a headroom owner's module (1 to 30 characters) and name (1 to 15) \
                 must be of [a-z0-9_]"
            ),
            KmodError::OwnerExists => write!(f, "the headroom owner is registered already"),
            KmodError::OwnersFull => write!(f, "the headroom owner table is full"),
            KmodError::UnknownOwner => write!(f, "no such headroom owner"),
            KmodError::OwnerBusy => write!(
                f,
                "the headroom owner holds headroom or has a growth in flight"
            ),
            KmodError::NoGrowth => write!(f, "the buffer holds no growth in flight"),
            KmodError::ShrinkExceedsCommitted {
                requested,
                committed,
            } => write!(
                f,
                "cannot give back {requested} bytes of headroom: the owner holds {committed}"
            ),
            KmodError::NeverFits(e) => write!(f, "{e}"),
            KmodError::ResizeMinTooSmall { c_min } => {
                write!(f, "a minimum ARC size of {c_min} bytes is below 64 MiB")
            }
            KmodError::ResizeMinAboveMax { c_min, c_max } => write!(
                f,
                "a minimum ARC size of {c_min} bytes is above the maximum of {c_max}"
            ),
            KmodError::ResizeMaxTooLarge { c_max, allmem } => write!(
                f,
                "a maximum ARC size of {c_max} bytes is not below allmem ({allmem} bytes)"
            ),
            KmodError::ResizeBadCommand { cmd } => write!(f, "unknown ARC resize command {cmd}"),
            KmodError::Tunable(e) => write!(f, "{e}"),
            KmodError::Export(e) => write!(f, "{e}"),
            KmodError::Vmm(e) => write!(f, "{e}"),
        }
    }
}
