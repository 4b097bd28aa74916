//! A `kstat_named_t`'s `data_type` (`uts/common/sys/kstat.h`), with
//! illumos's numbering from `illumos-ddi`: a leaf, so the error type can
//! name the types a write carried without importing the named kstats.

/// A `kstat_named_t`'s `data_type`, with illumos's numbering.
///
/// A newtype rather than an enum: a caller's buffer may carry any byte,
/// and the driver compares it with the kstat's own type, so every value
/// must be representable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct KstatDataType(pub u8);

impl KstatDataType {
    /// `KSTAT_DATA_CHAR`: up to 16 bytes of characters.
    pub const CHAR: KstatDataType = KstatDataType(illumos_ddi::KSTAT_DATA_CHAR);
    /// `KSTAT_DATA_INT32`.
    pub const INT32: KstatDataType = KstatDataType(illumos_ddi::KSTAT_DATA_INT32);
    /// `KSTAT_DATA_UINT32`.
    pub const UINT32: KstatDataType = KstatDataType(illumos_ddi::KSTAT_DATA_UINT32);
    /// `KSTAT_DATA_INT64`.
    pub const INT64: KstatDataType = KstatDataType(illumos_ddi::KSTAT_DATA_INT64);
    /// `KSTAT_DATA_UINT64`.
    pub const UINT64: KstatDataType = KstatDataType(illumos_ddi::KSTAT_DATA_UINT64);
    /// `KSTAT_DATA_FLOAT` (obsolete).
    pub const FLOAT: KstatDataType = KstatDataType(illumos_ddi::KSTAT_DATA_FLOAT);
    /// `KSTAT_DATA_DOUBLE` (obsolete).
    pub const DOUBLE: KstatDataType = KstatDataType(illumos_ddi::KSTAT_DATA_DOUBLE);
    /// `KSTAT_DATA_LONG` as the LP64 kernel sees it (userland sees INT64).
    pub const KERNEL_LONG: KstatDataType = KstatDataType(illumos_ddi::KSTAT_DATA_LONG);
    /// `KSTAT_DATA_ULONG` as the LP64 kernel sees it (userland sees UINT64).
    pub const KERNEL_ULONG: KstatDataType = KstatDataType(illumos_ddi::KSTAT_DATA_ULONG);
    /// `KSTAT_DATA_STRING`: a pointer and length into the data segment.
    pub const STRING: KstatDataType = KstatDataType(illumos_ddi::KSTAT_DATA_STRING);
}
