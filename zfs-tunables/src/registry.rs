//! A generic registry of tunables: descriptors, registrants, proposals.
//!
//! A *registrant* is a kernel module that owns some tunables (the ARC owns
//! `zfs_arc_max` and its kin; vmm owns its page overhead). It registers a
//! static [`Registrant`]: a module name, a slice of [`TunableDesc`]s and two
//! optional hooks. A write of one or several tunables goes through the same
//! steps whoever owns them:
//!
//! 1. every name is looked up and every value checked against its
//!    descriptor: flags (a boot-only tunable refuses runtime writes),
//!    static bounds (skipped for 0 when 0 means "default") and the
//!    descriptor's own rule;
//! 2. the complete proposed state (every current value, with the writes
//!    laid over it) is shown to the `validate` hook of every registrant
//!    that owns a written tunable, so rules that relate several tunables
//!    (min below max) or the kernel's state (live reservations) see the
//!    state as it would be;
//! 3. only if every check passed are the values stored, and then each
//!    affected registrant's `apply` hook runs with the new state.
//!
//! A write therefore changes everything or nothing. Values are stored in
//! `AtomicU64` slots outside the component's lock, so a module reads its
//! own tunable with one load through a [`TunableHandle`].
//!
//! Both hooks run with the component's lock held, so a hook must not
//! call back into the component: it would take the lock twice.

use heapless::Vec;

use crate::error::TunableError;
use crate::sync::{AtomicU64, Ordering};
use crate::units::Bytes;

/// How many tunables all registrants together may register.
pub const MAX_TUNABLES: usize = 32;
/// How many registrants may be registered at once.
pub const MAX_REGISTRANTS: usize = 8;
/// The most significant characters of a tunable name: a kstat's
/// `KSTAT_STRLEN - 1`, so every tunable can be a kstat field.
pub const MAX_NAME_LEN: usize = 30;

bitflags::bitflags! {
    /// How a tunable may be changed.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct TunableFlags: u32 {
        /// May change at runtime; appears in the writable
        /// `zfs:0:tunables` kstat and is picked up from raw `mdb -kw`
        /// writes.
        const DYNAMIC = 1 << 0;
        /// 0 means "not set: use the computed default", and is accepted
        /// whatever the bounds.
        const ZERO_IS_DEFAULT = 1 << 1;
        /// May only be set from `/etc/system`, before boot completes.
        const BOOT_ONLY = 1 << 2;
    }
}

/// What a tunable's value counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Bytes.
    Bytes,
    /// Pages of the base page size.
    Pages,
    /// Bytes per page of memory.
    BytesPerPage,
    /// A plain count.
    Count,
    /// A shift (a power of two as its exponent).
    Shift,
    /// Seconds.
    Seconds,
}

/// A descriptor's own rule for a value, checked after its bounds.
pub type RuleFn = fn(&TunableDesc, u64) -> Result<(), TunableError>;
/// A registrant's check of a complete proposed state.
///
/// It may also be shown a value outside its descriptor's static bounds,
/// which is refused whatever it answers: an out-of-bounds answer for that
/// value states the bounds in force on this host, which the refusal then
/// quotes. So a hook must judge any value, never assume the bounds.
///
/// Runs with the component's lock held, and must not call back into the
/// component: a call that takes the lock would take it a second time,
/// which panics the kernel (a recursive `mutex_enter`) and deadlocks a
/// std build. Everything a hook may consult is in the [`Proposal`].
pub type ValidateFn = fn(&Proposal<'_>) -> Result<(), TunableError>;
/// A registrant's reaction to a stored write.
///
/// Runs with the component's lock held, and must not call back into the
/// component, for the reason given at [`ValidateFn`]; it reads the new
/// state from the [`Proposal`].
pub type ApplyFn = fn(&Proposal<'_>);

/// One tunable's static description.
#[derive(Debug)]
pub struct TunableDesc {
    /// The C variable's name, at most 30 characters.
    pub name: &'static str,
    /// One line for `kstat`'s and `mdb`'s readers.
    pub description: &'static str,
    /// What the value counts.
    pub unit: Unit,
    /// How it may be changed.
    pub flags: TunableFlags,
    /// The smallest accepted value (0 is also accepted when
    /// [`TunableFlags::ZERO_IS_DEFAULT`] is set).
    pub min: u64,
    /// The largest accepted value.
    pub max: u64,
    /// The value before anyone sets it.
    pub default: u64,
    /// A further rule for this value alone, checked after the bounds.
    pub rule: Option<RuleFn>,
}

/// A kernel module's tunables and hooks.
///
/// The hooks run inside a write, with the component's lock held: they
/// must not call back into the component (see [`ValidateFn`]).
#[derive(Debug)]
pub struct Registrant {
    /// The module's name (`zfs`, `vmm`).
    pub module: &'static str,
    /// Its tunables.
    pub tunables: &'static [TunableDesc],
    /// Checks the complete proposed state before anything is stored.
    pub validate: Option<ValidateFn>,
    /// Runs after a write of this registrant's tunables was stored.
    pub apply: Option<ApplyFn>,
}

/// Identifies a registered registrant, for unregistering it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegistrantId(u8);

/// A registered tunable, for one-load reads of its value.
///
/// A handle stays valid while its registrant is registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TunableHandle(u8);

/// The kernel state a `validate` hook may consult besides the values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProposalContext {
    /// Bytes held by live headroom reservations.
    pub reserved: Bytes,
    /// Whether boot (`/etc/system` processing) is still under way.
    pub booting: bool,
    /// `desfree` in bytes, as the platform reports it now (the headroom
    /// margin may not go below it).
    pub desfree: Bytes,
}

/// The state a write would produce, shown to `validate` and `apply` hooks.
#[derive(Debug)]
pub struct Proposal<'a> {
    registry: &'a RegistryMeta,
    values: &'a [u64],
    changed: u64,
    context: ProposalContext,
    host: &'a crate::arc_limits::HostMemory,
    generation: crate::arc_limits::Generation,
}

