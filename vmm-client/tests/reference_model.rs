//! The whole component against a reference model, over random operation
//! sequences.
//!
//! The model is a plain, obviously correct statement of the brief's
//! semantics (BRIEF §3), written again here without the crates' code:
//! `arc_init()`'s arithmetic in 128-bit integers, the validation rules of
//! a runtime write, the reservation rule in bytes, vmm's sizing, and the
//! raw-variable sync, and admission against what the host can give.
//! Every sequence mixes tunable writes (valid and invalid, one or two at a
//! time), headroom reservations by a second consumer, allocations,
//! releases (repeated ones included), vmm creates and destroys, raw
//! `mdb -kw` writes and sync ticks, and changes of the host's figures
//! that make reservations fit or not; after every step
//! every observable value of the real crates must equal the model's, and
//! every refusal must carry the model's errno. After releasing everything
//! and resetting every tunable, the state equals the initial state.

use std::collections::BTreeMap;

use admin_syntax::{parse_mdb_write, perform_mdb_write};
use kstat_export::RawVariables;
use proptest::prelude::*;
use vmm_client::table_lock::StdTableLock;
use vmm_client::{InstanceId, MemSegRequest, SegmentAllocator, SegmentId, StdVmmClient};
use zfs_tunables::errno::{EBUSY, EINVAL, ENOENT, ENOMEM, EOVERFLOW, ERANGE, ETIME};
use zfs_tunables::std_platform::StdPlatform;
use zfs_tunables::sync::AtomicU64;
use zfs_tunables::{
    AdmissionFigures, ArcTunables, Bytes, Generation, HostMemory, PageSize, Pages, ReleaseOutcome,
    ReservationId, GIB, MIB,
};

const PS: PageSize = PageSize::AMD64;
const PAGE: u128 = 4096;

/// The tunables the sequences write, in registry order, with the value
/// each starts at.
const TUNABLES: [(&str, u64); N] = [
    ("zfs_arc_max", 0),
    ("zfs_arc_min", 0),
    ("zfs_arc_meta_limit", 0),
    ("zfs_arc_meta_min", 0),
    ("dbuf_cache_max_bytes", 0),
    ("dbuf_metadata_cache_max_bytes", 0),
    ("zfs_arc_headroom_margin", 0),
    ("vmm_arc_page_overhead", 120),
];
const N: usize = 8;
const ARC_MAX: usize = 0;
const ARC_MIN: usize = 1;
const META_LIMIT: usize = 2;
const META_MIN: usize = 3;
const DBUF: usize = 4;
const DBUF_META: usize = 5;
const MARGIN: usize = 6;
const OVERHEAD: usize = 7;

// ---------------------------------------------------------------------
// The model.
// ---------------------------------------------------------------------

/// What the model says the published limits are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ModelLimits {
    c_min: u64,
    c_max: u64,
    meta_limit: u64,
    meta_min: u64,
    dbuf: u64,
    dbuf_meta: u64,
    base: u64,
}

#[derive(Clone, Debug)]
struct ModelResv {
    live: bool,
    size: u64,
    pending: u64,
    /// The part of `pending` its consumer is allocating now.
    claimed: u64,
}

#[derive(Clone, Debug)]
struct ModelVm {
    reserved: u64,
    overhead: u64,
}

/// The host's figures admission reads, in bytes (`freemem` stays so
/// large that it never binds: `availrmem` is what binds, for admission
/// and for the wait; nothing frees memory here, so a wait that
/// `availrmem` does not cover times out, on a clock that jumps to its
/// deadline).
#[derive(Clone, Copy, Debug)]
struct ModelHost {
    freemem: u64,
    availrmem: u64,
    availrmem_floor: u64,
    arc_size: u64,
    arc_evictable: u64,
    arc_evicted_cached: u64,
    desfree: u64,
}

#[derive(Clone, Debug)]
struct Model {
    physmem: u128,
    generation: Generation,
    host: ModelHost,
    vals: [u64; N],
    resv: Vec<ModelResv>,
    vms: BTreeMap<u8, ModelVm>,
    /// The raw C variables of the six ARC tunables and vmm's, and the
    /// value each last had applied.
    raw: [u64; N],
    last: [u64; N],
}

