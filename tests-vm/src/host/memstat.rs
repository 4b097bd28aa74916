//! `::memstat`: the host's memory by mdb's categories, and mdb's layout
//! of it.

use crate::host::memory::Memory;
use crate::params::PAGESIZE;

/// `::memstat`'s categories, in pages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memstat {
    /// Kernel.
    pub kernel: u64,
    /// Boot pages.
    pub boot: u64,
    /// ZFS File Data.
    pub zfs: u64,
    /// VMM Memory.
    pub vmm: u64,
    /// Anon.
    pub anon: u64,
    /// Exec and libs.
    pub exec: u64,
    /// Page cache.
    pub page_cache: u64,
    /// Free (cachelist).
    pub cachelist: u64,
    /// Free (freelist).
    pub freelist: u64,
    /// Total (`physmem`).
    pub total: u64,
}

impl Memstat {
    /// The host's `::memstat` now.
    #[must_use]
    pub fn of(mem: &Memory) -> Memstat {
        Memstat {
            kernel: mem.kernel,
            boot: mem.boot,
            zfs: mem.zfs_pages(),
            vmm: mem.vmm,
            anon: mem.anon,
            exec: mem.exec,
            page_cache: mem.page_cache,
            cachelist: mem.cachelist,
            freelist: mem.freelist(),
            total: mem.physmem,
        }
    }

    /// (category, pages) in mdb's order; Boot pages, ZFS File Data and VMM
    /// Memory only when non-zero, as mdb prints them.
    #[must_use]
    pub fn rows(&self) -> Vec<(&'static str, u64)> {
        let mut v = vec![("Kernel", self.kernel)];
        if self.boot != 0 {
            v.push(("Boot pages", self.boot));
        }
        if self.zfs != 0 {
            v.push(("ZFS File Data", self.zfs));
        }
        if self.vmm != 0 {
            v.push(("VMM Memory", self.vmm));
        }
        v.push(("Anon", self.anon));
        v.push(("Exec and libs", self.exec));
        v.push(("Page cache", self.page_cache));
        v.push(("Free (cachelist)", self.cachelist));
        v.push(("Free (freelist)", self.freelist));
        v
    }

    /// Every category (including zero ones), for JSON.
    #[must_use]
    pub fn all(&self) -> [(&'static str, u64); 9] {
        [
            ("Kernel", self.kernel),
            ("Boot pages", self.boot),
            ("ZFS File Data", self.zfs),
            ("VMM Memory", self.vmm),
            ("Anon", self.anon),
            ("Exec and libs", self.exec),
            ("Page cache", self.page_cache),
            ("Free (cachelist)", self.cachelist),
            ("Free (freelist)", self.freelist),
        ]
    }

    /// mdb's `::memstat` output.
    #[must_use]
    pub fn render(&self) -> String {
        let mb = |p: u64| p * PAGESIZE / (1024 * 1024);
        let pct = |p: u64| (5 * self.total + p * 1000) / (self.total.max(1) * 10);
        let mut s = String::new();
        s.push_str("Page Summary                Pages                MB  %Tot\n");
        s.push_str("------------     ----------------  ----------------  ----\n");
        for (name, p) in self.rows() {
            s.push_str(&format!(
                "{name:<16} {p:>16}  {:>16}  {:>3}%\n",
                mb(p),
                pct(p)
            ));
        }
        s.push_str(&format!(
            "\nTotal            {:>16}  {:>16}\n",
            self.total,
            mb(self.total)
        ));
        s
    }
}
