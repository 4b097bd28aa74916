//! The client: the instance table behind its lock, the steps a create is
//! made of, their blocking composition, and the destroy paths.

use core::marker::PhantomData;
use core::ops::Deref;

use heapless::Vec;
use zfs_tunables::sync::UnsafeCell;
use zfs_tunables::units::MIB;
use zfs_tunables::{
    ArcTunables, Bytes, Hrtime, PageSize, Platform, RegistrantId, ReservationId, TunableError,
    TunableHandle, WaitTicket,
};

use crate::error::VmmError;
use crate::instance_table::{
    CreateInFlight, InstanceId, InstanceInfo, InstanceName, InstanceRecord, InstanceState,
    InstanceTable, SegmentRecord, MAX_NAME_LEN,
};
use crate::page_overhead::{PAGE_OVERHEAD_TUNABLE, VMM_REGISTRANT};
use crate::segment_allocator::SegmentAllocator;
use crate::sizing::{size_segment, MemSegRequest, SegmentId, MAX_SEGMENTS};
use crate::stats::ArcResvStats;
use crate::table_lock::TableLock;

/// How long a create waits for the ARC to free its memory: 60 s, the bound
/// of the 60 one-second waits of the old `vm_reserve_pages()`.
pub const DEFAULT_WAIT_LIMIT: Hrtime = Hrtime::from_secs(60);

/// How much a create allocates between two reports of progress to the
/// headroom core. Between allocating a chunk and marking it allocated,
/// the chunk is counted twice (gone from `freemem`, still pending), so
/// the ARC could shrink by up to one chunk too much if its reaper looked
/// in that window; 64 MiB bounds that to a rounding error of a guest's
/// size at a cost of one lock round trip per chunk.
pub const DEFAULT_ALLOC_CHUNK: Bytes = Bytes(64 * MIB);

/// The consumer name vmm's reservations carry in the headroom core.
pub const CONSUMER: &str = "vmm";

/// Who keeps instance names unique.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NameOwner {
    /// The client: creating an instance under the name of one that is not
    /// being destroyed is `EEXIST`. For callers that find instances by
    /// name, as `VMM_DESTROY_VM` does in the ioctl model
    /// ([`ioctl_commands`](crate::ioctl_commands)) and the simulator.
    #[default]
    Client,
    /// The caller, which finds instances by id only. The kernel's vmm
    /// checks a new VM's name against its `vmm_list` before `vm_create()`
    /// creates the instance, and a VM destroyed while its device is held
    /// open leaves `vmm_list` at once but reaches `vm_destroy()`, which
    /// destroys the instance, only at the last close; a VM of the same
    /// name may be created in between. Here a name is a label two
    /// instances may share, and [`lookup`](VmmArcClient::lookup) finds the
    /// newer one.
    Caller,
}

/// The client's fixed settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// How long a create waits for headroom ([`DEFAULT_WAIT_LIMIT`]).
    pub wait_limit: Hrtime,
    /// How much the blocking create allocates per step
    /// ([`DEFAULT_ALLOC_CHUNK`]; rounded down to whole pages, at least one).
    pub alloc_chunk: Bytes,
    /// Who keeps instance names unique ([`NameOwner::Client`]).
    pub names: NameOwner,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            wait_limit: DEFAULT_WAIT_LIMIT,
            alloc_chunk: DEFAULT_ALLOC_CHUNK,
            names: NameOwner::Client,
        }
    }
}

/// The states a create in flight passes through, in this order; each step
/// of a create takes the state it needs and returns the next, so a Rust
/// caller cannot take them out of order.
///
/// | state | reached by | next |
/// |---|---|---|
/// | [`Reserved`] | [`begin_create`], [`begin_alloc_memseg`] | [`poll_headroom`], [`wait_headroom`] |
/// | [`Ready`] | headroom found | [`claim_headroom`], or [`allocate_chunk`] for a caller that takes its pages chunk by chunk |
/// | [`Claimed`] | [`claim_headroom`] | [`allocate_chunk`] |
///
/// [`finish`] ends a create that may allocate ([`Ready`] or [`Claimed`]),
/// [`abort`] one in any state.
///
/// The order is checked by the compiler. A create that has just been
/// reserved may only wait (or be aborted):
///
/// ```compile_fail
/// # use vmm_client::{Creation, Reserved, SegmentAllocator, StdVmmClient};
/// # use zfs_tunables::Bytes;
/// fn too_soon(vmm: &StdVmmClient<'_>, mut c: Creation<Reserved>, mem: &mut impl SegmentAllocator) {
///     // Allocating before headroom is found.
///     let _ = vmm.allocate_chunk(&mut c, mem, Bytes(4096));
/// }
/// ```
///
/// ```compile_fail
/// # use vmm_client::{Creation, Reserved, StdVmmClient};
/// fn too_soon(vmm: &StdVmmClient<'_>, c: Creation<Reserved>) {
///     // Claiming before the wait succeeded.
///     let _ = vmm.claim_headroom(c);
/// }
/// ```
///
/// ```compile_fail
/// # use vmm_client::{Creation, Reserved, SegmentAllocator, StdVmmClient};
/// fn too_soon(vmm: &StdVmmClient<'_>, c: Creation<Reserved>, mem: &mut impl SegmentAllocator) {
///     // Committing before headroom is found.
///     let _ = vmm.finish(c, mem);
/// }
/// ```
///
/// while the same calls on a create whose headroom was found compile:
///
/// ```
/// # use vmm_client::{Creation, Polled, Ready, Reserved, SegmentAllocator, StdVmmClient, VmmError};
/// # use zfs_tunables::Bytes;
/// fn in_order(
///     vmm: &StdVmmClient<'_>,
///     c: Creation<Reserved>,
///     mem: &mut impl SegmentAllocator,
/// ) -> VmmError {
///     let ready: Creation<Ready> = match vmm.poll_headroom(c) {
///         Ok(Polled::Ready(c)) => c,
///         Ok(Polled::Waiting(c)) => return vmm.abort(c, mem, VmmError::Busy),
///         Err(f) => return vmm.abort(f.creation, mem, f.error),
///     };
///     let mut claimed = match vmm.claim_headroom(ready) {
///         Ok(c) => c,
///         Err(f) => return vmm.abort(f.creation, mem, f.error),
///     };
///     if let Err(e) = vmm.allocate_chunk(&mut claimed, mem, Bytes(4096)) {
///         return vmm.abort(claimed, mem, e);
///     }
///     vmm.finish(claimed, mem).err().unwrap_or(VmmError::Busy)
/// }
/// ```
///
/// [`begin_create`]: VmmArcClient::begin_create
/// [`begin_alloc_memseg`]: VmmArcClient::begin_alloc_memseg
/// [`poll_headroom`]: VmmArcClient::poll_headroom
/// [`wait_headroom`]: VmmArcClient::wait_headroom
/// [`claim_headroom`]: VmmArcClient::claim_headroom
/// [`allocate_chunk`]: VmmArcClient::allocate_chunk
/// [`finish`]: VmmArcClient::finish
/// [`abort`]: VmmArcClient::abort
pub trait CreateState: sealed::Sealed {}

