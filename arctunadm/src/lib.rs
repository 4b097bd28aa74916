//! `arctunadm(8)`: the operator's command for the runtime ARC tunables of
//! `misc/arctun`.
//!
//! # Big theory statement
//!
//! ## What it is for
//!
//! A kernel with the patches makes `zfs_arc_max` and its kin adjustable at
//! runtime through a writable kstat, `zfs:0:tunables`. `kstat(8)` cannot
//! write, so without this command an operator needs `mdb -kw` or a C
//! program around `kstat_write(3KSTAT)`. The name follows illumos's
//! `-adm` commands, each named for what it administers (`zoneadm`,
//! `dladm`, `ipadm`, `fmadm`): this one administers `misc/arctun`. It is
//! not `arcadm` (it does not administer the ARC's pools or caches, only
//! the limits the module adjusts, and vmm's tunable) nor `zfscache`
//! (OS-8638's command, over an ioctl this module does not have).
//!
//! | subcommand | kstats | module |
//! |---|---|---|
//! | `get`, `set`, `reset` | `zfs:0:tunables` (read; one write) | [`commands`] |
//! | `reset --etc-system`, `--persist` | and `/etc/system.d/*`, `/etc/system` | [`boot_config`] |
//! | `profile` | and `zfs:0:arcstats`, `zfs:0:arc_headroom` for `allmem` | [`profiles`], [`host_model`] |
//! | `status` | `zfs:0:arcstats`, `zfs:0:arc_headroom`, `vmm:0:arc_resv`, `unix:0:system_pages` | [`commands`] |
//!
//! ## Design
//!
//! - **The kernel only through libkstat.** [`backend::Backend`] is
//!   `kstat_lookup` + `kstat_read`, and read-modify-`kstat_write` once.
//!   Two implementations: [`libkstat::LibKstat`] (illumos only, the FFI of
//!   `<kstat.h>`), and [`simulated_host::SimulatedHost`], which runs
//!   kstat-export's kstat driver over the real zfs-tunables component in
//!   this process: the kernel's write path, staging copy and all. Every
//!   subcommand runs the same code over either; the tests use the second.
//! - **All or nothing is the kernel's.** `set a=1 b=2` is one
//!   `kstat_write` of the whole `zfs:0:tunables` buffer; the component
//!   validates every value against the state they would produce together
//!   before storing any. The command adds only what the kernel cannot see:
//!   every operand is parsed, and every name checked against the kstat,
//!   before anything is written.
//! - **A refusal says why.** `kstat_write` returns an errno and nothing
//!   else. The command links the component the kernel runs, rebuilds it
//!   from the kstats, replays the refused write and prints the component's
//!   own sentence ([`host_model`], [`refusal`]); if it cannot rebuild the
//!   host, it says what the errno means for the values written.
//! - **Persistence is a fragment the command owns**,
//!   `/etc/system.d/arctunadm`, replaced atomically, one `set
//!   module:variable = 0x...` line per tunable, which kstat-export's
//!   `/etc/system` parser reads back to the same value
//!   ([`boot_config`]).
//!
//! ## Invariants
//!
//! - Bad input (an unknown subcommand, option, tunable or profile, a
//!   malformed or overflowing value) exits 2 with one line on standard
//!   error and writes nothing; a refused write exits 1 and, the kernel
//!   being all or nothing, changes nothing.
//! - `--persist` writes the fragment only after the kernel accepted the
//!   values, so the next boot never gets a value this boot refused.
//! - The fragment never holds two lines for one tunable, nor a line for a
//!   tunable at its default.
//!
//! ## What the kstats do not carry
//!
//! `allmem` (derived from `c_max_base`, see [`host_model`]), the margin
//! a starting guest waits for (computed from `unix:0:system_pages`'s
//! `lotsfree` and `desfree`), and per-guest reservations (`vmm:0:arc_resv`
//! has totals only; `status` says so).
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod backend;
pub mod boot_config;
pub mod cli;
pub mod commands;
pub mod host_model;
#[cfg(target_os = "illumos")]
pub mod libkstat;
pub mod profiles;
pub mod refusal;
pub mod simulated_host;
pub mod size;

pub use backend::Backend;
pub use commands::Outcome;
pub use simulated_host::{HostSpec, SimulatedHost, SIMULATED_HOST_ENV};

/// Runs the command with `args` (without the command's name) against the
/// backend `open` gives (called only if a kstat is needed).
pub fn run<B: Backend>(args: &[String], open: impl FnOnce() -> Result<B, String>) -> Outcome {
    match cli::parse(args) {
        Ok(inv) => commands::execute(&inv, open),
        Err(cli::UsageError(msg)) => Outcome {
            status: 2,
            stdout: String::new(),
            stderr: format!("arctunadm: {msg}; see 'arctunadm --help'\n"),
        },
    }
}

/// The backend of this process: the simulated host named by
/// [`SIMULATED_HOST_ENV`] if set, else libkstat (illumos only).
pub fn open_backend() -> Result<Box<dyn Backend>, String> {
    if let Some(path) = std::env::var_os(SIMULATED_HOST_ENV) {
        return SimulatedHost::load(std::path::Path::new(&path))
            .map(|h| Box::new(h) as Box<dyn Backend>);
    }
    open_kernel()
}

#[cfg(target_os = "illumos")]
fn open_kernel() -> Result<Box<dyn Backend>, String> {
    libkstat::LibKstat::open()
        .map(|k| Box::new(k) as Box<dyn Backend>)
        .map_err(|e| match e {
            backend::BackendError::Errno { errno, .. } => {
                format!("kstat_open failed: {}", refusal::errno_name(errno))
            }
            other => format!("kstat_open failed: {other:?}"),
        })
}

#[cfg(not(target_os = "illumos"))]
fn open_kernel() -> Result<Box<dyn Backend>, String> {
    Err(format!(
        "this is not illumos, so there is no kernel to talk to; set {SIMULATED_HOST_ENV} to use \
         a simulated host"
    ))
}
