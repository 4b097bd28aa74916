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
            KmodError::Tunable(e) => write!(f, "{e}"),
            KmodError::Export(e) => write!(f, "{e}"),
            KmodError::Vmm(e) => write!(f, "{e}"),
        }
    }
}
