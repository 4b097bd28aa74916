//! The ioctl commands of the vmm driver that reach this client: one
//! function per command, taking the command's raw arguments as the
//! handler has copied them in and returning an illumos errno on failure.
//!
//! | command               | device   | handler in `vmm_sol_dev.c`          | here                     |
//! |-----------------------|----------|-------------------------------------|--------------------------|
//! | `VMM_CREATE_VM`       | ctl      | `vmmdev_do_vm_create()`             | [`vmm_create_vm`]        |
//! | `VMM_DESTROY_VM`      | ctl      | `vmmdev_do_vm_destroy()`            | [`vmm_destroy_vm`]       |
//! | `VM_ALLOC_MEMSEG`     | instance | `vmmdev_alloc_memseg()` → `vm_alloc_memseg()` | [`vm_alloc_memseg`] |
//! | `VM_DESTROY_SELF`     | instance | `vmm_destroy_locked()`              | [`vm_destroy_self`]      |
//! | `VM_SET_AUTODESTRUCT` | instance | sets `VMM_AUTODESTROY`              | [`vm_set_autodestruct`]  |
//!
//! The driver keeps its own checks (privilege, zone, `vm_alloc_memseg()`'s
//! page alignment); these functions check their arguments again, fully,
//! so they are safe to call with anything. Lengths are rounded up to
//! whole pages here rather than refused, so a length that overflows when
//! rounded is `EOVERFLOW`. The entry points that are not ioctls (device
//! open and close, vmm_drv holds, a zone's shutdown) are methods of
//! [`VmmArcClient`]: [`device_opened`](VmmArcClient::device_opened),
//! [`device_closed`](VmmArcClient::device_closed),
//! [`hold`](VmmArcClient::hold), [`release_hold`](VmmArcClient::release_hold),
//! [`destroy`](VmmArcClient::destroy).
//!
//! # The errno at the boundary
//!
//! Every function here, and every other caller that answers an ioctl
//! (the kernel module's entry points), turns a [`VmmError`] into the
//! ioctl's errno with [`ioctl_errno`], and only with it. It is the
//! client's own errno ([`VmmError::to_errno`]) with one exception: a
//! reservation that can never fit on this host is `ENOSPC` at the
//! boundary, though the client calls it `ENOMEM` like one that does not
//! fit now. The reason is bhyve's loop around `vm_setup_memory()`
//! (`bhyverun.c`), which the project does not change: it prints "Unable to
//! allocate memory (N), retrying in 1 second" and tries again once a
//! second for as long as the error is `ENOMEM`, and on any other error
//! prints "Unable to setup memory (N)" and exits. Retrying is right for a
//! guest that does not fit *now* (another guest's destroy makes room) and
//! an endless loop for one that can *never* fit; `ENOSPC` is also what the
//! illumos vmm reservoir answers for a request above its limit.

use core::ops::Deref;

use zfs_tunables::{errno, ArcTunables, Bytes, Platform, TunableError};

use crate::client::{DestroyOutcome, VmmArcClient};
use crate::error::VmmError;
use crate::instance_table::{InstanceId, VM_MAX_NAMELEN};
use crate::segment_allocator::SegmentAllocator;
use crate::sizing::{MemSegRequest, SegmentId};
use crate::table_lock::TableLock;

/// The errno an ioctl of the vmm driver returns for `e` (see the module
/// documentation): [`VmmError::to_errno`], except `ENOSPC` for a
/// reservation that can never fit on this host, so that bhyve, which
/// retries `ENOMEM` once a second, gives up on it instead of retrying
/// forever. `ENOMEM` at the boundary therefore always means "not now":
/// no headroom next to the live reservations, no memory the host can give
/// now without paging, or the allocator's own
/// failure. `ETIME`, `EINTR` and every other errno pass through, and
/// bhyve exits on them.
#[must_use]
pub const fn ioctl_errno(e: VmmError) -> i32 {
    match e {
        VmmError::Arc(TunableError::NeverFits { .. }) => errno::ENOSPC,
        e => e.to_errno(),
    }
}

