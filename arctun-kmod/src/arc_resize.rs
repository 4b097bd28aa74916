//! OS-8638's `ZFS_IOC_ARC` (`arc_dynamic_resize()`, which `zfscache(8)`
//! calls) as one of this module's writes: free of the kernel.
//!
//! SmartOS's `arc.c` assigns `arc_c_min`, `arc_c_max` and what derives from
//! them directly. Here the ioctl becomes one validated write of the
//! `zfs_arc_min` and `zfs_arc_max` tunables together, all or nothing,
//! under the module's own rules (the headroom rule included), with the
//! refusals `zfscache(8)` knows kept in `arc_dynamic_resize()`'s order:
//!
//! | errno | when | checked |
//! |---|---|---|
//! | `EINVAL` | a minimum below 64 MiB | before the lock, as there |
//! | `ERANGE` | a minimum above a maximum, both given | before the lock, as there |
//! | `EAGAIN` | `ARCTUN_RESIZE_NOWAIT` and the module's mutex is held | taking the lock |
//! | `ERANGE` | the minimum above the maximum, a limit given as 0 counting with the value in force | under the lock |
//! | `ENOMEM` | a maximum at or above `allmem` | under the lock |
//! | `EINVAL`, `ERANGE`, `EBUSY` | the module's own validation: a limit `arc_init()` would ignore (64 MiB or less), a minimum above the maximum it leaves, a minimum that live headroom reservations leave no room for (`c_min` plus what is reserved above the ceiling with nothing reserved) | the write itself |
//!
//! A limit given as 0 is kept: its tunable is not written, so a default
//! stays a default and follows the host's memory as `arc_init()`'s does
//! (OS-8638 pinned the value in force instead; the ERANGE check above
//! makes the outcome the same). `ARCTUN_RESIZE_DEFAULTS` writes both
//! tunables to 0, their defaults. The reply's limits are the published
//! ones, c_max being the effective ceiling that `arcstats` shows.

use illumos_ddi::c_int;
use zfs_tunables::arc_limits::names;
use zfs_tunables::{ArcTunables, Platform, MIB};

use crate::KmodError;

/// `ARCTUN_RESIZE_READ`.
pub const RESIZE_READ: c_int = 0;
/// `ARCTUN_RESIZE_WRITE`.
pub const RESIZE_WRITE: c_int = 1;
/// `ARCTUN_RESIZE_DEFAULTS`.
pub const RESIZE_DEFAULTS: c_int = 2;
/// `ARCTUN_RESIZE_NOWAIT`, or'd into a write.
pub const RESIZE_NOWAIT: c_int = 0x100;

/// The smallest minimum `arc_dynamic_resize()` accepts.
pub const MIN_C_MIN: u64 = 64 * MIB;

/// What a resize replies: the values in force and `arc_init()`'s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResizeReply {
    /// `c_min` in force.
    pub c_min: u64,
    /// The effective ceiling.
    pub c_max: u64,
    /// `arc_init()`'s default `c_min`.
    pub default_c_min: u64,
    /// `arc_init()`'s default `c_max`.
    pub default_c_max: u64,
    /// `arc_init()`'s `allmem`.
    pub allmem: u64,
}

/// The values in force, read without the lock.
pub fn reply<P: Platform>(arc: &ArcTunables<P>) -> ResizeReply {
    let now = arc.limits();
    let d = arc.default_limits();
    ResizeReply {
        c_min: now.c_min.0,
        c_max: now.c_max.0,
        default_c_min: d.c_min.0,
        default_c_max: d.c_max.0,
        allmem: d.allmem.0,
    }
}

/// Runs `cmd` with the requested minimum and maximum (0 keeps).
pub fn resize<P: Platform>(
    arc: &ArcTunables<P>,
    cmd: c_int,
    c_min: u64,
    c_max: u64,
) -> Result<(), KmodError> {
    let wait = cmd & RESIZE_NOWAIT == 0;
    match cmd & !RESIZE_NOWAIT {
        RESIZE_READ => Ok(()),
        RESIZE_DEFAULTS => arc.set_many_checked(
            &[(names::ZFS_ARC_MIN, 0), (names::ZFS_ARC_MAX, 0)],
            wait,
            |_| Ok::<(), KmodError>(()),
        ),
        RESIZE_WRITE => write(arc, wait, c_min, c_max),
        _ => Err(KmodError::ResizeBadCommand { cmd }),
    }
}

fn write<P: Platform>(
    arc: &ArcTunables<P>,
    wait: bool,
    c_min: u64,
    c_max: u64,
) -> Result<(), KmodError> {
    if c_min != 0 && c_min < MIN_C_MIN {
        return Err(KmodError::ResizeMinTooSmall { c_min });
    }
    if c_min != 0 && c_max != 0 && c_min > c_max {
        return Err(KmodError::ResizeMinAboveMax { c_min, c_max });
    }
    let both = [(names::ZFS_ARC_MIN, c_min), (names::ZFS_ARC_MAX, c_max)];
    let mut writes = [("", 0u64); 2];
    let mut n = 0usize;
    for w in both.iter().filter(|(_, v)| *v != 0) {
        if let Some(slot) = writes.get_mut(n) {
            *slot = *w;
            n = n.saturating_add(1);
        }
    }
    let writes = writes.get(..n).unwrap_or(&[]);
    arc.set_many_checked(writes, wait, |l| {
        let min = if c_min != 0 { c_min } else { l.c_min.0 };
        let max = if c_max != 0 { c_max } else { l.c_max.0 };
        if min > max {
            return Err(KmodError::ResizeMinAboveMax {
                c_min: min,
                c_max: max,
            });
        }
        if c_max != 0 && c_max >= l.allmem.0 {
            return Err(KmodError::ResizeMaxTooLarge {
                c_max,
                allmem: l.allmem.0,
            });
        }
        Ok(())
    })
}
