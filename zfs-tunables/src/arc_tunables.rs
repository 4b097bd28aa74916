//! The component: registry, ARC limits and headroom behind one lock.

use crate::arc_limits::{
    compute_lenient, compute_strict, names, AdminValues, ArcLimits, Generation, HostMemory,
    ARC_LIMIT_FLOOR, DBUF_CACHE_SHIFT, DBUF_METADATA_CACHE_SHIFT,
};
use crate::error::TunableError;
use crate::headroom::{HeadroomCounters, HeadroomTable, HostSupply, ReleaseOutcome, ReservationId};
use crate::platform::{MemoryFigures, Platform, Wake};
use crate::published_limits::{LimitsSnapshot, PublishedLimits};
use crate::registry::{
    Proposal, ProposalContext, Registrant, RegistrantId, RegistryMeta, RegistryValues, TunableDesc,
    TunableEntry, TunableFlags, TunableHandle, Unit, Writes,
};
use crate::sync::{AtomicU64, Ordering, UnsafeCell};
use crate::units::{Bytes, Hrtime, PageSize, Pages};

/// The flags of every ARC tunable: runtime-adjustable, 0 for the default.
const ARC_FLAGS: TunableFlags = TunableFlags::DYNAMIC.union(TunableFlags::ZERO_IS_DEFAULT);

/// The ARC's own tunables, registered by [`ArcTunables::new`].
static ARC_TUNABLES: [TunableDesc; 7] = [
    TunableDesc {
        name: names::ZFS_ARC_MAX,
        description: "ARC size ceiling in bytes (0: MAX(3/4 of memory, all but 1 GiB))",
        unit: Unit::Bytes,
        flags: ARC_FLAGS,
        min: ARC_LIMIT_FLOOR.0 + 1,
        max: u64::MAX,
        default: 0,
        rule: None,
    },
    TunableDesc {
        name: names::ZFS_ARC_MIN,
        description: "ARC size floor in bytes (0: the arc_init() default)",
        unit: Unit::Bytes,
        flags: ARC_FLAGS,
        min: ARC_LIMIT_FLOOR.0 + 1,
        max: u64::MAX,
        default: 0,
        rule: None,
    },
    TunableDesc {
        name: names::ZFS_ARC_META_LIMIT,
        description: "ARC metadata limit in bytes (0: a quarter of the ceiling)",
        unit: Unit::Bytes,
        flags: ARC_FLAGS,
        min: 1,
        max: u64::MAX,
        default: 0,
        rule: None,
    },
    TunableDesc {
        name: names::ZFS_ARC_META_MIN,
        description: "ARC metadata floor in bytes (0: half of c_min)",
        unit: Unit::Bytes,
        flags: ARC_FLAGS,
        min: 1,
        max: u64::MAX,
        default: 0,
        rule: None,
    },
    TunableDesc {
        name: names::DBUF_CACHE_MAX_BYTES,
        description: "dbuf cache size in bytes (0: 1/32 of the ARC ceiling)",
        unit: Unit::Bytes,
        flags: ARC_FLAGS,
        min: 1,
        max: u64::MAX,
        default: 0,
        rule: None,
    },
    TunableDesc {
        name: names::DBUF_METADATA_CACHE_MAX_BYTES,
        description: "metadata dbuf cache size in bytes (0: 1/64 of the ceiling)",
        unit: Unit::Bytes,
        flags: ARC_FLAGS,
        min: 1,
        max: u64::MAX,
        default: 0,
        rule: None,
    },
    // The free memory a reservation's start leaves, in bytes (0: lotsfree
    // + desfree). Admission refuses a reservation the host cannot give
    // with this much to spare, and a waiter proceeds only when free
    // memory covers its pending bytes plus this much. The default is what
    // the ARC's own FMR_LOTSFREE term keeps free anyway, so a start never
    // takes free memory below lotsfree, where the page scanner starts
    // paging processes out. A lower value (down to desfree, the
    // swapper's threshold) lets a guest fit that would otherwise be
    // refused on a small or full host, at that risk: once the guest is
    // in, free memory may sit between desfree and lotsfree, the scanner
    // runs, and if the ARC cannot shrink further (at c_min, or held by a
    // busy reader) it pages processes out. Never below desfree: there the
    // swapper swaps whole processes out.
    TunableDesc {
        name: names::ZFS_ARC_HEADROOM_MARGIN,
        description: "free memory a guest's start leaves, bytes (0: lotsfree + desfree)",
        unit: Unit::Bytes,
        flags: ARC_FLAGS,
        min: 1,
        max: u64::MAX,
        default: 0,
        rule: None,
    },
];

/// The ARC's registrant. Its `validate` hook runs `arc_init()`'s rules
/// strictly and checks live reservations; no `apply` hook is needed,
/// because the component recomputes every derived value after any write.
static ARC_REGISTRANT: Registrant = Registrant {
    module: "zfs",
    tunables: &ARC_TUNABLES,
    validate: Some(validate_arc),
    apply: None,
};

/// The admin values in a proposal.
fn proposed_admin(p: &Proposal<'_>) -> AdminValues {
    AdminValues {
        arc_max: p.get(names::ZFS_ARC_MAX).unwrap_or(0),
        arc_min: p.get(names::ZFS_ARC_MIN).unwrap_or(0),
        arc_meta_limit: p.get(names::ZFS_ARC_META_LIMIT).unwrap_or(0),
        arc_meta_min: p.get(names::ZFS_ARC_META_MIN).unwrap_or(0),
        dbuf_cache_max: p.get(names::DBUF_CACHE_MAX_BYTES).unwrap_or(0),
        dbuf_metadata_cache_max: p.get(names::DBUF_METADATA_CACHE_MAX_BYTES).unwrap_or(0),
    }
}

/// The ceiling from which reservations are subtracted: the host's default
/// `c_max`, or the admin's `zfs_arc_max` when that is higher.
fn c_max_base(l: &ArcLimits) -> Bytes {
    core::cmp::max(l.c_max_default, l.c_max)
}

