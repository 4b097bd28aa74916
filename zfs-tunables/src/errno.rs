//! The illumos errno values this component returns.
//!
//! These are the numbers of `uts/common/sys/errno.h`, not the host's: the
//! component's errors travel to illumos callers (ioctl handlers, kstat
//! writes), and the userland test build must return the same numbers the
//! kernel would. Each crate's error enum maps onto these constants.

/// Not super-user.
pub const EPERM: i32 = 1;
/// No such file or directory (an unknown name or handle).
pub const ENOENT: i32 = 2;
/// Interrupted system call.
pub const EINTR: i32 = 4;
/// I/O error.
pub const EIO: i32 = 5;
/// Resource temporarily unavailable.
pub const EAGAIN: i32 = 11;
/// Not enough core.
pub const ENOMEM: i32 = 12;
/// Permission denied.
pub const EACCES: i32 = 13;
/// Bad address.
pub const EFAULT: i32 = 14;
/// Device busy.
pub const EBUSY: i32 = 16;
/// File exists.
pub const EEXIST: i32 = 17;
/// Invalid argument.
pub const EINVAL: i32 = 22;
/// No space left on device.
pub const ENOSPC: i32 = 28;
/// Math result not representable.
pub const ERANGE: i32 = 34;
/// Operation not supported.
pub const ENOTSUP: i32 = 48;
/// Timer expired.
pub const ETIME: i32 = 62;
/// Path name is too long.
pub const ENAMETOOLONG: i32 = 78;
/// Value too large to be stored in data type.
pub const EOVERFLOW: i32 = 79;
/// Operation already in progress.
pub const EALREADY: i32 = 149;

/// The symbolic name of an illumos errno value, for messages.
#[must_use]
pub const fn name(errno: i32) -> &'static str {
    match errno {
        0 => "0",
        EPERM => "EPERM",
        ENOENT => "ENOENT",
        EINTR => "EINTR",
        EIO => "EIO",
        EAGAIN => "EAGAIN",
        ENOMEM => "ENOMEM",
        EACCES => "EACCES",
        EFAULT => "EFAULT",
        EBUSY => "EBUSY",
        EEXIST => "EEXIST",
        EINVAL => "EINVAL",
        ENOSPC => "ENOSPC",
        ERANGE => "ERANGE",
        ENOTSUP => "ENOTSUP",
        ETIME => "ETIME",
        ENAMETOOLONG => "ENAMETOOLONG",
        EOVERFLOW => "EOVERFLOW",
        EALREADY => "EALREADY",
        _ => "E?",
    }
}
