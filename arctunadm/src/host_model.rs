//! What the command knows about the kernel's rules without asking it: the
//! tunables' descriptors, the host's `allmem`, and a model of the
//! component that replays a refused write to learn the kernel's sentence.
//!
//! # Why a model
//!
//! `kstat_write(3KSTAT)` returns -1 and an errno; the kernel's reason
//! (`zfs_arc_max: 4096 is out of bounds (accepted: ...)`) cannot cross it.
//! The command links the same component the kernel runs (zfs-tunables),
//! so it rebuilds it from what the kstats show — `allmem`, the tunables
//! in force, the headroom reserved — checks that the model publishes the
//! kernel's limits (`c_min`, `c_max_base`, `c_max`), and replays the
//! write on it. If the model refuses it with the kernel's errno, its
//! message is the kernel's; otherwise (the model cannot be rebuilt, see
//! [`allmem`]) the command says what the errno means, naming the values.
//!
//! # `allmem`
//!
//! No kstat carries `allmem`. `zfs:0:arc_headroom:c_max_base` is
//! `MAX(default c_max, zfs_arc_max)`, and the default is `MAX(allmem*3/4,
//! allmem - 1 GiB)`, which can be inverted; so `allmem` is known whenever
//! `zfs_arc_max` is unset or below the default ceiling. When an admin set
//! `zfs_arc_max` above the default, it is not.

use std::sync::OnceLock;

use admin_syntax::StatValue;
use zfs_tunables::arc_limits::{compute_lenient, AdminValues};
use zfs_tunables::registry::{TunableDesc, TunableFlags};
use zfs_tunables::std_platform::StdPlatform;
use zfs_tunables::{
    ArcTunables, Bytes, Generation, HostMemory, PageSize, Pages, TunableError, GIB,
};

use crate::backend::{Backend, BackendError, ARCSTATS, ARC_HEADROOM, TUNABLES};

/// Every tunable the command knows (the ARC's and vmm's), registered in
/// a throwaway component so that the descriptors are the kernel's own.
fn catalogue() -> &'static ArcTunables<StdPlatform> {
    static CATALOGUE: OnceLock<ArcTunables<StdPlatform>> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        let host = HostMemory::new(
            Bytes(GIB).to_pages_roundup(PageSize::AMD64),
            PageSize::AMD64,
        );
        let c = ArcTunables::new(StdPlatform::manual(), host, Generation::Y2021);
        // Cannot fail: an empty registry with the ARC's six tunables.
        let _ = c.register(&vmm_client::page_overhead::VMM_REGISTRANT);
        c
    })
}

/// The descriptor of tunable `name`, as the kernel registers it.
#[must_use]
pub fn descriptor(name: &str) -> Option<&'static TunableDesc> {
    catalogue().desc(name)
}

/// The value that means "the default" for `desc`: 0 where 0 asks for
/// the computed default, else the registered default.
#[must_use]
pub fn default_value(desc: &TunableDesc) -> u64 {
    if desc.flags.contains(TunableFlags::ZERO_IS_DEFAULT) {
        0
    } else {
        desc.default
    }
}

/// The tunables' names in registry order (the order of `zfs:0:tunables`).
pub fn registry_order() -> &'static [&'static str] {
    static ORDER: OnceLock<Vec<&'static str>> = OnceLock::new();
    ORDER.get_or_init(|| {
        let mut out = Vec::new();
        catalogue().for_each_tunable(|e| out.push(e.desc.name));
        out
    })
}

/// The module whose tunable `name` is (its `/etc/system` prefix).
#[must_use]
pub fn module_of(name: &str) -> Option<&'static str> {
    let mut found = None;
    catalogue().for_each_tunable(|e| {
        if e.desc.name == name {
            found = Some(e.module);
        }
    });
    found
}

/// The figures the model is rebuilt from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Figures {
    /// `zfs:0:tunables`, in kstat order.
    pub tunables: Vec<(String, u64)>,
    /// `zfs:0:arcstats:c_min`.
    pub c_min: u64,
    /// `zfs:0:arcstats:c_max` (the effective ceiling).
    pub c_max: u64,
    /// `zfs:0:arc_headroom:c_max_base`.
    pub c_max_base: u64,
    /// `zfs:0:arc_headroom:reserved`.
    pub reserved: u64,
}

fn u64_of(s: &admin_syntax::KstatSnapshot, stat: &str) -> u64 {
    s.get(stat).and_then(StatValue::as_u64).unwrap_or(0)
}

impl Figures {
    /// Reads them from the kernel.
    pub fn read(b: &mut dyn Backend) -> Result<Figures, BackendError> {
        let t = b.read(TUNABLES)?;
        let a = b.read(ARCSTATS)?;
        let h = b.read(ARC_HEADROOM)?;
        Ok(Figures {
            tunables: t
                .data
                .iter()
                .filter_map(|(n, v)| v.as_u64().map(|v| (n.clone(), v)))
                .collect(),
            c_min: u64_of(&a, "c_min"),
            c_max: u64_of(&a, "c_max"),
            c_max_base: u64_of(&h, "c_max_base"),
            reserved: u64_of(&h, "reserved"),
        })
    }

    /// The value of tunable `name`, if the kstat has it.
    #[must_use]
    pub fn tunable(&self, name: &str) -> Option<u64> {
        self.tunables
            .iter()
            .find(|(n, _)| n == name)
            .map(|&(_, v)| v)
    }
}

/// Why `allmem` is not known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllmemUnknown {
    /// `zfs_arc_max` is set at or above the default ceiling, which
    /// `c_max_base` then shows instead.
    ArcMaxAboveDefault(u64),
    /// `c_max_base` is no default ceiling of any host.
    NotADefault(u64),
}

