//! A simulated host: the kernel's write path, in this process.
//!
//! [`SimulatedHost`] is the zfs-tunables component
//! (`ArcTunables<StdPlatform>`, with vmm's registrant and client),
//! exported through kstat-export's kstat driver ([`KstatSet`]): the same
//! code the kernel module runs behind `zfs:0:tunables`, including the
//! staging copy, the driver's checks in `write_kstat_data()`'s order and
//! the component's all-or-nothing validation. Guests are created through
//! vmm-client, so `zfs:0:arc_headroom` and `vmm:0:arc_resv` show what
//! they would on a host running them. `unix:0:system_pages` (free memory
//! and the page scanner's thresholds) is the host's, not the module's,
//! and is made here from the host's figures.
//!
//! Like the kernel, it answers a refused write with an errno only.
//!
//! # The host file
//!
//! The command talks to a simulated host when `ARCTUNADM_SIMULATED_HOST`
//! names a file describing one; after every write the file is rewritten
//! with the tunables in force, so successive commands see one host.
//!
//! ```text
//! # a 128 GiB host running one 32 GiB guest
//! physmem = 128G            # physical memory (whole pages)
//! generation = 2021         # arc_init()'s: 2021 (the module's) or current
//! arc_size = 60G            # the ARC's size
//! freemem = 12G             # free memory
//! lotsfree = 2G             # optional: physmem/64 (setupclock())
//! desfree = 1G              # optional: lotsfree/2
//! availrmem = 30G           # optional: physmem less the ARC and guests
//! arc_evictable = 50G       # optional: the whole ARC
//! caller = root             # or unprivileged (no sys_config privilege)
//! arctun = loaded           # or unloaded: zfs:0:arcstats only
//! vmm = loaded              # or unloaded: no vmm:0:arc_resv
//! guest = db1 32G           # a running guest (repeatable)
//! tunable = zfs_arc_max 8589934592   # written by the command
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use admin_syntax::{KstatSnapshot, StatValue};
use kstat_export::{Credential, KstatId, KstatSet, Sources};
use vmm_client::table_lock::StdTableLock;
use vmm_client::{bhyve_memsegs, InstanceId, SegmentAllocator, SegmentId, VmmArcClient};
use zfs_tunables::errno;
use zfs_tunables::registry::TunableFlags;
use zfs_tunables::std_platform::StdPlatform;
use zfs_tunables::{
    AdmissionFigures, ArcTunables, Bytes, Generation, HostMemory, PageSize, Pages, Platform,
};

use crate::backend::{
    Backend, BackendError, KstatCall, KstatRef, ARCSTATS, ARC_HEADROOM, ARC_RESV, SYSTEM_PAGES,
    TUNABLES,
};
use crate::size::parse_size;

/// The environment variable naming a simulated host's file.
pub const SIMULATED_HOST_ENV: &str = "ARCTUNADM_SIMULATED_HOST";

/// The page size of the simulated host (amd64's, the only one bhyve runs
/// on).
pub const PAGE_SIZE: PageSize = PageSize::AMD64;

/// A guest the host runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestSpec {
    /// Its name.
    pub name: String,
    /// Its RAM in bytes.
    pub ram: u64,
}

/// What a host file describes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostSpec {
    /// Physical memory in bytes.
    pub physmem: u64,
    /// Which `arc_init()` the kernel runs.
    pub generation: Generation,
    /// The ARC's size in bytes.
    pub arc_size: u64,
    /// Free memory in bytes.
    pub freemem: u64,
    /// `lotsfree` in bytes (`None`: `physmem / 64`).
    pub lotsfree: Option<u64>,
    /// `desfree` in bytes (`None`: `lotsfree / 2`).
    pub desfree: Option<u64>,
    /// `availrmem` in bytes, the pages not locked down (`None`: physical
    /// memory less the ARC's and the guests', which are locked; the
    /// kernel's and processes' memory counted as unlocked).
    pub availrmem: Option<u64>,
    /// Bytes of the ARC that eviction could free now (`None`: all of it;
    /// the component counts no more than lies above `c_min`).
    pub arc_evictable: Option<u64>,
    /// Whether the caller has the `sys_config` privilege.
    pub privileged: bool,
    /// Whether `misc/arctun` is loaded (its zfs kstats exist).
    pub arctun_loaded: bool,
    /// Whether vmm is loaded (`vmm:0:arc_resv` and its tunable exist).
    pub vmm_loaded: bool,
    /// Running guests.
    pub guests: Vec<GuestSpec>,
    /// Tunables set, by name (the command writes these).
    pub tunables: Vec<(String, u64)>,
}

