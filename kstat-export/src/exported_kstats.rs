//! The four kstats of the component and their update callbacks.
//!
//! | kstat | flags | contents |
//! |---|---|---|
//! | `zfs:0:arcstats` | `VIRTUAL` | the limits the component publishes, under `arc.c`'s names |
//! | `zfs:0:tunables` | `VIRTUAL`, `VAR_SIZE`, `WRITABLE` | one `KSTAT_DATA_UINT64` per runtime tunable |
//! | `zfs:0:arc_headroom` | `VIRTUAL` | reservations and their counters |
//! | `vmm:0:arc_resv` | `VIRTUAL` | vmm's reservation figures, as vmm supplies them |
//!
//! All four are class `misc`. Each has a [`KstatUpdate`] implementation
//! that the kernel module calls from its `ks_update` with `ks_data` as the
//! slice, and that [`KstatSet`] calls for userland.
//!
//! **`zfs:0:arcstats`.** In the kernel, `arc.c` keeps its own arcstats
//! kstat (not writable: it is created without `KSTAT_FLAG_WRITABLE`, and
//! `arc_kstat_update()` returns `EACCES` on a write). The patch fills its
//! `p`, `c`, `c_min`, `c_max`, `size`, `arc_meta_limit` and
//! `arc_meta_min` from [`ArcstatsUpdate`]'s values, so `c_max` shows the
//! *effective* ceiling (lowered by reservations). Here the kstat holds
//! just those fields, in `arc_stats_t`'s order.
//!
//! **`zfs:0:tunables`.** One entry per tunable flagged
//! [`TunableFlags::DYNAMIC`], of every registrant, named like its C
//! variable, in registry order. It is `VAR_SIZE` because a module that
//! registers tunables later (vmm loads after zfs) adds entries: the read
//! update sets `ks_ndata`, and the driver runs it before it compares the
//! caller's `ks_ndata`. A write is a whole-buffer write: every entry's
//! name and type must match (else `EINVAL`), every entry whose value
//! differs from the live value is a change, and the changes are applied
//! together through [`ArcTunables::set_many`], all or nothing. A refusal
//! passes the core's errno through: `EINVAL` for a value out of bounds,
//! `ERANGE` for a minimum above its maximum, `EBUSY` for a conflict with
//! live reservations. So an admin learns *why* from the errno, as with a
//! direct call, rather than a blanket `EINVAL`. After a successful write
//! the raw variables are told the new values, so the next sync tick does
//! not take the old raw values for an `mdb` write and undo the change.
//!
//! In the kernel, `ks_data` is a staging array of [`MAX_TUNABLES`]
//! `kstat_named_t`s owned by the module (never the live values), and
//! `ks_update` on `KSTAT_READ` sets `ks_ndata` to what
//! [`TunablesUpdate`]'s read returns and `ks_data_size` to `ks_ndata *
//! sizeof (kstat_named_t)`; on `KSTAT_WRITE` it passes the first
//! `ks_ndata` entries to the write. `ks_lock` points at the mutex that
//! also guards the raw variables (see [`crate::raw_variables`]).
//!
//! **`zfs:0:arc_headroom`** and **`vmm:0:arc_resv`** are read-only.
//! `vmm:0:arc_resv` is built from a slice of (name, value) pairs that
//! vmm supplies (`ArcResvStats::fields()` in vmm-client), so this crate
//! does not depend on vmm.

use heapless::Vec;
use zfs_tunables::platform::Platform;
use zfs_tunables::registry::{TunableFlags, MAX_TUNABLES};
use zfs_tunables::{ArcTunables, Hrtime};

use crate::error::ExportError;
use crate::kstat_driver::{Credential, Kstat, KstatUpdate, MAX_NDATA};
use crate::kstat_named::{KstatDataType, KstatFlags, KstatIdent, KstatNamed, KstatValue};
use crate::raw_variables::RecordApplied;

/// The class of every kstat here.
pub const KSTAT_CLASS: &str = "misc";

