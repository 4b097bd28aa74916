//! The illumos errno values this component returns.
//!
//! These are the numbers of `uts/common/sys/errno.h`, not the host's: the
//! component's errors travel to illumos callers (ioctl handlers, kstat
//! writes), and the userland test build must return the same numbers the
//! kernel would. They are `illumos-ddi`'s, re-exported: that crate's
//! feature-less layer transcribes the header once for every crate, so
//! there is no second copy to reconcile. Each crate's error enum maps onto
//! these constants.

pub use illumos_ddi::{
    EACCES, EAGAIN, EALREADY, EBUSY, EEXIST, EFAULT, EINTR, EINVAL, EIO, ENAMETOOLONG, ENOENT,
    ENOMEM, ENOSPC, ENOTSUP, ENXIO, EOVERFLOW, EPERM, ERANGE, ETIME,
};

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
        ENXIO => "ENXIO",
        EOVERFLOW => "EOVERFLOW",
        EALREADY => "EALREADY",
        _ => "E?",
    }
}