fn validate_arc(p: &Proposal<'_>) -> Result<(), TunableError> {
    validate_margin(p)?;
    let admin = proposed_admin(p);
    let changed = |n: &str| p.is_changed(n);
    let limits = compute_strict(p.host(), p.generation(), &admin, &changed)?;
    let reserved = p.context().reserved;
    let needed = limits
        .c_min
        .checked_add(reserved)
        .ok_or(TunableError::Overflow)?;
    if needed > c_max_base(&limits) {
        let name = if p.is_changed(names::ZFS_ARC_MIN) {
            names::ZFS_ARC_MIN
        } else {
            names::ZFS_ARC_MAX
        };
        return Err(TunableError::ConflictsWithReservations {
            name,
            value: p.get(name).unwrap_or(0),
            reserved,
        });
    }
    Ok(())
}

/// The headroom margin may be 0 (the default) or between `desfree` and
/// `allmem`.
fn validate_margin(p: &Proposal<'_>) -> Result<(), TunableError> {
    let name = names::ZFS_ARC_HEADROOM_MARGIN;
    let value = p.get(name).unwrap_or(0);
    let min = core::cmp::max(p.context().desfree.0, 1);
    let max = p.host().allmem().0;
    if value != 0 && (value < min || value > max) {
        return Err(TunableError::OutOfBounds {
            name,
            value,
            min,
            max,
        });
    }
    Ok(())
}

/// The margin in force: the tunable's value, or `lotsfree + desfree` for
/// 0, never below `desfree`.
fn effective_margin(tunable: u64, lotsfree: Bytes, desfree: Bytes) -> Bytes {
    if tunable == 0 {
        lotsfree.saturating_add(desfree)
    } else {
        core::cmp::max(Bytes(tunable), desfree)
    }
}

/// Everything behind the lock.
#[derive(Debug)]
struct State {
    registry: RegistryMeta,
    headroom: HeadroomTable,
    host: HostMemory,
    generation: Generation,
    booting: bool,
    /// The ARC's tunables as last read from the registry.
    admin: AdminValues,
    /// The limits before reservations, as last computed from them.
    limits: ArcLimits,
    /// The effective ceiling, as last published.
    c_max_eff: Bytes,
}

/// The state of one wait across [`ArcTunables::poll_wait`] calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WaitTicket {
    /// Whether this wait has already been counted as one that slept.
    slept: bool,
}

/// The headroom figures exported as `zfs:0:arc_headroom`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeadroomStats {
    /// Bytes held by live reservations.
    pub reserved: Bytes,
    /// Bytes promised and not yet allocated.
    pub pending: Bytes,
    /// Bytes reserved and allocated.
    pub allocated: Bytes,
    /// Distinct consumers holding reservations.
    pub consumers: u64,
    /// Live reservations.
    pub reservations: u64,
    /// The ceiling with no reservation.
    pub c_max_base: Bytes,
    /// The ceiling the ARC obeys.
    pub c_max_effective: Bytes,
    /// The free memory a start leaves (`zfs_arc_headroom_margin` in force).
    pub margin: Bytes,
    /// What a new reservation could be given now without paging
    /// ([`HostSupply::can_give`]); `u64::MAX` bytes on a platform that
    /// has no view of the host's memory.
    pub available_now: Bytes,
    /// The event counters.
    pub counters: HeadroomCounters,
}

/// Runtime-adjustable ARC limits and ARC headroom reservations for one
/// host; see the crate documentation.
pub struct ArcTunables<P: Platform> {
    platform: P,
    limits: PublishedLimits,
    values: RegistryValues,
    /// Pending bytes no consumer is allocating yet (the table's
    /// `unclaimed()`), read by the headroom term without the lock.
    pending: AtomicU64,
    /// `zfs_arc_headroom_margin` as last stored (0: the default), read by
    /// the headroom term without the lock.
    margin: AtomicU64,
    /// The headroom deficit the reaper's last pass expected to remain once
    /// the depots it counted were returned, in bytes (`u64::MAX`: no
    /// expectation: the headroom term was not the reason, or a reservation
    /// was made since). The ARC's reap thread writes it (see
    /// `reap_to_free`), a new reservation resets it.
    reap_expect: AtomicU64,
    /// The ARC's target `c` when the first of the pending reservations
    /// was made, in bytes (`u64::MAX`: none since the last kick, or
    /// nothing pending): the kick's cut measures a reader's float from it
    /// ([`reader_float`](crate::headroom::reader_float)). A reservation
    /// sets it if unset, the first cut takes it, and it is cleared when
    /// nothing is pending.
    kick_c_before: AtomicU64,
    /// The host's page size (immutable; kept out of the locked state so
    /// the headroom term needs no lock).
    page_size: PageSize,
    /// The limits `arc_init()` computes for this host with no tunable set
    /// (immutable once configured, so readable without the lock).
    defaults: ArcLimits,
    state: UnsafeCell<State>,
}

// SAFETY: `state` is only accessed through `Locked`, which exists only
// while the platform's lock is held (the `Platform` contract makes that
// lock exclusive); every other field is an atomic or `P`, which is `Sync`.
unsafe impl<P: Platform> Sync for ArcTunables<P> {}
// SAFETY: nothing in the component is tied to the thread that created it;
// moving it moves the platform, which must then be `Send` too.
unsafe impl<P: Platform + Send> Send for ArcTunables<P> {}

/// Proof that the component's lock is held; releases it when dropped.
#[must_use = "the lock is released as soon as this guard is dropped"]
struct Locked<'a, P: Platform> {
    owner: &'a ArcTunables<P>,
}

impl<P: Platform> Locked<'_, P> {
    /// Runs `f` on the locked state.
    fn with<R>(&mut self, f: impl FnOnce(&mut State) -> R) -> R {
        // SAFETY: `self` proves the lock is held, so no other thread is in
        // `with`; `&mut self` keeps this thread from nesting calls.
        self.owner.state.with_mut(|s| f(unsafe { &mut *s }))
    }

    /// Sleeps on the component's condition variable.
    fn wait(&mut self, deadline: Hrtime) -> Wake {
        // SAFETY: `self` proves this thread holds the lock; the platform
        // gives it back before returning, so the guard stays truthful.
        unsafe { self.owner.platform.wait(deadline) }
    }
}

impl<P: Platform> Drop for Locked<'_, P> {
    fn drop(&mut self) {
        // SAFETY: a `Locked` is only made after `lock`/`try_lock` succeeded
        // on this thread, and is dropped once.
        unsafe { self.owner.platform.unlock() }
    }
}

