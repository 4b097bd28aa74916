//! bhyve's vmm driver as the first consumer of ARC headroom reservations.
//!
//! # Big theory statement
//!
//! ## The problem
//!
//! A bhyve guest's memory is wired kernel memory, allocated when the guest
//! starts. On a host whose ARC has grown into most of RAM, the allocation
//! either fails (bhyve retries every second, forever) or succeeds only
//! after generic memory pressure (`page_needfree()` in
//! `vm_reserve_pages()`) has pushed the host into swapping out whole LWPs
//! (SmartOS OS-8005). zfs-tunables gives kernel consumers a way to reserve
//! ARC headroom: a reservation lowers the ARC's effective ceiling, its
//! pending part makes `arc_available_memory()` ask for exactly the missing
//! memory, and a consumer can wait, woken by eviction progress, until free
//! memory covers it. This crate is vmm's side of that interface.
//!
//! ## The lifecycle it follows
//!
//! It follows the driver (`uts/i86pc/io/vmm`), not an idealised VM:
//!
//! - `VMM_CREATE_VM` on the control device makes an instance with a name
//!   and no memory (`vmmdev_do_vm_create()`).
//! - Memory comes in segments, one `VM_ALLOC_MEMSEG` each
//!   (`vm_alloc_memseg()`, which allocated through `vm_object_allocate()`
//!   after the 60 one-second waits of `vm_reserve_pages()`): up to
//!   `VM_MAX_MEMSEGS` (4) per instance, bhyve's low and high guest RAM
//!   (split at 3 GiB by `vm_setup_memory()`), the boot ROM and the
//!   framebuffer. Each adds to the instance's reservation here. Segments
//!   are freed only when the instance is destroyed (`vm_cleanup()` with
//!   `destroy`); `VM_REINIT` keeps them, so it does not concern this
//!   crate.
//! - Destruction has two halves. It *begins* on `VMM_DESTROY_VM` (by
//!   name), `VM_DESTROY_SELF`, the last close of a device marked
//!   auto-destruct, or a zone's shutdown: the instance is marked and
//!   refuses further work. It *finishes* (`vm_destroy()`, which frees the
//!   guest's memory) once the device is closed and the last vmm_drv hold
//!   (viona) is released. In the 2021 illumos-joyent tree the name was
//!   removed at the beginning and `vm_destroy()` deferred to the last
//!   close; current illumos adds `VM_DESTROY_SELF`, auto-destruct and the
//!   wait for holds. The client supports the union: a name is free from
//!   the moment destruction begins, and reservations are returned when
//!   it finishes, because only then is the memory free.
//!
//! Every entry point is here: [`ioctl_commands`] has one function per
//! ioctl command, and the client's methods cover the device's open and
//! close, vmm_drv holds and a zone's shutdown.
//!
//! ## What a create reserves
//!
//! A segment of `len` bytes reserves `len` rounded up to whole pages plus
//! `pages * vmm_arc_page_overhead` ([`sizing`], [`page_overhead`], which
//! says why the second term exists). Arithmetic is checked: a zero length
//! is `EINVAL`, an overflow anywhere is `EOVERFLOW`, never a wrap or a
//! panic. A create of several segments at once (a whole guest, as
//! [`VmmArcClient::create`] does) reserves their sum as *one* reservation,
//! so it is granted or refused whole and a refusal has nothing to undo.
//! The core's reservations do not grow, so an instance holds one
//! reservation per create (at most [`MAX_SEGMENTS`]), and its reservation
//! in the kstat is their sum.
//!
//! ## A create, step by step
//!
//! A create in flight is a [`Creation`] whose type says which step it has
//! reached ([`CreateState`]): each step takes the state it needs and
//! returns the next, so a Rust caller cannot allocate before the headroom
//! is there, claim before it waits, or wait twice.
//!
//! | step | method | state after it | what it does |
//! |---|---|---|---|
//! | begin | [`begin_create`], [`begin_alloc_memseg`] | [`Reserved`] | validate, size, take the slot, reserve, mark the page overhead allocated (it lowers the ceiling, nobody waits for it; refusals are immediate: nothing waits for a reservation that cannot be granted) |
//! | wait | [`wait_headroom`] (sleeps) or [`poll_headroom`] (does not) | [`Ready`] | until free memory covers this create's pending bytes, those of older reservations and `lotsfree + desfree`; `ETIME` at the deadline (60 s by default, the old loop's bound), `EINTR` on a signal |
//! | claim | [`claim_headroom`] | [`Claimed`] | for a caller that takes a whole segment's pages at once (the driver): its pending bytes leave the headroom term, younger waiters still count them |
//! | allocate | [`allocate_chunk`], repeated | unchanged | allocate the next chunk through the [`SegmentAllocator`], then mark it allocated, so the pending part shrinks as the guest's memory grows |
//! | finish | [`finish`] | gone | commit |
//! | abort | [`abort`] | gone | from any state: free what was allocated, release the reservation, remove what the create added, count the failure |
//!
//! A step that fails returns the create with its error ([`StepFailed`]),
//! to be aborted.
//!
//! `VM_ALLOC_MEMSEG` is these steps in the driver's order, one segment at
//! a time: [`ioctl_commands::memseg_reserve`], [`memseg_wait`] (wait and
//! claim; [`memseg_poll`] in discrete time), [`memseg_commit`] once the
//! driver has taken and zeroed the segment, [`memseg_release`] after any
//! failure. The kernel module's `arctun_vmm_*` entry points are exactly
//! these functions.
//! [`create`](VmmArcClient::create) and
//! [`alloc_memseg`](VmmArcClient::alloc_memseg) compose begin, wait,
//! allocate and finish for a caller whose allocator takes memory chunk by
//! chunk, which must not claim (a claim would hide the chunks not yet
//! taken from the headroom term); the simulator calls these steps one by
//! one in simulated time with `poll_headroom`.
//!
//! ## Locking
//!
//! The instance table sits behind one lock, the [`TableLock`] trait: a
//! `kmutex_t` in the kernel, [`StdTableLock`] (built on
//! `zfs_tunables::sync`) elsewhere. The headroom core has its own lock.
//!
//! - Order: table lock, then the core's lock, never the reverse. The core
//!   calls nothing of vmm's under its lock (vmm's registrant has no hooks).
//! - The table lock is never held while a create waits for headroom (up
//!   to a minute) or allocates memory (which may sleep): other instances
//!   are created and destroyed meanwhile. It is held for table updates and
//!   for the core's `reserve`, `release` and `mark_allocated`, which take
//!   the core's mutex but never sleep otherwise, and while a rollback
//!   frees memory, as `vm_destroy()` runs under `vmm_mtx`.
//! - A create in flight leaves a mark on its record (a token), so the
//!   steps need no lock between them.
//!
//! Invariants, true whenever the table lock is free:
//!
//! 1. A record with a create in flight is removed only by that create
//!    (its `finish` or `abort`): a create always finds its record, even
//!    after a destroy. At most one create is in flight per instance
//!    (`EBUSY`; the driver's per-instance write lock serializes
//!    `VM_ALLOC_MEMSEG` anyway).
//! 2. The core holds exactly the live reservations of the table's
//!    segments, and `reserved_bytes` is their sum, guest plus overhead.
//!    A reservation is returned when its memory is freed (destruction
//!    finishes, or a rollback freed it) or when it was never allocated.
//! 3. Memory is freed before its reservation is released, so the ceiling
//!    never rises over memory that is still allocated.
//! 4. A name belongs to at most one instance whose destruction has not
//!    begun. Ids are never reused.
//!
//! Destroying an instance whose create is in flight is safe. If the
//! create is still waiting (it owns no memory), the destroy releases its
//! reservation: the core wakes the waiter with "released", and the create
//! rolls back and returns `ENOENT`. If it has begun allocating, the
//! destroy only marks the instance; the create sees the mark at its next
//! step and rolls back, freeing its own memory. Either way destruction
//! finishes when the create has gone, the device is closed and no hold
//! remains.
//!
//! ## Design decisions
//!
//! - **One reservation per create, not per instance**: the core's
//!   reservations do not grow, and a create of several segments is all
//!   or nothing.
//! - **The page overhead is reserved but never waited for**: it is marked
//!   allocated as soon as it is reserved, so it lowers the ARC's ceiling
//!   without counting against free memory; the margin against competing
//!   allocations is the core's `lotsfree + desfree` (see
//!   [`page_overhead`]).
//! - **Reservations are returned when destruction finishes**, not when it
//!   begins: a destroyed guest whose device is still open still holds its
//!   memory, and the ARC must not grow into it.
//! - **A create interrupted by a destroy returns `ENOENT`** (the instance
//!   is gone) and is counted under `fail_interrupted`; the driver itself
//!   answers `ENXIO` for ioctls on an instance being destroyed.
//! - **The 60 s deadline is a setting of the client** ([`ClientConfig`]),
//!   not a second tunable.
//! - **In the kernel, names are vmm's to keep unique** ([`NameOwner`]):
//!   a VM destroyed while its device is held open leaves vmm's list at
//!   once but destroys its instance here only at the last close, and stock
//!   vmm lets a VM of the same name be created meanwhile; so does this
//!   client. Elsewhere (the ioctl model, the simulator) the client
//!   refuses a name in use with `EEXIST`.
//! - **A reservation that can never fit is `ENOMEM` in the client's API
//!   and `ENOSPC` at the ioctl** ([`ioctl_commands::ioctl_errno`], the one
//!   place that decides it): `ENOMEM` is the errno of a refused
//!   reservation, and bhyve, which the project leaves unchanged, retries
//!   `ENOMEM` once a second forever, which is right only for a guest that
//!   may fit later.
//! - **Lengths are rounded up, not refused when unaligned**: the driver
//!   refuses unaligned `VM_ALLOC_MEMSEG` lengths itself; rounding here
//!   keeps the client correct for any caller.
//!
//! ## Footprint
//!
//! No allocator: the table is a fixed array of [`MAX_INSTANCES`] records
//! (names up to 228 bytes, [`MAX_SEGMENTS`] segments each), about 115 KiB,
//! which the kernel module places in static storage, never on a kernel
//! stack. A full table is `ENOSPC`.
//!
//! ## Observability
//!
//! [`VmmArcClient::stats`] gives the `vmm:0:arc_resv` figures:
//! instances, reserved and overhead bytes, creates, destroys, and failed
//! creates by cause ([`ArcResvStats::fields`] is the kstat's layout).
//!
//! [`claim_headroom`]: VmmArcClient::claim_headroom
//! [`memseg_wait`]: ioctl_commands::memseg_wait
//! [`memseg_poll`]: ioctl_commands::memseg_poll
//! [`memseg_commit`]: ioctl_commands::memseg_commit
//! [`memseg_release`]: ioctl_commands::memseg_release
//! [`begin_create`]: VmmArcClient::begin_create
//! [`begin_alloc_memseg`]: VmmArcClient::begin_alloc_memseg
//! [`wait_headroom`]: VmmArcClient::wait_headroom
//! [`poll_headroom`]: VmmArcClient::poll_headroom
//! [`allocate_chunk`]: VmmArcClient::allocate_chunk
//! [`finish`]: VmmArcClient::finish
//! [`abort`]: VmmArcClient::abort
//! [`StdTableLock`]: table_lock::StdTableLock
//!
//! # Builds
//!
//! `no_std` without an allocator unless the `std` feature (on by default)
//! is enabled; `std` adds [`StdTableLock`] and zfs-tunables' `StdPlatform`.
#![cfg_attr(not(any(feature = "std", test)), no_std)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented,
        clippy::cast_possible_truncation,
        clippy::cast_possible_wrap,
        clippy::cast_sign_loss
    )
)]

