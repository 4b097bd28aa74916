//! Named kstats as illumos lays them out (`uts/common/sys/kstat.h`).
//!
//! [`KstatNamed`] has the layout of `kstat_named_t` on LP64: a 31-byte
//! NUL-padded name, a one-byte data type and a 16-byte value union aligned
//! to 8, 48 bytes in all (checked at compile time). The kernel module can
//! therefore treat a kstat's `ks_data` as a slice of them, and the update
//! callbacks in [`crate::exported_kstats`] work on exactly what the kernel
//! hands them.
//!
//! The constants are illumos's, taken from `illumos-ddi`'s transcription
//! of `kstat.h` (its feature-less layer: numbers only, no kernel symbols),
//! not another platform's: `KSTAT_STRLEN` is 31 (30 significant characters
//! and a NUL) and `KSTAT_DATA_STRING` is 9. OpenZFS's SPL headers for
//! other systems use 255 and 7; never copy constants from there.

use core::fmt;

use crate::error::ExportError;

/// `KSTAT_STRLEN`: the size of a kstat name buffer, NUL included.
pub const KSTAT_STRLEN: usize = illumos_ddi::KSTAT_STRLEN;
/// The most significant characters of a kstat name (`KSTAT_STRLEN - 1`).
pub const KSTAT_NAME_MAX: usize = KSTAT_STRLEN - 1;

/// `KSTAT_TYPE_NAMED`: the only kstat type this crate exports.
pub const KSTAT_TYPE_NAMED: u8 = illumos_ddi::KSTAT_TYPE_NAMED;

/// `KSTAT_READ`, the `rw` argument of `ks_update` for a read.
pub const KSTAT_READ: i32 = illumos_ddi::KSTAT_READ;
/// `KSTAT_WRITE`, the `rw` argument of `ks_update` for a write.
pub const KSTAT_WRITE: i32 = illumos_ddi::KSTAT_WRITE;

pub use crate::kstat_data_type::KstatDataType;

/// A kstat name: at most 30 significant bytes, NUL-padded to
/// `KSTAT_STRLEN`, as `kstat_named_init()` and `kstat_create()` store it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct KstatName(pub [u8; KSTAT_STRLEN]);

impl KstatName {
    /// The empty name.
    pub const EMPTY: KstatName = KstatName([0; KSTAT_STRLEN]);

    /// `name`, refused (`BadName`) if empty, longer than 30 bytes or
    /// containing a NUL: illumos would silently truncate a long name, and
    /// two statistics could then collide.
    pub fn new(name: &str) -> Result<KstatName, ExportError> {
        let bytes = name.as_bytes();
        if bytes.is_empty() || bytes.len() > KSTAT_NAME_MAX || bytes.contains(&0) {
            return Err(ExportError::BadName);
        }
        let mut out = [0u8; KSTAT_STRLEN];
        for (dst, &src) in out.iter_mut().zip(bytes) {
            *dst = src;
        }
        Ok(KstatName(out))
    }

    /// The bytes before the first NUL, or `None` when all 31 bytes are
    /// set (a buffer from a caller that did not terminate the name).
    #[must_use]
    pub fn bytes(&self) -> Option<&[u8]> {
        let len = self.0.iter().position(|&b| b == 0)?;
        self.0.get(..len)
    }

    /// The name as text, if it is terminated and valid UTF-8.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        core::str::from_utf8(self.bytes()?).ok()
    }

    /// Whether this buffer holds exactly `name` (C string comparison).
    #[must_use]
    pub fn is(&self, name: &str) -> bool {
        self.bytes() == Some(name.as_bytes())
    }
}

impl fmt::Debug for KstatName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(s) => write!(f, "{s:?}"),
            None => write!(f, "{:?}", &self.0),
        }
    }
}

/// The value union of `kstat_named_t`: 16 bytes, aligned to 8.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[repr(C, align(8))]
pub struct KstatValue {
    /// The union's bytes in the target's byte order.
    pub bytes: [u8; 16],
}

impl KstatValue {
    /// All zero.
    pub const ZERO: KstatValue = KstatValue { bytes: [0; 16] };

    /// The union holding `value.ui64`.
    #[must_use]
    pub fn from_u64(value: u64) -> KstatValue {
        let mut bytes = [0u8; 16];
        for (dst, src) in bytes.iter_mut().zip(value.to_ne_bytes()) {
            *dst = src;
        }
        KstatValue { bytes }
    }

    /// `value.ui64` (also `value.i64`'s bits).
    #[must_use]
    pub fn u64(&self) -> u64 {
        let [a, b, c, d, e, f, g, h, ..] = self.bytes;
        u64::from_ne_bytes([a, b, c, d, e, f, g, h])
    }

    /// `value.ui32` (also `value.i32`'s bits).
    #[must_use]
    pub fn u32(&self) -> u32 {
        let [a, b, c, d, ..] = self.bytes;
        u32::from_ne_bytes([a, b, c, d])
    }
}

impl fmt::Debug for KstatValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.u64())
    }
}

/// `kstat_named_t`: one named statistic, laid out as illumos lays it out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct KstatNamed {
    /// `name[KSTAT_STRLEN]`.
    pub name: KstatName,
    /// `data_type`.
    pub data_type: KstatDataType,
    /// `value`.
    pub value: KstatValue,
}