/// The statistics of `zfs:0:arcstats` this component provides, in
/// `arc_stats_t`'s order.
pub const ARCSTATS_FIELDS: [&str; 7] = [
    "p",
    "c",
    "c_min",
    "c_max",
    "size",
    "arc_meta_limit",
    "arc_meta_min",
];

/// The statistics of `zfs:0:arc_headroom`, in order.
pub const ARC_HEADROOM_FIELDS: [&str; 17] = [
    "reserved",
    "pending",
    "allocated",
    "consumers",
    "reservations",
    "c_max_base",
    "c_max_effective",
    "margin",
    "available_now",
    "reserves",
    "rejections",
    "rejections_never_fit",
    "rejections_memory",
    "releases",
    "waits",
    "wait_timeouts",
    "wait_interrupts",
];

/// How many statistics `vmm:0:arc_resv` has (vmm-client's
/// `ArcResvStats::fields()`).
pub const ARC_RESV_NDATA: usize = 13;

/// `zfs:0:arcstats`.
pub const ARCSTATS: KstatIdent = KstatIdent {
    module: "zfs",
    instance: 0,
    name: "arcstats",
    class: KSTAT_CLASS,
    flags: KstatFlags::VIRTUAL,
    ndata_max: ARCSTATS_FIELDS.len(),
};

/// `zfs:0:tunables`.
pub const TUNABLES: KstatIdent = KstatIdent {
    module: "zfs",
    instance: 0,
    name: "tunables",
    class: KSTAT_CLASS,
    flags: KstatFlags::VIRTUAL
        .union(KstatFlags::VAR_SIZE)
        .union(KstatFlags::WRITABLE),
    ndata_max: MAX_TUNABLES,
};

/// `zfs:0:arc_headroom`.
pub const ARC_HEADROOM: KstatIdent = KstatIdent {
    module: "zfs",
    instance: 0,
    name: "arc_headroom",
    class: KSTAT_CLASS,
    flags: KstatFlags::VIRTUAL,
    ndata_max: ARC_HEADROOM_FIELDS.len(),
};

/// `vmm:0:arc_resv`.
pub const ARC_RESV: KstatIdent = KstatIdent {
    module: "vmm",
    instance: 0,
    name: "arc_resv",
    class: KSTAT_CLASS,
    flags: KstatFlags::VIRTUAL,
    ndata_max: ARC_RESV_NDATA,
};

/// Writes `fields` as `KSTAT_DATA_UINT64` entries at the front of `data`.
fn fill<'n>(
    data: &mut [KstatNamed],
    fields: impl ExactSizeIterator<Item = (&'n str, u64)>,
) -> Result<usize, ExportError> {
    let needed = fields.len();
    if needed > data.len() {
        return Err(ExportError::BufferTooSmall {
            needed,
            capacity: data.len(),
        });
    }
    for (slot, (name, value)) in data.iter_mut().zip(fields) {
        *slot = KstatNamed::uint64(name, value)?;
    }
    Ok(needed)
}

/// The update callback of `zfs:0:arcstats`.
pub struct ArcstatsUpdate<'a, P: Platform> {
    /// The component.
    pub tunables: &'a ArcTunables<P>,
}

impl<P: Platform> ArcstatsUpdate<'_, P> {
    /// The values, in [`ARCSTATS_FIELDS`] order: one consistent snapshot
    /// of the published limits, and the ARC's size from the platform.
    #[must_use]
    pub fn values(&self) -> [u64; 7] {
        let l = self.tunables.limits();
        let size = self.tunables.platform().arc_size();
        [
            l.p.0,
            l.c.0,
            l.c_min.0,
            l.c_max.0,
            size.0,
            l.meta_limit.0,
            l.meta_min.0,
        ]
    }
}

impl<P: Platform> KstatUpdate for ArcstatsUpdate<'_, P> {
    fn read(&mut self, data: &mut [KstatNamed]) -> Result<usize, ExportError> {
        fill(data, ARCSTATS_FIELDS.into_iter().zip(self.values()))
    }
}

