//! The ioctl commands of the vmm driver that reach this client: one
//! function per command, taking the command's raw arguments as the
//! handler has copied them in and returning an illumos errno on failure.
//!
//! | command               | device   | handler in `vmm_sol_dev.c`          | here                     |
//! |-----------------------|----------|-------------------------------------|--------------------------|
//! | `VMM_CREATE_VM`       | ctl      | `vmmdev_do_vm_create()`             | [`vmm_create_vm`]        |
//! | `VMM_DESTROY_VM`      | ctl      | `vmmdev_do_vm_destroy()`            | [`vmm_destroy_vm`]       |
//! | `VM_ALLOC_MEMSEG`     | instance | `vmmdev_alloc_memseg()` → `vm_alloc_memseg()` | [`vm_alloc_memseg`]: [`memseg_reserve`], [`memseg_wait`] (or [`memseg_poll`]), [`memseg_commit`], [`memseg_release`] |
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

use crate::client::{
    AllocProgress, Claimed, Creation, DestroyOutcome, MayAllocate, Polled, Ready, Reserved,
    VmmArcClient,
};
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
/// bytes, the driver's steps in order ([`memseg_reserve`],
/// [`memseg_wait`], the allocation of the whole segment through `alloc`
/// and [`memseg_commit`], [`memseg_release`] after a failure): reserves
/// the segment's pages plus their overhead, waits for the ARC to free
/// them (up to the client's limit), claims them, allocates them and
/// commits; any failure rolls the segment back. `EINVAL` (bad segment
/// id, zero length, segment exists with another size), `EEXIST` (segment
/// exists as asked), `EOVERFLOW`, `ENOENT` (no such instance, or
/// destroyed meanwhile), `EBUSY`, `ENOMEM` (no headroom now, or the
/// allocator's: bhyve retries), `ENOSPC` (never on this host: bhyve
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
    let c = memseg_reserve(client, instance, i64::from(segid), len, sysmem).map_err(ioctl_errno)?;
    let c = memseg_wait(client, c)
        .map_err(|(c, e)| ioctl_errno(memseg_release(client, c, alloc, e)))?;
    memseg_commit(client, c, alloc).map_err(ioctl_errno)
}

/// `VM_ALLOC_MEMSEG`'s create in flight between the driver's calls, in
/// the state its last step left it: [`Reserved`] after
/// [`memseg_reserve`] or a failed wait, [`Ready`] after a failed claim,
/// [`Claimed`] after [`memseg_wait`] or [`memseg_poll`].
#[must_use = "a create must end in memseg_commit() or memseg_release()"]
#[derive(Debug)]
pub enum MemsegCreate {
    /// Reserved; waiting for headroom, or its wait failed.
    Reserved(Creation<Reserved>),
    /// Headroom found; its claim failed.
    Ready(Creation<Ready>),
    /// Claimed: the driver is taking the segment's pages.
    Claimed(Creation<Claimed>),
}

/// What one [`memseg_poll`] found.
#[must_use = "a create must end in memseg_commit() or memseg_release()"]
#[derive(Debug)]
pub enum MemsegPolled {
    /// Not yet: poll again later.
    Waiting(Creation<Reserved>),
    /// Headroom found and claimed: the driver takes the segment's pages.
    Claimed(Creation<Claimed>),
}

/// A step of `VM_ALLOC_MEMSEG` that failed: the create, to be released
/// with [`memseg_release`], and why.
pub type MemsegFailed = (MemsegCreate, VmmError);

/// Step 1 of `VM_ALLOC_MEMSEG` (`arctun_vmm_reserve()`): segment `segid`
/// of `len` bytes of `instance` is sized and reserved. Refusals are
/// immediate and leave nothing reserved, only their counter: `EINVAL`
/// (bad segment id, zero length, segment exists with another size),
/// `EEXIST`, `EOVERFLOW`, `ENOENT`, `EBUSY`, `ENOMEM` (no headroom now),
/// and "never fits" (`ENOSPC` at the boundary).
pub fn memseg_reserve<P, A, L>(
    client: &VmmArcClient<P, A, L>,
    instance: InstanceId,
    segid: i64,
    len: u64,
    sysmem: bool,
) -> Result<Creation<Reserved>, VmmError>
where
    P: Platform,
    A: Deref<Target = ArcTunables<P>>,
    L: TableLock,
{
    let segid = SegmentId::new(segid).inspect_err(|&e| client.count_failure(e))?;
    let seg = MemSegRequest {
        segid,
        len: Bytes(len),
        sysmem,
    };
    client.begin_alloc_memseg(instance, seg)
}