/// The name in a request's `char name[]` buffer: the bytes before the
/// first NUL, which must come within `VM_MAX_NAMELEN` bytes (as
/// `strnlen(name, VM_MAX_NAMELEN) < VM_MAX_NAMELEN` in the driver); a
/// buffer shorter than that without a NUL is taken whole. `EINVAL` for a
/// name that is empty or too long.
pub fn request_name(buf: &[u8]) -> Result<&[u8], VmmError> {
    let window = buf.get(..VM_MAX_NAMELEN).unwrap_or(buf);
    let name = match window.iter().position(|&b| b == 0) {
        Some(n) => window.get(..n).ok_or(VmmError::BadName)?,
        None if buf.len() < VM_MAX_NAMELEN => buf,
        None => return Err(VmmError::BadName),
    };
    if name.is_empty() {
        return Err(VmmError::BadName);
    }
    Ok(name)
}

/// `VMM_CREATE_VM`: a new instance called by the name in `name_buf`, with
/// no memory yet. `EINVAL` (bad name), `EEXIST` (the name is taken),
/// `ENOSPC` (the table is full).
pub fn vmm_create_vm<P, A, L>(
    client: &VmmArcClient<P, A, L>,
    name_buf: &[u8],
) -> Result<InstanceId, i32>
where
    P: Platform,
    A: Deref<Target = ArcTunables<P>>,
    L: TableLock,
{
    let name = request_name(name_buf).map_err(|e| {
        client.count_failure(e);
        ioctl_errno(e)
    })?;
    client.create_instance(name).map_err(ioctl_errno)
}

/// `VMM_DESTROY_VM`: destroys the instance called by the name in
/// `name_buf`. `EINVAL` (bad name), `ENOENT` (no such instance, or its
/// destruction already began).
pub fn vmm_destroy_vm<P, A, L>(
    client: &VmmArcClient<P, A, L>,
    name_buf: &[u8],
) -> Result<DestroyOutcome, i32>
where
    P: Platform,
    A: Deref<Target = ArcTunables<P>>,
    L: TableLock,
{
    let name = request_name(name_buf).map_err(ioctl_errno)?;
    client.destroy_by_name(name).map_err(ioctl_errno)
}

/// `VM_ALLOC_MEMSEG` on `instance`'s device: segment `segid` of `len`
/// bytes. Reserves the segment's pages plus their overhead, waits for the
/// ARC to free them (up to the client's limit), allocates them through
/// `alloc` and commits; any failure rolls the segment back. `EINVAL`
/// (bad segment id, zero length, segment exists with another size),
/// `EEXIST` (segment exists as asked), `EOVERFLOW`, `ENOENT` (no such
/// instance, or destroyed meanwhile), `EBUSY`, `ENOMEM` (no headroom now,
/// or the allocator's: bhyve retries), `ENOSPC` (never on this host: bhyve
/// exits), `ETIME`, `EINTR` ([`ioctl_errno`]).
pub fn vm_alloc_memseg<P, A, L>(
    client: &VmmArcClient<P, A, L>,
    instance: InstanceId,
    segid: i32,
    len: u64,
    sysmem: bool,
    alloc: &mut impl SegmentAllocator,
) -> Result<(), i32>
where
    P: Platform,
    A: Deref<Target = ArcTunables<P>>,
    L: TableLock,
{
    let segid = SegmentId::new(i64::from(segid)).map_err(|e| {
        client.count_failure(e);
        ioctl_errno(e)
    })?;
    let seg = MemSegRequest {
        segid,
        len: Bytes(len),
        sysmem,
    };
    client
        .alloc_memseg(instance, seg, alloc)
        .map_err(ioctl_errno)
}

/// `VM_DESTROY_SELF` on `instance`'s device. The device is open while the
/// ioctl runs, so destruction finishes when it is closed: the outcome is
/// normally [`DestroyOutcome::Deferred`]. `ENOENT` for an unknown
/// instance.
pub fn vm_destroy_self<P, A, L>(
    client: &VmmArcClient<P, A, L>,
    instance: InstanceId,
) -> Result<DestroyOutcome, i32>
where
    P: Platform,
    A: Deref<Target = ArcTunables<P>>,
    L: TableLock,
{
    client.destroy(instance).map_err(ioctl_errno)
}