impl Proposal<'_> {
    /// The proposed value of `name`, if it is registered.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<u64> {
        let slot = self.registry.find(name)?;
        self.values.get(slot).copied()
    }

    /// Whether the write sets `name`.
    #[must_use]
    pub fn is_changed(&self, name: &str) -> bool {
        match self.registry.find(name) {
            Some(slot) => self.changed & (1u64 << slot) != 0,
            None => false,
        }
    }

    /// The kernel state around the write.
    #[must_use]
    pub fn context(&self) -> ProposalContext {
        self.context
    }

    /// The host's memory.
    #[must_use]
    pub fn host(&self) -> &crate::arc_limits::HostMemory {
        self.host
    }

    /// Which `arc_init()` generation the host runs.
    #[must_use]
    pub fn generation(&self) -> crate::arc_limits::Generation {
        self.generation
    }
}

/// One occupied registry slot.
#[derive(Debug, Clone, Copy)]
struct Slot {
    desc: &'static TunableDesc,
    registrant: u8,
}

/// The registry's metadata, kept under the component's lock.
#[derive(Debug)]
pub struct RegistryMeta {
    slots: [Option<Slot>; MAX_TUNABLES],
    registrants: [Option<&'static Registrant>; MAX_REGISTRANTS],
}

/// The registry's values: one atomic per slot, readable without the lock.
#[derive(Debug)]
pub struct RegistryValues {
    values: [AtomicU64; MAX_TUNABLES],
}

impl RegistryValues {
    /// Every slot zero. `const` outside loom, so the kernel can keep a
    /// component in static storage.
    #[cfg(not(loom))]
    #[must_use]
    pub const fn new() -> Self {
        RegistryValues {
            values: [const { AtomicU64::new(0) }; MAX_TUNABLES],
        }
    }