impl KstatNamed {
    /// An entry with every byte zero (what `kmem_zalloc` gives).
    pub const ZERO: KstatNamed = KstatNamed {
        name: KstatName::EMPTY,
        data_type: KstatDataType::CHAR,
        value: KstatValue::ZERO,
    };

    /// A `KSTAT_DATA_UINT64` statistic, as `kstat_named_init()` followed
    /// by a store to `value.ui64` makes it.
    pub fn uint64(name: &str, value: u64) -> Result<KstatNamed, ExportError> {
        Ok(KstatNamed {
            name: KstatName::new(name)?,
            data_type: KstatDataType::UINT64,
            value: KstatValue::from_u64(value),
        })
    }

    /// The value as a `u64` if the statistic is `KSTAT_DATA_UINT64`.
    #[must_use]
    pub fn as_u64(&self) -> Option<u64> {
        (self.data_type == KstatDataType::UINT64).then(|| self.value.u64())
    }
}

bitflags::bitflags! {
    /// `ks_flags`, with illumos's values.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct KstatFlags: u8 {
        /// `KSTAT_FLAG_VIRTUAL`: the provider supplies `ks_data`.
        const VIRTUAL = illumos_ddi::KSTAT_FLAG_VIRTUAL;
        /// `KSTAT_FLAG_VAR_SIZE`: `ks_update` may change `ks_ndata`.
        const VAR_SIZE = illumos_ddi::KSTAT_FLAG_VAR_SIZE;
        /// `KSTAT_FLAG_WRITABLE`: root may write the data section.
        const WRITABLE = illumos_ddi::KSTAT_FLAG_WRITABLE;
        /// `KSTAT_FLAG_PERSISTENT`.
        const PERSISTENT = illumos_ddi::KSTAT_FLAG_PERSISTENT;
        /// `KSTAT_FLAG_DORMANT`.
        const DORMANT = illumos_ddi::KSTAT_FLAG_DORMANT;
        /// `KSTAT_FLAG_INVALID`: the data is not valid yet.
        const INVALID = illumos_ddi::KSTAT_FLAG_INVALID;
        /// `KSTAT_FLAG_LONGSTRINGS`.
        const LONGSTRINGS = illumos_ddi::KSTAT_FLAG_LONGSTRINGS;
        // Keep unknown bits from C.
        const _ = !0;
    }
}

/// What `kstat_create()` is called with: the identity of one kstat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KstatIdent {
    /// `ks_module`.
    pub module: &'static str,
    /// `ks_instance`.
    pub instance: i32,
    /// `ks_name`.
    pub name: &'static str,
    /// `ks_class`.
    pub class: &'static str,
    /// `ks_flags`.
    pub flags: KstatFlags,
    /// The most entries `ks_data` must hold (`ks_ndata` at creation).
    pub ndata_max: usize,
}

// kstat_named_t on LP64: name[31], data_type, then the union at offset 32,
// exactly as illumos-ddi lays out the C structure.
const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    use illumos_ddi::{kstat_named_t, kstat_named_value};
    assert!(size_of::<KstatNamed>() == 48);
    assert!(size_of::<KstatNamed>() == size_of::<kstat_named_t>());
    assert!(align_of::<KstatNamed>() == align_of::<kstat_named_t>());
    assert!(offset_of!(KstatNamed, name) == offset_of!(kstat_named_t, name));
    assert!(offset_of!(KstatNamed, data_type) == offset_of!(kstat_named_t, data_type));
    assert!(offset_of!(KstatNamed, value) == offset_of!(kstat_named_t, value));
    assert!(size_of::<KstatValue>() == size_of::<kstat_named_value>());
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_thirty_significant_characters() {
        let thirty = "abcdefghijklmnopqrstuvwxyz0123";
        assert_eq!(thirty.len(), 30);
        let n = KstatName::new(thirty).unwrap();
        assert_eq!(n.as_str(), Some(thirty));
        assert_eq!(n.0[30], 0);
        assert_eq!(
            KstatName::new("abcdefghijklmnopqrstuvwxyz01234"),
            Err(ExportError::BadName)
        );
        assert_eq!(KstatName::new(""), Err(ExportError::BadName));
        assert_eq!(KstatName::new("a\0b"), Err(ExportError::BadName));
        // A caller's unterminated name is not a name.
        assert_eq!(KstatName([b'x'; KSTAT_STRLEN]).bytes(), None);
    }

    #[test]
    fn data_types_use_illumos_numbers() {
        assert_eq!(KstatDataType::UINT64.0, 4);
        assert_eq!(KstatDataType::STRING.0, 9);
        assert_eq!(KstatFlags::WRITABLE.bits(), 0x04);
    }

    #[test]
    fn uint64_round_trips_through_the_union() {
        let k = KstatNamed::uint64("c_max", 0x2_0000_0000).unwrap();
        assert_eq!(k.as_u64(), Some(0x2_0000_0000));
        assert_eq!(k.value.u64(), 0x2_0000_0000);
        let mut other = k;
        other.data_type = KstatDataType::INT64;
        assert_eq!(other.as_u64(), None);
    }
}