/// `VM_SET_AUTODESTRUCT` on `instance`'s device: a non-zero `arg` makes
/// the last close destroy the instance. `ENOENT` for an unknown instance.
pub fn vm_set_autodestruct<P, A, L>(
    client: &VmmArcClient<P, A, L>,
    instance: InstanceId,
    arg: u64,
) -> Result<(), i32>
where
    P: Platform,
    A: Deref<Target = ArcTunables<P>>,
    L: TableLock,
{
    client
        .set_autodestruct(instance, arg != 0)
        .map_err(ioctl_errno)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zfs_tunables::errno::{EINTR, EINVAL, ENOMEM, ENOSPC, ETIME};

    /// Every error the client can return, one of each variant (and of each
    /// core error a create can meet).
    fn every_error() -> Vec<VmmError> {
        let core = [
            TunableError::UnknownTunable,
            TunableError::OutOfBounds {
                name: "x",
                value: 1,
                min: 2,
                max: 3,
            },
            TunableError::MinAboveMax {
                name: "x",
                value: 2,
                min: 2,
                max: 1,
            },
            TunableError::ConflictsWithReservations {
                name: "x",
                value: 1,
                reserved: Bytes(1),
            },
            TunableError::BootOnly { name: "x" },
            TunableError::WouldBlock,
            TunableError::BadName,
            TunableError::NameTooLong { name: "x" },
            TunableError::Duplicate,
            TunableError::Full,
            TunableError::NoHeadroom {
                requested: Bytes(2),
                available: Bytes(1),
            },
            TunableError::NeverFits {
                requested: Bytes(2),
                host_limit: Bytes(1),
            },
            TunableError::ShortOfMemory {
                requested: Bytes(2),
                available: Bytes(1),
                margin: Bytes(1),
            },
            TunableError::ZeroSize,
            TunableError::Overflow,
            TunableError::UnknownReservation,
            TunableError::ExceedsPending {
                requested: Bytes(2),
                pending: Bytes(1),
            },
            TunableError::Released,
            TunableError::TimedOut,
            TunableError::Interrupted,
        ];
        let mut v: Vec<VmmError> = core.into_iter().map(VmmError::Arc).collect();
        v.extend([
            VmmError::TableFull,
            VmmError::DuplicateName,
            VmmError::UnknownInstance,
            VmmError::Destroyed,
            VmmError::Busy,
            VmmError::BadName,
            VmmError::BadSegment { segid: 9 },
            VmmError::SegmentExists { segid: 1 },
            VmmError::SegmentConflict { segid: 1 },
            VmmError::ZeroSize,
            VmmError::Overflow,
            VmmError::AllocFailed { errno: 0 },
            VmmError::AllocFailed { errno: ENOMEM },
            VmmError::AllocFailed { errno: 5 },
            VmmError::OutOfOrder,
        ]);
        v
    }

    /// Does not compile when a variant is added to either enum: add it to
    /// [`every_error`] too.
    fn _every_error_is_listed(e: VmmError) {
        match e {
            VmmError::Arc(
                TunableError::UnknownTunable
                | TunableError::OutOfBounds { .. }
                | TunableError::MinAboveMax { .. }
                | TunableError::ConflictsWithReservations { .. }
                | TunableError::BootOnly { .. }
                | TunableError::WouldBlock
                | TunableError::BadName
                | TunableError::NameTooLong { .. }
                | TunableError::Duplicate
                | TunableError::Full
                | TunableError::NoHeadroom { .. }
                | TunableError::NeverFits { .. }
                | TunableError::ShortOfMemory { .. }
                | TunableError::ZeroSize
                | TunableError::Overflow
                | TunableError::UnknownReservation
                | TunableError::ExceedsPending { .. }
                | TunableError::Released
                | TunableError::TimedOut
                | TunableError::Interrupted,
            )
            | VmmError::TableFull
            | VmmError::DuplicateName
            | VmmError::UnknownInstance
            | VmmError::Destroyed
            | VmmError::Busy
            | VmmError::BadName
            | VmmError::BadSegment { .. }
            | VmmError::SegmentExists { .. }
            | VmmError::SegmentConflict { .. }
            | VmmError::ZeroSize
            | VmmError::Overflow
            | VmmError::AllocFailed { .. }
            | VmmError::OutOfOrder => {}
        }
    }

    #[test]
    fn a_reservation_that_can_never_fit_is_enospc_at_the_boundary() {
        let never = VmmError::Arc(TunableError::NeverFits {
            requested: Bytes(2),
            host_limit: Bytes(1),
        });
        // The client says ENOMEM (issue 3); the ioctl says ENOSPC, on
        // which bhyve exits instead of retrying.
        assert_eq!(never.to_errno(), ENOMEM);
        assert_eq!(ioctl_errno(never), ENOSPC);
        // Not now: ENOMEM, which bhyve retries once a second.
        let now = VmmError::Arc(TunableError::NoHeadroom {
            requested: Bytes(2),
            available: Bytes(1),
        });
        assert_eq!(ioctl_errno(now), ENOMEM);
        assert_eq!(ioctl_errno(VmmError::AllocFailed { errno: 0 }), ENOMEM);
        // The wait's failures end bhyve with their own errno.
        assert_eq!(ioctl_errno(VmmError::Arc(TunableError::TimedOut)), ETIME);
        assert_eq!(ioctl_errno(VmmError::Arc(TunableError::Interrupted)), EINTR);
    }

    #[test]
    fn every_other_error_keeps_the_clients_errno() {
        let errors = every_error();
        assert_eq!(errors.len(), 35);
        for e in errors {
            let want = match e {
                VmmError::Arc(TunableError::NeverFits { .. }) => ENOSPC,
                e => e.to_errno(),
            };
            assert_eq!(ioctl_errno(e), want, "{e:?}");
            assert!(ioctl_errno(e) > 0, "{e:?}");
        }
        // Only "never fits" among the ENOMEMs of the client changes: at
        // the boundary ENOMEM is always worth bhyve's retry (no headroom
        // next to the live reservations, no memory the host can give now,
        // or the allocator's own failure).
        let enomem_at_boundary: Vec<VmmError> = every_error()
            .into_iter()
            .filter(|&e| ioctl_errno(e) == ENOMEM)
            .collect();
        assert_eq!(
            enomem_at_boundary,
            [
                VmmError::Arc(TunableError::NoHeadroom {
                    requested: Bytes(2),
                    available: Bytes(1),
                }),
                VmmError::Arc(TunableError::ShortOfMemory {
                    requested: Bytes(2),
                    available: Bytes(1),
                    margin: Bytes(1),
                }),
                VmmError::AllocFailed { errno: 0 },
                VmmError::AllocFailed { errno: ENOMEM },
            ]
        );
    }

    #[test]
    fn names_come_from_nul_terminated_buffers() {
        assert_eq!(request_name(b"vm0\0junk").unwrap(), b"vm0");
        assert_eq!(request_name(b"vm0").unwrap(), b"vm0");
        assert_eq!(request_name(b"\0vm0").unwrap_err().to_errno(), EINVAL);
        assert_eq!(request_name(b"").unwrap_err().to_errno(), EINVAL);
        // 228 bytes and a NUL: the longest name.
        let mut buf = [b'a'; 256];
        buf[228] = 0;
        assert_eq!(request_name(&buf).unwrap().len(), 228);
        // No NUL within VM_MAX_NAMELEN bytes: too long.
        buf[228] = b'a';
        buf[229] = 0;
        assert_eq!(request_name(&buf).unwrap_err().to_errno(), EINVAL);
        assert_eq!(request_name(&[b'a'; 229]).unwrap_err().to_errno(), EINVAL);
    }
}
