//! The `vmm_arc_page_overhead` tunable: bytes reserved per guest page on
//! top of the guest's RAM.
//!
//! vmm registers it through zfs-tunables' generic registry, so it is read
//! and written like the ARC's own tunables (the `zfs:0:tunables` kstat,
//! `mdb -kw`, `/etc/system`), validated against its bounds, and read by
//! the create path with one atomic load.

use zfs_tunables::{Registrant, TunableDesc, TunableFlags, Unit};

/// The tunable's name, as the C variable would be called.
pub const PAGE_OVERHEAD_TUNABLE: &str = "vmm_arc_page_overhead";

/// The module that owns the tunable in the registry.
pub const VMM_MODULE: &str = "vmm";

/// Bytes of ARC headroom reserved per guest page besides the page itself:
/// 120, `sizeof (page_t)` on amd64.
///
/// Why the term exists. The bug this component fixes (SmartOS OS-8005)
/// asks vmm to take from the ARC "the size of guest RAM, the required
/// number of `page_t`s, and perhaps other memory used by a bhyve
/// instance". On illumos the `page_t` array is allocated once, at boot,
/// for all of physical memory, so a guest's pages need no new `page_t`s;
/// the term is kept anyway, sized as one `page_t` per guest page, as the
/// part of the reservation that only lowers the ARC's ceiling: it is
/// marked allocated as soon as it is reserved, so it never counts against
/// free memory, but the ARC cannot grow back into it while the guest runs
/// (at 120 bytes per 4 KiB page it is 2.9% of the guest, 1.875 GiB for a
/// 64 GiB guest).
///
/// The same report recommends "asking for slightly more than what is
/// needed", because while the ARC shrinks for a guest "someone else can
/// come along and allocate memory (normal memory allocation, page in,
/// etc.)". That margin is the core's, not this term's: a guest waits until
/// free memory covers its RAM plus `lotsfree + desfree`, what the ARC's
/// `FMR_LOTSFREE` term keeps free anyway, so a competing allocation of up
/// to `lotsfree` neither fails the guest's allocation nor starts the page
/// scanner. An earlier design also waited for this term; on top of that
/// margin it only made the ARC keep 2.9% of every guest free for as long
/// as the guest ran (the simulator measured 2 GiB on the seed's host).
///
/// 0 is a legitimate value ("no margin, no `page_t` term"), not "use the
/// default", so the tunable is not `ZERO_IS_DEFAULT`. The bound of 4096
/// (one page per page) keeps a typo from doubling every reservation more
/// than once over.
pub const DEFAULT_PAGE_OVERHEAD: u64 = 120;

/// The largest accepted `vmm_arc_page_overhead`.
pub const MAX_PAGE_OVERHEAD: u64 = 4096;

/// vmm's tunables.
static VMM_TUNABLES: [TunableDesc; 1] = [TunableDesc {
    name: PAGE_OVERHEAD_TUNABLE,
    description: "ARC headroom reserved per guest page besides the page (bytes)",
    unit: Unit::BytesPerPage,
    flags: TunableFlags::DYNAMIC,
    min: 0,
    max: MAX_PAGE_OVERHEAD,
    default: DEFAULT_PAGE_OVERHEAD,
    rule: None,
}];

/// vmm's registrant. A change applies to reservations made after it:
/// each instance records the overhead it reserved, so a live reservation
/// is released exactly as it was made whatever the tunable says then.
/// No hooks: the value needs no cross-check and nothing to recompute.
pub static VMM_REGISTRANT: Registrant = Registrant {
    module: VMM_MODULE,
    tunables: &VMM_TUNABLES,
    validate: None,
    apply: None,
};