mod client;
mod error;
pub mod instance_table;
pub mod ioctl_commands;
mod limits;
pub mod page_overhead;
pub mod segment_allocator;
pub mod sizing;
mod stats;
pub mod table_lock;

pub use client::{
    AllocProgress, Claimed, ClientConfig, CreateState, Creation, DestroyOutcome, MayAllocate,
    NameOwner, Polled, Ready, Reserved, StepFailed, VmmArcClient, CONSUMER, DEFAULT_ALLOC_CHUNK,
    DEFAULT_WAIT_LIMIT,
};
pub use error::{Failure, VmmError};
pub use instance_table::{
    InstanceId, InstanceInfo, InstanceName, InstanceState, MAX_INSTANCES, MAX_NAME_LEN,
};
pub use page_overhead::{DEFAULT_PAGE_OVERHEAD, PAGE_OVERHEAD_TUNABLE};
pub use segment_allocator::{DriverAllocates, SegmentAllocator};
pub use sizing::{bhyve_memsegs, size_segment, MemSegRequest, MemSegs, SegmentId, MAX_SEGMENTS};
pub use stats::ArcResvStats;
pub use table_lock::TableLock;

/// The client on zfs-tunables' std platform and the std table lock, as
/// tests and the simulator use it.
#[cfg(feature = "std")]
pub type StdVmmClient<'a> = VmmArcClient<
    zfs_tunables::std_platform::StdPlatform,
    &'a zfs_tunables::ArcTunables<zfs_tunables::std_platform::StdPlatform>,
    table_lock::StdTableLock,
>;
