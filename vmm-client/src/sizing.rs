//! How much a memory segment reserves: its length rounded up to whole
//! pages, plus `pages * overhead_per_page`, with every step checked.

use heapless::Vec;
use zfs_tunables::units::GIB;
use zfs_tunables::{Bytes, PageSize, Pages};

use crate::error::VmmError;

pub use crate::limits::MAX_SEGMENTS;

/// bhyve's `lowmem_limit` default (`vmmapi.c`): guest RAM up to 3 GiB goes
/// in the low segment, the rest in the high segment above 4 GiB.
pub const BHYVE_LOWMEM_LIMIT: Bytes = Bytes(3 * GIB);

/// A memory segment's identifier (`segid` of `VM_ALLOC_MEMSEG`): below
/// [`MAX_SEGMENTS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SegmentId(u8);

impl SegmentId {
    /// `VM_LOWMEM`: guest RAM below 4 GiB.
    pub const LOWMEM: SegmentId = SegmentId(0);
    /// `VM_HIGHMEM`: guest RAM above 4 GiB.
    pub const HIGHMEM: SegmentId = SegmentId(1);
    /// `VM_BOOTROM`: the boot ROM (a devmem segment).
    pub const BOOTROM: SegmentId = SegmentId(2);
    /// `VM_FRAMEBUFFER`: the framebuffer (a devmem segment).
    pub const FRAMEBUFFER: SegmentId = SegmentId(3);

    /// The segment `segid`, or [`VmmError::BadSegment`] outside
    /// `0..MAX_SEGMENTS` (the ioctl's `int`, so negative values too).
    pub fn new(segid: i64) -> Result<SegmentId, VmmError> {
        u8::try_from(segid)
            .ok()
            .filter(|&s| usize::from(s) < MAX_SEGMENTS)
            .map(SegmentId)
            .ok_or(VmmError::BadSegment { segid })
    }

    /// The identifier as the ioctl carries it.
    #[must_use]
    pub const fn get(self) -> u8 {
        self.0
    }

    /// The identifier as an index below [`MAX_SEGMENTS`].
    #[must_use]
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// One memory segment a create asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemSegRequest {
    /// Which segment.
    pub segid: SegmentId,
    /// Its length in bytes (rounded up to pages when reserved).
    pub len: Bytes,
    /// System memory (guest RAM) rather than a devmem segment; reserved
    /// the same way, recorded for `VM_ALLOC_MEMSEG`'s EEXIST/EINVAL rule.
    pub sysmem: bool,
}

/// The segments of one create.
pub type MemSegs = Vec<MemSegRequest, MAX_SEGMENTS>;

/// A segment's reservation, as computed from its length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentSizing {
    /// The length rounded up to whole pages: what the guest allocates.
    pub guest: Bytes,
    /// That length in pages.
    pub pages: Pages,
    /// `pages * overhead_per_page`.
    pub overhead: Bytes,
    /// `guest + overhead`: what is reserved.
    pub total: Bytes,
}

/// The reservation for a segment of `len` bytes with `overhead_per_page`
/// bytes of overhead per page: `EINVAL` for a zero length, `EOVERFLOW` if
/// rounding up to pages, multiplying by the overhead or adding the two
/// overflows 64 bits. Never panics, whatever the arguments.
pub fn size_segment(
    len: Bytes,
    overhead_per_page: u64,
    page_size: PageSize,
) -> Result<SegmentSizing, VmmError> {
    if len == Bytes::ZERO {
        return Err(VmmError::ZeroSize);
    }
    let guest = len.checked_roundup(page_size).ok_or(VmmError::Overflow)?;
    let pages = guest.to_pages_roundup(page_size);
    let overhead = pages
        .get()
        .checked_mul(overhead_per_page)
        .map(Bytes)
        .ok_or(VmmError::Overflow)?;
    let total = guest.checked_add(overhead).ok_or(VmmError::Overflow)?;
    Ok(SegmentSizing {
        guest,
        pages,
        overhead,
        total,
    })
}