/// The update callback of `zfs:0:arc_headroom`.
pub struct ArcHeadroomUpdate<'a, P: Platform> {
    /// The component.
    pub tunables: &'a ArcTunables<P>,
}

impl<P: Platform> ArcHeadroomUpdate<'_, P> {
    /// The values, in [`ARC_HEADROOM_FIELDS`] order.
    #[must_use]
    pub fn values(&self) -> [u64; 17] {
        let h = self.tunables.headroom_stats();
        let c = h.counters;
        [
            h.reserved.0,
            h.pending.0,
            h.allocated.0,
            h.consumers,
            h.reservations,
            h.c_max_base.0,
            h.c_max_effective.0,
            h.margin.0,
            h.available_now.0,
            c.reserves,
            c.rejections,
            c.rejections_never_fit,
            c.rejections_memory,
            c.releases,
            c.waits,
            c.wait_timeouts,
            c.wait_interrupts,
        ]
    }
}

impl<P: Platform> KstatUpdate for ArcHeadroomUpdate<'_, P> {
    fn read(&mut self, data: &mut [KstatNamed]) -> Result<usize, ExportError> {
        fill(data, ARC_HEADROOM_FIELDS.into_iter().zip(self.values()))
    }
}

/// The update callback of `vmm:0:arc_resv`: the (name, value) pairs vmm
/// supplies, in its order.
pub struct ArcResvUpdate<'a> {
    /// vmm's statistics (`ArcResvStats::fields()`).
    pub fields: &'a [(&'a str, u64)],
}

impl KstatUpdate for ArcResvUpdate<'_> {
    fn read(&mut self, data: &mut [KstatNamed]) -> Result<usize, ExportError> {
        fill(data, self.fields.iter().copied())
    }
}

/// The runtime tunables, in registry order, with their values.
fn dynamic_tunables<P: Platform>(t: &ArcTunables<P>) -> Vec<(&'static str, u64), MAX_TUNABLES> {
    let mut out = Vec::new();
    t.for_each_tunable(|e| {
        if e.desc.flags.contains(TunableFlags::DYNAMIC) {
            // Cannot overflow: the registry holds at most MAX_TUNABLES.
            let _ = out.push((e.desc.name, e.value));
        }
    });
    out
}

/// The update callback of `zfs:0:tunables`.
pub struct TunablesUpdate<'a, P: Platform> {
    /// The component.
    pub tunables: &'a ArcTunables<P>,
    /// Told of every value a write applies (the raw variables), if any.
    pub raw: Option<&'a mut dyn RecordApplied>,
}

impl<P: Platform> KstatUpdate for TunablesUpdate<'_, P> {
    fn read(&mut self, data: &mut [KstatNamed]) -> Result<usize, ExportError> {
        let list = dynamic_tunables(self.tunables);
        fill(data, list.iter().copied())
    }

    fn write(&mut self, data: &[KstatNamed]) -> Result<(), ExportError> {
        let list = dynamic_tunables(self.tunables);
        if data.len() != list.len() {
            return Err(ExportError::NdataMismatch {
                expected: list.len(),
                got: data.len(),
            });
        }
        let mut writes: Vec<(&str, u64), MAX_TUNABLES> = Vec::new();
        for (index, (entry, &(name, live))) in data.iter().zip(list.iter()).enumerate() {
            if !entry.name.is(name) {
                return Err(ExportError::NameMismatch { index });
            }
            let value = entry.as_u64().ok_or(ExportError::TypeMismatch {
                index,
                expected: KstatDataType::UINT64,
                got: entry.data_type,
            })?;
            if value != live {
                writes.push((name, value)).map_err(|_| ExportError::Full)?;
            }
        }
        if writes.is_empty() {
            return Ok(());
        }
        self.tunables.set_many(&writes)?;
        if let Some(raw) = self.raw.as_deref_mut() {
            for &(name, value) in writes.iter() {
                raw.record_applied(name, value);
            }
        }
        Ok(())
    }
}

