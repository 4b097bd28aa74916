//! The fixed-capacity instance table: one record per vmm instance, with
//! its segments and their reservations. Plain data; the client locks it.

use heapless::Vec;
use zfs_tunables::{Bytes, ReservationId};

use crate::limits::MAX_SEGMENTS;
use crate::sizing::SegmentId;
use crate::stats::ArcResvStats;

/// Instances the table holds at once. With at most one reservation per
/// create and [`MAX_SEGMENTS`] creates per instance, 256 instances need at
/// most 1024 reservations: the capacity of zfs-tunables' reservation
/// table.
pub const MAX_INSTANCES: usize = 256;

pub use crate::limits::{MAX_NAME_LEN, VM_MAX_NAMELEN};

/// An instance's name: bytes, as the kernel keeps it, without the NUL.
pub type InstanceName = Vec<u8, MAX_NAME_LEN>;

/// An instance's handle. Ids grow from 1 and are never reused, so a stale
/// handle (or a stale create) can never reach another instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InstanceId(pub u64);

/// Where an instance is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstanceState {
    /// A whole create is in flight; a failure removes the instance.
    Creating,
    /// Created; memory segments may still be added, one create at a time.
    Running,
    /// Destruction began (the name is free again); the record and its
    /// reservations stay until the device is closed, the last hold is
    /// released and no create is in flight on it.
    Destroying,
}

/// One memory segment and its share of a reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SegmentRecord {
    pub(crate) segid: SegmentId,
    pub(crate) sysmem: bool,
    /// The length rounded up to pages: what the guest allocates.
    pub(crate) guest: Bytes,
    /// The page overhead reserved with it.
    pub(crate) overhead: Bytes,
    /// Bytes of `guest` allocated so far.
    pub(crate) allocated: Bytes,
    /// The reservation it belongs to (one per create, shared by the
    /// create's segments).
    pub(crate) grant: ReservationId,
    /// Whether that reservation was released (by a destroy while the
    /// create was still waiting).
    pub(crate) released: bool,
    /// Whether its create finished; uncommitted segments belong to the
    /// create in flight.
    pub(crate) committed: bool,
}

impl SegmentRecord {
    /// `guest + overhead`; cannot overflow (checked when sized).
    pub(crate) fn total(&self) -> Bytes {
        self.guest.saturating_add(self.overhead)
    }
}

/// The create in flight on an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CreateInFlight {
    /// Matches the caller's [`Creation`](crate::Creation).
    pub(crate) token: u64,
    /// Its reservation, until a destroy releases it.
    pub(crate) grant: Option<ReservationId>,
    /// Whether it has begun allocating (a destroy then leaves the rollback
    /// to it rather than releasing its reservation).
    pub(crate) allocating: bool,
    /// Whether it created the instance (a rollback then removes it).
    pub(crate) new_instance: bool,
}

/// One instance.
#[derive(Clone, Debug)]
pub(crate) struct InstanceRecord {
    pub(crate) id: InstanceId,
    pub(crate) name: InstanceName,
    pub(crate) state: InstanceState,
    pub(crate) segments: Vec<SegmentRecord, MAX_SEGMENTS>,
    pub(crate) create: Option<CreateInFlight>,
    /// `VMM_IS_OPEN`: the instance's device is open.
    pub(crate) open: bool,
    /// vmm_drv holds (viona).
    pub(crate) holds: u32,
    /// `VMM_AUTODESTROY`: destroy when the device is closed.
    pub(crate) autodestruct: bool,
}

impl InstanceRecord {
    /// Bytes held by the instance's live reservations.
    pub(crate) fn reserved(&self) -> Bytes {
        self.live_segments()
            .fold(Bytes::ZERO, |a, s| a.saturating_add(s.total()))
    }

    /// The page-overhead part of [`reserved`](Self::reserved).
    pub(crate) fn overhead(&self) -> Bytes {
        self.live_segments()
            .fold(Bytes::ZERO, |a, s| a.saturating_add(s.overhead))
    }

    fn live_segments(&self) -> impl Iterator<Item = &SegmentRecord> {
        self.segments.iter().filter(|s| !s.released)
    }

    /// Whether destruction may finish: begun, no create in flight, device
    /// closed, no holds (`vmm_destroy_ready()`).
    pub(crate) fn destroy_ready(&self) -> bool {
        self.state == InstanceState::Destroying
            && self.create.is_none()
            && !self.open
            && self.holds == 0
    }

    /// The distinct live reservations, each once.
    pub(crate) fn live_grants(&self) -> Vec<ReservationId, MAX_SEGMENTS> {
        let mut out: Vec<ReservationId, MAX_SEGMENTS> = Vec::new();
        for s in self.live_segments() {
            if !out.contains(&s.grant) {
                // Cannot fail: one grant per segment at most.
                let _ = out.push(s.grant);
            }
        }
        out
    }