/// A state in which the create's memory may be allocated and the create
/// finished: [`Ready`] or [`Claimed`].
pub trait MayAllocate: CreateState {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Reserved {}
    impl Sealed for super::Ready {}
    impl Sealed for super::Claimed {}
}

/// The create's reservation is made; it waits for headroom.
#[derive(Debug)]
pub enum Reserved {}

/// Free memory covers the create: its memory may be allocated.
#[derive(Debug)]
pub enum Ready {}

/// The create's pending bytes are claimed (out of the headroom term): the
/// caller is taking its pages now.
#[derive(Debug)]
pub enum Claimed {}

impl CreateState for Reserved {}
impl CreateState for Ready {}
impl CreateState for Claimed {}
impl MayAllocate for Ready {}
impl MayAllocate for Claimed {}

/// A create in flight, between [`begin_create`] (or
/// [`begin_alloc_memseg`]) and [`finish`] or [`abort`], in state `S`
/// ([`CreateState`]).
///
/// It must end in `finish` or `abort`: both consume it. A create that is
/// dropped instead keeps its instance busy (and, if it had begun
/// allocating, keeps its reservation) until the client is dropped; the
/// blocking compositions and the ioctl commands never drop one.
///
/// [`begin_create`]: VmmArcClient::begin_create
/// [`begin_alloc_memseg`]: VmmArcClient::begin_alloc_memseg
/// [`finish`]: VmmArcClient::finish
/// [`abort`]: VmmArcClient::abort
#[must_use = "a create must end in finish() or abort()"]
#[derive(Debug)]
pub struct Creation<S: CreateState = Reserved> {
    instance: InstanceId,
    token: u64,
    grant: Option<ReservationId>,
    deadline: Hrtime,
    ticket: WaitTicket,
    _state: PhantomData<fn() -> S>,
}

impl<S: CreateState> Creation<S> {
    /// The instance being created or given memory.
    #[must_use]
    pub fn instance(&self) -> InstanceId {
        self.instance
    }

    /// The headroom reservation made for it (none if it asked for no
    /// memory).
    #[must_use]
    pub fn reservation(&self) -> Option<ReservationId> {
        self.grant
    }

    /// When its wait for headroom gives up (`ETIME`).
    #[must_use]
    pub fn deadline(&self) -> Hrtime {
        self.deadline
    }

    /// The same create, moved on to state `T` by the step that proved it.
    fn into_state<T: CreateState>(self) -> Creation<T> {
        Creation {
            instance: self.instance,
            token: self.token,
            grant: self.grant,
            deadline: self.deadline,
            ticket: self.ticket,
            _state: PhantomData,
        }
    }
}

/// A step that failed: the create, still in flight in the state it was
/// in, and why. It must be [`abort`](VmmArcClient::abort)ed (now, or, as
/// the kernel module does, when the driver releases it).
#[must_use = "a failed create must be aborted"]
#[derive(Debug)]
pub struct StepFailed<S: CreateState> {
    /// The create.
    pub creation: Creation<S>,
    /// Why the step failed.
    pub error: VmmError,
}

/// What one [`poll_headroom`](VmmArcClient::poll_headroom) found.
#[must_use = "a create must end in finish() or abort()"]
#[derive(Debug)]
pub enum Polled {
    /// Not yet: poll again later.
    Waiting(Creation<Reserved>),
    /// Free memory covers the create.
    Ready(Creation<Ready>),
}

/// What one [`allocate_chunk`](VmmArcClient::allocate_chunk) left to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocProgress {
    /// More of the create's memory remains to allocate.
    More,
    /// Everything is allocated: call [`finish`](VmmArcClient::finish).
    Done,
}