/// `arc_init()` with `vals`, before reservations: (c_min, c_max,
/// c_max_default, meta_limit) and which admin values it ignored
/// (arc_min, meta_limit, dbuf, dbuf_meta).
struct Computed {
    c_min: u128,
    c_max: u128,
    c_max_default: u128,
    meta_limit: u128,
    meta_min: u128,
    ignored_max: bool,
    ignored_min: bool,
    ignored_meta_limit: bool,
    ignored_dbuf: bool,
    ignored_dbuf_meta: bool,
}

impl Model {
    fn new(physmem_pages: u64, generation: Generation, host: ModelHost) -> Self {
        let vals = TUNABLES.map(|(_, v)| v);
        Model {
            physmem: u128::from(physmem_pages),
            generation,
            host,
            vals,
            resv: Vec::new(),
            vms: BTreeMap::new(),
            raw: vals,
            last: vals,
        }
    }

    fn allmem(&self) -> u128 {
        // swapfs_minfree: 1/8 of memory, at least 2 MiB, at most 256 MiB.
        let minfree = (self.physmem / 8).clamp(512, 65_536);
        (self.physmem - minfree) * PAGE
    }

    fn compute(&self, v: &[u64; N]) -> Computed {
        let allmem = self.allmem();
        let mib64 = 64 * u128::from(MIB);
        let gib = u128::from(GIB);
        let mut c_min = match self.generation {
            Generation::Y2021 => (allmem / 32).max(mib64),
            Generation::Current => (allmem / 64).max(mib64).min(gib),
        };
        let second = if allmem >= gib { allmem - gib } else { c_min };
        let c_max_default = (allmem * 3 / 4).max(second);
        let mut c_max = c_max_default;
        let (amax, amin) = (u128::from(v[ARC_MAX]), u128::from(v[ARC_MIN]));
        let ignored_max = amax != 0 && !(amax > mib64 && amax < allmem);
        if amax != 0 && !ignored_max {
            c_max = amax;
            c_min = c_min.min(c_max);
        }
        let ignored_min = amin != 0 && !(amin > mib64 && amin <= c_max);
        if amin != 0 && !ignored_min {
            c_min = amin;
        }
        let mut meta_limit = c_max / 4;
        let ml = u128::from(v[META_LIMIT]);
        let ignored_meta_limit = ml != 0 && ml > c_max;
        if ml != 0 && !ignored_meta_limit {
            meta_limit = ml;
        }
        if self.generation == Generation::Y2021 && amin == 0 {
            if c_min < meta_limit / 2 {
                c_min = meta_limit / 2;
            }
            c_min = c_min.min(gib);
        }
        let meta_min = if v[META_MIN] != 0 {
            u128::from(v[META_MIN])
        } else {
            c_min / 2
        };
        Computed {
            c_min,
            c_max,
            c_max_default,
            meta_limit,
            meta_min,
            ignored_max,
            ignored_min,
            ignored_meta_limit,
            ignored_dbuf: v[DBUF] != 0 && u128::from(v[DBUF]) >= c_max,
            ignored_dbuf_meta: v[DBUF_META] != 0 && u128::from(v[DBUF_META]) >= c_max,
        }
    }

    fn reserved(&self) -> u128 {
        let other: u64 = self.resv.iter().filter(|r| r.live).map(|r| r.size).sum();
        let vms: u64 = self.vms.values().map(|v| v.reserved).sum();
        u128::from(other) + u128::from(vms)
    }

    fn pending(&self) -> u64 {
        self.resv.iter().filter(|r| r.live).map(|r| r.pending).sum()
    }

    /// What the headroom term asks the ARC to free: pending, not claimed.
    fn unclaimed(&self) -> u64 {
        self.resv
            .iter()
            .filter(|r| r.live)
            .map(|r| r.pending - r.claimed)
            .sum()
    }