impl std::fmt::Display for AllmemUnknown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            AllmemUnknown::ArcMaxAboveDefault(v) => write!(
                f,
                "zfs_arc_max ({v}) is at or above the default ceiling, so the kstats do not show \
                 the memory the ARC may use (allmem); reset zfs_arc_max first"
            ),
            AllmemUnknown::NotADefault(v) => write!(
                f,
                "zfs:0:arc_headroom:c_max_base ({v}) is not the default ceiling of any host, so \
                 the memory the ARC may use (allmem) is not known"
            ),
        }
    }
}

/// The host of `allmem` bytes, if that is whole pages.
fn host_of(allmem: u64) -> Option<HostMemory> {
    let ps = PageSize::AMD64;
    Bytes(allmem).is_page_aligned(ps).then_some(HostMemory {
        physmem: Pages(allmem >> ps.shift()),
        swapfs_minfree: Pages(0),
        page_size: ps,
        heap: None,
    })
}

/// The `allmem` whose default ceiling is `c_max_default`, checked by
/// computing the ceiling forward again.
#[must_use]
pub fn allmem_for_default_ceiling(c_max_default: u64) -> Option<u64> {
    let candidate = if c_max_default >= 3 * GIB {
        c_max_default.checked_add(GIB)?
    } else {
        // allmem - allmem/4 = c_max_default, allmem a multiple of 4.
        (c_max_default / 3).checked_mul(4)?
    };
    let host = host_of(candidate)?;
    let (l, _) = compute_lenient(&host, Generation::Y2021, &AdminValues::default());
    (l.c_max_default.0 == c_max_default).then_some(candidate)
}

/// The host's `allmem`, from the kstats (see the module documentation).
pub fn allmem(f: &Figures) -> Result<u64, AllmemUnknown> {
    let arc_max = f.tunable("zfs_arc_max").unwrap_or(0);
    if arc_max != 0 && arc_max >= f.c_max_base {
        return Err(AllmemUnknown::ArcMaxAboveDefault(arc_max));
    }
    allmem_for_default_ceiling(f.c_max_base).ok_or(AllmemUnknown::NotADefault(f.c_max_base))
}

/// The component as the kernel has it, rebuilt from `f`; `None` if no
/// generation of `arc_init()` reproduces the kernel's limits.
#[must_use]
pub fn model(f: &Figures) -> Option<ArcTunables<StdPlatform>> {
    let host = host_of(allmem(f).ok()?)?;
    // The module's generation first (2021), then current illumos's.
    [Generation::Y2021, Generation::Current]
        .into_iter()
        .find_map(|g| {
            let m = ArcTunables::new(StdPlatform::manual(), host, g);
            m.finish_boot();
            if f.tunable(vmm_client::PAGE_OVERHEAD_TUNABLE).is_some() {
                m.register(&vmm_client::page_overhead::VMM_REGISTRANT)
                    .ok()?;
            }
            let writes: Vec<(&str, u64)> =
                f.tunables.iter().map(|(n, v)| (n.as_str(), *v)).collect();
            m.set_many(&writes).ok()?;
            if f.reserved != 0 {
                m.reserve("vmm", Bytes(f.reserved)).ok()?;
            }
            let h = m.headroom_stats();
            let same = m.limits().c_min.0 == f.c_min
                && h.c_max_base.0 == f.c_max_base
                && h.c_max_effective.0 == f.c_max;
            same.then_some(m)
        })
}

/// What the kernel's validation says of `writes`, if the model refuses
/// them with `errno`, as the kernel did.
#[must_use]
pub fn replay(f: &Figures, writes: &[(&str, u64)], errno: i32) -> Option<TunableError> {
    let m = model(f)?;
    match m.set_many(writes) {
        Err(e) if e.to_errno() == errno => Some(e),
        _ => None,
    }
}

/// The first write outside its descriptor's static bounds, as the
/// registry refuses it (host-independent, so known without a model).
#[must_use]
pub fn static_refusal(writes: &[(&str, u64)]) -> Option<TunableError> {
    writes.iter().find_map(|&(name, value)| {
        let d = descriptor(name)?;
        let zero_ok = value == 0 && d.flags.contains(TunableFlags::ZERO_IS_DEFAULT);
        (!zero_ok && (value < d.min || value > d.max)).then_some(TunableError::OutOfBounds {
            name: d.name,
            value,
            min: d.min,
            max: d.max,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allmem_inverts_the_default_ceiling() {
        for gib in [1u64, 2, 3, 4, 5, 16, 128, 1024] {
            let allmem = gib * GIB - 64 * 4096;
            let host = host_of(allmem).unwrap();
            let (l, _) = compute_lenient(&host, Generation::Y2021, &AdminValues::default());
            assert_eq!(
                allmem_for_default_ceiling(l.c_max_default.0),
                Some(allmem),
                "{gib}"
            );
        }
        // Not a ceiling any page-aligned allmem gives.
        assert_eq!(allmem_for_default_ceiling(1), None);
    }

    #[test]
    fn descriptors_are_the_kernels() {
        let d = descriptor("zfs_arc_max").unwrap();
        assert_eq!(d.min, 64 * 1024 * 1024 + 1);
        assert_eq!(module_of("zfs_arc_max"), Some("zfs"));
        assert_eq!(module_of("vmm_arc_page_overhead"), Some("vmm"));
        assert_eq!(
            default_value(descriptor("vmm_arc_page_overhead").unwrap()),
            120
        );
        assert!(descriptor("zfs_arc_maxx").is_none());
    }
}