impl HostSpec {
    /// A host of `physmem` bytes with nothing set and no guest, its ARC
    /// half of memory and an eighth of memory free.
    #[must_use]
    pub fn with_physmem(physmem: u64) -> HostSpec {
        HostSpec {
            physmem,
            generation: Generation::Y2021,
            arc_size: physmem / 2,
            freemem: physmem / 8,
            lotsfree: None,
            desfree: None,
            availrmem: None,
            arc_evictable: None,
            privileged: true,
            arctun_loaded: true,
            vmm_loaded: true,
            guests: Vec::new(),
            tunables: Vec::new(),
        }
    }

    /// Parses a host file (see the module documentation); an error names
    /// the line.
    pub fn parse(text: &str) -> Result<HostSpec, String> {
        let mut spec = HostSpec::with_physmem(0);
        let mut arc_size = None;
        let mut freemem = None;
        for (i, raw) in text.lines().enumerate() {
            let n = i.saturating_add(1);
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let (key, value) = line
                .split_once('=')
                .map(|(k, v)| (k.trim(), v.trim()))
                .ok_or_else(|| format!("line {n}: expected 'key = value', found '{line}'"))?;
            let size = |v: &str| parse_size(v).map_err(|e| format!("line {n}: {key}: '{v}': {e}"));
            let flag = |v: &str, yes: &str, no: &str| match v {
                _ if v == yes => Ok(true),
                _ if v == no => Ok(false),
                _ => Err(format!("line {n}: {key} is '{yes}' or '{no}', not '{v}'")),
            };
            match key {
                "physmem" => spec.physmem = size(value)?,
                "generation" => {
                    spec.generation = match value {
                        "2021" => Generation::Y2021,
                        "current" => Generation::Current,
                        _ => return Err(format!("line {n}: generation is 2021 or current")),
                    }
                }
                "arc_size" => arc_size = Some(size(value)?),
                "freemem" => freemem = Some(size(value)?),
                "lotsfree" => spec.lotsfree = Some(size(value)?),
                "desfree" => spec.desfree = Some(size(value)?),
                "availrmem" => spec.availrmem = Some(size(value)?),
                "arc_evictable" => spec.arc_evictable = Some(size(value)?),
                "caller" => spec.privileged = flag(value, "root", "unprivileged")?,
                "arctun" => spec.arctun_loaded = flag(value, "loaded", "unloaded")?,
                "vmm" => spec.vmm_loaded = flag(value, "loaded", "unloaded")?,
                "guest" | "tunable" => {
                    let (name, v) = value
                        .split_once(char::is_whitespace)
                        .map(|(a, b)| (a.trim(), b.trim()))
                        .ok_or_else(|| format!("line {n}: {key} = NAME SIZE"))?;
                    let v = size(v)?;
                    if key == "guest" {
                        spec.guests.push(GuestSpec {
                            name: name.to_string(),
                            ram: v,
                        });
                    } else {
                        spec.tunables.push((name.to_string(), v));
                    }
                }
                _ => return Err(format!("line {n}: unknown key '{key}'")),
            }
        }
        if spec.physmem == 0 {
            return Err("no physmem".to_string());
        }
        spec.arc_size = arc_size.unwrap_or(spec.physmem / 2);
        spec.freemem = freemem.unwrap_or(spec.physmem / 8);
        Ok(spec)
    }
}

impl HostSpec {
    /// The figures the module reads for admission (`zfs:0:arc_headroom`'s
    /// `available_now`), from the host's: `availrmem` and the ARC's
    /// evictable bytes as given or defaulted (see the fields), nothing
    /// evicted waiting in kmem caches, and the floor of `availrmem` the ARC
    /// keeps, `pages_pp_maximum` as `init_pages_pp_maximum()` computes it
    /// (`availrmem_initial / 25 + btopr(4 MiB)`) with
    /// `arc_pages_pp_reserve`'s 64 pages.
    #[must_use]
    pub fn admission_figures(&self) -> AdmissionFigures {
        let guests = self
            .guests
            .iter()
            .fold(0u64, |sum, g| sum.saturating_add(g.ram));
        let availrmem = self.availrmem.unwrap_or_else(|| {
            self.physmem
                .saturating_sub(self.arc_size)
                .saturating_sub(guests)
        });
        let initial = bytes_to_pages(self.physmem).0;
        let pp_maximum = (initial / 25).saturating_add(bytes_to_pages(4 << 20).0);
        AdmissionFigures {
            availrmem: bytes_to_pages(availrmem),
            availrmem_floor: Pages(pp_maximum.saturating_add(ARC_PAGES_PP_RESERVE)),
            arc_evictable: Bytes(self.arc_evictable.unwrap_or(self.arc_size)),
            arc_evicted_cached: Bytes(0),
        }
    }
}

/// `arc_pages_pp_reserve`: pages of `availrmem` the ARC leaves above
/// `pages_pp_maximum` (arc.c).
const ARC_PAGES_PP_RESERVE: u64 = 64;

