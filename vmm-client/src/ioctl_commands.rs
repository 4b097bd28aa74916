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

use core::ops::Deref;

use zfs_tunables::{ArcTunables, Bytes, Platform};

use crate::client::{DestroyOutcome, VmmArcClient};
use crate::error::VmmError;
use crate::instance_table::{InstanceId, VM_MAX_NAMELEN};
use crate::segment_allocator::SegmentAllocator;
use crate::sizing::{MemSegRequest, SegmentId};
use crate::table_lock::TableLock;

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
        e.to_errno()
    })?;
    client.create_instance(name).map_err(VmmError::to_errno)
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
    let name = request_name(name_buf).map_err(VmmError::to_errno)?;
    client.destroy_by_name(name).map_err(VmmError::to_errno)
}

/// `VM_ALLOC_MEMSEG` on `instance`'s device: segment `segid` of `len`
/// bytes. Reserves the segment's pages plus their overhead, waits for the
/// ARC to free them (up to the client's limit), allocates them through
/// `alloc` and commits; any failure rolls the segment back. `EINVAL`
/// (bad segment id, zero length, segment exists with another size),
/// `EEXIST` (segment exists as asked), `EOVERFLOW`, `ENOENT` (no such
/// instance, or destroyed meanwhile), `EBUSY`, `ENOMEM` (no headroom, or
/// never on this host, or the allocator's), `ETIME`, `EINTR`.
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
        e.to_errno()
    })?;
    let seg = MemSegRequest {
        segid,
        len: Bytes(len),
        sysmem,
    };
    client
        .alloc_memseg(instance, seg, alloc)
        .map_err(VmmError::to_errno)
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
    client.destroy(instance).map_err(VmmError::to_errno)
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
        .map_err(VmmError::to_errno)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zfs_tunables::errno::EINVAL;

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