/// What a destroy did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DestroyOutcome {
    /// Destruction finished: the instance is gone and its reservations are
    /// returned, so the ARC's ceiling is back where it would be without
    /// it. The driver frees the guest's memory (`vm_destroy()`).
    Finished {
        /// Bytes of headroom returned (guest RAM plus overhead).
        reserved: Bytes,
        /// Bytes of guest memory the instance held.
        allocated: Bytes,
    },
    /// Destruction began (the name is free, no create on it may proceed)
    /// and finishes when the device is closed, the last vmm_drv hold is
    /// released and any create in flight has rolled back; until then the
    /// reservations stay, because the guest's memory is still allocated.
    Deferred,
}

/// An allocator for creates that ask for no memory; never called.
struct NoMemory;

impl SegmentAllocator for NoMemory {
    fn allocate(&mut self, _: InstanceId, _: SegmentId, _: Bytes) -> Result<(), i32> {
        Err(zfs_tunables::errno::EINVAL)
    }

    fn free(&mut self, _: InstanceId, _: SegmentId, _: Bytes) {}
}

/// Who a create is for.
enum Target<'n> {
    /// A new instance with this name.
    New(&'n [u8]),
    /// An existing instance.
    Existing(InstanceId),
}

/// Proof that the table lock is held; releases it when dropped.
#[must_use = "the table lock is released as soon as this guard is dropped"]
struct TableGuard<'a, L: TableLock> {
    lock: &'a L,
    table: &'a UnsafeCell<InstanceTable>,
}

impl<L: TableLock> TableGuard<'_, L> {
    /// Runs `f` on the locked table.
    fn with<R>(&mut self, f: impl FnOnce(&mut InstanceTable) -> R) -> R {
        // SAFETY: `self` proves this thread holds the table lock, so no
        // other thread is inside `with`; `&mut self` keeps this thread
        // from nesting calls.
        self.table.with_mut(|t| f(unsafe { &mut *t }))
    }
}

impl<L: TableLock> Drop for TableGuard<'_, L> {
    fn drop(&mut self) {
        // SAFETY: a guard is only made by `VmmArcClient::locked` after
        // `lock` returned on this thread, and is dropped once.
        unsafe { self.lock.unlock() }
    }
}

/// bhyve's vmm driver as a consumer of ARC headroom; see the crate
/// documentation.
///
/// `A` is how the client reaches the headroom core (a `&'static
/// ArcTunables` in the kernel, a reference or an `Arc` elsewhere), `L`
/// the instance table's lock.
pub struct VmmArcClient<P, A, L>
where
    P: Platform,
    A: Deref<Target = ArcTunables<P>>,
    L: TableLock,
{
    arc: A,
    lock: L,
    table: UnsafeCell<InstanceTable>,
    overhead: TunableHandle,
    registrant: RegistrantId,
    page_size: PageSize,
    config: ClientConfig,
    _platform: PhantomData<fn() -> P>,
}

// SAFETY: `table` is only reached through `TableGuard`, which exists only
// while `lock` is held, and the `TableLock` contract makes that lock
// exclusive; every other field is immutable after construction or (`arc`)
// `Sync` by the bound.
unsafe impl<P, A, L> Sync for VmmArcClient<P, A, L>
where
    P: Platform,
    A: Deref<Target = ArcTunables<P>> + Sync,
    L: TableLock,
{
}

/// The name as stored, or [`VmmError::BadName`]: 1 to
/// [`MAX_NAME_LEN`] bytes, no NUL.
fn checked_name(name: &[u8]) -> Result<InstanceName, VmmError> {
    if name.is_empty() || name.len() > MAX_NAME_LEN || name.contains(&0) {
        return Err(VmmError::BadName);
    }
    let mut out = InstanceName::new();
    out.extend_from_slice(name).map_err(|_| VmmError::BadName)?;
    Ok(out)
}

