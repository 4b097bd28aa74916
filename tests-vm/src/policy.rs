//! The four kernels the simulator runs, by their guest-memory policy.

pub mod tunables;

/// Which kernel the host runs (the guest-memory policy also decides how the
/// ARC is built: its own limits, or the project's published limits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Policy {
    /// The 2021 kernel without the fix: `vm_reserve_pages()`.
    Legacy,
    /// The OS-8005 fix as it was written.
    Os8005,
    /// Current illumos: the vmm reservoir's transient path (`page_xresv`).
    Reservoir,
    /// This project: runtime tunables and headroom reservations.
    Tunables,
}

impl Policy {
    /// All four, in the order reports list them.
    pub const ALL: [Policy; 4] = [
        Policy::Legacy,
        Policy::Os8005,
        Policy::Reservoir,
        Policy::Tunables,
    ];

    /// The CLI name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Policy::Legacy => "legacy",
            Policy::Os8005 => "os8005",
            Policy::Reservoir => "reservoir",
            Policy::Tunables => "tunables",
        }
    }

    /// Parses a CLI name.
    #[must_use]
    pub fn from_name(s: &str) -> Option<Policy> {
        Policy::ALL.into_iter().find(|p| p.name() == s)
    }
}
