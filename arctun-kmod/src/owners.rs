//! Headroom owners other than VMs (the VMM reservoir): their table and
//! what each operation does to the component, free of the kernel.
//!
//! An owner holds memory in amounts it changes over time: the reservoir
//! grows when an administrator runs `rsrvrctl -a` or `-s`, taking pages
//! from the system as a transient guest does, and shrinks when pages go
//! back. It holds one *committed* reservation for what it has, which
//! lowers the ARC's ceiling like a running guest's, and at most one
//! *growth* in flight: a reservation of its own, waited for in its place
//! in the queue, then folded into the committed one
//! ([`ArcTunables::merge_allocated`]) or released if the growth fails. A
//! shrink gives back any part of the committed bytes
//! ([`ArcTunables::shrink`]), so the ceiling rises by exactly what the
//! reservoir returned.
//!
//! The table is fixed-capacity ([`MAX_OWNERS`], `ARCTUN_MAX_OWNERS`),
//! guarded by the instance table lock (see [`state`](crate::state)), and
//! its owners are known by ids that are never reused. Nothing here sleeps:
//! the growth's wait is the component's, with no table lock held.

use zfs_tunables::{ArcTunables, Bytes, Hrtime, PageSize, Platform, ReservationId, TunableError};

use crate::KmodError;

/// How many owners may be registered at once (`ARCTUN_MAX_OWNERS`).
pub const MAX_OWNERS: usize = 4;
/// The longest kstat module of an owner (`KSTAT_STRLEN - 1`).
pub const MODULE_LEN: usize = 30;
/// The longest owner name: its kstat, `arc_resv_<name>`, keeps within
/// `KSTAT_STRLEN - 1`, and it labels the owner's reservations in the
/// headroom table, whose consumer names keep 16 bytes.
pub const NAME_LEN: usize = 15;
/// The prefix of an owner's kstat name.
pub const KSTAT_PREFIX: &str = "arc_resv_";

/// How long a growth waits for the ARC to free its memory: 60 s, as a
/// guest's segment (vmm-client's `DEFAULT_WAIT_LIMIT`).
pub const GROWTH_WAIT_LIMIT: Hrtime = Hrtime::from_secs(60);

/// An owner's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OwnerId(pub u64);

/// A short name of `[a-z0-9_]`, kept inline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ShortName<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> ShortName<N> {
    fn new(s: &[u8]) -> Result<Self, KmodError> {
        if s.is_empty()
            || s.len() > N
            || !s
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
        {
            return Err(KmodError::BadOwnerName);
        }
        let mut bytes = [0u8; N];
        for (d, s) in bytes.iter_mut().zip(s) {
            *d = *s;
        }
        Ok(ShortName {
            bytes,
            len: s.len(),
        })
    }

    fn as_str(&self) -> &str {
        // Only ASCII was stored, and `len` is at most N.
        self.bytes
            .get(..self.len)
            .and_then(|b| core::str::from_utf8(b).ok())
            .unwrap_or("")
    }
}

/// An owner's kstat module and name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OwnerName {
    module: ShortName<MODULE_LEN>,
    name: ShortName<NAME_LEN>,
}

impl OwnerName {
    /// Checks a module and a name: 1 to [`MODULE_LEN`] and 1 to
    /// [`NAME_LEN`] bytes of `[a-z0-9_]`.
    pub fn new(module: &[u8], name: &[u8]) -> Result<Self, KmodError> {
        Ok(OwnerName {
            module: ShortName::new(module)?,
            name: ShortName::new(name)?,
        })
    }

    /// The kstat module (`vmm`).
    #[must_use]
    pub fn module(&self) -> &str {
        self.module.as_str()
    }

    /// The name (`reservoir`), which labels its reservations.
    #[must_use]
    pub fn name(&self) -> &str {
        self.name.as_str()
    }
}

/// An owner's event counters, for its kstat.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OwnerCounters {
    /// Growths committed.
    pub grows: u64,
    /// Shrinks.
    pub shrinks: u64,
    /// Growths refused at once (no headroom now, never on this host).
    pub refusals: u64,
    /// Growths released after a failed wait or allocation.
    pub failures: u64,
}

/// What an owner's kstat shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OwnerFigures {
    /// Committed headroom plus the growth in flight.
    pub reserved: Bytes,
    /// The growth's bytes not yet committed.
    pub pending: Bytes,
    /// Committed headroom: what the owner holds.
    pub committed: Bytes,
    /// The counters.
    pub counters: OwnerCounters,
}

