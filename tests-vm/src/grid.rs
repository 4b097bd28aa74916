//! The admission grid: the 132 hosts of `tests/never_worse_than_stock.rs`
//! (16, 64, 128 and 512 GiB; the ARC at half or 85% of what the kernel
//! and processes leave; no reader, or one filling the ARC at 100 or 500
//! MiB/s; one or three guests of a tenth, three tenths or six tenths of
//! the host) and the 60 hosts with fast readers (2 GiB/s of misses, and
//! 500 MiB/s on 16 GiB), each run under the three stock kernels and
//! `tunables`. `tests/admission_grid.rs` holds `tunables` to the stock
//! kernels on every host; [`crate::tables`] prints MODEL.md's table of
//! the grid from the same runs.

use crate::params::Params;
use crate::policy::Policy;
use crate::scenario::parse_scenario;
use crate::sim::{self, RunResult};

/// The stock kernels, in the documents' order.
pub const STOCK: [Policy; 3] = [Policy::Legacy, Policy::Os8005, Policy::Reservoir];

/// Hosts in the grid without fast readers.
pub const GRID_HOSTS: usize = 132;

/// Hosts with fast readers.
pub const FAST_READER_HOSTS: usize = 60;

/// One host, as a scenario file.
#[must_use]
pub fn host(
    physmem_gib: u64,
    arc_fill: f64,
    reader: &str,
    guest_share: f64,
    guests: u64,
) -> String {
    let kernel = (physmem_gib * 6 / 100).max(1);
    let anon = (physmem_gib * 2 / 100).max(1);
    let arc = ((physmem_gib - kernel - anon) as f64 * arc_fill) as u64;
    let ram = ((physmem_gib as f64 * guest_share / guests as f64) as u64).max(1);
    let mut s = format!(
        "[host]\nphysmem = \"{physmem_gib}G\"\nkernel = \"{kernel}G\"\nanon = \"{anon}G\"\n\
         generation = \"current\"\n[arc]\nsize = \"{arc}G\"\n[workload]\narcfill = \"{reader}\"\n\
         [sim]\nduration = \"150s\"\n"
    );
    for k in 0..guests {
        let at = 10 + 15 * k;
        s += &format!(
            "[[event]]\nat = \"{at}s\"\nvm_create = {{ name = \"vm{k}\", ram = \"{ram}G\" }}\n"
        );
    }
    s
}

/// The hosts, (name, scenario file): `fast` picks the fast-reader set.
#[must_use]
pub fn hosts(fast: bool) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for physmem in [16, 64, 128, 512] {
        let readers: &[&str] = match (fast, physmem <= 16) {
            (false, true) => &["0", "100M"],
            (false, false) => &["0", "100M", "500M"],
            (true, true) => &["500M", "2G"],
            (true, false) => &["2G"],
        };
        for fill in [0.5, 0.85] {
            for reader in readers {
                for share in [0.1, 0.3, 0.6] {
                    for guests in [1, 3] {
                        let name =
                            format!("{physmem}G fill {fill} reader {reader} {guests} x {share}");
                        out.push((name, host(physmem, fill, reader, share, guests)));
                    }
                }
            }
        }
    }
    out
}

/// One host's runs: the three stock kernels, then `tunables`.
#[derive(Debug)]
pub struct Host {
    /// The host's name.
    pub name: String,
    /// Its runs under [`STOCK`], in that order.
    pub stock: Vec<RunResult>,
    /// Its run under `tunables`.
    pub tunables: RunResult,
}

/// Every host of the set, run.
///
/// # Errors
///
/// A sentence if a host's scenario does not load (it always does: the
/// grid writes only what the loader accepts).
pub fn run_all(fast: bool) -> Result<Vec<Host>, String> {
    let p = Params::default();
    hosts(fast)
        .into_iter()
        .map(|(name, text)| {
            let s = parse_scenario(&text, &name).map_err(|e| format!("grid host {name}: {e}"))?;
            Ok(Host {
                stock: STOCK.iter().map(|&k| sim::run(&s, k, &p)).collect(),
                tunables: sim::run(&s, Policy::Tunables, &p),
                name,
            })
        })
        .collect()
}

/// Guests whose memory was set up in `r`.
#[must_use]
pub fn started(r: &RunResult) -> usize {
    r.vms.iter().filter(|v| v.started).count()
}

/// Where `tunables` does worse than the stock kernels on `h`, as
/// sentences: an LWP swapped, more pages paged than the stock kernel
/// that pages least, or a guest some stock kernel starts without paging
/// that `tunables` does not start.
#[must_use]
pub fn worse_than_stock(h: &Host) -> Vec<String> {
    let mut bad = Vec::new();
    let t = &h.tunables;
    let least = h.stock.iter().map(|r| r.pages_paged_out).min().unwrap_or(0);
    if t.lwps_swapped > 0 {
        bad.push(format!("{}: swapped {} LWPs", h.name, t.lwps_swapped));
    }
    if t.pages_paged_out > least {
        bad.push(format!(
            "{}: paged {} where the best stock kernel paged {least}",
            h.name, t.pages_paged_out
        ));
    }
    for r in h.stock.iter().filter(|r| r.pages_paged_out == 0) {
        for v in r.vms.iter().filter(|v| v.started) {
            let ours = t.vms.iter().find(|w| w.name == v.name);
            if !ours.is_some_and(|w| w.started) {
                bad.push(format!(
                    "{}: {} starts under {} without paging, not under tunables",
                    h.name,
                    v.name,
                    r.policy.name()
                ));
            }
        }
    }
    bad
}