    fn limits(&self) -> ModelLimits {
        let c = self.compute(&self.vals);
        let base = c.c_max_default.max(c.c_max);
        let room = base.saturating_sub(self.reserved());
        let eff = c.c_min.max(c.c_max.min(room));
        let ml = u128::from(self.vals[META_LIMIT]);
        let meta_limit = if ml != 0 {
            ml.min(eff)
        } else {
            c.meta_limit.min(eff / 4)
        };
        let dbuf = |set: u64, shift: u32| {
            let set = u128::from(set);
            if set != 0 && set < eff {
                set
            } else {
                eff >> shift
            }
        };
        let n = |x: u128| u64::try_from(x).unwrap();
        ModelLimits {
            c_min: n(c.c_min),
            c_max: n(eff),
            meta_limit: n(meta_limit),
            meta_min: n(c.meta_min),
            dbuf: n(dbuf(self.vals[DBUF], 5)),
            dbuf_meta: n(dbuf(self.vals[DBUF_META], 6)),
            base: n(base),
        }
    }

    /// The errno a write of `writes` gets, or `None` if it is accepted.
    fn check_write(&self, writes: &[(usize, u64)]) -> Option<i32> {
        let mib64 = 64 * MIB;
        // Each value against its own bounds, in the order written.
        for &(i, v) in writes {
            let bad = match i {
                ARC_MAX | ARC_MIN => v != 0 && v <= mib64,
                OVERHEAD => v > 4096,
                _ => false,
            };
            if bad {
                return Some(EINVAL);
            }
        }
        if !writes.iter().any(|&(i, _)| i != OVERHEAD) {
            return None;
        }
        // The ARC's rules, over the whole proposed state: the margin
        // first, between desfree and allmem (or 0).
        let mut v = self.vals;
        for &(i, x) in writes {
            v[i] = x;
        }
        let margin = u128::from(v[MARGIN]);
        let lowest = u128::from(self.host.desfree.max(1));
        if margin != 0 && (margin < lowest || margin > self.allmem()) {
            return Some(EINVAL);
        }
        let c = self.compute(&v);
        if c.ignored_max {
            return Some(EINVAL);
        }
        if c.ignored_min {
            return Some(ERANGE);
        }
        if c.ignored_meta_limit || c.ignored_dbuf || c.ignored_dbuf_meta {
            return Some(EINVAL);
        }
        if c.c_min + self.reserved() > c.c_max_default.max(c.c_max) {
            return Some(EBUSY);
        }
        None
    }

    fn write(&mut self, writes: &[(usize, u64)]) -> Option<i32> {
        let e = self.check_write(writes);
        if e.is_none() {
            for &(i, x) in writes {
                self.vals[i] = x;
            }
        }
        e
    }

    /// The margin in force (lotsfree is 0 on this host).
    fn margin(&self) -> u128 {
        match self.vals[MARGIN] {
            0 => u128::from(self.host.desfree),
            v => u128::from(v.max(self.host.desfree)),
        }
    }

    /// What a new reservation can be given: free memory and availrmem,
    /// each plus what the ARC can return, less every unclaimed pending
    /// byte (claimed ones are out of free memory already) and what each
    /// side keeps.
    fn can_give(&self) -> u128 {
        let h = &self.host;
        let c_min = u128::from(self.limits().c_min);
        let shed = u128::from(h.arc_evictable).min(u128::from(h.arc_size).saturating_sub(c_min));
        let back = shed + u128::from(h.arc_evicted_cached);
        // Claimed bytes are already out of freemem: not counted again.
        let pending = u128::from(self.unclaimed());
        let free_side = (u128::from(h.freemem) + back).saturating_sub(pending + self.margin());
        let avail_side = (u128::from(h.availrmem) + back)
            .saturating_sub(pending + u128::from(h.availrmem_floor));
        free_side.min(avail_side)
    }

    /// The errno of a reservation of `bytes` of which `allocated` are
    /// allocated from the start, or `None`.
    fn check_reserve(&self, bytes: u64, allocated: u64) -> Option<i32> {
        if bytes == 0 {
            return Some(EINVAL);
        }
        let l = self.limits();
        let c_min = u128::from(l.c_min);
        if c_min + u128::from(bytes) + self.reserved() > u128::from(l.base) {
            return Some(ENOMEM);
        }
        if u128::from(bytes - allocated) > self.can_give() {
            return Some(ENOMEM);
        }
        None
    }