/// A growth in flight, as the caller's buffer holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Growth {
    /// Whose.
    pub owner: OwnerId,
    /// Its reservation.
    pub reservation: ReservationId,
    /// Its size, rounded up to pages.
    pub bytes: Bytes,
    /// When its wait gives up.
    pub deadline: Hrtime,
}

#[derive(Clone, Copy, Debug)]
struct Owner {
    id: OwnerId,
    name: OwnerName,
    /// The committed reservation, while anything is committed.
    held: Option<ReservationId>,
    committed: Bytes,
    /// The growth in flight.
    growth: Option<Growth>,
    counters: OwnerCounters,
}

/// Every registered owner, by slot.
#[derive(Debug)]
pub struct OwnerTable {
    slots: [Option<Owner>; MAX_OWNERS],
    next_id: u64,
}

impl Default for OwnerTable {
    fn default() -> Self {
        Self::new()
    }
}

impl OwnerTable {
    /// No owners.
    #[must_use]
    pub const fn new() -> Self {
        OwnerTable {
            slots: [None; MAX_OWNERS],
            next_id: 1,
        }
    }

    fn find(&self, id: OwnerId) -> Result<(usize, &Owner), KmodError> {
        self.slots
            .iter()
            .enumerate()
            .find_map(|(i, o)| o.as_ref().filter(|o| o.id == id).map(|o| (i, o)))
            .ok_or(KmodError::UnknownOwner)
    }

    fn find_mut(&mut self, id: OwnerId) -> Result<&mut Owner, KmodError> {
        self.slots
            .iter_mut()
            .flatten()
            .find(|o| o.id == id)
            .ok_or(KmodError::UnknownOwner)
    }

    /// Registers `name`; returns its id and slot (which names its kstat).
    pub fn register(&mut self, name: OwnerName) -> Result<(OwnerId, usize), KmodError> {
        if self.slots.iter().flatten().any(|o| o.name == name) {
            return Err(KmodError::OwnerExists);
        }
        let (slot, free) = self
            .slots
            .iter_mut()
            .enumerate()
            .find(|(_, o)| o.is_none())
            .ok_or(KmodError::OwnersFull)?;
        let id = OwnerId(self.next_id);
        self.next_id = self.next_id.checked_add(1).ok_or(KmodError::OwnersFull)?;
        *free = Some(Owner {
            id,
            name,
            held: None,
            committed: Bytes::ZERO,
            growth: None,
            counters: OwnerCounters::default(),
        });
        Ok((id, slot))
    }

    /// Removes `id`, which must hold nothing; returns the slot it had.
    pub fn unregister(&mut self, id: OwnerId) -> Result<usize, KmodError> {
        let (slot, o) = self.find(id)?;
        if o.held.is_some() || o.growth.is_some() {
            return Err(KmodError::OwnerBusy);
        }
        if let Some(s) = self.slots.get_mut(slot) {
            *s = None;
        }
        Ok(slot)
    }