impl<P, A, L> VmmArcClient<P, A, L>
where
    P: Platform,
    A: Deref<Target = ArcTunables<P>>,
    L: TableLock,
{
    /// The client with the default settings; registers
    /// `vmm_arc_page_overhead` with the headroom core (`EEXIST` if a vmm
    /// client is already registered there).
    pub fn new(arc: A, lock: L) -> Result<Self, VmmError> {
        Self::with_config(arc, lock, ClientConfig::default())
    }

    /// The client with `config`.
    pub fn with_config(arc: A, lock: L, config: ClientConfig) -> Result<Self, VmmError> {
        let registrant = arc.register(&VMM_REGISTRANT)?;
        let Some(overhead) = arc.lookup(PAGE_OVERHEAD_TUNABLE) else {
            // Cannot happen: the registrant was just registered.
            let _ = arc.unregister(registrant);
            return Err(VmmError::Arc(TunableError::UnknownTunable));
        };
        let page_size = arc.host().page_size;
        Ok(VmmArcClient {
            arc,
            lock,
            table: UnsafeCell::new(InstanceTable::new()),
            overhead,
            registrant,
            page_size,
            config,
            _platform: PhantomData,
        })
    }

    fn locked(&self) -> TableGuard<'_, L> {
        self.lock.lock();
        TableGuard {
            lock: &self.lock,
            table: &self.table,
        }
    }

    /// The headroom core this client reserves from.
    pub fn arc(&self) -> &ArcTunables<P> {
        &self.arc
    }

    /// The client's settings.
    pub fn config(&self) -> ClientConfig {
        self.config
    }

    /// The current `vmm_arc_page_overhead`: one atomic load.
    pub fn page_overhead(&self) -> u64 {
        self.arc.value(self.overhead)
    }

    /// The figures of `vmm:0:arc_resv`.
    pub fn stats(&self) -> ArcResvStats {
        self.locked().with(|t| t.stats())
    }

    /// The instance `id`, if it exists.
    pub fn instance(&self, id: InstanceId) -> Option<InstanceInfo> {
        self.locked().with(|t| t.get(id).map(InstanceRecord::info))
    }

    /// The instance called `name`, unless its destruction began; the
    /// newest such if the caller owns names ([`NameOwner::Caller`]).
    pub fn lookup(&self, name: &[u8]) -> Option<InstanceId> {
        self.locked().with(|t| t.lookup(name).map(|r| r.id))
    }

    /// Calls `f` for every instance, under the table lock (so `f` must not
    /// call the client).
    pub fn for_each_instance(&self, mut f: impl FnMut(&InstanceInfo)) {
        self.locked().with(|t| {
            for r in t.records.iter() {
                f(&r.info());
            }
        });
    }

    /// Counts a refused create under its cause (`vmm:0:arc_resv`'s
    /// `fail_*`).
    pub(crate) fn count_failure(&self, e: VmmError) {
        self.locked()
            .with(|t| t.counters.count_failure(e.failure()));
    }

    // ---------------------------------------------------------------
    // The steps of a create.
    // ---------------------------------------------------------------

    /// Step 1 of a whole create: validates `name` and `segs`, sizes every
    /// segment with the current page overhead, takes a table slot and
    /// reserves the total as one reservation, all or nothing. A refusal
    /// (`EINVAL`, `EOVERFLOW`, `EEXIST`, `ENOSPC`, `ENOMEM`) changes
    /// nothing but its counter and never waits.
    pub fn begin_create(
        &self,
        name: &[u8],
        segs: &[MemSegRequest],
    ) -> Result<Creation<Reserved>, VmmError> {
        self.begin(Target::New(name), segs)
            .inspect_err(|&e| self.count_failure(e))
    }

    /// Step 1 of `VM_ALLOC_MEMSEG`: as [`begin_create`](Self::begin_create)
    /// for one more segment of an existing instance (`ENOENT` if it does
    /// not exist or is being destroyed, `EBUSY` while another create is in
    /// flight on it, `EEXIST`/`EINVAL` if the segment exists).
    pub fn begin_alloc_memseg(
        &self,
        instance: InstanceId,
        seg: MemSegRequest,
    ) -> Result<Creation<Reserved>, VmmError> {
        self.begin(Target::Existing(instance), &[seg])
            .inspect_err(|&e| self.count_failure(e))
    }

    fn begin(
        &self,
        target: Target<'_>,
        segs: &[MemSegRequest],
    ) -> Result<Creation<Reserved>, VmmError> {
        let name = match target {
            Target::New(n) => Some(checked_name(n)?),
            Target::Existing(_) => None,
        };
        let (sized, total) = self.size_segments(segs)?;
        let (instance, token, grant) = self.locked().with(|t| {
            // Everything that can refuse is checked before the reservation,
            // so a refusal has nothing to undo.
            let (instance, token) = self.admit_target(t, &target, name.as_ref(), &sized)?;
            // A later segment of an instance waits in its first one's
            // place, not behind the guests that started since.
            let first = match target {
                Target::Existing(id) => t.get(id).and_then(|r| {
                    r.segments
                        .iter()
                        .filter(|s| !s.released && s.grant != ReservationId(0))
                        .map(|s| s.grant)
                        .min()
                }),
                Target::New(_) => None,
            };
            let grant = self.reserve_segments(&sized, total, first)?;
            let create = CreateInFlight {
                token,
                grant,
                allocating: false,
                new_instance: name.is_some(),
            };
            Self::place(t, instance, name, sized, create, grant).inspect_err(|_| {
                // Cannot happen (capacity and segment ids were checked
                // above); undo the reservation rather than trust that.
                if let Some(grant) = grant {
                    let _ = self.arc.release(grant);
                }
            })?;
            Ok::<_, VmmError>((instance, token, grant))
        })?;
        let deadline = self
            .arc
            .platform()
            .now()
            .saturating_add(self.config.wait_limit);
        Ok(Creation {
            instance,
            token,
            grant,
            deadline,
            ticket: WaitTicket::default(),
            _state: PhantomData,
        })
    }

    /// Sizes every segment of a request with one reading of the page
    /// overhead (the record keeps what was reserved), and their total.
    /// `EINVAL` for a segment id given twice or a zero length, `EOVERFLOW`.
    fn size_segments(
        &self,
        segs: &[MemSegRequest],
    ) -> Result<(Vec<SegmentRecord, MAX_SEGMENTS>, Bytes), VmmError> {
        let overhead_per_page = self.page_overhead();
        let mut sized: Vec<SegmentRecord, MAX_SEGMENTS> = Vec::new();
        let mut total = Bytes::ZERO;
        for seg in segs {
            let repeated = VmmError::BadSegment {
                segid: i64::from(seg.segid.get()),
            };
            // Segment ids are below MAX_SEGMENTS, so a request of more
            // segments than that repeats one and stops here.
            if sized.iter().any(|s| s.segid == seg.segid) {
                return Err(repeated);
            }
            let size = size_segment(seg.len, overhead_per_page, self.page_size)?;
            total = total.checked_add(size.total).ok_or(VmmError::Overflow)?;
            sized
                .push(SegmentRecord {
                    segid: seg.segid,
                    sysmem: seg.sysmem,
                    guest: size.guest,
                    overhead: size.overhead,
                    allocated: Bytes::ZERO,
                    // Set by `place`, once the reservation exists.
                    grant: ReservationId(0),
                    released: false,
                    committed: false,
                })
                .map_err(|_| repeated)?;
        }
        Ok((sized, total))
    }

    /// Under the table lock: whether the create may go ahead, and the
    /// instance id and create token it gets. A new instance needs a free
    /// name (when the client owns names) and a free slot; an existing one
    /// must not be being destroyed, have no create in flight, and not have
    /// the segments asked for.
    fn admit_target(
        &self,
        t: &mut InstanceTable,
        target: &Target<'_>,
        name: Option<&InstanceName>,
        sized: &[SegmentRecord],
    ) -> Result<(InstanceId, u64), VmmError> {
        match (target, name) {
            (Target::New(_), Some(name)) => {
                if self.config.names == NameOwner::Client && t.lookup(name.as_slice()).is_some() {
                    return Err(VmmError::DuplicateName);
                }
                if t.records.is_full() {
                    return Err(VmmError::TableFull);
                }
                t.next_ids().ok_or(VmmError::Overflow)
            }
            (Target::Existing(id), _) => {
                let r = t.get(*id).ok_or(VmmError::UnknownInstance)?;
                if r.state == InstanceState::Destroying {
                    return Err(VmmError::UnknownInstance);
                }
                if r.create.is_some() {
                    return Err(VmmError::Busy);
                }
                for s in sized {
                    if let Some(old) = r.segments.iter().find(|o| o.segid == s.segid) {
                        let segid = s.segid.get();
                        return Err(if old.guest == s.guest && old.sysmem == s.sysmem {
                            VmmError::SegmentExists { segid }
                        } else {
                            VmmError::SegmentConflict { segid }
                        });
                    }
                }
                Ok((*id, t.next_token().ok_or(VmmError::Overflow)?))
            }
            (Target::New(_), None) => Err(VmmError::BadName),
        }
    }

    /// Reserves `total` for the segments as one reservation (none for a
    /// create without memory). The page overhead lowers the ceiling but is
    /// never allocated and never waited for: it counts as allocated from
    /// the start, so admission and the wait see only the guest's RAM (see
    /// page_overhead.rs).
    fn reserve_segments(
        &self,
        sized: &[SegmentRecord],
        total: Bytes,
        queue_with: Option<ReservationId>,
    ) -> Result<Option<ReservationId>, VmmError> {
        if sized.is_empty() {
            return Ok(None);
        }
        let overhead = sized
            .iter()
            .fold(Bytes::ZERO, |a, s| a.saturating_add(s.overhead));
        Ok(Some(self.arc.reserve_queued_with(
            CONSUMER, total, overhead, queue_with,
        )?))
    }

    /// Records the create in the table: a new instance's record, or the
    /// new segments and the create in flight on an existing one. On a
    /// failure nothing of the create stays in the table.
    fn place(
        t: &mut InstanceTable,
        instance: InstanceId,
        name: Option<InstanceName>,
        mut sized: Vec<SegmentRecord, MAX_SEGMENTS>,
        create: CreateInFlight,
        grant: Option<ReservationId>,
    ) -> Result<(), VmmError> {
        for s in sized.iter_mut() {
            s.grant = grant.unwrap_or(ReservationId(0));
        }
        let placed = match name {
            Some(name) => t
                .records
                .push(InstanceRecord {
                    id: instance,
                    name,
                    state: InstanceState::Creating,
                    segments: sized,
                    create: Some(create),
                    open: false,
                    holds: 0,
                    autodestruct: false,
                })
                .map_err(|_| VmmError::TableFull),
            None => match t.get_mut(instance) {
                Some(r) => {
                    let mut placed = Ok(());
                    for s in sized {
                        if r.segments.push(s).is_err() {
                            placed = Err(VmmError::BadSegment {
                                segid: i64::from(s.segid.get()),
                            });
                        }
                    }
                    r.create = Some(create);
                    placed
                }
                None => Err(VmmError::UnknownInstance),
            },
        };
        if placed.is_err() {
            if let Some(r) = t.get_mut(instance) {
                r.segments.retain(|s| s.committed);
                r.create = None;
            }
        }
        placed
    }

    /// Step 2, without sleeping (the simulator's discrete time): whether
    /// free memory now covers the create's pending bytes, every older
    /// pending reservation's and `lotsfree + desfree` ([`Polled`]). A
    /// create without memory is ready at once. `ETIME` once the deadline
    /// has passed; `ENOENT` ([`VmmError::Destroyed`]) if the instance was
    /// destroyed meanwhile. Takes no table lock.
    pub fn poll_headroom(&self, mut c: Creation<Reserved>) -> Result<Polled, StepFailed<Reserved>> {
        let Some(grant) = c.grant else {
            return Ok(Polled::Ready(c.into_state()));
        };
        match self.arc.poll_wait(grant, c.deadline, &mut c.ticket) {
            Ok(true) => Ok(Polled::Ready(c.into_state())),
            Ok(false) => Ok(Polled::Waiting(c)),
            Err(e) => Err(StepFailed {
                creation: c,
                error: e.into(),
            }),
        }
    }

    /// Step 2, sleeping: waits on the headroom core's condition variable
    /// until the headroom is there (woken by eviction progress), the
    /// deadline passes (`ETIME`), a signal arrives (`EINTR`) or the
    /// instance is destroyed (`ENOENT`). The table lock is not held while
    /// it sleeps.
    pub fn wait_headroom(
        &self,
        c: Creation<Reserved>,
    ) -> Result<Creation<Ready>, StepFailed<Reserved>> {
        if let Some(grant) = c.grant {
            if let Err(e) = self.arc.wait(grant, c.deadline) {
                return Err(StepFailed {
                    creation: c,
                    error: e.into(),
                });
            }
        }
        Ok(c.into_state())
    }

    /// Step 2b, for a caller that takes a whole segment's pages at once
    /// after its wait and records them only afterwards (the kernel's vmm:
    /// `vm_object_allocate()` takes `freemem` for the segment, then zeroes
    /// it for seconds): claims the create's pending bytes in the headroom
    /// core, so the headroom term stops asking the ARC for memory the
    /// caller is taking now, while younger waiters still count it until
    /// [`allocate_chunk`](Self::allocate_chunk) records it or
    /// [`abort`](Self::abort) releases it. From here on a destroy leaves
    /// the rollback to the create, as once it allocates. `ENOENT` if the
    /// instance was destroyed meanwhile.
    pub fn claim_headroom(
        &self,
        c: Creation<Ready>,
    ) -> Result<Creation<Claimed>, StepFailed<Ready>> {
        let claimed = self.locked().with(|t| {
            let r = Self::own_record(t, &c)?;
            if r.state == InstanceState::Destroying {
                return Err(VmmError::Destroyed);
            }
            if let Some(cr) = r.create.as_mut() {
                cr.allocating = true;
            }
            match c.grant {
                Some(grant) => self.arc.claim(grant).map_err(VmmError::from),
                None => Ok(()),
            }
        });
        match claimed {
            Ok(()) => Ok(c.into_state()),
            Err(error) => Err(StepFailed { creation: c, error }),
        }
    }

    /// Step 3, repeated: allocates up to `chunk` bytes (whole pages, at
    /// least one) of the next segment that is not fully allocated, then
    /// marks them allocated in the reservation, so its pending part shrinks
    /// as the guest's memory grows and nothing is counted twice for longer
    /// than one chunk. The allocator's
    /// errno if it fails (nothing of this chunk stays allocated);
    /// `ENOENT` if the instance was destroyed (what was allocated stays
    /// recorded, for [`abort`](Self::abort) to free).
    pub fn allocate_chunk<S: MayAllocate>(
        &self,
        c: &mut Creation<S>,
        alloc: &mut impl SegmentAllocator,
        chunk: Bytes,
    ) -> Result<AllocProgress, VmmError> {
        let ps = self.page_size.bytes();
        let chunk = core::cmp::max(Bytes(chunk.get() & !ps.get().wrapping_sub(1)), ps);

        // Pick the next piece under the lock; allocate without it.
        let next = self.locked().with(|t| {
            let r = Self::own_record(t, c)?;
            if r.state == InstanceState::Destroying {
                return Err(VmmError::Destroyed);
            }
            if let Some(cr) = r.create.as_mut() {
                // From now on a destroy leaves the rollback to this create
                // instead of releasing its reservation underneath it.
                cr.allocating = true;
            }
            Ok(r.segments
                .iter()
                .find(|s| !s.committed && s.allocated < s.guest)
                .map(|s| {
                    let left = s.guest.saturating_sub(s.allocated);
                    (s.segid, core::cmp::min(chunk, left))
                }))
        })?;
        let Some((segid, bytes)) = next else {
            return Ok(AllocProgress::Done);
        };

        alloc
            .allocate(c.instance, segid, bytes)
            .map_err(|errno| VmmError::AllocFailed { errno })?;

        self.locked().with(|t| {
            // Cannot fail: a record with a create in flight is removed only
            // by that create (invariant 1), and so is its segment.
            let r = Self::own_record(t, c)?;
            let seg = r
                .segments
                .iter_mut()
                .find(|s| !s.committed && s.segid == segid)
                .ok_or(VmmError::OutOfOrder)?;
            // Recorded first, so a rollback frees it whatever follows.
            seg.allocated = seg.allocated.saturating_add(bytes);
            let grant = seg.grant;
            if r.state == InstanceState::Destroying {
                return Err(VmmError::Destroyed);
            }
            self.arc.mark_allocated(grant, bytes)?;
            let more = r
                .segments
                .iter()
                .any(|s| !s.committed && s.allocated < s.guest);
            Ok(if more {
                AllocProgress::More
            } else {
                AllocProgress::Done
            })
        })
    }

    /// Step 4: commits a create whose memory is all allocated (the page
    /// overhead was marked allocated when it was reserved). If the
    /// instance was destroyed meanwhile, or the create is not complete, it
    /// rolls back instead and returns why.
    pub fn finish<S: MayAllocate>(
        &self,
        c: Creation<S>,
        alloc: &mut impl SegmentAllocator,
    ) -> Result<InstanceId, VmmError> {
        let committed = self.locked().with(|t| {
            let r = Self::own_record(t, &c)?;
            if r.state == InstanceState::Destroying {
                return Err(VmmError::Destroyed);
            }
            let pending = r.segments.iter().filter(|s| !s.committed);
            if pending.clone().any(|s| s.allocated < s.guest) {
                return Err(VmmError::OutOfOrder);
            }
            for s in r.segments.iter_mut() {
                s.committed = true;
            }
            let new_instance = r.create.is_some_and(|cr| cr.new_instance);
            r.create = None;
            if new_instance {
                r.state = InstanceState::Running;
                t.counters.creates = t.counters.creates.saturating_add(1);
            }
            Ok(c.instance)
        });
        match committed {
            Ok(id) => Ok(id),
            Err(e) => Err(self.abort(c, alloc, e)),
        }
    }

    /// Rolls a create back after `err`: frees what it allocated (through
    /// `alloc`), releases its reservation, removes its segments (and the
    /// instance, if the create made it), counts `err` under its cause and
    /// returns it. Afterwards the ARC's ceiling, the headroom core's
    /// reserved and pending bytes and the table are as before the create.
    /// If the instance's destruction was waiting for this create, it
    /// finishes here.
    pub fn abort<S: CreateState>(
        &self,
        c: Creation<S>,
        alloc: &mut impl SegmentAllocator,
        err: VmmError,
    ) -> VmmError {
        let mut g = self.locked();
        g.with(|t| {
            t.counters.count_failure(err.failure());
            let Ok(r) = Self::own_record(t, &c) else {
                // Not this client's create: nothing of it to roll back.
                return;
            };
            // Memory first, then the reservation: the ceiling never rises
            // while the memory it stands for is still allocated.
            for s in r.segments.iter().filter(|s| !s.committed) {
                if s.allocated != Bytes::ZERO {
                    alloc.free(c.instance, s.segid, s.allocated);
                }
            }
            if let Some(grant) = r.create.and_then(|cr| cr.grant) {
                // Cannot fail for a reservation this client made; a second
                // release is harmless.
                let _ = self.arc.release(grant);
            }
            r.segments.retain(|s| s.committed);
            let new_instance = r.create.is_some_and(|cr| cr.new_instance);
            r.create = None;
            if new_instance {
                t.remove(c.instance);
            } else {
                self.try_finish_destroy(t, c.instance);
            }
        });
        drop(g);
        err
    }

    /// The record a create belongs to, if the create is its current one.
    fn own_record<'t, S: CreateState>(
        t: &'t mut InstanceTable,
        c: &Creation<S>,
    ) -> Result<&'t mut InstanceRecord, VmmError> {
        t.get_mut(c.instance)
            .filter(|r| r.create.is_some_and(|cr| cr.token == c.token))
            .ok_or(VmmError::OutOfOrder)
    }

    // ---------------------------------------------------------------
    // The blocking compositions.
    // ---------------------------------------------------------------

    /// Creates instance `name` with the memory segments `segs`: begin,
    /// wait for headroom (up to the configured limit), allocate in chunks,
    /// finish; on any failure after the reservation, abort. Exactly the
    /// composition of the steps above, so the simulator, which calls the
    /// steps one by one in simulated time, runs the same code.
    pub fn create(
        &self,
        name: &[u8],
        segs: &[MemSegRequest],
        alloc: &mut impl SegmentAllocator,
    ) -> Result<InstanceId, VmmError> {
        let c = self.begin_create(name, segs)?;
        self.complete(c, alloc)
    }

    /// Creates instance `name` with no memory (`VMM_CREATE_VM`).
    pub fn create_instance(&self, name: &[u8]) -> Result<InstanceId, VmmError> {
        self.create(name, &[], &mut NoMemory)
    }

    /// Adds segment `seg` to `instance` (`VM_ALLOC_MEMSEG`): the same
    /// steps for one segment; a failure rolls back that segment only.
    pub fn alloc_memseg(
        &self,
        instance: InstanceId,
        seg: MemSegRequest,
        alloc: &mut impl SegmentAllocator,
    ) -> Result<(), VmmError> {
        let c = self.begin_alloc_memseg(instance, seg)?;
        self.complete(c, alloc).map(|_| ())
    }

    fn complete(
        &self,
        c: Creation<Reserved>,
        alloc: &mut impl SegmentAllocator,
    ) -> Result<InstanceId, VmmError> {
        let mut c = match self.wait_headroom(c) {
            Ok(c) => c,
            Err(f) => return Err(self.abort(f.creation, alloc, f.error)),
        };
        loop {
            match self.allocate_chunk(&mut c, alloc, self.config.alloc_chunk) {
                Ok(AllocProgress::More) => {}
                Ok(AllocProgress::Done) => break,
                Err(e) => return Err(self.abort(c, alloc, e)),
            }
        }
        self.finish(c, alloc)
    }

    // ---------------------------------------------------------------
    // Destruction and the instance's device.
    // ---------------------------------------------------------------

    /// Destroys `instance` (`VM_DESTROY_SELF`, `VMM_DESTROY_VM` after the
    /// name lookup, a zone's shutdown). Begins destruction (the name is
    /// free at once; a create still waiting for headroom has its
    /// reservation released, which wakes it to roll back) and finishes it
    /// if nothing holds the instance. Destroying an instance whose
    /// destruction already began is harmless; an unknown (or already
    /// destroyed) instance is `ENOENT` and changes nothing.
    pub fn destroy(&self, instance: InstanceId) -> Result<DestroyOutcome, VmmError> {
        self.locked().with(|t| {
            let r = t.get_mut(instance).ok_or(VmmError::UnknownInstance)?;
            if r.state != InstanceState::Destroying {
                r.state = InstanceState::Destroying;
                if let Some(cr) = r.create.as_mut().filter(|cr| !cr.allocating) {
                    if let Some(grant) = cr.grant.take() {
                        // The create owns no memory yet: its reservation
                        // promises memory nobody will allocate. Releasing
                        // it restores the ceiling now and wakes its wait.
                        let _ = self.arc.release(grant);
                        for s in r.segments.iter_mut().filter(|s| !s.committed) {
                            s.released = true;
                        }
                    }
                }
            }
            Ok(self.try_finish_destroy(t, instance))
        })
    }

    /// Destroys the instance called `name` (`VMM_DESTROY_VM`).
    pub fn destroy_by_name(&self, name: &[u8]) -> Result<DestroyOutcome, VmmError> {
        let id = self.lookup(name).ok_or(VmmError::UnknownInstance)?;
        self.destroy(id)
    }

    /// Finishes `instance`'s destruction if it is ready: releases every
    /// reservation it still holds and removes it.
    fn try_finish_destroy(&self, t: &mut InstanceTable, instance: InstanceId) -> DestroyOutcome {
        let Some(r) = t.get(instance).filter(|r| r.destroy_ready()) else {
            return DestroyOutcome::Deferred;
        };
        let reserved = r.reserved();
        let allocated = r
            .segments
            .iter()
            .fold(Bytes::ZERO, |a, s| a.saturating_add(s.allocated));
        for grant in r.live_grants() {
            // Cannot fail for a reservation this client made.
            let _ = self.arc.release(grant);
        }
        t.remove(instance);
        t.counters.destroys = t.counters.destroys.saturating_add(1);
        DestroyOutcome::Finished {
            reserved,
            allocated,
        }
    }

    /// The instance's device was opened (`vmm_open()`).
    pub fn device_opened(&self, instance: InstanceId) -> Result<(), VmmError> {
        self.locked().with(|t| {
            let r = t.get_mut(instance).ok_or(VmmError::UnknownInstance)?;
            r.open = true;
            Ok(())
        })
    }

    /// The instance's device was closed (`vmm_close()`, the last close):
    /// finishes a destruction that was waiting for it, or begins one if
    /// auto-destruct is set. `None` if the instance lives on.
    pub fn device_closed(&self, instance: InstanceId) -> Result<Option<DestroyOutcome>, VmmError> {
        let destroy = self.locked().with(|t| {
            let r = t.get_mut(instance).ok_or(VmmError::UnknownInstance)?;
            r.open = false;
            Ok::<bool, VmmError>(r.state == InstanceState::Destroying || r.autodestruct)
        })?;
        if destroy {
            self.destroy(instance).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Sets or clears auto-destruct (`VM_SET_AUTODESTRUCT`).
    pub fn set_autodestruct(&self, instance: InstanceId, on: bool) -> Result<(), VmmError> {
        self.locked().with(|t| {
            let r = t.get_mut(instance).ok_or(VmmError::UnknownInstance)?;
            r.autodestruct = on;
            Ok(())
        })
    }

    /// A vmm_drv consumer (viona) takes a hold (`vmm_drv_hold()`): `EBUSY`
    /// once destruction began.
    pub fn hold(&self, instance: InstanceId) -> Result<(), VmmError> {
        self.locked().with(|t| {
            let r = t.get_mut(instance).ok_or(VmmError::UnknownInstance)?;
            if r.state == InstanceState::Destroying {
                return Err(VmmError::Busy);
            }
            r.holds = r.holds.checked_add(1).ok_or(VmmError::Overflow)?;
            Ok(())
        })
    }

    /// A vmm_drv consumer releases its hold (`vmm_drv_rele()`): the last
    /// one finishes a destruction that was waiting for it.
    pub fn release_hold(&self, instance: InstanceId) -> Result<Option<DestroyOutcome>, VmmError> {
        self.locked().with(|t| {
            let r = t.get_mut(instance).ok_or(VmmError::UnknownInstance)?;
            r.holds = r.holds.checked_sub(1).ok_or(VmmError::OutOfOrder)?;
            if r.holds == 0 && r.state == InstanceState::Destroying {
                Ok(Some(self.try_finish_destroy(t, instance)))
            } else {
                Ok(None)
            }
        })
    }
}

impl<P, A, L> Drop for VmmArcClient<P, A, L>
where
    P: Platform,
    A: Deref<Target = ArcTunables<P>>,
    L: TableLock,
{
    /// Module unload: the driver refuses to detach while instances exist,
    /// so the table is normally empty; whatever is left still returns its
    /// headroom, so no reservation outlives vmm. Then the tunable goes.
    fn drop(&mut self) {
        self.locked().with(|t| {
            for r in t.records.iter() {
                for grant in r.live_grants() {
                    let _ = self.arc.release(grant);
                }
            }
            t.records.clear();
        });
        let _ = self.arc.unregister(self.registrant);
    }
}
