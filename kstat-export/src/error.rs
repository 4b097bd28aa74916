//! The one error type of the crate, with its exhaustive errno mapping.

use core::fmt;

use illumos_ddi as errno;
use zfs_tunables::TunableError;

use crate::kstat_data_type::KstatDataType;

/// Everything that can go wrong in this crate.
///
/// [`to_errno`](ExportError::to_errno) is exhaustive: a new variant
/// without an errno does not compile. A refusal from the core travels
/// inside [`ExportError::Refused`] with its own errno, so a kstat write
/// of an out-of-bounds value returns `EINVAL`, a minimum above a maximum
/// `ERANGE`, and a conflict with live reservations `EBUSY`, exactly as a
/// direct call into `zfs-tunables` would.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportError {
    /// The caller lacks `sys_config` privilege (`secpolicy_sys_config`).
    NotPrivileged,
    /// The kstat is marked `KSTAT_FLAG_INVALID`.
    KstatInvalid,
    /// A write to a kstat without `KSTAT_FLAG_WRITABLE`, or whose update
    /// callback does not take writes.
    NotWritable,
    /// The caller's buffer does not have the kstat's `ks_ndata` entries.
    NdataMismatch {
        /// The kstat's `ks_ndata` after its read update.
        expected: usize,
        /// Entries in the caller's buffer.
        got: usize,
    },
    /// An entry of the caller's buffer changes a statistic's data type.
    TypeMismatch {
        /// The entry's index.
        index: usize,
        /// The statistic's data type.
        expected: KstatDataType,
        /// The data type in the caller's buffer.
        got: KstatDataType,
    },
    /// An entry of the caller's buffer names another statistic than the
    /// kstat has at that index (the kernel's driver does not check names;
    /// the update callback does, because the names arrive in `ks_data`).
    NameMismatch {
        /// The entry's index.
        index: usize,
    },
    /// A module, name, class or statistic name that is empty, longer than
    /// 30 characters, or contains a NUL.
    BadName,
    /// No kstat with this module, instance and name.
    NoSuchKstat,
    /// The kstat has no statistic with this name.
    NoSuchStatistic,
    /// A buffer too small for the kstat's entries.
    BufferTooSmall {
        /// Entries needed.
        needed: usize,
        /// Entries available.
        capacity: usize,
    },
    /// The core refused the values (its errno passes through).
    Refused(TunableError),
    /// No raw variable or tunable has this name.
    UnknownVariable,
    /// The tunable exists but is not runtime-adjustable, so it has no raw
    /// variable and no place in `zfs:0:tunables`.
    NotDynamic {
        /// The tunable's name.
        name: &'static str,
    },
    /// A raw variable with this name is already bound.
    AlreadyBound {
        /// The variable's name.
        name: &'static str,
    },
    /// A fixed-capacity table is full.
    Full,
}

impl ExportError {
    /// The illumos errno for this error.
    #[must_use]
    pub const fn to_errno(self) -> i32 {
        match self {
            ExportError::NotPrivileged => errno::EPERM,
            ExportError::KstatInvalid => errno::EAGAIN,
            ExportError::NotWritable => errno::EACCES,
            ExportError::NdataMismatch { .. } => errno::EINVAL,
            ExportError::TypeMismatch { .. } => errno::EINVAL,
            ExportError::NameMismatch { .. } => errno::EINVAL,
            ExportError::BadName => errno::EINVAL,
            ExportError::NoSuchKstat => errno::ENOENT,
            ExportError::NoSuchStatistic => errno::ENOENT,
            ExportError::BufferTooSmall { .. } => errno::ENOSPC,
            ExportError::Refused(e) => e.to_errno(),
            ExportError::UnknownVariable => errno::ENOENT,
            ExportError::NotDynamic { .. } => errno::ENOTSUP,
            ExportError::AlreadyBound { .. } => errno::EEXIST,
            ExportError::Full => errno::ENOSPC,
        }
    }
}

impl From<TunableError> for ExportError {
    fn from(e: TunableError) -> Self {
        ExportError::Refused(e)
    }
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ExportError::NotPrivileged => write!(f, "not privileged (sys_config)"),
            ExportError::KstatInvalid => write!(f, "the kstat is not valid yet"),
            ExportError::NotWritable => write!(f, "the kstat is not writable"),
            ExportError::NdataMismatch { expected, got } => {
                write!(f, "the buffer has {got} entries; the kstat has {expected}")
            }
            ExportError::TypeMismatch {
                index,
                expected,
                got,
            } => write!(
                f,
                "entry {index} has data type {}; the statistic's is {}",
                got.0, expected.0
            ),
            ExportError::NameMismatch { index } => {
                write!(f, "entry {index} does not name the kstat's statistic")
            }
            ExportError::BadName => {
                write!(f, "a kstat name must have 1 to 30 characters and no NUL")
            }
            ExportError::NoSuchKstat => write!(f, "no such kstat"),
            ExportError::NoSuchStatistic => write!(f, "no such statistic"),
            ExportError::BufferTooSmall { needed, capacity } => {
                write!(f, "{needed} entries do not fit in a buffer of {capacity}")
            }
            ExportError::Refused(e) => write!(f, "{e}"),
            ExportError::UnknownVariable => write!(f, "no such tunable variable"),
            ExportError::NotDynamic { name } => {
                write!(f, "{name} cannot change at runtime (set it in /etc/system)")
            }
            ExportError::AlreadyBound { name } => {
                write!(f, "{name} already has a raw variable")
            }
            ExportError::Full => write!(f, "the fixed-capacity table is full"),
        }
    }
}