    /// How many owners are registered.
    #[must_use]
    pub fn registered(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    /// Whether any owner holds headroom or has a growth in flight.
    #[must_use]
    pub fn busy(&self) -> bool {
        self.slots
            .iter()
            .flatten()
            .any(|o| o.held.is_some() || o.growth.is_some())
    }

    /// The owner in `slot`, if any: its name and its figures, the growth's
    /// pending bytes as the component has them.
    pub fn figures<P: Platform>(
        &self,
        arc: &ArcTunables<P>,
        slot: usize,
    ) -> Option<(OwnerName, OwnerFigures)> {
        let o = self.slots.get(slot)?.as_ref()?;
        let (growth_reserved, growth_pending) = o
            .growth
            .and_then(|g| arc.reservation(g.reservation))
            .unwrap_or((Bytes::ZERO, Bytes::ZERO));
        Some((
            o.name,
            OwnerFigures {
                reserved: o.committed.saturating_add(growth_reserved),
                pending: growth_pending,
                committed: o.committed,
                counters: o.counters,
            },
        ))
    }

    /// Starts a growth of `bytes` (rounded up to pages): reserves it,
    /// lowering the ceiling at once, and never waits. A refusal changes
    /// nothing but the owner's `refusals`.
    pub fn grow<P: Platform>(
        &mut self,
        arc: &ArcTunables<P>,
        id: OwnerId,
        bytes: u64,
        page_size: PageSize,
    ) -> Result<Growth, KmodError> {
        let o = self.find_mut(id)?;
        if o.growth.is_some() {
            return Err(KmodError::OwnerBusy);
        }
        if bytes == 0 {
            return Err(KmodError::Tunable(TunableError::ZeroSize));
        }
        let bytes = Bytes(bytes)
            .checked_roundup(page_size)
            .ok_or(KmodError::Tunable(TunableError::Overflow))?;
        let reservation = match arc.reserve(o.name.name(), bytes) {
            Ok(r) => r,
            Err(e) => {
                o.counters.refusals = o.counters.refusals.saturating_add(1);
                return Err(match e {
                    TunableError::NeverFits { .. } => KmodError::NeverFits(e),
                    e => KmodError::Tunable(e),
                });
            }
        };
        let growth = Growth {
            owner: id,
            reservation,
            bytes,
            deadline: arc.platform().now().saturating_add(GROWTH_WAIT_LIMIT),
        };
        o.growth = Some(growth);
        Ok(growth)
    }

    /// The owner's growth in flight, if it is `g`.
    fn growth_of(&mut self, g: &Growth) -> Result<&mut Owner, KmodError> {
        let o = self.find_mut(g.owner)?;
        if o.growth.as_ref() != Some(g) {
            return Err(KmodError::NoGrowth);
        }
        Ok(o)
    }

    /// Commits `g`, whose pages are the owner's now: it joins the
    /// committed headroom, and the ceiling stays lowered by it. Should the
    /// component refuse (it cannot for a growth this table started), the
    /// growth's headroom is returned instead; either way nothing is left
    /// in flight. [`KmodError::NoGrowth`] for a growth that is not the
    /// owner's in flight, which changes nothing.
    pub fn commit<P: Platform>(
        &mut self,
        arc: &ArcTunables<P>,
        g: &Growth,
    ) -> Result<(), KmodError> {
        let o = self.growth_of(g)?;
        let joined = o
            .committed
            .checked_add(g.bytes)
            .ok_or(KmodError::Tunable(TunableError::Overflow))
            .and_then(|committed| {
                match o.held {
                    Some(held) => arc.merge_allocated(held, g.reservation)?,
                    None => arc.mark_allocated(g.reservation, g.bytes)?,
                }
                Ok(committed)
            });
        o.growth = None;
        match joined {
            Ok(committed) => {
                if o.held.is_none() {
                    o.held = Some(g.reservation);
                }
                o.committed = committed;
                o.counters.grows = o.counters.grows.saturating_add(1);
                Ok(())
            }
            Err(e) => {
                // Nothing is left in flight: the growth's headroom goes
                // back, and the caller learns why.
                o.counters.failures = o.counters.failures.saturating_add(1);
                let _ = arc.release(g.reservation);
                Err(e)
            }
        }
    }

    /// Returns `g`'s reservation after its wait or its allocation failed.
    pub fn release<P: Platform>(
        &mut self,
        arc: &ArcTunables<P>,
        g: &Growth,
    ) -> Result<(), KmodError> {
        let o = self.growth_of(g)?;
        o.growth = None;
        o.counters.failures = o.counters.failures.saturating_add(1);
        arc.release(g.reservation)?;
        Ok(())
    }

    /// Gives back `bytes` (rounded up to pages) of committed headroom: the
    /// ceiling rises by exactly that much. Refused, with nothing changed,
    /// for zero bytes or more than is committed.
    pub fn shrink<P: Platform>(
        &mut self,
        arc: &ArcTunables<P>,
        id: OwnerId,
        bytes: u64,
        page_size: PageSize,
    ) -> Result<(), KmodError> {
        let o = self.find_mut(id)?;
        if bytes == 0 {
            return Err(KmodError::Tunable(TunableError::ZeroSize));
        }
        let refused = KmodError::ShrinkExceedsCommitted {
            requested: bytes,
            committed: o.committed.0,
        };
        let bytes = Bytes(bytes).checked_roundup(page_size).ok_or(refused)?;
        let (Some(held), true) = (o.held, bytes <= o.committed) else {
            return Err(refused);
        };
        let left = arc.shrink(held, bytes)?;
        o.committed = left;
        if left == Bytes::ZERO {
            o.held = None;
        }
        o.counters.shrinks = o.counters.shrinks.saturating_add(1);
        Ok(())
    }
}