/// Names one of the four kstats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KstatId {
    /// `zfs:0:arcstats`.
    Arcstats,
    /// `zfs:0:tunables`.
    Tunables,
    /// `zfs:0:arc_headroom`.
    ArcHeadroom,
    /// `vmm:0:arc_resv`.
    ArcResv,
}

impl KstatId {
    /// All four, in `kstat`'s sort order (module, instance, name).
    pub const ALL: [KstatId; 4] = [
        KstatId::ArcResv,
        KstatId::ArcHeadroom,
        KstatId::Arcstats,
        KstatId::Tunables,
    ];

    /// What `kstat_create()` is called with.
    #[must_use]
    pub const fn ident(self) -> &'static KstatIdent {
        match self {
            KstatId::Arcstats => &ARCSTATS,
            KstatId::Tunables => &TUNABLES,
            KstatId::ArcHeadroom => &ARC_HEADROOM,
            KstatId::ArcResv => &ARC_RESV,
        }
    }

    /// The kstat called `module:instance:name`, if it is one of ours.
    #[must_use]
    pub fn find(module: &str, instance: i32, name: &str) -> Option<KstatId> {
        KstatId::ALL.into_iter().find(|id| {
            let i = id.ident();
            i.module == module && i.instance == instance && i.name == name
        })
    }
}

/// Where the kstats' values come from, for one read or write.
pub struct Sources<'a, P: Platform> {
    /// The component.
    pub tunables: &'a ArcTunables<P>,
    /// vmm's `arc_resv` statistics; `None` when vmm is not loaded (then
    /// `vmm:0:arc_resv` does not exist).
    pub arc_resv: Option<&'a [(&'a str, u64)]>,
    /// The raw variables, told of every value a kstat write applies.
    pub raw: Option<&'a mut dyn RecordApplied>,
}

/// The four kstats as installed kstats with staging buffers, for
/// userland (the simulator, the tests); the kernel module installs real
/// kstats and calls the update callbacks itself.
#[derive(Clone, Debug)]
pub struct KstatSet {
    arcstats: Kstat,
    tunables: Kstat,
    arc_headroom: Kstat,
    arc_resv: Kstat,
}

impl KstatSet {
    /// Creates the four kstats at `crtime`.
    pub fn new(crtime: Hrtime) -> Result<KstatSet, ExportError> {
        Ok(KstatSet {
            arcstats: Kstat::create(&ARCSTATS, crtime)?,
            tunables: Kstat::create(&TUNABLES, crtime)?,
            arc_headroom: Kstat::create(&ARC_HEADROOM, crtime)?,
            arc_resv: Kstat::create(&ARC_RESV, crtime)?,
        })
    }

    /// The kstat `id` as last read or written.
    #[must_use]
    pub fn kstat(&self, id: KstatId) -> &Kstat {
        match id {
            KstatId::Arcstats => &self.arcstats,
            KstatId::Tunables => &self.tunables,
            KstatId::ArcHeadroom => &self.arc_headroom,
            KstatId::ArcResv => &self.arc_resv,
        }
    }

    fn kstat_mut(&mut self, id: KstatId) -> &mut Kstat {
        match id {
            KstatId::Arcstats => &mut self.arcstats,
            KstatId::Tunables => &mut self.tunables,
            KstatId::ArcHeadroom => &mut self.arc_headroom,
            KstatId::ArcResv => &mut self.arc_resv,
        }
    }

    /// Runs `f` with the update callback of `id`.
    fn with_update<P: Platform, R>(
        id: KstatId,
        src: &mut Sources<'_, P>,
        f: impl FnOnce(&mut dyn KstatUpdate) -> Result<R, ExportError>,
    ) -> Result<R, ExportError> {
        match id {
            KstatId::Arcstats => f(&mut ArcstatsUpdate {
                tunables: src.tunables,
            }),
            KstatId::Tunables => f(&mut TunablesUpdate {
                tunables: src.tunables,
                raw: match src.raw {
                    Some(ref mut r) => Some(&mut **r),
                    None => None,
                },
            }),
            KstatId::ArcHeadroom => f(&mut ArcHeadroomUpdate {
                tunables: src.tunables,
            }),
            KstatId::ArcResv => match src.arc_resv {
                Some(fields) => f(&mut ArcResvUpdate { fields }),
                None => Err(ExportError::NoSuchKstat),
            },
        }
    }