    /// A copy for readers.
    pub(crate) fn info(&self) -> InstanceInfo {
        InstanceInfo {
            id: self.id,
            name: self.name.clone(),
            state: self.state,
            reserved: self.reserved(),
            overhead: self.overhead(),
            guest: self
                .segments
                .iter()
                .fold(Bytes::ZERO, |a, s| a.saturating_add(s.guest)),
            allocated: self
                .segments
                .iter()
                .fold(Bytes::ZERO, |a, s| a.saturating_add(s.allocated)),
            segments: {
                let mut ids: Vec<SegmentId, MAX_SEGMENTS> = Vec::new();
                for s in self.segments.iter() {
                    // Cannot fail: the same capacity.
                    let _ = ids.push(s.segid);
                }
                ids
            },
            create_in_flight: self.create.is_some(),
            open: self.open,
            holds: self.holds,
            autodestruct: self.autodestruct,
        }
    }
}

/// An instance as readers see it (`mdb`, tests, the simulator).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceInfo {
    /// Its handle.
    pub id: InstanceId,
    /// Its name.
    pub name: InstanceName,
    /// Where it is in its life.
    pub state: InstanceState,
    /// Bytes held by its live reservations (guest RAM plus overhead).
    pub reserved: Bytes,
    /// The page-overhead part of `reserved`.
    pub overhead: Bytes,
    /// Its segments' lengths, rounded up to pages.
    pub guest: Bytes,
    /// Bytes of `guest` allocated.
    pub allocated: Bytes,
    /// Its segments.
    pub segments: Vec<SegmentId, MAX_SEGMENTS>,
    /// Whether a create is in flight on it.
    pub create_in_flight: bool,
    /// Whether its device is open.
    pub open: bool,
    /// vmm_drv holds on it.
    pub holds: u32,
    /// Whether closing its device destroys it.
    pub autodestruct: bool,
}

/// Every instance, the id and token sources, and the counters.
#[derive(Debug)]
pub(crate) struct InstanceTable {
    pub(crate) records: Vec<InstanceRecord, MAX_INSTANCES>,
    next_id: u64,
    next_token: u64,
    /// The counters of `vmm:0:arc_resv` (its gauges are computed on read).
    pub(crate) counters: ArcResvStats,
}

impl InstanceTable {
    /// An empty table.
    pub(crate) const fn new() -> Self {
        InstanceTable {
            records: Vec::new(),
            next_id: 1,
            next_token: 1,
            counters: ArcResvStats {
                instances: 0,
                reserved_bytes: 0,
                overhead_bytes: 0,
                creates: 0,
                destroys: 0,
                fail_no_headroom: 0,
                fail_no_memory: 0,
                fail_never_fits: 0,
                fail_timeout: 0,
                fail_interrupted: 0,
                fail_alloc: 0,
                fail_table_full: 0,
                fail_invalid: 0,
            },
        }
    }

    /// The record of `id`.
    pub(crate) fn get_mut(&mut self, id: InstanceId) -> Option<&mut InstanceRecord> {
        self.records.iter_mut().find(|r| r.id == id)
    }

    /// The record of `id`.
    pub(crate) fn get(&self, id: InstanceId) -> Option<&InstanceRecord> {
        self.records.iter().find(|r| r.id == id)
    }

    /// The newest instance called `name` whose destruction has not begun
    /// (a destroyed instance's name is free again). Ids grow, so the
    /// newest has the largest.
    pub(crate) fn lookup(&self, name: &[u8]) -> Option<&InstanceRecord> {
        self.records
            .iter()
            .filter(|r| r.state != InstanceState::Destroying && r.name.as_slice() == name)
            .max_by_key(|r| r.id)
    }

    /// Takes the next instance id and create token. `None` if either is
    /// exhausted (after 2^64 creates).
    pub(crate) fn next_ids(&mut self) -> Option<(InstanceId, u64)> {
        let id = self.next_id;
        let token = self.next_token;
        self.next_id = id.checked_add(1)?;
        self.next_token = token.checked_add(1)?;
        Some((InstanceId(id), token))
    }

    /// Takes the next create token.
    pub(crate) fn next_token(&mut self) -> Option<u64> {
        let token = self.next_token;
        self.next_token = token.checked_add(1)?;
        Some(token)
    }

    /// Removes the record of `id`.
    pub(crate) fn remove(&mut self, id: InstanceId) {
        self.records.retain(|r| r.id != id);
    }

    /// The counters with the gauges filled in.
    pub(crate) fn stats(&self) -> ArcResvStats {
        let mut s = self.counters;
        s.instances = u64::try_from(self.records.len()).unwrap_or(u64::MAX);
        for r in self.records.iter() {
            s.reserved_bytes = s.reserved_bytes.saturating_add(r.reserved().get());
            s.overhead_bytes = s.overhead_bytes.saturating_add(r.overhead().get());
        }
        s
    }
}
