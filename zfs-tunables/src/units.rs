//! Bytes, pages and time as distinct types.
//!
//! OS-8005 compared a page count with a byte count and so accepted
//! reservations 4096 times too large. Here a byte count and a page count
//! have different types, the only way between them goes through a
//! [`PageSize`], a byte count becomes pages by rounding up, and every
//! operation that can overflow is checked: it returns `None` (the caller
//! turns that into [`TunableError::Overflow`](crate::TunableError)) or
//! saturates where saturation is the documented meaning.

use core::fmt;

/// A size in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bytes(pub u64);

/// A size in pages of the host's base page size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pages(pub u64);

/// A base page size, always a power of two (`PAGESIZE`, 4096 on amd64).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageSize {
    shift: u32,
}

/// A point in time or a duration on the `gethrtime()` clock, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hrtime(pub u64);

/// One kibibyte.
pub const KIB: u64 = 1 << 10;
/// One mebibyte.
pub const MIB: u64 = 1 << 20;
/// One gibibyte.
pub const GIB: u64 = 1 << 30;
/// One tebibyte.
pub const TIB: u64 = 1 << 40;

impl Bytes {
    /// Zero bytes.
    pub const ZERO: Bytes = Bytes(0);

    /// The count as a plain integer.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }

    /// `self + rhs`, or `None` on overflow.
    #[must_use]
    pub const fn checked_add(self, rhs: Bytes) -> Option<Bytes> {
        match self.0.checked_add(rhs.0) {
            Some(v) => Some(Bytes(v)),
            None => None,
        }
    }

    /// `self - rhs`, or `None` if `rhs` is larger.
    #[must_use]
    pub const fn checked_sub(self, rhs: Bytes) -> Option<Bytes> {
        match self.0.checked_sub(rhs.0) {
            Some(v) => Some(Bytes(v)),
            None => None,
        }
    }

    /// `self + rhs`, clamped at `u64::MAX`.
    #[must_use]
    pub const fn saturating_add(self, rhs: Bytes) -> Bytes {
        Bytes(self.0.saturating_add(rhs.0))
    }

    /// `self - rhs`, clamped at zero.
    #[must_use]
    pub const fn saturating_sub(self, rhs: Bytes) -> Bytes {
        Bytes(self.0.saturating_sub(rhs.0))
    }

    /// The pages needed to hold this many bytes (rounded up).
    #[must_use]
    pub const fn to_pages_roundup(self, ps: PageSize) -> Pages {
        let whole = self.0 >> ps.shift;
        let partial = (self.0 & ps.mask()) != 0;
        // Cannot overflow: `whole` is at most u64::MAX >> shift (shift >= 1
        // for any real page size; with shift 0 `partial` is always false).
        Pages(whole.saturating_add(partial as u64))
    }

    /// This many bytes rounded up to a whole number of pages, or `None` if
    /// the rounded value does not fit in 64 bits.
    #[must_use]
    pub const fn checked_roundup(self, ps: PageSize) -> Option<Bytes> {
        self.to_pages_roundup(ps).checked_to_bytes(ps)
    }

    /// Whether this is a whole number of pages.
    #[must_use]
    pub const fn is_page_aligned(self, ps: PageSize) -> bool {
        (self.0 & ps.mask()) == 0
    }

    /// The value as a signed quantity, clamped at `i64::MAX`.
    #[must_use]
    pub fn saturating_as_i64(self) -> i64 {
        i64::try_from(self.0).unwrap_or(i64::MAX)
    }
}

impl Pages {
    /// Zero pages.
    pub const ZERO: Pages = Pages(0);

    /// The count as a plain integer.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The size of this many pages in bytes, or `None` on overflow.
    #[must_use]
    pub const fn checked_to_bytes(self, ps: PageSize) -> Option<Bytes> {
        if self.0 > (u64::MAX >> ps.shift) {
            None
        } else {
            Some(Bytes(self.0 << ps.shift))
        }
    }

    /// The size of this many pages in bytes, clamped at `u64::MAX`.
    #[must_use]
    pub const fn saturating_to_bytes(self, ps: PageSize) -> Bytes {
        match self.checked_to_bytes(ps) {
            Some(b) => b,
            None => Bytes(u64::MAX),
        }
    }

    /// `self + rhs`, or `None` on overflow.
    #[must_use]
    pub const fn checked_add(self, rhs: Pages) -> Option<Pages> {
        match self.0.checked_add(rhs.0) {
            Some(v) => Some(Pages(v)),
            None => None,
        }
    }

    /// `self - rhs`, or `None` if `rhs` is larger.
    #[must_use]
    pub const fn checked_sub(self, rhs: Pages) -> Option<Pages> {
        match self.0.checked_sub(rhs.0) {
            Some(v) => Some(Pages(v)),
            None => None,
        }
    }

    /// `self - rhs`, clamped at zero.
    #[must_use]
    pub const fn saturating_sub(self, rhs: Pages) -> Pages {
        Pages(self.0.saturating_sub(rhs.0))
    }
}