    /// vmm's reservation for a guest of `ram` bytes: (total, overhead).
    fn vm_size(&self, ram: u64) -> Result<(u64, u64), i32> {
        if ram == 0 {
            return Err(EINVAL);
        }
        let guest = u128::from(ram).div_ceil(PAGE) * PAGE;
        let overhead = guest / PAGE * u128::from(self.vals[OVERHEAD]);
        let total = guest + overhead;
        match (
            u64::try_from(guest),
            u64::try_from(overhead),
            u64::try_from(total),
        ) {
            (Ok(_), Ok(o), Ok(t)) => Ok((t, o)),
            _ => Err(EOVERFLOW),
        }
    }

    /// A sync tick: a changed raw variable is applied or restored; an
    /// unchanged one follows a value changed through another path.
    fn tick(&mut self) -> Vec<usize> {
        let mut refused = Vec::new();
        for i in 0..N {
            if self.raw[i] != self.last[i] {
                match self.write(&[(i, self.raw[i])]) {
                    None => self.last[i] = self.raw[i],
                    Some(_) => {
                        self.raw[i] = self.vals[i];
                        self.last[i] = self.vals[i];
                        refused.push(i);
                    }
                }
            } else if self.vals[i] != self.last[i] {
                self.raw[i] = self.vals[i];
                self.last[i] = self.vals[i];
            }
        }
        refused
    }
}

// ---------------------------------------------------------------------
// The real crates.
// ---------------------------------------------------------------------

/// Guest memory that always succeeds.
#[derive(Default)]
struct Memory {
    live: u64,
}

impl SegmentAllocator for Memory {
    fn allocate(&mut self, _: InstanceId, _: SegmentId, bytes: Bytes) -> Result<(), i32> {
        self.live += bytes.0;
        Ok(())
    }

    fn free(&mut self, _: InstanceId, _: SegmentId, bytes: Bytes) {
        self.live -= bytes.0;
    }
}

fn host(physmem: Pages, generation: Generation) -> (ArcTunables<StdPlatform>, ModelHost) {
    let t = ArcTunables::new(
        StdPlatform::jumping(),
        HostMemory::new(physmem, PS),
        generation,
    );
    t.finish_boot();
    let free = Pages(u64::MAX / 4096 / 4);
    t.platform().set_freemem(free);
    t.platform().set_desfree(Pages(physmem.0 / 128));
    let c = t.limits().c;
    t.platform().set_arc_size(c);
    let h = ModelHost {
        freemem: free.0 * 4096,
        availrmem: physmem.0 * 4096,
        availrmem_floor: 0,
        arc_size: c.0,
        arc_evictable: c.0,
        arc_evicted_cached: 0,
        desfree: physmem.0 / 128 * 4096,
    };
    set_host(&t, &h);
    (t, h)
}

/// Tells the platform the model's host figures.
fn set_host(t: &ArcTunables<StdPlatform>, h: &ModelHost) {
    t.platform().set_admission(Some(AdmissionFigures {
        availrmem: Pages(h.availrmem / 4096),
        availrmem_floor: Pages(h.availrmem_floor / 4096),
        arc_evictable: Bytes(h.arc_evictable),
        arc_evicted_cached: Bytes(h.arc_evicted_cached),
    }));
}

fn vm_name(n: u8) -> Vec<u8> {
    format!("guest-{n}").into_bytes()
}