/// A guest's memory always allocates (the simulated host has it).
struct GuestMemory;

impl SegmentAllocator for GuestMemory {
    fn allocate(&mut self, _: InstanceId, _: SegmentId, _: Bytes) -> Result<(), i32> {
        Ok(())
    }
    fn free(&mut self, _: InstanceId, _: SegmentId, _: Bytes) {}
}

type Component = ArcTunables<StdPlatform>;
type Vmm = VmmArcClient<StdPlatform, Arc<Component>, StdTableLock>;

/// The simulated host; see the module documentation.
pub struct SimulatedHost {
    arc: Arc<Component>,
    // Boxed, with the kstats: vmm's instance table is ~110 KiB, and a
    // host is moved around by value.
    vmm: Option<Box<Vmm>>,
    kstats: Box<KstatSet>,
    spec: HostSpec,
    lotsfree: Pages,
    desfree: Pages,
    file: Option<PathBuf>,
}

fn bytes_to_pages(b: u64) -> Pages {
    Pages(b >> PAGE_SIZE.shift())
}

impl SimulatedHost {
    /// Boots the host `spec` describes: the component with the module's
    /// `arc_init()`, vmm, the guests, then the tunables (as an admin set
    /// them while the guests ran). An error says what could not be done.
    pub fn boot(spec: HostSpec) -> Result<SimulatedHost, String> {
        let physmem = bytes_to_pages(spec.physmem);
        let host = HostMemory::new(physmem, PAGE_SIZE);
        let arc = Arc::new(ArcTunables::new(
            StdPlatform::manual(),
            host,
            spec.generation,
        ));
        arc.finish_boot();
        let platform = arc.platform();
        let lotsfree = spec.lotsfree.map_or(Pages(physmem.0 / 64), bytes_to_pages);
        let desfree = spec.desfree.map_or(Pages(lotsfree.0 / 2), bytes_to_pages);
        platform.set_lotsfree(lotsfree);
        platform.set_desfree(desfree);
        platform.set_arc_size(Bytes(spec.arc_size));
        let vmm = if spec.vmm_loaded {
            let vmm = Box::new(
                VmmArcClient::new(Arc::clone(&arc), StdTableLock::new())
                    .map_err(|e| format!("vmm: {e}"))?,
            );
            // While the guests start, memory is free for them: their
            // creates find headroom at once, as on a host where they
            // started long ago.
            platform.set_freemem(physmem);
            for g in &spec.guests {
                let segs =
                    bhyve_memsegs(Bytes(g.ram)).map_err(|e| format!("guest {}: {e}", g.name))?;
                vmm.create(g.name.as_bytes(), &segs, &mut GuestMemory)
                    .map_err(|e| format!("guest {} cannot start: {e}", g.name))?;
            }
            Some(vmm)
        } else if let Some(g) = spec.guests.first() {
            return Err(format!("guest {} needs vmm loaded", g.name));
        } else {
            None
        };
        platform.set_freemem(bytes_to_pages(spec.freemem));
        platform.set_admission(Some(spec.admission_figures()));
        let writes: Vec<(&str, u64)> = spec
            .tunables
            .iter()
            .map(|(n, v)| (n.as_str(), *v))
            .collect();
        if !writes.is_empty() {
            arc.set_many(&writes)
                .map_err(|e| format!("the tunables set: {e}"))?;
        }
        let kstats = Box::new(KstatSet::new(platform.now()).map_err(|e| format!("kstats: {e}"))?);
        Ok(SimulatedHost {
            arc,
            vmm,
            kstats,
            spec,
            lotsfree,
            desfree,
            file: None,
        })
    }