/// The system-memory segments bhyve creates for `memsize` bytes of guest
/// RAM, as `vm_setup_memory()` splits them on illumos: up to
/// [`BHYVE_LOWMEM_LIMIT`] in `VM_LOWMEM`, the rest in `VM_HIGHMEM`,
/// in the order it allocates them (high first). `EINVAL` for zero.
/// Rounding happens when each segment is sized; the low limit is
/// page-aligned, so the split never adds a page.
pub fn bhyve_memsegs(memsize: Bytes) -> Result<MemSegs, VmmError> {
    if memsize == Bytes::ZERO {
        return Err(VmmError::ZeroSize);
    }
    let low = core::cmp::min(memsize, BHYVE_LOWMEM_LIMIT);
    let high = memsize.saturating_sub(BHYVE_LOWMEM_LIMIT);
    let mut segs = MemSegs::new();
    for (segid, len) in [(SegmentId::HIGHMEM, high), (SegmentId::LOWMEM, low)] {
        if len != Bytes::ZERO {
            // Cannot fail: two segments fit in MAX_SEGMENTS.
            let _ = segs.push(MemSegRequest {
                segid,
                len,
                sysmem: true,
            });
        }
    }
    Ok(segs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zfs_tunables::errno::{EINVAL, EOVERFLOW};

    const PS: PageSize = PageSize::AMD64;

    #[test]
    fn a_segment_reserves_whole_pages_plus_overhead() {
        let s = size_segment(Bytes(1), 120, PS).unwrap();
        assert_eq!(s.guest, Bytes(4096));
        assert_eq!(s.pages, Pages(1));
        assert_eq!(s.total, Bytes(4096 + 120));
        let s = size_segment(Bytes(64 * GIB), 120, PS).unwrap();
        assert_eq!(s.overhead, Bytes(16_777_216 * 120));
        assert_eq!(s.overhead, Bytes(15 * GIB / 8));
        assert_eq!(
            size_segment(Bytes(64 * GIB), 0, PS).unwrap().total,
            Bytes(64 * GIB)
        );
    }

    #[test]
    fn zero_and_overflow_are_refused() {
        assert_eq!(
            size_segment(Bytes(0), 120, PS).unwrap_err().to_errno(),
            EINVAL
        );
        for (len, ovh) in [
            (u64::MAX, 0),
            (u64::MAX - 4095, 1),
            (u64::MAX / 2, 4096),
            (GIB, u64::MAX),
        ] {
            let e = size_segment(Bytes(len), ovh, PS).unwrap_err();
            assert_eq!(e.to_errno(), EOVERFLOW, "{len} {ovh}");
        }
        // The largest representable page-aligned length, no overhead: fits.
        assert!(size_segment(Bytes(u64::MAX - 4095), 0, PS).is_ok());
    }

    #[test]
    fn bhyve_splits_at_the_low_memory_limit() {
        let segs = bhyve_memsegs(Bytes(64 * GIB)).unwrap();
        assert_eq!(segs.len(), 2);
        let lens: u64 = segs.iter().map(|s| s.len.0).sum();
        assert_eq!(lens, 64 * GIB);
        assert!(segs
            .iter()
            .any(|s| s.segid == SegmentId::LOWMEM && s.len == Bytes(3 * GIB)));
        let segs = bhyve_memsegs(Bytes(GIB)).unwrap();
        assert_eq!(segs.as_slice().len(), 1);
        assert!(bhyve_memsegs(Bytes(0)).is_err());
        assert_eq!(SegmentId::new(4).unwrap_err().to_errno(), EINVAL);
        assert_eq!(SegmentId::new(-1).unwrap_err().to_errno(), EINVAL);
        assert_eq!(SegmentId::new(3).unwrap(), SegmentId::FRAMEBUFFER);
    }
}