impl<P: Platform> ArcTunables<P> {
    /// The component for `host`, with the ARC's tunables registered at
    /// their defaults and the limits `arc_init()` would compute. `c` starts
    /// at the ceiling, as in `arc_init()`. Boot is in progress until
    /// [`finish_boot`](Self::finish_boot).
    pub fn new(platform: P, host: HostMemory, generation: Generation) -> Self {
        let (limits, _) = compute_lenient(&host, generation, &AdminValues::default());
        let this = ArcTunables {
            platform,
            limits: PublishedLimits::new(),
            values: RegistryValues::new(),
            pending: AtomicU64::new(0),
            margin: AtomicU64::new(0),
            reap_expect: AtomicU64::new(u64::MAX),
            kick_c_before: AtomicU64::new(u64::MAX),
            page_size: host.page_size,
            defaults: limits,
            state: UnsafeCell::new(State {
                registry: RegistryMeta::new(),
                headroom: HeadroomTable::new(),
                host,
                generation,
                booting: true,
                admin: AdminValues::default(),
                limits,
                c_max_eff: limits.c_max,
            }),
        };
        this.setup();
        this
    }

    /// Registers the ARC's tunables, publishes the limits and sets `c` to
    /// the ceiling: the part of [`new`](Self::new) that follows building
    /// the fields, shared with [`configure`](Self::configure).
    fn setup(&self) {
        {
            let mut g = self.lock();
            g.with(|s| {
                // Cannot fail: the registry is empty and the ARC's table is
                // well-formed (a unit test registers it on its own).
                let _ = s.registry.register(&ARC_REGISTRANT, &self.values);
                self.reconfigure(s);
            });
            self.republish(&mut g);
        }
        self.set_target_to_ceiling();
    }

    /// Sets `c` to the ceiling, as at the end of `arc_init()`, in a write
    /// section bracketed for the platform like every other move of `c`.
    fn set_target_to_ceiling(&self) {
        self.platform.enter_write_section();
        self.limits.set_target(self.limits.c_max());
        self.platform.exit_write_section();
    }

    /// An empty component, for static storage: `const`, so a kernel can
    /// place it in its data section instead of building it on a small
    /// kernel stack (the component is about 50 KB, mostly the reservation
    /// table). It holds no tunables and publishes zeros until
    /// [`configure`](Self::configure) makes it what [`new`](Self::new)
    /// would have built.
    #[cfg(not(loom))]
    #[must_use]
    pub const fn unconfigured(platform: P) -> Self {
        let host = HostMemory::new(Pages(0), PageSize::AMD64);
        ArcTunables {
            platform,
            limits: PublishedLimits::new(),
            values: RegistryValues::new(),
            pending: AtomicU64::new(0),
            margin: AtomicU64::new(0),
            reap_expect: AtomicU64::new(u64::MAX),
            kick_c_before: AtomicU64::new(u64::MAX),
            page_size: host.page_size,
            defaults: ArcLimits {
                c_min: Bytes::ZERO,
                c_max: Bytes::ZERO,
                meta_limit: Bytes::ZERO,
                meta_min: Bytes::ZERO,
                c_max_default: Bytes::ZERO,
                allmem: Bytes::ZERO,
            },
            state: UnsafeCell::new(State {
                registry: RegistryMeta::new(),
                headroom: HeadroomTable::new(),
                host,
                generation: Generation::Current,
                booting: true,
                admin: AdminValues {
                    arc_max: 0,
                    arc_min: 0,
                    arc_meta_limit: 0,
                    arc_meta_min: 0,
                    dbuf_cache_max: 0,
                    dbuf_metadata_cache_max: 0,
                },
                limits: ArcLimits {
                    c_min: Bytes::ZERO,
                    c_max: Bytes::ZERO,
                    meta_limit: Bytes::ZERO,
                    meta_min: Bytes::ZERO,
                    c_max_default: Bytes::ZERO,
                    allmem: Bytes::ZERO,
                },
                c_max_eff: Bytes::ZERO,
            }),
        }
    }

    /// Makes a component fresh from [`unconfigured`](Self::unconfigured)
    /// what [`new`](Self::new) builds for `host`, in place. A component
    /// that is already configured is left alone: `Duplicate`.
    pub fn configure(
        &mut self,
        host: HostMemory,
        generation: Generation,
    ) -> Result<(), TunableError> {
        let (limits, _) = compute_lenient(&host, generation, &AdminValues::default());
        let fresh = self.state.with_mut(|s| {
            // SAFETY: `&mut self` excludes every other access to the state.
            let s = unsafe { &mut *s };
            if s.registry.find(names::ZFS_ARC_MAX).is_some() {
                return false;
            }
            s.host = host;
            s.generation = generation;
            s.booting = true;
            s.limits = limits;
            s.c_max_eff = limits.c_max;
            true
        });
        if !fresh {
            return Err(TunableError::Duplicate);
        }
        self.page_size = host.page_size;
        self.defaults = limits;
        self.setup();
        Ok(())
    }