/// Claims a create whose headroom was found.
fn memseg_claim<P, A, L>(
    client: &VmmArcClient<P, A, L>,
    c: Creation<Ready>,
) -> Result<Creation<Claimed>, MemsegFailed>
where
    P: Platform,
    A: Deref<Target = ArcTunables<P>>,
    L: TableLock,
{
    client
        .claim_headroom(c)
        .map_err(|f| (MemsegCreate::Ready(f.creation), f.error))
}

/// Step 2 of `VM_ALLOC_MEMSEG` (`arctun_vmm_wait()`): sleeps until free
/// memory covers the segment plus `lotsfree + desfree`, then claims it,
/// because the driver takes `freemem` for the whole segment next
/// (`page_create_va()`) and zeroes it for seconds before step 3: out of
/// the headroom term, so the ARC does not free it a second time, but
/// still counted by younger waiters until it is recorded. `ETIME`,
/// `EINTR`, `ENOENT` (destroyed meanwhile).
pub fn memseg_wait<P, A, L>(
    client: &VmmArcClient<P, A, L>,
    c: Creation<Reserved>,
) -> Result<Creation<Claimed>, MemsegFailed>
where
    P: Platform,
    A: Deref<Target = ArcTunables<P>>,
    L: TableLock,
{
    let ready = client
        .wait_headroom(c)
        .map_err(|f| (MemsegCreate::Reserved(f.creation), f.error))?;
    memseg_claim(client, ready)
}

/// Step 2 without sleeping, for a caller in discrete time (the
/// simulator): one check of the headroom, and the claim of
/// [`memseg_wait`] once it is there.
pub fn memseg_poll<P, A, L>(
    client: &VmmArcClient<P, A, L>,
    c: Creation<Reserved>,
) -> Result<MemsegPolled, MemsegFailed>
where
    P: Platform,
    A: Deref<Target = ArcTunables<P>>,
    L: TableLock,
{
    match client.poll_headroom(c) {
        Ok(Polled::Waiting(c)) => Ok(MemsegPolled::Waiting(c)),
        Ok(Polled::Ready(c)) => memseg_claim(client, c).map(MemsegPolled::Claimed),
        Err(f) => Err((MemsegCreate::Reserved(f.creation), f.error)),
    }
}

/// Step 3 of `VM_ALLOC_MEMSEG` (`arctun_vmm_mark_allocated()`): the
/// segment's pages are taken whole, through `alloc` (which, for a driver
/// that took them itself, as `vm_object_allocate()` does, only records
/// them), then marked allocated and committed. On a failure the segment
/// is rolled back (freed through `alloc`, its reservation released) and
/// the error returned: `ENOENT` if the instance was destroyed meanwhile,
/// the allocator's errno.
pub fn memseg_commit<P, A, L, S>(
    client: &VmmArcClient<P, A, L>,
    mut c: Creation<S>,
    alloc: &mut impl SegmentAllocator,
) -> Result<(), VmmError>
where
    P: Platform,
    A: Deref<Target = ArcTunables<P>>,
    L: TableLock,
    S: MayAllocate,
{
    loop {
        match client.allocate_chunk(&mut c, alloc, Bytes(u64::MAX)) {
            Ok(AllocProgress::More) => {}
            Ok(AllocProgress::Done) => break,
            Err(e) => return Err(client.abort(c, alloc, e)),
        }
    }
    client.finish(c, alloc).map(|_| ())
}

/// Step 4 of `VM_ALLOC_MEMSEG` (`arctun_vmm_release()`), after any
/// failure: frees through `alloc` what was recorded of the segment,
/// releases its reservation, counts `err` under its cause and returns it.
pub fn memseg_release<P, A, L>(
    client: &VmmArcClient<P, A, L>,
    c: MemsegCreate,
    alloc: &mut impl SegmentAllocator,
    err: VmmError,
) -> VmmError
where
    P: Platform,
    A: Deref<Target = ArcTunables<P>>,
    L: TableLock,
{
    match c {
        MemsegCreate::Reserved(c) => client.abort(c, alloc, err),
        MemsegCreate::Ready(c) => client.abort(c, alloc, err),
        MemsegCreate::Claimed(c) => client.abort(c, alloc, err),
    }
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