    /// Every slot zero (loom's atomics are not `const`).
    #[cfg(loom)]
    #[must_use]
    pub fn new() -> Self {
        RegistryValues {
            values: core::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// The value behind `handle`, one load.
    #[inline]
    #[must_use]
    pub fn get(&self, handle: TunableHandle) -> u64 {
        self.values
            .get(usize::from(handle.0))
            .map_or(0, |v| v.load(Ordering::Relaxed))
    }

    pub(crate) fn load(&self, slot: usize) -> u64 {
        self.values
            .get(slot)
            .map_or(0, |v| v.load(Ordering::Relaxed))
    }

    fn store(&self, slot: usize, value: u64) {
        if let Some(v) = self.values.get(slot) {
            v.store(value, Ordering::Relaxed);
        }
    }
}

impl Default for RegistryValues {
    fn default() -> Self {
        Self::new()
    }
}

/// A tunable as listed for readers (kstat rendering, `::zfs_params`).
#[derive(Clone, Copy, Debug)]
pub struct TunableEntry {
    /// The descriptor.
    pub desc: &'static TunableDesc,
    /// The owning module.
    pub module: &'static str,
    /// The current value.
    pub value: u64,
    /// The handle, for one-load reads.
    pub handle: TunableHandle,
}

/// The writes of one request, name and value.
pub type Writes<'a> = &'a [(&'a str, u64)];

impl RegistryMeta {
    /// An empty registry.
    #[must_use]
    pub const fn new() -> Self {
        RegistryMeta {
            slots: [None; MAX_TUNABLES],
            registrants: [None; MAX_REGISTRANTS],
        }
    }

    /// The slot holding `name`.
    #[must_use]
    pub fn find(&self, name: &str) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.is_some_and(|s| s.desc.name == name))
    }

    /// The handle of `name`.
    #[must_use]
    pub fn lookup(&self, name: &str) -> Option<TunableHandle> {
        self.find(name)
            .and_then(|slot| u8::try_from(slot).ok())
            .map(TunableHandle)
    }

    /// Adds `r` and its tunables, each starting at its default.
    pub fn register(
        &mut self,
        r: &'static Registrant,
        values: &RegistryValues,
    ) -> Result<RegistrantId, TunableError> {
        if r.module.is_empty() {
            return Err(TunableError::BadName);
        }
        if r.module.len() > MAX_NAME_LEN {
            return Err(TunableError::NameTooLong { name: r.module });
        }
        if self
            .registrants
            .iter()
            .flatten()
            .any(|x| x.module == r.module)
        {
            return Err(TunableError::Duplicate);
        }
        let rslot = self
            .registrants
            .iter()
            .position(Option::is_none)
            .ok_or(TunableError::Full)?;
        // Check every descriptor before taking any slot.
        let mut free: Vec<usize, MAX_TUNABLES> = Vec::new();
        for (i, d) in r.tunables.iter().enumerate() {
            if d.name.is_empty() || !d.name.is_ascii() {
                return Err(TunableError::BadName);
            }
            if d.name.len() > MAX_NAME_LEN {
                return Err(TunableError::NameTooLong { name: d.name });
            }
            if self.find(d.name).is_some() || r.tunables.iter().take(i).any(|e| e.name == d.name) {
                return Err(TunableError::Duplicate);
            }
            let slot = self
                .slots
                .iter()
                .enumerate()
                .position(|(s, x)| x.is_none() && !free.contains(&s))
                .ok_or(TunableError::Full)?;
            free.push(slot).map_err(|_| TunableError::Full)?;
        }
        let rid = u8::try_from(rslot).map_err(|_| TunableError::Full)?;
        for (d, &slot) in r.tunables.iter().zip(free.iter()) {
            if let Some(s) = self.slots.get_mut(slot) {
                *s = Some(Slot {
                    desc: d,
                    registrant: rid,
                });
                values.store(slot, d.default);
            }
        }
        if let Some(x) = self.registrants.get_mut(rslot) {
            *x = Some(r);
        }
        Ok(RegistrantId(rid))
    }

    /// Removes a registrant and its tunables.
    pub fn unregister(&mut self, id: RegistrantId) -> Result<(), TunableError> {
        let r = self
            .registrants
            .get_mut(usize::from(id.0))
            .ok_or(TunableError::UnknownTunable)?;
        if r.take().is_none() {
            return Err(TunableError::UnknownTunable);
        }
        for s in self.slots.iter_mut() {
            if s.is_some_and(|x| x.registrant == id.0) {
                *s = None;
            }
        }
        Ok(())
    }

    /// Every registered tunable with its current value.
    pub fn entries<'a>(
        &'a self,
        values: &'a RegistryValues,
    ) -> impl Iterator<Item = TunableEntry> + 'a {
        self.slots.iter().enumerate().filter_map(move |(i, s)| {
            let s = s.as_ref()?;
            let module = self
                .registrants
                .get(usize::from(s.registrant))
                .copied()
                .flatten()?
                .module;
            Some(TunableEntry {
                desc: s.desc,
                module,
                value: values.load(i),
                handle: TunableHandle(u8::try_from(i).ok()?),
            })
        })
    }

    /// The descriptor of `name`.
    #[must_use]
    pub fn desc(&self, name: &str) -> Option<&'static TunableDesc> {
        let slot = self.find(name)?;
        self.slots.get(slot).copied().flatten().map(|s| s.desc)
    }