    fn lock(&self) -> Locked<'_, P> {
        self.platform.lock();
        Locked { owner: self }
    }

    fn try_lock(&self) -> Option<Locked<'_, P>> {
        if self.platform.try_lock() {
            Some(Locked { owner: self })
        } else {
            None
        }
    }

    /// The platform this component runs on.
    pub fn platform(&self) -> &P {
        &self.platform
    }

    /// Publishes the unclaimed pending bytes for the lock-free readers;
    /// with none, no reservation awaits a kick's cut either.
    fn set_pending(&self, unclaimed: Bytes) {
        self.pending.store(unclaimed.0, Ordering::Relaxed);
        if unclaimed == Bytes::ZERO {
            self.kick_c_before.store(u64::MAX, Ordering::Relaxed);
        }
    }

    /// Recomputes every derived value from the registry and the
    /// reservations, publishes them, and kicks the evictor if `c` fell
    /// below the ARC's size.
    fn republish(&self, g: &mut Locked<'_, P>) {
        let (snap, old_c) = g.with(|s| {
            let admin = s.admin;
            let l = s.limits;
            let base = c_max_base(&l);
            let avail = base.saturating_sub(s.headroom.reserved());
            let c_max_eff = core::cmp::max(l.c_min, core::cmp::min(l.c_max, avail));
            let meta_limit = if admin.arc_meta_limit != 0 {
                core::cmp::min(Bytes(admin.arc_meta_limit), c_max_eff)
            } else {
                core::cmp::min(l.meta_limit, Bytes(c_max_eff.0 / 4))
            };
            let dbuf = |set: u64, shift: u32| {
                if set != 0 && set < c_max_eff.0 {
                    Bytes(set)
                } else {
                    Bytes(c_max_eff.0 >> shift)
                }
            };
            s.c_max_eff = c_max_eff;
            self.set_pending(s.headroom.unclaimed());
            (
                LimitsSnapshot {
                    c: Bytes::ZERO,
                    c_min: l.c_min,
                    c_max: c_max_eff,
                    p: Bytes::ZERO,
                    meta_limit,
                    meta_min: l.meta_min,
                    dbuf_cache_max: dbuf(admin.dbuf_cache_max, DBUF_CACHE_SHIFT),
                    dbuf_metadata_cache_max: dbuf(
                        admin.dbuf_metadata_cache_max,
                        DBUF_METADATA_CACHE_SHIFT,
                    ),
                },
                self.limits.c(),
            )
        });
        // The write section: stores only, bracketed for the platform.
        self.platform.enter_write_section();
        let c = self.limits.publish(&snap);
        self.platform.exit_write_section();
        if c < old_c && self.platform.arc_size() > c {
            self.platform.kick_evictor();
        }
    }

    /// Re-reads the ARC's tunables from the registry and recomputes the
    /// limits before reservations; done when a tunable may have changed,
    /// so reservations and releases only redo the effective ceiling.
    fn reconfigure(&self, s: &mut State) {
        let v = |n: &str| s.registry.find(n).map_or(0, |slot| self.values.load(slot));
        let admin = AdminValues {
            arc_max: v(names::ZFS_ARC_MAX),
            arc_min: v(names::ZFS_ARC_MIN),
            arc_meta_limit: v(names::ZFS_ARC_META_LIMIT),
            arc_meta_min: v(names::ZFS_ARC_META_MIN),
            dbuf_cache_max: v(names::DBUF_CACHE_MAX_BYTES),
            dbuf_metadata_cache_max: v(names::DBUF_METADATA_CACHE_MAX_BYTES),
        };
        let (l, _) = compute_lenient(&s.host, s.generation, &admin);
        s.admin = admin;
        s.limits = l;
        self.margin
            .store(v(names::ZFS_ARC_HEADROOM_MARGIN), Ordering::Relaxed);
    }

    fn write_locked(&self, g: &mut Locked<'_, P>, writes: Writes<'_>) -> Result<(), TunableError> {
        g.with(|s| {
            let ctx = ProposalContext {
                reserved: s.headroom.reserved(),
                booting: s.booting,
                desfree: self
                    .platform
                    .memory()
                    .desfree
                    .saturating_to_bytes(s.host.page_size),
            };
            s.registry
                .write(&self.values, writes, ctx, &s.host, s.generation)?;
            self.reconfigure(s);
            Ok::<(), TunableError>(())
        })?;
        self.republish(g);
        Ok(())
    }

    // ---------------------------------------------------------------
    // The registry.
    // ---------------------------------------------------------------

    /// Registers another module's tunables (each starts at its default).
    pub fn register(&self, r: &'static Registrant) -> Result<RegistrantId, TunableError> {
        let mut g = self.lock();
        g.with(|s| s.registry.register(r, &self.values))
    }

    /// Removes a module's tunables (at module unload).
    pub fn unregister(&self, id: RegistrantId) -> Result<(), TunableError> {
        let mut g = self.lock();
        g.with(|s| {
            s.registry.unregister(id)?;
            self.reconfigure(s);
            Ok::<(), TunableError>(())
        })?;
        self.republish(&mut g);
        Ok(())
    }

    /// The handle of a registered tunable.
    pub fn lookup(&self, name: &str) -> Option<TunableHandle> {
        let mut g = self.lock();
        g.with(|s| s.registry.lookup(name))
    }

    /// A tunable's value through its handle: one atomic load, no lock.
    #[inline]
    pub fn value(&self, handle: TunableHandle) -> u64 {
        self.values.get(handle)
    }

    /// A tunable's current value (0 for "default" where that applies).
    pub fn get(&self, name: &str) -> Result<u64, TunableError> {
        let mut g = self.lock();
        g.with(|s| s.registry.find(name).map(|slot| self.values.load(slot)))
            .ok_or(TunableError::UnknownTunable)
    }

    /// A tunable's descriptor.
    pub fn desc(&self, name: &str) -> Option<&'static TunableDesc> {
        let mut g = self.lock();
        g.with(|s| s.registry.desc(name))
    }

    /// Calls `f` for every registered tunable, in registry order.
    pub fn for_each_tunable(&self, mut f: impl FnMut(&TunableEntry)) {
        let mut g = self.lock();
        g.with(|s| {
            for e in s.registry.entries(&self.values) {
                f(&e);
            }
        });
    }

    /// Sets one tunable: validated, applied at once, or refused with
    /// nothing changed.
    pub fn set(&self, name: &str, value: u64) -> Result<(), TunableError> {
        self.set_many(&[(name, value)])
    }

    /// Sets several tunables at once, all or nothing.
    pub fn set_many(&self, writes: Writes<'_>) -> Result<(), TunableError> {
        let mut g = self.lock();
        self.write_locked(&mut g, writes)
    }

    /// Like [`set_many`](Self::set_many), for a caller that must not
    /// sleep: [`TunableError::WouldBlock`] if the lock is held.
    pub fn try_set_many(&self, writes: Writes<'_>) -> Result<(), TunableError> {
        let mut g = self.try_lock().ok_or(TunableError::WouldBlock)?;
        self.write_locked(&mut g, writes)
    }

    /// Like [`set_many`](Self::set_many) (or, with `wait` false,
    /// [`try_set_many`](Self::try_set_many)), once `check` has accepted
    /// the limits in force before reservations, all under one hold of the
    /// lock: a caller whose refusals depend on the values in force (an
    /// ioctl that keeps a limit when given 0) sees the ones it writes
    /// over. `check`'s refusal, like the write's, changes nothing.
    pub fn set_many_checked<E: From<TunableError>>(
        &self,
        writes: Writes<'_>,
        wait: bool,
        check: impl FnOnce(&ArcLimits) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut g = if wait {
            self.lock()
        } else {
            self.try_lock().ok_or(TunableError::WouldBlock)?
        };
        let limits = g.with(|s| s.limits);
        check(&limits)?;
        Ok(self.write_locked(&mut g, writes)?)
    }

    /// Puts a tunable back to its default (0 where 0 means default).
    pub fn reset(&self, name: &str) -> Result<(), TunableError> {
        let mut g = self.lock();
        let desc = g
            .with(|s| s.registry.desc(name))
            .ok_or(TunableError::UnknownTunable)?;
        let v = if desc.flags.contains(TunableFlags::ZERO_IS_DEFAULT) {
            0
        } else {
            desc.default
        };
        self.write_locked(&mut g, &[(name, v)])
    }

    /// Sets a tunable from `/etc/system`: boot-only tunables are accepted,
    /// and the caller reports and ignores an error, as illumos does.
    pub fn boot_set(&self, name: &str, value: u64) -> Result<(), TunableError> {
        let mut g = self.lock();
        let booting = g.with(|s| s.booting);
        if !booting {
            return Err(TunableError::BootOnly {
                name: g.with(|s| s.registry.desc(name)).map_or("?", |d| d.name),
            });
        }
        self.write_locked(&mut g, &[(name, value)])
    }

    /// Ends boot: from now on boot-only tunables refuse writes. The ARC's
    /// target is set to the ceiling, as at the end of `arc_init()`.
    pub fn finish_boot(&self) {
        let mut g = self.lock();
        g.with(|s| s.booting = false);
        drop(g);
        self.set_target_to_ceiling();
    }

    // ---------------------------------------------------------------
    // The ARC's side: reads and its own moves of `c`.
    // ---------------------------------------------------------------

    /// A consistent snapshot of the published limits.
    #[inline]
    pub fn limits(&self) -> LimitsSnapshot {
        self.limits.snapshot()
    }

    /// The published limits themselves, for the ARC's hot-path loads.
    #[inline]
    pub fn published(&self) -> &PublishedLimits {
        &self.limits
    }

    /// The limits `arc_init()` computes for this host with no tunable set.
    /// No lock: they are fixed once the component is configured.
    pub fn default_limits(&self) -> ArcLimits {
        self.defaults
    }

    /// The limits before reservations (`c_max` is the admin's or default).
    pub fn configured_limits(&self) -> ArcLimits {
        let mut g = self.lock();
        g.with(|s| s.limits)
    }

    /// The headroom term of `arc_available_memory()`, in bytes:
    /// `freemem - pending - margin` (the margin is `lotsfree + desfree`
    /// unless `zfs_arc_headroom_margin` says otherwise), or `i64::MAX` when
    /// nothing is pending; claimed bytes (see [`claim`](Self::claim)) are
    /// not pending here. Two atomic loads and integer arithmetic; no lock.
    ///
    /// It is `FMR_LOTSFREE` (`freemem - lotsfree - needfree - desfree`)
    /// with the pending bytes in the place of `needfree`: the ARC frees
    /// what the guests are about to take and keeps what it keeps free
    /// anyway, without `needfree`'s side effects (the swapper's view of
    /// free memory, system-wide kmem reaps from `schedpaging()`).
    #[inline]
    pub fn headroom_term(&self, freemem: Pages, lotsfree: Pages, desfree: Pages) -> i64 {
        let pending = self.pending.load(Ordering::Relaxed);
        if pending == 0 {
            return i64::MAX;
        }
        let ps = i128::from(self.page_size.bytes().0);
        let free = i128::from(freemem.0).saturating_mul(ps);
        // The margin in 128 bits, so extreme page counts cannot saturate
        // it below what they mean.
        let desfree_b = i128::from(desfree.0).saturating_mul(ps);
        let margin = match self.margin.load(Ordering::Relaxed) {
            0 => i128::from(lotsfree.0)
                .saturating_mul(ps)
                .saturating_add(desfree_b),
            v => core::cmp::max(i128::from(v), desfree_b),
        };
        let n = free
            .saturating_sub(i128::from(pending))
            .saturating_sub(margin);
        i64::try_from(n).unwrap_or(if n < 0 { i64::MIN } else { i64::MAX })
    }

    /// The headroom term's `availrmem` half, in bytes: `availrmem - floor
    /// - pending`, or `i64::MAX` when nothing is pending.
    ///
    /// A guest's pages leave `availrmem` as well as `freemem` (they are
    /// locked down), and `arc_available_memory()`'s `FMR_PAGES_PP_MAXIMUM`
    /// term keeps `availrmem` above `pages_pp_maximum +
    /// arc_pages_pp_reserve` (the `floor`, the admission's
    /// [`availrmem_floor`](crate::AdmissionFigures::availrmem_floor)). On
    /// a host whose kernel holds much locked memory, `availrmem` is the
    /// tighter of the two: a guest admitted on `freemem` alone would take
    /// `availrmem` under the floor once its pages were locked, and the
    /// stock reaper would then cut `c` again, by `c >> arc_shrink_shift`
    /// beyond the deficit, for memory the headroom term had not asked for.
    /// So the ARC takes the smaller of this and
    /// [`headroom_term`](Self::headroom_term) as its headroom term, and a
    /// waiter proceeds only when both cover it. No margin is added: the
    /// floor is the ARC's own. Claimed bytes are not pending here. One
    /// atomic load and integer arithmetic; no lock.
    #[inline]
    pub fn headroom_term_availrmem(&self, availrmem: Pages, floor: Pages) -> i64 {
        let pending = self.pending.load(Ordering::Relaxed);
        if pending == 0 {
            return i64::MAX;
        }
        let ps = i128::from(self.page_size.bytes().0);
        let n = i128::from(availrmem.0)
            .saturating_mul(ps)
            .saturating_sub(i128::from(floor.0).saturating_mul(ps))
            .saturating_sub(i128::from(pending));
        i64::try_from(n).unwrap_or(if n < 0 { i64::MIN } else { i64::MAX })
    }

    /// The margin in force for these page counts, in bytes.
    fn margin_for(&self, lotsfree: Pages, desfree: Pages) -> Bytes {
        let ps = self.page_size;
        effective_margin(
            self.margin.load(Ordering::Relaxed),
            lotsfree.saturating_to_bytes(ps),
            desfree.saturating_to_bytes(ps),
        )
    }

    /// What the host can give, from the platform's figures now, or `None`
    /// if the platform has no view of them.
    fn host_supply(&self, s: &State) -> Option<HostSupply> {
        let f = self.platform.admission_figures()?;
        let mem: MemoryFigures = self.platform.memory();
        let ps = s.host.page_size;
        Some(HostSupply {
            freemem: mem.freemem.saturating_to_bytes(ps),
            availrmem: f.availrmem.saturating_to_bytes(ps),
            availrmem_floor: f.availrmem_floor.saturating_to_bytes(ps),
            arc_size: self.platform.arc_size(),
            arc_evictable: f.arc_evictable,
            arc_evicted_cached: f.arc_evicted_cached,
            c_min: s.limits.c_min,
            margin: self.margin_for(mem.lotsfree, mem.desfree),
        })
    }

    /// `arc_reap_cb()`'s `to_free` under headroom: the headroom deficit
    /// when the headroom term is or was the reason memory is short, less
    /// what is already on its way to free memory.
    ///
    /// The stock reaper frees `(c >> arc_shrink_shift) - free_memory`:
    /// the deficit plus a slack of `c >> arc_shrink_shift`. When the
    /// headroom term is the reason (`headroom_is_reason`), the deficit is
    /// exact (the pending bytes, with the margin already in the term), so
    /// the slack is not taken: it would be evicted for nobody. The caller
    /// says the term is the reason when it is now (the ARC's
    /// `last_free_reason == FMR_HEADROOM`) or when it was at the check that
    /// started this pass: a guest that claimed its bytes during the pass's
    /// one-second sleep leaves the term met, and the stock rule would then
    /// cut `c >> arc_shrink_shift` for the memory the guest just took.
    /// The deficit is then that of whichever term binds now (none if
    /// `free_memory` is not negative). Under any other reason the stock
    /// figure stands.
    ///
    /// The headroom term is satisfied only when memory reaches `freemem`.
    /// The reaper computes `to_free` once a second, but bytes it already
    /// asked for may still be on their way: `to_evict` (`size - c`, which
    /// the adjust thread has yet to evict) and `depots` (evicted buffers in
    /// the full magazines of the ARC's kmem caches, which the reap at the
    /// start of each pass returns). Cutting `c` again by the same deficit
    /// every second until the memory arrives is how OS-8005 over-evicted,
    /// so, while anything is pending or the term is the reason, both are
    /// subtracted.
    ///
    /// That holds while the memory arrives. Each pass begins with a reap
    /// of the depots (`arc_kmem_reap_soon()`), and the next check waits
    /// for it to finish (`kmem_cache_reap_active()`), so by the next pass
    /// the depots a pass counted have reached `freemem`, and the deficit
    /// should be at most this one less them. When it is more, someone took
    /// as much from `freemem`: a reader that keeps taking back what the
    /// ARC evicts keeps a float of buffers in the depots for good, and a
    /// deficit the size of that float would never close. The pass then
    /// does not count the depots: it asks for the deficit less `to_evict`,
    /// and at least the stock slack `c >> arc_shrink_shift` (`to_free +
    /// free_memory`) up to the deficit, so one pass closes the float. A
    /// stalled evictor leaves the deficit where it was, which is what was
    /// expected of it (its bytes are still in `to_evict`): no pass cuts
    /// for it twice. The expectation is kept in an atomic; a new
    /// reservation resets it, so a pass after one is a first pass. Only the
    /// ARC's reap thread may call this.
    ///
    /// With nothing pending and another reason, the stock rule is kept:
    /// `to_free` is returned unchanged.
    ///
    /// `size - c` is in flight only if the adjust thread was asked to
    /// evict it; a reader can hold the ARC in its overflow band above `c`
    /// without anyone asking. A caller that gets nothing to cut back must
    /// therefore ask for that eviction itself (the patched `arc_reap_cb()`
    /// does, through `arc_tunables_adjust()`).
    #[inline]
    pub fn reap_to_free(
        &self,
        to_free: i64,
        free_memory: i64,
        headroom_is_reason: bool,
        to_evict: Bytes,
        depots: Bytes,
    ) -> i64 {
        if !headroom_is_reason && self.pending.load(Ordering::Relaxed) == 0 {
            self.reap_expect.store(u64::MAX, Ordering::Relaxed);
            return to_free;
        }
        // The headroom term's deficit (none if the term is met).
        let shortfall = free_memory.saturating_neg().max(0);
        let (wanted, deficit, expect) = if headroom_is_reason {
            let d = shortfall.unsigned_abs();
            (shortfall, d, d.saturating_sub(depots.0))
        } else {
            (to_free, u64::MAX, u64::MAX)
        };
        let expected = self.reap_expect.swap(expect, Ordering::Relaxed);
        if !headroom_is_reason || deficit <= expected {
            return wanted.saturating_sub(to_evict.saturating_add(depots).saturating_as_i64());
        }
        let slack = to_free.saturating_add(free_memory).max(0).min(wanted);
        wanted
            .saturating_sub(to_evict.saturating_as_i64())
            .max(slack)
    }

    /// How far the ARC lowers `c` at once when its evictor is kicked
    /// while a reservation is pending: the headroom term's deficit less
    /// what is already on its way to `freemem` (`arc_size - arc_c`, and
    /// `evicted_cached` in the ARC's kmem caches) that a reader does not
    /// take back; see [`headroom_cut`](crate::headroom::headroom_cut).
    ///
    /// The first cut after the pending reservations were made also takes
    /// the `c` the first of them found, and counts the reader's float
    /// above it ([`reader_float`](crate::headroom::reader_float)) as not
    /// in flight; later cuts count none, so a float is cut once. Zero with
    /// nothing pending. Pure arithmetic on its arguments and two atomic
    /// operations; no lock.
    #[inline]
    pub fn headroom_cut(
        &self,
        headroom_term: i64,
        arc_size: Bytes,
        arc_c: Bytes,
        evicted_cached: Bytes,
    ) -> Bytes {
        if self.pending.load(Ordering::Relaxed) == 0 {
            return Bytes::ZERO;
        }
        let float = if headroom_term < 0 {
            let before = self.kick_c_before.swap(u64::MAX, Ordering::Relaxed);
            crate::headroom::reader_float(arc_size, Bytes(before), evicted_cached)
        } else {
            Bytes::ZERO
        };
        crate::headroom::headroom_cut(headroom_term, arc_size, arc_c, evicted_cached, float)
    }

    // ---------------------------------------------------------------
    // Headroom reservations.
    // ---------------------------------------------------------------

    /// Reserves `bytes` of headroom for `consumer`, all of it to be
    /// allocated later; see [`reserve_with_allocated`](Self::reserve_with_allocated).
    pub fn reserve(&self, consumer: &str, bytes: Bytes) -> Result<ReservationId, TunableError> {
        self.reserve_with_allocated(consumer, bytes, Bytes::ZERO)
    }

    /// Reserves `bytes` of headroom for `consumer`, of which `allocated`
    /// count as allocated from the start (never waited for; vmm's `page_t`
    /// term). Refused, with nothing changed but a counter:
    /// - `ENOMEM` ([`NeverFits`](TunableError::NeverFits)) when `c_min +
    ///   bytes` exceeds the base ceiling: it can never fit on this host
    ///   (vmm's ioctl answers `ENOSPC`, so bhyve does not retry);
    /// - `ENOMEM` ([`NoHeadroom`](TunableError::NoHeadroom)) when `c_min +
    ///   reserved + bytes` does;
    /// - `ENOMEM` ([`ShortOfMemory`](TunableError::ShortOfMemory)) when the
    ///   host cannot give the pending part now without paging
    ///   ([`HostSupply::can_give`]): a refusal in one call instead of a
    ///   wait that could only end at its deadline.
    ///
    /// Otherwise the ARC's effective ceiling drops by `bytes` (not below
    /// `c_min`), `c` follows, and the evictor is kicked.
    pub fn reserve_with_allocated(
        &self,
        consumer: &str,
        bytes: Bytes,
        allocated: Bytes,
    ) -> Result<ReservationId, TunableError> {
        self.reserve_queued_with(consumer, bytes, allocated, None)
    }

    /// As [`reserve_with_allocated`](Self::reserve_with_allocated), and
    /// queued for the wait where `with` is (a later step of the same
    /// object: vmm queues a guest's later segments with its first; see
    /// [`HeadroomTable::queue_with`](crate::headroom::HeadroomTable::queue_with)).
    /// `with` not live: queued last, as any new reservation.
    pub fn reserve_queued_with(
        &self,
        consumer: &str,
        bytes: Bytes,
        allocated: Bytes,
        with: Option<ReservationId>,
    ) -> Result<ReservationId, TunableError> {
        let mut g = self.lock();
        let id = g.with(|s| {
            let base = c_max_base(&s.limits);
            let supply = self.host_supply(s);
            let id = s.headroom.reserve_admitted(
                consumer,
                bytes,
                allocated,
                s.limits.c_min,
                base,
                supply.as_ref(),
            )?;
            if let Some(w) = with {
                // `id` was just made, so it is live: this cannot fail.
                let _ = s.headroom.queue_with(id, w);
            }
            Ok::<_, TunableError>(id)
        })?;
        // The target this reservation found, unless an earlier pending
        // one's is still to be cut from.
        let _ = self.kick_c_before.compare_exchange(
            u64::MAX,
            self.limits.c().0,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        self.republish(&mut g);
        // A new deficit: the reaper's next pass is its first.
        self.reap_expect.store(u64::MAX, Ordering::Relaxed);
        drop(g);
        self.platform.kick_evictor();
        Ok(id)
    }

    /// Claims `id`'s pending bytes: its consumer's wait succeeded and it
    /// is allocating them now. They leave the headroom term at once (vmm
    /// takes `freemem` for a whole segment, then zeroes it for seconds
    /// before it can mark it allocated, and the ARC would free it a
    /// second time meanwhile) but stay pending for younger waiters until
    /// they are marked allocated or released. Claiming twice claims nothing
    /// more; `ENOENT` if `id` was released.
    pub fn claim(&self, id: ReservationId) -> Result<(), TunableError> {
        let mut g = self.lock();
        g.with(|s| {
            s.headroom.claim(id)?;
            self.set_pending(s.headroom.unclaimed());
            Ok(())
        })
    }

    /// Records that `bytes` of `id` are now allocated (moved from pending,
    /// claimed bytes first).
    pub fn mark_allocated(&self, id: ReservationId, bytes: Bytes) -> Result<(), TunableError> {
        let mut g = self.lock();
        g.with(|s| {
            s.headroom.mark_allocated(id, bytes)?;
            self.set_pending(s.headroom.unclaimed());
            Ok::<(), TunableError>(())
        })?;
        self.platform.broadcast();
        Ok(())
    }

    /// Releases `id`: both parts return and the ceiling is restored
    /// exactly. Releasing twice is harmless.
    ///
    /// A reservation released before its memory was all allocated (a
    /// create rolled back: deadline, signal, failed allocation, destroyed
    /// while waiting) may have left the ARC with a target cut for memory
    /// nobody will take. If no other reservation is pending, the cut that
    /// has not been evicted yet is cancelled: `c` rises back to the ARC's
    /// size (never above the ceiling), so the evictor does not go on
    /// shrinking the cache for a guest that is gone.
    pub fn release(&self, id: ReservationId) -> Result<ReleaseOutcome, TunableError> {
        let mut g = self.lock();
        let (out, cancel) = g.with(|s| {
            let was_pending = s.headroom.get(id).is_some_and(|r| r.pending != Bytes::ZERO);
            let out = s.headroom.release(id)?;
            let cancel = was_pending && s.headroom.pending() == Bytes::ZERO;
            Ok::<_, TunableError>((out, cancel))
        })?;
        if let ReleaseOutcome::Released { .. } = out {
            self.republish(&mut g);
            if cancel {
                let size = self.platform.arc_size();
                self.platform.enter_write_section();
                self.limits.raise_target(size);
                self.platform.exit_write_section();
            }
            // A waiter on this reservation must learn it is gone, and the
            // waiters behind it need less.
            self.platform.broadcast();
        }
        Ok(out)
    }

    /// Folds `from` into `into` once `from`'s memory is all allocated (see
    /// [`HeadroomTable::merge_allocated`](crate::headroom::HeadroomTable::merge_allocated)):
    /// an owner that grows in steps keeps one reservation for what it
    /// holds. The ceiling does not move; waiters behind `from` need less,
    /// and are woken.
    pub fn merge_allocated(
        &self,
        into: ReservationId,
        from: ReservationId,
    ) -> Result<(), TunableError> {
        let mut g = self.lock();
        g.with(|s| {
            s.headroom.merge_allocated(into, from)?;
            self.set_pending(s.headroom.unclaimed());
            Ok::<(), TunableError>(())
        })?;
        self.platform.broadcast();
        Ok(())
    }

    /// Gives back `bytes` of `id`'s allocated memory: the ceiling rises by
    /// exactly that much (see
    /// [`HeadroomTable::shrink`](crate::headroom::HeadroomTable::shrink)),
    /// and `id` is released when nothing is left. Returns what `id` still
    /// holds. Never waits for memory.
    pub fn shrink(&self, id: ReservationId, bytes: Bytes) -> Result<Bytes, TunableError> {
        let mut g = self.lock();
        let left = g.with(|s| s.headroom.shrink(id, bytes))?;
        self.republish(&mut g);
        Ok(left)
    }

    /// Whether free memory covers `id`'s pending bytes, those of every
    /// older reservation, and the margin, and `availrmem` covers the same
    /// bytes above the ARC's floor there.
    fn headroom_ready(&self, s: &State, id: ReservationId) -> Result<bool, TunableError> {
        let need = match s.headroom.pending_through(id) {
            Some(n) => n,
            None if s.headroom.was_issued(id) => return Err(TunableError::Released),
            None => return Err(TunableError::UnknownReservation),
        };
        if s.headroom.get(id).is_some_and(|r| r.pending == Bytes::ZERO) {
            return Ok(true);
        }
        let mem = self.platform.memory();
        let free = mem.freemem.saturating_to_bytes(s.host.page_size);
        let margin = self.margin_for(mem.lotsfree, mem.desfree);
        if free < need.saturating_add(margin) {
            return Ok(false);
        }
        // The pages come out of availrmem too; above the ARC's floor there
        // (see `headroom_term_availrmem`). Read only once freemem covers
        // the need, since the figures take the ARC's callback.
        Ok(self.platform.admission_figures().is_none_or(|f| {
            let ps = s.host.page_size;
            f.availrmem.saturating_to_bytes(ps)
                >= need.saturating_add(f.availrmem_floor.saturating_to_bytes(ps))
        }))
    }

    /// One check of a wait, under the lock: `Ok(true)` when headroom is
    /// there, `Ok(false)` to sleep on, `ETIME` once `deadline` has passed.
    fn wait_check(
        &self,
        g: &mut Locked<'_, P>,
        id: ReservationId,
        deadline: Hrtime,
        ticket: &mut WaitTicket,
    ) -> Result<bool, TunableError> {
        if g.with(|s| self.headroom_ready(s, id))? {
            return Ok(true);
        }
        if self.platform.now() >= deadline {
            g.with(|s| {
                let c = s.headroom.counters_mut();
                c.wait_timeouts = c.wait_timeouts.saturating_add(1);
            });
            return Err(TunableError::TimedOut);
        }
        if !ticket.slept {
            ticket.slept = true;
            g.with(|s| {
                let c = s.headroom.counters_mut();
                c.waits = c.waits.saturating_add(1);
            });
        }
        Ok(false)
    }

    /// Sleeps until free memory covers `id`'s pending bytes (see
    /// [`HeadroomTable`](crate::headroom::HeadroomTable) for the
    /// first-come, first-served rule) plus `lotsfree + desfree`; woken by
    /// [`notify_progress`](Self::notify_progress). `ETIME` at `deadline`,
    /// `EINTR` on a signal, `ENOENT` if the reservation is released
    /// meanwhile; the reservation stays otherwise (the caller rolls back).
    pub fn wait(&self, id: ReservationId, deadline: Hrtime) -> Result<(), TunableError> {
        let mut g = self.lock();
        let mut ticket = WaitTicket::default();
        loop {
            if self.wait_check(&mut g, id, deadline, &mut ticket)? {
                return Ok(());
            }
            if g.wait(deadline) == Wake::Interrupted {
                g.with(|s| {
                    let c = s.headroom.counters_mut();
                    c.wait_interrupts = c.wait_interrupts.saturating_add(1);
                });
                return Err(TunableError::Interrupted);
            }
        }
    }

    /// The same check as [`wait`](Self::wait) without sleeping, for a
    /// caller that is itself driven by events (the simulator's discrete
    /// time): `Ok(true)` when headroom is there, `Ok(false)` to call again
    /// later with the same `ticket`, errors as `wait`.
    pub fn poll_wait(
        &self,
        id: ReservationId,
        deadline: Hrtime,
        ticket: &mut WaitTicket,
    ) -> Result<bool, TunableError> {
        let mut g = self.lock();
        self.wait_check(&mut g, id, deadline, ticket)
    }

    /// Tells waiters that memory was freed (the ARC's evictor or reaper
    /// calls this after each pass). Takes the lock, so a waiter between
    /// its check and its sleep cannot miss it.
    pub fn notify_progress(&self) {
        let g = self.lock();
        self.platform.broadcast();
        drop(g);
    }

    /// The headroom figures for `zfs:0:arc_headroom`.
    pub fn headroom_stats(&self) -> HeadroomStats {
        let mut g = self.lock();
        g.with(|s| {
            let reserved = s.headroom.reserved();
            let pending = s.headroom.pending();
            HeadroomStats {
                reserved,
                pending,
                allocated: reserved.saturating_sub(pending),
                consumers: s.headroom.consumers(),
                reservations: u64::try_from(s.headroom.iter().count()).unwrap_or(u64::MAX),
                c_max_base: c_max_base(&s.limits),
                c_max_effective: s.c_max_eff,
                margin: {
                    let mem = self.platform.memory();
                    self.margin_for(mem.lotsfree, mem.desfree)
                },
                available_now: self
                    .host_supply(s)
                    .map_or(Bytes(u64::MAX), |h| h.can_give(s.headroom.unclaimed())),
                counters: s.headroom.counters(),
            }
        })
    }

    /// The live reservation `id`, if any, as (reserved, pending) bytes.
    pub fn reservation(&self, id: ReservationId) -> Option<(Bytes, Bytes)> {
        let mut g = self.lock();
        g.with(|s| s.headroom.get(id).map(|r| (r.reserved, r.pending)))
    }

    /// The host this component was built for.
    pub fn host(&self) -> HostMemory {
        let mut g = self.lock();
        g.with(|s| s.host)
    }
}
