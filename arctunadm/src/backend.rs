//! What the command needs from the kernel: read a named kstat, and write
//! some of its statistics in one `kstat_write`.
//!
//! Two implementations: [`crate::libkstat::LibKstat`] on illumos (the
//! real kernel, through libkstat), and
//! [`crate::simulated_host::SimulatedHost`] everywhere (kstat-export's
//! kstat driver over the real zfs-tunables component, in this process).
//! Both answer a refused write with an errno only, because that is all
//! `kstat_write(3KSTAT)` can carry; the command turns it into a sentence
//! itself ([`crate::refusal`]), the same way for both.

use std::fmt;

use admin_syntax::KstatSnapshot;
use zfs_tunables::errno;

/// `ENXIO`: the kstat went away between lookup and use.
pub(crate) const ENXIO: i32 = 6;

/// An errno's symbolic name, or its number.
#[must_use]
pub fn errno_name(e: i32) -> String {
    match (e, errno::name(e)) {
        (ENXIO, _) => "ENXIO".to_string(),
        (_, "E?") => format!("errno {e}"),
        (_, name) => name.to_string(),
    }
}

/// A kstat by `module:instance:name`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KstatRef {
    /// `ks_module`.
    pub module: &'static str,
    /// `ks_instance`.
    pub instance: i32,
    /// `ks_name`.
    pub name: &'static str,
}

impl fmt::Display for KstatRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.module, self.instance, self.name)
    }
}

/// `zfs:0:tunables`: the runtime tunables, writable by root.
pub const TUNABLES: KstatRef = KstatRef {
    module: "zfs",
    instance: 0,
    name: "tunables",
};
/// `zfs:0:arcstats`: the ARC's limits and size.
pub const ARCSTATS: KstatRef = KstatRef {
    module: "zfs",
    instance: 0,
    name: "arcstats",
};
/// `zfs:0:arc_headroom`: the ARC's side of the reservations.
pub const ARC_HEADROOM: KstatRef = KstatRef {
    module: "zfs",
    instance: 0,
    name: "arc_headroom",
};
/// `vmm:0:arc_resv`: vmm's side of the reservations.
pub const ARC_RESV: KstatRef = KstatRef {
    module: "vmm",
    instance: 0,
    name: "arc_resv",
};
/// `unix:0:system_pages`: free memory and the page scanner's thresholds.
pub const SYSTEM_PAGES: KstatRef = KstatRef {
    module: "unix",
    instance: 0,
    name: "system_pages",
};

/// Which libkstat call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KstatCall {
    /// `kstat_open()`.
    Open,
    /// `kstat_lookup()`.
    Lookup,
    /// `kstat_read()`.
    Read,
    /// `kstat_write()`.
    Write,
}

impl KstatCall {
    /// The function's name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            KstatCall::Open => "kstat_open",
            KstatCall::Lookup => "kstat_lookup",
            KstatCall::Read => "kstat_read",
            KstatCall::Write => "kstat_write",
        }
    }
}

/// A failed kstat operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackendError {
    /// A libkstat call failed with this (illumos) errno.
    Errno {
        /// The call.
        call: KstatCall,
        /// `errno` after it.
        errno: i32,
    },
    /// A statistic to write is not in the kstat.
    NoSuchStatistic(String),
    /// A statistic to write is not a `KSTAT_DATA_UINT64`.
    NotUint64(String),
    /// The kstat is not a named kstat.
    NotNamed,
    /// The simulated host could not keep its state.
    Simulation(String),
}

impl fmt::Display for BackendError {
    /// The failure without the kstat it concerns (the caller names it;
    /// [`crate::refusal::message`] says more for a refused write).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendError::Errno { call, errno } => {
                write!(f, "{} failed: {}", call.name(), errno_name(*errno))
            }
            BackendError::NoSuchStatistic(s) => write!(f, "no statistic {s}"),
            BackendError::NotUint64(s) => write!(f, "{s} is not a KSTAT_DATA_UINT64 statistic"),
            BackendError::NotNamed => f.write_str("not a named kstat"),
            BackendError::Simulation(s) => write!(f, "simulated host: {s}"),
        }
    }
}

/// The kernel's kstats, as the command reads and writes them.
pub trait Backend {
    /// `kstat_lookup` and `kstat_read` of `ks`: its statistics in
    /// `ks_data` order. `ENOENT` from `kstat_lookup` when the kstat does
    /// not exist (its module is not loaded).
    fn read(&mut self, ks: KstatRef) -> Result<KstatSnapshot, BackendError>;

    /// What a program does to change statistics: `kstat_read` the kstat,
    /// change `values` in the copy, `kstat_write` it once. The kernel
    /// applies the whole buffer or none of it.
    fn write(&mut self, ks: KstatRef, values: &[(&str, u64)]) -> Result<(), BackendError>;
}

impl<T: Backend + ?Sized> Backend for &mut T {
    fn read(&mut self, ks: KstatRef) -> Result<KstatSnapshot, BackendError> {
        (**self).read(ks)
    }
    fn write(&mut self, ks: KstatRef, values: &[(&str, u64)]) -> Result<(), BackendError> {
        (**self).write(ks, values)
    }
}

impl<T: Backend + ?Sized> Backend for Box<T> {
    fn read(&mut self, ks: KstatRef) -> Result<KstatSnapshot, BackendError> {
        (**self).read(ks)
    }
    fn write(&mut self, ks: KstatRef, values: &[(&str, u64)]) -> Result<(), BackendError> {
        (**self).write(ks, values)
    }
}