/// Every observable of the real crates against the model.
fn compare(
    t: &ArcTunables<StdPlatform>,
    vmm: &StdVmmClient<'_>,
    raw: &RawVariables<AtomicU64>,
    m: &Model,
) -> Result<(), TestCaseError> {
    let s = t.limits();
    let l = m.limits();
    prop_assert_eq!(
        (s.c_min.0, s.c_max.0, s.meta_limit.0, s.meta_min.0),
        (l.c_min, l.c_max, l.meta_limit, l.meta_min)
    );
    prop_assert_eq!(
        (s.dbuf_cache_max.0, s.dbuf_metadata_cache_max.0),
        (l.dbuf, l.dbuf_meta)
    );
    prop_assert!(s.c_min <= s.c && s.c <= s.c_max, "{s:?}");
    let h = t.headroom_stats();
    prop_assert_eq!(u128::from(h.reserved.0), m.reserved());
    prop_assert_eq!(h.pending.0, m.pending());
    // With no free memory, lotsfree or desfree, the term is minus what it
    // asks for and the margin tunable, or i64::MAX when it asks for
    // nothing.
    let term = t.headroom_term(Pages(0), Pages(0), Pages(0));
    match m.unclaimed() {
        0 => prop_assert_eq!(term, i64::MAX),
        u => prop_assert_eq!(
            i128::from(term),
            (-i128::from(u) - i128::from(m.vals[MARGIN])).max(i128::from(i64::MIN))
        ),
    }
    prop_assert_eq!(u128::from(h.margin.0), m.margin());
    prop_assert_eq!(
        u128::from(h.available_now.0),
        m.can_give().min(u128::from(u64::MAX))
    );
    prop_assert_eq!(h.c_max_base.0, l.base);
    prop_assert_eq!(h.c_max_effective.0, l.c_max);
    let live = m.resv.iter().filter(|r| r.live).count() + m.vms.len();
    prop_assert_eq!(h.reservations, live as u64);
    for (i, (name, _)) in TUNABLES.iter().enumerate() {
        prop_assert_eq!(t.get(name).unwrap(), m.vals[i], "{}", name);
        prop_assert_eq!(raw.raw_value(name), Some(m.raw[i]), "raw {}", name);
    }
    let v = vmm.stats();
    prop_assert_eq!(v.instances, m.vms.len() as u64);
    prop_assert_eq!(
        v.reserved_bytes,
        m.vms.values().map(|x| x.reserved).sum::<u64>()
    );
    prop_assert_eq!(
        v.overhead_bytes,
        m.vms.values().map(|x| x.overhead).sum::<u64>()
    );
    Ok(())
}

#[derive(Clone, Debug)]
enum Op {
    Set(usize, u64),
    SetPair(usize, u64, usize, u64),
    Reset(usize),
    Reserve(u64),
    Claim(usize),
    MarkAllocated(usize, u64),
    Release(usize),
    VmCreate(u8, u64),
    VmDestroy(u8),
    MdbWrite(usize, u64),
    Tick,
    /// Locked memory takes `availrmem` down to this share (per mille) of
    /// physical memory, with this floor (per mille), and this share (per
    /// cent) of the ARC evictable, with these bytes evicted and cached.
    Host(u16, u16, u8, u64),
}

/// Values that probe every rule: zero, the 64 MiB floor and its
/// neighbours, fractions of memory, memory itself, extremes.
fn value(allmem: u64) -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(64 * MIB),
        Just(64 * MIB + 4096),
        (0u64..=18).prop_map(move |k| allmem / 16 * k),
        Just(allmem - 1),
        Just(allmem),
        Just(u64::MAX),
        0u64..=5000,
        any::<u64>(),
    ]
}

fn op(allmem: u64) -> impl Strategy<Value = Op> {
    let idx = 0usize..N;
    prop_oneof![
        4 => (idx.clone(), value(allmem)).prop_map(|(i, v)| Op::Set(i, v)),
        1 => (idx.clone(), value(allmem), idx.clone(), value(allmem))
            .prop_map(|(i, v, j, w)| Op::SetPair(i, v, j, w)),
        1 => idx.clone().prop_map(Op::Reset),
        3 => value(allmem).prop_map(Op::Reserve),
        2 => (0usize..8, value(allmem)).prop_map(|(i, b)| Op::MarkAllocated(i, b)),
        1 => (0usize..8).prop_map(Op::Claim),
        2 => (0usize..8).prop_map(Op::Release),
        3 => (0u8..6, value(allmem)).prop_map(|(n, r)| Op::VmCreate(n, r)),
        2 => (0u8..6).prop_map(Op::VmDestroy),
        2 => (idx, value(allmem)).prop_map(|(i, v)| Op::MdbWrite(i, v)),
        1 => Just(Op::Tick),
        2 => (0u16..=1000, 0u16..=100, 0u8..=100, prop_oneof![Just(0u64), 0u64..(allmem / 8)])
            .prop_map(|(a, f, e, c)| Op::Host(a, f, e, c)),
    ]
}

fn errno_of<T, E: Copy>(r: &Result<T, E>, to: fn(E) -> i32) -> Option<i32> {
    r.as_ref().err().map(|e| to(*e))
}