impl PageSize {
    /// amd64's `PAGESIZE`, 4096 bytes.
    pub const AMD64: PageSize = PageSize { shift: 12 };

    /// A page size from its shift (`PAGESHIFT`), or `None` if the shift is
    /// not between 9 and 30 (512 bytes to 1 GiB).
    #[must_use]
    pub const fn from_shift(shift: u32) -> Option<PageSize> {
        if shift >= 9 && shift <= 30 {
            Some(PageSize { shift })
        } else {
            None
        }
    }

    /// A page size from its size in bytes, or `None` if that is not a power
    /// of two between 512 bytes and 1 GiB.
    #[must_use]
    pub const fn from_bytes(bytes: u64) -> Option<PageSize> {
        if !bytes.is_power_of_two() {
            return None;
        }
        PageSize::from_shift(bytes.trailing_zeros())
    }

    /// `PAGESHIFT`.
    #[must_use]
    pub const fn shift(self) -> u32 {
        self.shift
    }

    /// `PAGESIZE` in bytes.
    #[must_use]
    pub const fn bytes(self) -> Bytes {
        Bytes(1u64 << self.shift)
    }

    /// `PAGEOFFSET`.
    const fn mask(self) -> u64 {
        (1u64 << self.shift).wrapping_sub(1)
    }
}

impl Default for PageSize {
    fn default() -> Self {
        PageSize::AMD64
    }
}

impl Hrtime {
    /// One second.
    pub const SECOND: Hrtime = Hrtime(1_000_000_000);
    /// One millisecond.
    pub const MILLISECOND: Hrtime = Hrtime(1_000_000);

    /// A duration of whole seconds, clamped at the largest representable.
    #[must_use]
    pub const fn from_secs(secs: u64) -> Hrtime {
        Hrtime(secs.saturating_mul(1_000_000_000))
    }

    /// A duration of whole milliseconds, clamped at the largest representable.
    #[must_use]
    pub const fn from_millis(ms: u64) -> Hrtime {
        Hrtime(ms.saturating_mul(1_000_000))
    }

    /// The nanosecond count.
    #[must_use]
    pub const fn nanos(self) -> u64 {
        self.0
    }

    /// `self + d`, clamped at the end of time (a deadline never wraps).
    #[must_use]
    pub const fn saturating_add(self, d: Hrtime) -> Hrtime {
        Hrtime(self.0.saturating_add(d.0))
    }

    /// `self - earlier`, or zero if `earlier` is later.
    #[must_use]
    pub const fn saturating_sub(self, earlier: Hrtime) -> Hrtime {
        Hrtime(self.0.saturating_sub(earlier.0))
    }
}

/// Writes a byte count the way `::memstat` and `arcstat` think of it.
impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        if v != 0 && v.is_multiple_of(GIB) {
            write!(f, "{} GiB", v / GIB)
        } else if v != 0 && v.is_multiple_of(MIB) {
            write!(f, "{} MiB", v / MIB)
        } else {
            write!(f, "{v} bytes")
        }
    }
}

impl fmt::Display for Pages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} pages", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PS: PageSize = PageSize::AMD64;

    #[test]
    fn bytes_round_up_to_pages() {
        assert_eq!(Bytes(0).to_pages_roundup(PS), Pages(0));
        assert_eq!(Bytes(1).to_pages_roundup(PS), Pages(1));
        assert_eq!(Bytes(4096).to_pages_roundup(PS), Pages(1));
        assert_eq!(Bytes(4097).to_pages_roundup(PS), Pages(2));
        assert_eq!(Bytes(u64::MAX).to_pages_roundup(PS), Pages(1 << 52));
        assert_eq!(Bytes(64 * GIB).to_pages_roundup(PS), Pages(16_777_216));
    }

    #[test]
    fn pages_to_bytes_is_checked() {
        assert_eq!(Pages(1 << 52).checked_to_bytes(PS), None);
        assert_eq!(
            Pages((1 << 52) - 1).checked_to_bytes(PS),
            Some(Bytes(u64::MAX - 4095))
        );
        assert_eq!(Bytes(u64::MAX).checked_roundup(PS), None);
        assert_eq!(
            Bytes(u64::MAX - 4095).checked_roundup(PS),
            Some(Bytes(u64::MAX - 4095))
        );
    }

    #[test]
    fn page_sizes_are_validated() {
        assert_eq!(PageSize::from_bytes(4096), Some(PageSize::AMD64));
        assert_eq!(PageSize::from_bytes(4095), None);
        assert_eq!(PageSize::from_bytes(0), None);
        assert_eq!(PageSize::from_shift(31), None);
        assert_eq!(PageSize::AMD64.bytes(), Bytes(4096));
    }

    proptest! {
        #[test]
        fn roundup_never_loses_bytes(b in any::<u64>()) {
            let pages = Bytes(b).to_pages_roundup(PS);
            match pages.checked_to_bytes(PS) {
                Some(back) => {
                    prop_assert!(back.0 >= b);
                    prop_assert!(back.0 - b < 4096);
                }
                None => prop_assert!(b > u64::MAX - 4095),
            }
        }
    }
}