    /// Checks `writes` against every rule and, if all pass, stores them and
    /// runs the apply hooks. Nothing is stored on error.
    pub fn write(
        &self,
        values: &RegistryValues,
        writes: Writes<'_>,
        context: ProposalContext,
        host: &crate::arc_limits::HostMemory,
        generation: crate::arc_limits::Generation,
    ) -> Result<u64, TunableError> {
        let mut proposed = [0u64; MAX_TUNABLES];
        for (i, p) in proposed.iter_mut().enumerate() {
            *p = values.load(i);
        }
        let mut changed = 0u64;
        for &(name, value) in writes {
            let slot = self.find(name).ok_or(TunableError::UnknownTunable)?;
            let s = self
                .slots
                .get(slot)
                .copied()
                .flatten()
                .ok_or(TunableError::UnknownTunable)?;
            let checked = check_desc(s.desc, value, context.booting);
            if let Some(p) = proposed.get_mut(slot) {
                *p = value;
            }
            changed |= 1u64 << slot;
            if let Err(e) = checked {
                let proposal = Proposal {
                    registry: self,
                    values: &proposed,
                    changed,
                    context,
                    host,
                    generation,
                };
                return Err(self.bounds_in_force(e, &proposal, 1u64 << slot));
            }
        }
        let proposal = Proposal {
            registry: self,
            values: &proposed,
            changed,
            context,
            host,
            generation,
        };
        let affected = self.affected(changed);
        for r in affected.iter() {
            if let Some(v) = r.validate {
                v(&proposal)?;
            }
        }
        for (i, &v) in proposed.iter().enumerate() {
            if changed & (1u64 << i) != 0 {
                values.store(i, v);
            }
        }
        for r in affected.iter() {
            if let Some(a) = r.apply {
                a(&proposal);
            }
        }
        Ok(changed)
    }

    /// `e`, a value outside its descriptor's static bounds, with the
    /// bounds in force on this host when the owning registrant's rules
    /// state tighter ones (`zfs_arc_max`'s descriptor says "up to
    /// `u64::MAX`", `arc_init()` says "below `allmem`"): the registrant's
    /// `validate` hook is shown the proposal, and an out-of-bounds refusal
    /// of the same value narrows the bounds quoted. So a refused value is
    /// quoted the same bounds whichever check caught it and whichever
    /// path (kstat, `mdb -kw`, `/etc/system`) it came by. Any other answer
    /// from the hook leaves `e` as it is; the write is refused either way.
    fn bounds_in_force(&self, e: TunableError, proposal: &Proposal<'_>, slot: u64) -> TunableError {
        let TunableError::OutOfBounds {
            name,
            value,
            min,
            max,
        } = e
        else {
            return e;
        };
        for r in self.affected(slot).iter() {
            let Some(validate) = r.validate else { continue };
            if let Err(TunableError::OutOfBounds {
                name: n,
                value: v,
                min: rule_min,
                max: rule_max,
            }) = validate(proposal)
            {
                if n == name && v == value {
                    return TunableError::OutOfBounds {
                        name,
                        value,
                        min: core::cmp::max(min, rule_min),
                        max: core::cmp::min(max, rule_max),
                    };
                }
            }
        }
        e
    }

    /// The registrants owning any slot in `changed`.
    fn affected(&self, changed: u64) -> Vec<&'static Registrant, MAX_REGISTRANTS> {
        let mut out: Vec<&'static Registrant, MAX_REGISTRANTS> = Vec::new();
        for (i, r) in self.registrants.iter().enumerate() {
            let Some(r) = r else { continue };
            let owns = self.slots.iter().enumerate().any(|(s, x)| {
                changed & (1u64 << s) != 0 && x.is_some_and(|x| usize::from(x.registrant) == i)
            });
            if owns {
                // Cannot fail: at most MAX_REGISTRANTS registrants exist.
                let _ = out.push(r);
            }
        }
        out
    }
}

impl Default for RegistryMeta {
    fn default() -> Self {
        Self::new()
    }
}

/// Checks one value against its descriptor's flags, bounds and rule.
fn check_desc(d: &'static TunableDesc, value: u64, booting: bool) -> Result<(), TunableError> {
    if !booting && !d.flags.contains(TunableFlags::DYNAMIC) {
        return Err(TunableError::BootOnly { name: d.name });
    }
    if value == 0 && d.flags.contains(TunableFlags::ZERO_IS_DEFAULT) {
        return Ok(());
    }
    if value < d.min || value > d.max {
        return Err(TunableError::OutOfBounds {
            name: d.name,
            value,
            min: d.min,
            max: d.max,
        });
    }
    match d.rule {
        Some(rule) => rule(d, value),
        None => Ok(()),
    }
}

// MAX_TUNABLES slots are tracked in one u64 bit mask.
const _: () = assert!(MAX_TUNABLES <= 64);
// Handles and registrant ids are u8.
const _: () = assert!(MAX_TUNABLES <= 256 && MAX_REGISTRANTS <= 256);