    /// Whether `id` exists given `src` (`vmm:0:arc_resv` needs vmm).
    #[must_use]
    pub fn exists<P: Platform>(id: KstatId, src: &Sources<'_, P>) -> bool {
        id != KstatId::ArcResv || src.arc_resv.is_some()
    }

    /// `kstat_read()` of `id` at `now`.
    pub fn read<P: Platform>(
        &mut self,
        id: KstatId,
        src: &mut Sources<'_, P>,
        now: Hrtime,
    ) -> Result<&Kstat, ExportError> {
        let ks = self.kstat_mut(id);
        Self::with_update(id, src, |u| ks.read(u, now).map(|_| ()))?;
        Ok(self.kstat(id))
    }

    /// `kstat_write()` of `id` with the caller's whole buffer `user`.
    pub fn write<P: Platform>(
        &mut self,
        id: KstatId,
        src: &mut Sources<'_, P>,
        user: &[KstatNamed],
        cred: Credential,
        now: Hrtime,
    ) -> Result<(), ExportError> {
        let ks = self.kstat_mut(id);
        Self::with_update(id, src, |u| ks.write(u, user, cred, now))
    }

    /// What a userland tool does to set statistics: `kstat_read()` the
    /// kstat, change the named statistics in its copy, and
    /// `kstat_write()` the whole buffer. One write, so the changes are
    /// applied together or not at all. `ENOENT` for a statistic the kstat
    /// does not have.
    pub fn write_values<P: Platform>(
        &mut self,
        id: KstatId,
        src: &mut Sources<'_, P>,
        values: &[(&str, u64)],
        cred: Credential,
        now: Hrtime,
    ) -> Result<(), ExportError> {
        let mut buf = [KstatNamed::ZERO; MAX_NDATA];
        let n = {
            let snapshot = self.read(id, src, now)?.data();
            for (dst, src) in buf.iter_mut().zip(snapshot) {
                *dst = *src;
            }
            snapshot.len()
        };
        let user = buf.get_mut(..n).ok_or(ExportError::BufferTooSmall {
            needed: n,
            capacity: MAX_NDATA,
        })?;
        for &(stat, value) in values {
            let (index, entry) = user
                .iter_mut()
                .enumerate()
                .find(|(_, e)| e.name.is(stat))
                .ok_or(ExportError::NoSuchStatistic)?;
            if entry.data_type != KstatDataType::UINT64 {
                return Err(ExportError::TypeMismatch {
                    index,
                    expected: entry.data_type,
                    got: KstatDataType::UINT64,
                });
            }
            entry.value = KstatValue::from_u64(value);
        }
        self.write(id, src, user, cred, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kstat_named::KstatName;

    #[test]
    fn every_name_fits_kstat_strlen() {
        for id in KstatId::ALL {
            let i = id.ident();
            for n in [i.module, i.name, i.class] {
                assert!(KstatName::new(n).is_ok(), "{n}");
            }
            assert!(i.ndata_max <= MAX_NDATA);
        }
        for n in ARCSTATS_FIELDS.iter().chain(ARC_HEADROOM_FIELDS.iter()) {
            assert!(KstatName::new(n).is_ok(), "{n}");
        }
        assert!(TUNABLES.flags.contains(KstatFlags::WRITABLE));
        assert!(!ARCSTATS.flags.contains(KstatFlags::WRITABLE));
        assert_eq!(KstatId::find("zfs", 0, "tunables"), Some(KstatId::Tunables));
        assert_eq!(KstatId::find("zfs", 1, "tunables"), None);
    }
}
