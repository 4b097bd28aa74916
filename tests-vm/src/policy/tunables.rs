//! The project's kernel: the `zfs-tunables` component under the ARC,
//! `vmm-client` under bhyve, and `kstat-export` for every admin path.
//!
//! The admin has the four kstats (`zfs:0:arcstats`, the writable
//! `zfs:0:tunables`, `zfs:0:arc_headroom`, `vmm:0:arc_resv`) and the raw
//! variables with their sync tick, exactly as `kstat-export` implements
//! them over the component.

use std::rc::Rc;
use std::sync::Arc;

use kstat_export::{
    parse_assignment, parse_mdb_write, render_kstat_p, Credential, KstatSet, RawVariables, Sources,
};
use vmm_client::table_lock::StdTableLock;
use vmm_client::{ClientConfig, VmmArcClient};
use zfs_tunables::sync::AtomicU64;
use zfs_tunables::{errno, ArcTunables, Hrtime};

use crate::admin::{hrtime, kstat_lines, selector, AdminPaths};
use crate::event::{Event, EventRecord};
use crate::machine::Machine;
use crate::params::Params;
use crate::platform::SimPlatform;

/// The component, as the ARC, vmm and the kstats share it.
pub type Component = Arc<ArcTunables<SimPlatform>>;

/// The project's vmm client, on the simulator's component.
pub type VmmClient = VmmArcClient<SimPlatform, Component, StdTableLock>;

/// The vmm client: it registers `vmm_arc_page_overhead` with the
/// component, and waits at most `vmm_wait_deadline_s`.
#[must_use]
pub fn vmm_client(component: &Component, p: &Params) -> Option<VmmClient> {
    let config = ClientConfig {
        wait_limit: Hrtime::from_secs(p.vmm_wait_deadline_s),
        ..ClientConfig::default()
    };
    VmmArcClient::with_config(Arc::clone(component), StdTableLock::new(), config).ok()
}

/// `/etc/system` at boot (before `finish_boot()`), through the component;
/// each applied value and each warning is an event at 0 s.
#[must_use]
pub fn apply_etc_system(component: &Component, lines: &[String]) -> Vec<EventRecord> {
    let mut out = Vec::new();
    if lines.is_empty() {
        return out;
    }
    let text = lines.join("\n");
    let report = kstat_export::apply_etc_system(component.as_ref(), text.as_bytes());
    for (name, value, line) in &report.applied {
        out.push(EventRecord::done(
            0,
            Event::EtcSystem {
                line: usize::try_from(*line).unwrap_or(usize::MAX),
            },
            format!("{name} = {value}"),
        ));
    }
    for f in &report.findings {
        out.push(EventRecord::refused(
            0,
            Event::EtcSystem {
                line: usize::try_from(f.line).unwrap_or(usize::MAX),
            },
            errno::EINVAL,
            f.to_string(),
        ));
    }
    out
}

/// The project's admin paths.
pub struct TunablesAdmin {
    component: Component,
    vmm: Option<Rc<VmmClient>>,
    kstats: KstatSet,
    raw: RawVariables<AtomicU64>,
}

impl TunablesAdmin {
    /// The kstats and raw variables over `component`, with vmm's
    /// `arc_resv` from `vmm`.
    #[must_use]
    pub fn new(component: Component, vmm: Option<Rc<VmmClient>>) -> Option<TunablesAdmin> {
        Some(TunablesAdmin {
            kstats: KstatSet::new(Hrtime(0)).ok()?,
            raw: RawVariables::with_owned_cells(&component).ok()?,
            component,
            vmm,
        })
    }

    fn arc_resv_fields(&self) -> Option<[(&'static str, u64); 12]> {
        self.vmm.as_ref().map(|c| c.stats().fields())
    }
}

impl AdminPaths for TunablesAdmin {
    fn kstat_read(&mut self, m: &Machine, sel: &str) -> Result<Vec<String>, (i32, String)> {
        let selector = selector(sel)?;
        let fields = self.arc_resv_fields();
        let mut src = Sources {
            tunables: self.component.as_ref(),
            arc_resv: fields.as_ref().map(|f| &f[..]),
            raw: None,
        };
        let snaps = self
            .kstats
            .snapshots(&mut src, hrtime(m.now))
            .map_err(|e| (e.to_errno(), format!("kstat: {e}")))?;
        kstat_lines(&render_kstat_p(&snaps, &[selector]), sel)
    }

    fn kstat_write(&mut self, m: &Machine, w: &str) -> EventRecord {
        let ev = Event::KstatWrite {
            assignment: w.to_string(),
        };
        let a = match parse_assignment(w.as_bytes()) {
            Ok(a) => a,
            Err(e) => {
                return EventRecord::refused(
                    m.now,
                    ev,
                    errno::EINVAL,
                    format!("kstat: cannot parse {w}: {e:?}"),
                )
            }
        };
        let fields = self.arc_resv_fields();
        let mut src = Sources {
            tunables: self.component.as_ref(),
            arc_resv: fields.as_ref().map(|f| &f[..]),
            raw: Some(&mut self.raw as &mut dyn kstat_export::RecordApplied),
        };
        let r = self
            .kstats
            .write_assignments(
                &mut src,
                std::slice::from_ref(&a),
                Credential::SysConfig,
                hrtime(m.now),
            )
            .map(|()| format!("{} = {}", a.statistic.as_str(), a.value))
            .map_err(|e| (e.to_errno(), format!("kstat: write failed: {e}")));
        EventRecord::of(m.now, ev, r)
    }

    fn mdb_write(&mut self, m: &Machine, w: &str) -> EventRecord {
        let ev = Event::MdbWrite {
            command: w.to_string(),
        };
        let parsed = match parse_mdb_write(w.as_bytes()) {
            Ok(p) => p,
            Err(e) => {
                return EventRecord::refused(
                    m.now,
                    ev,
                    errno::EINVAL,
                    format!("mdb: syntax error: {e:?}"),
                )
            }
        };
        let r = self
            .raw
            .mdb_write(&parsed)
            .map(|o| {
                format!(
                    "{}: 0x{:x} = 0x{:x} (the sync tick picks it up)",
                    o.name, o.old, o.new
                )
            })
            .map_err(|e| (e.to_errno(), format!("mdb: {e}")));
        EventRecord::of(m.now, ev, r)
    }

    fn sync_tick(&mut self, m: &Machine) -> Vec<EventRecord> {
        let raw = &mut self.raw;
        let before: Vec<(&'static str, Option<u64>)> =
            raw.names().map(|n| (n, raw.last_applied(n))).collect();
        let mut warnings = Vec::new();
        raw.sync_tick(self.component.as_ref(), &mut |w| {
            warnings.push((w.name, w.error.to_errno(), w.to_string()))
        });
        let mut out = Vec::new();
        for (name, e, text) in warnings {
            out.push(EventRecord::refused(
                m.now,
                Event::Sync { variable: name },
                e,
                format!("WARNING: {text}"),
            ));
        }
        for (name, old) in before {
            let new = raw.last_applied(name);
            if new != old {
                out.push(EventRecord::done(
                    m.now,
                    Event::Sync { variable: name },
                    format!("{name} = {} applied", new.unwrap_or(0)),
                ));
            }
        }
        out
    }
}
