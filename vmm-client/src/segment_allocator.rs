//! What allocates a guest's memory, as a small trait: `vmem_alloc()` from
//! vmm's arena in the kernel, a memory model in the simulator, a fake
//! that fails on cue in tests.

use zfs_tunables::Bytes;

use crate::instance_table::InstanceId;
use crate::sizing::SegmentId;

/// Allocates and frees the memory of an instance's segments.
///
/// A create allocates each of its segments front to back in chunks: each
/// `allocate` call asks for the next `bytes` of the segment. A rollback
/// frees everything allocated so far with one `free` call per segment.
/// The client calls `allocate` without its table lock held (it may sleep);
/// it calls `free` with the lock held, as `vm_destroy()` runs under
/// `vmm_mtx`, so neither may call back into the client.
///
/// Chunks are whole pages, at most [`ClientConfig::alloc_chunk`] bytes
/// (the simulator passes its own per step). An allocator that can only
/// allocate a segment whole, as `vm_object_allocate()`'s single
/// `vmem_alloc()` does, is given a chunk at least as large as the largest
/// segment; the pending part then shrinks once per segment instead of
/// once per chunk.
///
/// [`ClientConfig::alloc_chunk`]: crate::ClientConfig::alloc_chunk
pub trait SegmentAllocator {
    /// Allocates the next `bytes` of `segid` of `instance`; on failure
    /// nothing of this call stays allocated and the errno says why
    /// (`ENOMEM`, typically).
    fn allocate(&mut self, instance: InstanceId, segid: SegmentId, bytes: Bytes)
        -> Result<(), i32>;

    /// Frees the first `bytes` of `segid` of `instance`: all that was
    /// allocated of it.
    fn free(&mut self, instance: InstanceId, segid: SegmentId, bytes: Bytes);
}

/// The allocator of a driver that allocates each segment itself, whole,
/// between the wait and the commit (`vm_object_allocate()`, one
/// `vmem_alloc()`), and frees it itself after a failure: `allocate` only
/// lets the client record the segment and `free` has nothing to do. The
/// kernel module hands it to
/// [`memseg_commit`](crate::ioctl_commands::memseg_commit) and
/// [`memseg_release`](crate::ioctl_commands::memseg_release), and so does
/// the simulator, which takes and zeroes the pages as the driver does.
#[derive(Clone, Copy, Debug, Default)]
pub struct DriverAllocates;

impl SegmentAllocator for DriverAllocates {
    fn allocate(&mut self, _: InstanceId, _: SegmentId, _: Bytes) -> Result<(), i32> {
        Ok(())
    }

    fn free(&mut self, _: InstanceId, _: SegmentId, _: Bytes) {}
}