fn run(physmem: Pages, generation: Generation, ops: &[Op]) -> Result<(), TestCaseError> {
    let (t, h) = host(physmem, generation);
    let vmm = StdVmmClient::new(&t, StdTableLock::new()).unwrap();
    let mut raw = RawVariables::with_owned_cells(&t).unwrap();
    let mut m = Model::new(physmem.0, generation, h);
    let initial = (t.limits(), t.headroom_stats().reserved);
    let mut ids: Vec<ReservationId> = Vec::new();
    let mut vm_ids: BTreeMap<u8, InstanceId> = BTreeMap::new();
    let mut mem = Memory::default();
    compare(&t, &vmm, &raw, &m)?;

    for op in ops {
        match *op {
            Op::Set(i, v) => {
                let r = t.set(TUNABLES[i].0, v);
                prop_assert_eq!(
                    errno_of(&r, |e| e.to_errno()),
                    m.write(&[(i, v)]),
                    "{:?}",
                    op
                );
            }
            Op::SetPair(i, v, j, w) => {
                if i == j {
                    continue;
                }
                let r = t.set_many(&[(TUNABLES[i].0, v), (TUNABLES[j].0, w)]);
                let e = m.write(&[(i, v), (j, w)]);
                prop_assert_eq!(errno_of(&r, |e| e.to_errno()), e, "{:?}", op);
            }
            Op::Reset(i) => {
                let r = t.reset(TUNABLES[i].0);
                let e = m.write(&[(i, TUNABLES[i].1)]);
                prop_assert_eq!(errno_of(&r, |e| e.to_errno()), e, "{:?}", op);
            }
            Op::Reserve(b) => {
                let r = t.reserve("other", Bytes(b));
                let e = m.check_reserve(b, 0);
                prop_assert_eq!(errno_of(&r, |e| e.to_errno()), e, "{:?}", op);
                if let Ok(id) = r {
                    ids.push(id);
                    m.resv.push(ModelResv {
                        live: true,
                        size: b,
                        pending: b,
                        claimed: 0,
                    });
                }
            }
            Op::MarkAllocated(i, b) => {
                let Some(&id) = ids.get(i) else { continue };
                let r = t.mark_allocated(id, Bytes(b));
                let mr = &mut m.resv[i];
                let e = if !mr.live {
                    Some(ENOENT)
                } else if b > mr.pending {
                    Some(EINVAL)
                } else {
                    mr.pending -= b;
                    mr.claimed -= mr.claimed.min(b);
                    None
                };
                prop_assert_eq!(errno_of(&r, |e| e.to_errno()), e, "{:?}", op);
            }
            Op::Claim(i) => {
                let Some(&id) = ids.get(i) else { continue };
                let r = t.claim(id);
                let mr = &mut m.resv[i];
                let e = if mr.live {
                    mr.claimed = mr.pending;
                    None
                } else {
                    Some(ENOENT)
                };
                prop_assert_eq!(errno_of(&r, |e| e.to_errno()), e, "{:?}", op);
            }
            Op::Release(i) => {
                let Some(&id) = ids.get(i) else { continue };
                let r = t.release(id).unwrap();
                let mr = &mut m.resv[i];
                if mr.live {
                    prop_assert_eq!(
                        r,
                        ReleaseOutcome::Released {
                            reserved: Bytes(mr.size)
                        }
                    );
                    mr.live = false;
                } else {
                    prop_assert_eq!(r, ReleaseOutcome::AlreadyReleased);
                }
            }
            Op::VmCreate(n, ram) => {
                // Arguments first, then the name, then headroom.
                let expect = m.vm_size(ram).and_then(|(total, o)| {
                    if m.vms.contains_key(&n) {
                        return Err(zfs_tunables::errno::EEXIST);
                    }
                    match m.check_reserve(total, o) {
                        Some(e) => Err(e),
                        // Admitted; the wait needs the pending bytes in
                        // `availrmem` above the ARC's floor.
                        None if u128::from(m.host.availrmem)
                            < u128::from(m.pending())
                                + u128::from(total - o)
                                + u128::from(m.host.availrmem_floor) =>
                        {
                            Err(ETIME)
                        }
                        None => Ok((total, o)),
                    }
                });
                let seg = MemSegRequest {
                    segid: SegmentId::LOWMEM,
                    len: Bytes(ram),
                    sysmem: true,
                };
                let r = vmm.create(&vm_name(n), &[seg], &mut mem);
                prop_assert_eq!(errno_of(&r, |e| e.to_errno()), expect.err(), "{:?}", op);
                if let (Ok(id), Ok((reserved, overhead))) = (r, expect) {
                    vm_ids.insert(n, id);
                    m.vms.insert(n, ModelVm { reserved, overhead });
                }
            }
            Op::VmDestroy(n) => {
                let r = vmm.destroy_by_name(&vm_name(n));
                match m.vms.remove(&n) {
                    Some(vm) => {
                        let done = r.unwrap();
                        prop_assert!(
                            matches!(done, vmm_client::DestroyOutcome::Finished { reserved, .. }
                                if reserved.0 == vm.reserved),
                            "{:?}",
                            done
                        );
                        vm_ids.remove(&n);
                    }
                    None => prop_assert_eq!(errno_of(&r, |e| e.to_errno()), Some(ENOENT)),
                }
            }
            Op::MdbWrite(i, v) => {
                let line = format!("{}/Z 0x{:x}", TUNABLES[i].0, v);
                let w = parse_mdb_write(line.as_bytes()).unwrap();
                perform_mdb_write(&raw, &w).unwrap();
                m.raw[i] = v;
                let mut warned = Vec::new();
                raw.sync_tick(&t, &mut |w| warned.push(w.name));
                let refused: Vec<&str> = m.tick().iter().map(|&i| TUNABLES[i].0).collect();
                prop_assert_eq!(warned, refused, "{:?}", op);
            }
            Op::Tick => {
                let mut warned = 0;
                raw.sync_tick(&t, &mut |_| warned += 1);
                prop_assert_eq!(warned, m.tick().len());
            }
            Op::Host(avail, floor, evictable, cached) => {
                let mem = u64::try_from(m.physmem).unwrap() * 4096;
                // Page counts, as the kernel keeps them.
                let pages = |per_mille: u16| mem / 1000 * u64::from(per_mille) / 4096 * 4096;
                m.host.availrmem = pages(avail);
                m.host.availrmem_floor = pages(floor);
                m.host.arc_evictable = m.host.arc_size / 100 * u64::from(evictable);
                m.host.arc_evicted_cached = cached;
                set_host(&t, &m.host);
            }
        }
        compare(&t, &vmm, &raw, &m)?;
    }

    // Release everything and reset every tunable: back to the start.
    for (&n, &id) in vm_ids.iter() {
        prop_assert!(vmm.destroy(id).is_ok());
        m.vms.remove(&n);
    }
    for (i, &id) in ids.iter().enumerate() {
        t.release(id).unwrap();
        m.resv[i].live = false;
    }
    let resets: Vec<(&str, u64)> = TUNABLES.iter().map(|&(n, v)| (n, v)).collect();
    t.set_many(&resets).unwrap();
    prop_assert_eq!(
        (t.limits().c_min, t.limits().c_max),
        (initial.0.c_min, initial.0.c_max)
    );
    prop_assert_eq!(t.limits().meta_limit, initial.0.meta_limit);
    prop_assert_eq!(t.limits().dbuf_cache_max, initial.0.dbuf_cache_max);
    prop_assert_eq!(t.headroom_stats().reserved, initial.1);
    prop_assert_eq!(t.headroom_stats().pending, Bytes(0));
    prop_assert_eq!(vmm.stats().instances, 0);
    Ok(())
}

/// Sequences per host; CI runs them all (10,000 in total).
const CASES: u32 = 5_000;

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    /// A 64 GiB host of current illumos.
    #[test]
    fn sequences_on_a_64g_host_match_the_model(
        ops in proptest::collection::vec(op(64 * GIB - 256 * MIB), 1..40)
    ) {
        run(Bytes(64 * GIB).to_pages_roundup(PS), Generation::Current, &ops)?;
    }

    /// The seed's 4 GB host with the 2021 formulas.
    #[test]
    fn sequences_on_the_seed_4g_host_match_the_model(
        ops in proptest::collection::vec(op(979_574 * 4096), 1..40)
    ) {
        run(Pages(1_045_110), Generation::Y2021, &ops)?;
    }
}