    /// Boots the host described in `path`, and keeps it there: every
    /// successful write rewrites the file's `tunable` lines.
    pub fn load(path: &Path) -> Result<SimulatedHost, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("simulated host {}: {e}", path.display()))?;
        let spec = HostSpec::parse(&text)
            .map_err(|e| format!("simulated host {}: {e}", path.display()))?;
        let mut host = SimulatedHost::boot(spec)
            .map_err(|e| format!("simulated host {}: {e}", path.display()))?;
        host.file = Some(path.to_path_buf());
        Ok(host)
    }

    /// The component, for tests that check what a command changed.
    #[must_use]
    pub fn component(&self) -> &ArcTunables<StdPlatform> {
        &self.arc
    }

    /// The tunables that differ from their defaults, in registry order.
    fn set_tunables(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        self.arc.for_each_tunable(|e| {
            let default = if e.desc.flags.contains(TunableFlags::ZERO_IS_DEFAULT) {
                0
            } else {
                e.desc.default
            };
            if e.value != default {
                out.push((e.desc.name.to_string(), e.value));
            }
        });
        out
    }

    /// Rewrites the host file with the tunables in force (temporary file,
    /// then rename).
    fn save(&self) -> Result<(), BackendError> {
        let Some(path) = &self.file else {
            return Ok(());
        };
        let fail = |e: std::io::Error| BackendError::Simulation(format!("{}: {e}", path.display()));
        let old = std::fs::read_to_string(path).map_err(fail)?;
        let mut text: String = old
            .lines()
            .filter(|l| l.split('=').next().map(str::trim) != Some("tunable"))
            .map(|l| format!("{l}\n"))
            .collect();
        for (name, value) in self.set_tunables() {
            text.push_str(&format!("tunable = {name} {value}\n"));
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text).map_err(fail)?;
        std::fs::rename(&tmp, path).map_err(fail)
    }

    fn kstat_id(&self, ks: KstatRef) -> Result<KstatId, BackendError> {
        let lookup_failed = BackendError::Errno {
            call: KstatCall::Lookup,
            errno: errno::ENOENT,
        };
        let id = KstatId::find(ks.module, ks.instance, ks.name).ok_or(lookup_failed.clone())?;
        let present = match id {
            // ZFS's own kstat: a kernel without the module has it too.
            KstatId::Arcstats => true,
            KstatId::ArcResv => self.spec.arctun_loaded && self.vmm.is_some(),
            _ => self.spec.arctun_loaded,
        };
        if present {
            Ok(id)
        } else {
            Err(lookup_failed)
        }
    }

    /// `unix:0:system_pages`, with the statistics of illumos's that the
    /// host has figures for, in illumos's order.
    fn system_pages(&self) -> KstatSnapshot {
        let mem = self.arc.platform().memory();
        let minfree = Pages(self.desfree.0 / 2);
        let stat = |n: &str, p: Pages| (n.to_string(), StatValue::Uint64(p.0));
        KstatSnapshot {
            module: "unix".to_string(),
            instance: 0,
            name: "system_pages".to_string(),
            class: "pages".to_string(),
            crtime: zfs_tunables::Hrtime(0),
            snaptime: self.arc.platform().now(),
            data: vec![
                stat("physmem", bytes_to_pages(self.spec.physmem)),
                stat("freemem", mem.freemem),
                stat("lotsfree", self.lotsfree),
                stat("desfree", self.desfree),
                stat("minfree", minfree),
            ],
        }
    }

    fn with_sources<R>(
        &mut self,
        f: impl FnOnce(&mut KstatSet, &mut Sources<'_, StdPlatform>) -> R,
    ) -> R {
        let fields = self.vmm.as_ref().map(|v| v.stats().fields());
        let mut src = Sources {
            tunables: &self.arc,
            arc_resv: fields.as_ref().map(|f| &f[..]),
            raw: None,
        };
        f(&mut self.kstats, &mut src)
    }
}

impl Backend for SimulatedHost {
    fn read(&mut self, ks: KstatRef) -> Result<KstatSnapshot, BackendError> {
        if ks == SYSTEM_PAGES {
            return Ok(self.system_pages());
        }
        let id = self.kstat_id(ks)?;
        let now = self.arc.platform().now();
        self.with_sources(|set, src| {
            set.read(id, src, now)
                .map(KstatSnapshot::of)
                .map_err(|e| BackendError::Errno {
                    call: KstatCall::Read,
                    errno: e.to_errno(),
                })
        })
    }

    fn write(&mut self, ks: KstatRef, values: &[(&str, u64)]) -> Result<(), BackendError> {
        let snapshot = self.read(ks)?;
        for &(name, _) in values {
            match snapshot.get(name) {
                None => return Err(BackendError::NoSuchStatistic(name.to_string())),
                Some(StatValue::Uint64(_)) => {}
                Some(_) => return Err(BackendError::NotUint64(name.to_string())),
            }
        }
        if ks == SYSTEM_PAGES {
            // Not writable (no KSTAT_FLAG_WRITABLE): the driver's EACCES.
            return Err(BackendError::Errno {
                call: KstatCall::Write,
                errno: errno::EACCES,
            });
        }
        let id = self.kstat_id(ks)?;
        let cred = if self.spec.privileged {
            Credential::SysConfig
        } else {
            Credential::Unprivileged
        };
        let now = self.arc.platform().now();
        self.with_sources(|set, src| set.write_values(id, src, values, cred, now))
            .map_err(|e| BackendError::Errno {
                call: KstatCall::Write,
                errno: e.to_errno(),
            })?;
        if ks == TUNABLES {
            self.save()?;
        }
        Ok(())
    }
}

/// The kstats the command reads, for tests.
pub const READ_KSTATS: [KstatRef; 5] = [TUNABLES, ARCSTATS, ARC_HEADROOM, ARC_RESV, SYSTEM_PAGES];
