//! A failed kstat operation as one sentence.
//!
//! For a refused write of `zfs:0:tunables` the sentence is the kernel's
//! own, from [`crate::host_model::replay`] (or, for a value outside a
//! tunable's fixed bounds, from its descriptor); otherwise it says what
//! the errno means for this write, naming the values written. Either way
//! it ends by saying that nothing was changed, because the kernel applies
//! a kstat write whole or not at all.

use zfs_tunables::errno;

use crate::backend::{
    Backend, BackendError, KstatCall, KstatRef, ARCSTATS, ARC_RESV, ENXIO, TUNABLES,
};
use crate::host_model::{replay, static_refusal, Figures};

pub use crate::backend::errno_name;

/// `name=value, ...`.
fn listed(writes: &[(&str, u64)]) -> String {
    writes
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What `errno` from a write of `writes` means, when the kernel's own
/// sentence cannot be rebuilt.
fn generic(e: i32, ks: KstatRef, writes: &[(&str, u64)], reserved: Option<u64>) -> String {
    let w = listed(writes);
    match e {
        errno::EINVAL => format!("{w}: a value is out of bounds on this host"),
        errno::ERANGE => format!("{w}: would put a minimum above its maximum"),
        errno::EBUSY => match reserved {
            Some(r) => format!(
                "{w}: would leave the ARC less than its minimum next to the {r} bytes of \
                 headroom running guests hold"
            ),
            None => format!("{w}: conflicts with the headroom running guests hold"),
        },
        errno::EPERM => {
            format!("writing {ks} needs the sys_config privilege (root in the global zone)")
        }
        errno::EACCES => format!(
            "permission denied: {ks} is not writable, or the caller lacks the sys_config \
             privilege (root in the global zone)"
        ),
        errno::EAGAIN => format!("{ks} is not ready yet (its module is loading); try again"),
        ENXIO => format!("{ks} went away (its module was unloaded)"),
        errno::EOVERFLOW => format!("{w}: the sizes derived from it overflow 64 bits"),
        _ => format!("{w}: refused"),
    }
}

/// Why a kstat is missing.
fn missing(ks: KstatRef) -> String {
    if ks == ARC_RESV {
        format!("{ks} does not exist: vmm is not loaded")
    } else if ks == ARCSTATS {
        format!("{ks} does not exist: ZFS is not loaded")
    } else if ks.module == "zfs" {
        format!(
            "{ks} does not exist: this kernel has no misc/arctun (a kernel without the patches, \
             or ZFS not loaded)"
        )
    } else {
        format!("{ks} does not exist")
    }
}

/// The sentence for `err`, from an operation on `ks` that wrote `writes`
/// (empty for a read). `backend` is read again (nothing was changed) to
/// rebuild the kernel's reason.
pub fn message(
    err: &BackendError,
    ks: KstatRef,
    writes: &[(&str, u64)],
    backend: &mut dyn Backend,
) -> String {
    match *err {
        BackendError::Errno {
            call: KstatCall::Lookup,
            errno: errno::ENOENT,
        } => missing(ks),
        BackendError::Errno {
            call: KstatCall::Write,
            errno: e,
        } => {
            let why = if ks == TUNABLES && matches!(e, errno::EINVAL | errno::ERANGE | errno::EBUSY)
            {
                let figures = Figures::read(backend).ok();
                let kernel = figures
                    .as_ref()
                    .and_then(|f| replay(f, writes, e))
                    .or_else(|| static_refusal(writes).filter(|r| r.to_errno() == e));
                match kernel {
                    Some(r) => r.to_string(),
                    None => generic(e, ks, writes, figures.map(|f| f.reserved)),
                }
            } else {
                generic(e, ks, writes, None)
            };
            format!(
                "{ks}: write refused ({}): {why}; nothing was changed",
                errno_name(e)
            )
        }
        BackendError::Errno { call, errno: e } => {
            format!("{ks}: {} failed: {}", call.name(), errno_name(e))
        }
        BackendError::NoSuchStatistic(ref s) => format!("{ks} has no statistic {s}"),
        BackendError::NotUint64(ref s) => {
            format!("{ks}:{s} is not a KSTAT_DATA_UINT64 statistic")
        }
        BackendError::NotNamed => format!("{ks} is not a named kstat"),
        BackendError::Simulation(ref s) => format!("simulated host: {s}"),
    }
}
