//! The illumos DDI/DKI declarations the ARC tunables kernel module uses.
//!
//! # Big theory statement
//!
//! This crate is a transcription, not an abstraction. Every item keeps its
//! C name and sits under a banner naming the illumos header that declares
//! it (`uts/common/sys/kstat.h` and so on), in the header's order, so a
//! reviewer can hold the crate against the headers line by line. Function
//! prototypes are those of the headers exactly: `mutex_init` takes a
//! `char *` name (not `const`), `kstat_create`'s `ks_ndata` is a `uint_t`,
//! `cv_timedwait_sig_hrtime` returns `int`, and so on. Only what the kernel
//! module (`arctun-kmod`) uses, and the constants the component's other
//! crates return or lay out (`zfs-tunables`' errnos, `kstat-export`'s
//! `kstat_named_t` numbering), is declared; this is not a general binding.
//!
//! ## Two layers, like `_KERNEL`
//!
//! - This file: types and constants that the headers also show to
//!   userland (`kstat_t`, `kstat_named_t`, `kmutex_t`, the `KSTAT_*`,
//!   `CE_*` and errno values). They cost nothing to link, so userland tests
//!   and tools may use them, and they are the only place the component's
//!   crates take these numbers from: `zfs-tunables` and `kstat-export`
//!   depend on this layer (without the feature) instead of transcribing
//!   the headers a second time.
//! - [`kernel`] (feature `kernel`, which mirrors `_KERNEL`): the functions
//!   and globals that exist only inside the kernel (`mutex_enter`,
//!   `kstat_create`, `cmn_err`, `freemem`, ...). A build without the
//!   feature cannot reference a kernel symbol by accident. The kernel module
//!   always enables it; its userland tests link it against a small C
//!   stand-in for the DDI (the libfakekernel pattern).
//!
//! ## Layout guarantees
//!
//! Every structure the module reads or writes through a pointer from the
//! kernel (`kstat_t`, `kstat_named_t`) or embeds in its own storage
//! (`kmutex_t`, `kcondvar_t`) has compile-time assertions of its size, its
//! alignment and the offset of every field the module touches, computed by
//! hand from the headers for LP64 (amd64, the only architecture bhyve runs
//! on). A transcription error fails the build, not the kernel.
//!
//! ## What is left out, and why
//!
//! - `ddi_get_lbolt()`: the module's clock is `gethrtime()`, whose absolute
//!   nanoseconds `cv_timedwait_sig_hrtime()` takes directly; ticks would add
//!   a conversion and a resolution loss for nothing.
//! - Opaque kernel types are zero-sized `#[repr(C)]` structs that cannot be
//!   built or moved, not `extern type` (which needs a nightly feature): the
//!   crate must build with the stable toolchain.
//! - Header-only obsolete members (`kstat_named_t`'s `ll`, `ull`, `f`, `d`)
//!   are omitted; they do not change the union's size or alignment, which
//!   the assertions below pin.
#![no_std]
#![allow(non_camel_case_types)]
#![deny(missing_docs)]

#[cfg(feature = "kernel")]
pub mod kernel;

pub use core::ffi::{c_char, c_int, c_long, c_uint, c_ulong, c_void};

use core::marker::{PhantomData, PhantomPinned};
use core::mem::{align_of, offset_of, size_of};

// ---------------------------------------------------------------------
// uts/common/sys/types.h (and sys/int_types.h), LP64
// ---------------------------------------------------------------------

/// `unsigned char`.
pub type uchar_t = u8;
/// `unsigned short`.
pub type ushort_t = u16;
/// `unsigned int`.
pub type uint_t = c_uint;
/// `unsigned long`.
pub type ulong_t = c_ulong;
/// `ulong_t`: a number of pages.
pub type pgcnt_t = ulong_t;
/// `size_t` (`ulong_t` on LP64).
pub type size_t = ulong_t;
/// `typedef enum { B_FALSE, B_TRUE } boolean_t;`: an `int`-sized enum.
/// Taken as its integer, so that a caller passing any other value cannot
/// make a Rust `enum` hold an invalid discriminant; nonzero is true.
pub type boolean_t = c_int;
/// `B_FALSE`.
pub const B_FALSE: boolean_t = 0;
/// `B_TRUE`.
pub const B_TRUE: boolean_t = 1;

// ---------------------------------------------------------------------
// uts/common/sys/time.h
// ---------------------------------------------------------------------

/// `longlong_t`: nanoseconds, as returned by `gethrtime()`.
pub type hrtime_t = i64;

// ---------------------------------------------------------------------
// uts/common/sys/errno.h
// ---------------------------------------------------------------------

/// Not super-user.
pub const EPERM: c_int = 1;
/// No such file or directory.
pub const ENOENT: c_int = 2;
/// Interrupted system call.
pub const EINTR: c_int = 4;
/// I/O error.
pub const EIO: c_int = 5;
/// No such device or address.
pub const ENXIO: c_int = 6;
/// Resource temporarily unavailable.
pub const EAGAIN: c_int = 11;
/// Not enough core.
pub const ENOMEM: c_int = 12;
/// Permission denied.
pub const EACCES: c_int = 13;
/// Bad address.
pub const EFAULT: c_int = 14;
/// Mount device busy.
pub const EBUSY: c_int = 16;
/// File exists.
pub const EEXIST: c_int = 17;
/// Invalid argument.
pub const EINVAL: c_int = 22;
/// No space left on device.
pub const ENOSPC: c_int = 28;
/// Math result not representable.
pub const ERANGE: c_int = 34;
/// Operation not supported.
pub const ENOTSUP: c_int = 48;
/// Timer expired.
pub const ETIME: c_int = 62;
/// Path name is too long.
pub const ENAMETOOLONG: c_int = 78;
/// Value too large to be stored in data type.
pub const EOVERFLOW: c_int = 79;
/// Operation already in progress.
pub const EALREADY: c_int = 149;

// ---------------------------------------------------------------------
// uts/common/sys/mutex.h
// ---------------------------------------------------------------------

/// `kmutex_type_t`: a C enum, kept as its integer so that any value C
/// passes is representable.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct kmutex_type_t(pub c_int);

impl kmutex_type_t {
    /// Spin if the owner is running, otherwise block.
    pub const MUTEX_ADAPTIVE: kmutex_type_t = kmutex_type_t(0);
    /// Block interrupts and spin.
    pub const MUTEX_SPIN: kmutex_type_t = kmutex_type_t(1);
    /// Driver (DDI) mutex.
    pub const MUTEX_DRIVER: kmutex_type_t = kmutex_type_t(4);
    /// Kernel default mutex (adaptive).
    pub const MUTEX_DEFAULT: kmutex_type_t = kmutex_type_t(6);
}

/// `kmutex_t` on LP64: one opaque pointer.
///
/// An all-zero `kmutex_t` is an unowned adaptive mutex (which is why
/// kernel code may place mutexes in zeroed static storage), but
/// `mutex_init()` must still be called before use and `mutex_destroy()`
/// after.
#[repr(C)]
#[derive(Debug)]
pub struct kmutex_t {
    /// The lock word.
    pub _opaque: [*mut c_void; 1],
}

impl kmutex_t {
    /// A zeroed mutex, for static storage; initialize with `mutex_init()`.
    pub const fn zeroed() -> kmutex_t {
        kmutex_t {
            _opaque: [core::ptr::null_mut()],
        }
    }
}

// ---------------------------------------------------------------------
// uts/common/sys/condvar.h
// ---------------------------------------------------------------------

/// `kcondvar_t`: an opaque `ushort_t`.
#[repr(C)]
#[derive(Debug)]
pub struct kcondvar_t {
    /// The waiters flag.
    pub _opaque: ushort_t,
}

impl kcondvar_t {
    /// A zeroed condition variable; initialize with `cv_init()`.
    pub const fn zeroed() -> kcondvar_t {
        kcondvar_t { _opaque: 0 }
    }
}

/// `kcv_type_t`: a C enum, kept as its integer.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct kcv_type_t(pub c_int);

impl kcv_type_t {
    /// The default condition variable.
    pub const CV_DEFAULT: kcv_type_t = kcv_type_t(0);
    /// A driver condition variable.
    pub const CV_DRIVER: kcv_type_t = kcv_type_t(1);
}

// ---------------------------------------------------------------------
// uts/common/sys/vmem.h
// ---------------------------------------------------------------------

/// `vmem_t` (`struct vmem`): opaque.
#[repr(C)]
pub struct vmem_t {
    _data: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// `vmem_size()` type mask: allocated space.
pub const VMEM_ALLOC: c_int = 0x01;
/// `vmem_size()` type mask: free space.
pub const VMEM_FREE: c_int = 0x02;

// ---------------------------------------------------------------------
// uts/common/sys/kstat.h
// ---------------------------------------------------------------------

/// `kid_t`: a unique kstat id.
pub type kid_t = c_int;

/// 30 characters and the NUL.
pub const KSTAT_STRLEN: usize = 31;

/// `ks_update`: `int (*)(struct kstat *, int)`.
pub type ks_update_t = unsafe extern "C" fn(ksp: *mut kstat_t, rw: c_int) -> c_int;
/// `ks_snapshot`: `int (*)(struct kstat *, void *, int)`.
pub type ks_snapshot_t =
    unsafe extern "C" fn(ksp: *mut kstat_t, buf: *mut c_void, rw: c_int) -> c_int;

/// `kstat_t` (`struct kstat`): the generic kstat header.
#[repr(C)]
pub struct kstat_t {
    /// Creation time (from `gethrtime()`).
    pub ks_crtime: hrtime_t,
    /// Kstat chain linkage.
    pub ks_next: *mut kstat_t,
    /// Unique kstat ID.
    pub ks_kid: kid_t,
    /// Provider module name.
    pub ks_module: [c_char; KSTAT_STRLEN],
    /// Reserved, currently just padding.
    pub ks_resv: uchar_t,
    /// Provider module's instance.
    pub ks_instance: c_int,
    /// Kstat name.
    pub ks_name: [c_char; KSTAT_STRLEN],
    /// Kstat data type.
    pub ks_type: uchar_t,
    /// Kstat class.
    pub ks_class: [c_char; KSTAT_STRLEN],
    /// Kstat flags.
    pub ks_flags: uchar_t,
    /// Kstat type-specific data.
    pub ks_data: *mut c_void,
    /// Number of type-specific data records.
    pub ks_ndata: uint_t,
    /// Total size of the kstat data section.
    pub ks_data_size: size_t,
    /// Time of the last data snapshot.
    pub ks_snaptime: hrtime_t,
    /// Dynamic update (kernel only).
    pub ks_update: Option<ks_update_t>,
    /// Arbitrary provider-private data (kernel only).
    pub ks_private: *mut c_void,
    /// Snapshot routine (kernel only).
    pub ks_snapshot: Option<ks_snapshot_t>,
    /// Protects this kstat's data; really a `kmutex_t *` (kernel only).
    pub ks_lock: *mut c_void,
}

/// Can be anything.
pub const KSTAT_TYPE_RAW: uchar_t = 0;
/// Name/value pairs.
pub const KSTAT_TYPE_NAMED: uchar_t = 1;

/// The provider supplies the data section (`ks_data`).
pub const KSTAT_FLAG_VIRTUAL: uchar_t = 0x01;
/// The data section's size varies.
pub const KSTAT_FLAG_VAR_SIZE: uchar_t = 0x02;
/// The data section is writable by root.
pub const KSTAT_FLAG_WRITABLE: uchar_t = 0x04;
/// The kstat survives `kstat_delete()` as a dormant kstat.
pub const KSTAT_FLAG_PERSISTENT: uchar_t = 0x08;
/// A persistent kstat whose provider has gone.
pub const KSTAT_FLAG_DORMANT: uchar_t = 0x10;
/// The data is not valid yet (between `kstat_create()` and
/// `kstat_install()`, or while the provider says so).
pub const KSTAT_FLAG_INVALID: uchar_t = 0x20;
/// The kstat has `KSTAT_DATA_STRING` statistics.
pub const KSTAT_FLAG_LONGSTRINGS: uchar_t = 0x40;

/// `ks_update`'s `rw`: fill `ks_data` from the native state.
pub const KSTAT_READ: c_int = 0;
/// `ks_update`'s `rw`: update the native state from `ks_data`.
pub const KSTAT_WRITE: c_int = 1;

/// The `addr` union of `kstat_named_t`'s string member.
#[repr(C)]
#[derive(Clone, Copy)]
pub union kstat_named_str_addr {
    /// The NUL-terminated string.
    pub ptr: *mut c_char,
    /// 64-bit padding.
    pub __pad: [c_char; 8],
}

/// The string member of `kstat_named_t`'s value (`KSTAT_DATA_STRING`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct kstat_named_str {
    /// Where the string lives.
    pub addr: kstat_named_str_addr,
    /// Bytes for `strlen` plus the NUL.
    pub len: u32,
}

/// The value union of `kstat_named_t`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union kstat_named_value {
    /// Enough for 128-bit integers.
    pub c: [c_char; 16],
    /// `KSTAT_DATA_INT32`.
    pub i32: i32,
    /// `KSTAT_DATA_UINT32`.
    pub ui32: u32,
    /// `KSTAT_DATA_STRING`.
    pub str: kstat_named_str,
    /// `KSTAT_DATA_INT64`.
    pub i64: i64,
    /// `KSTAT_DATA_UINT64`.
    pub ui64: u64,
    /// `long`.
    pub l: c_long,
    /// `ulong_t`.
    pub ul: ulong_t,
}

/// `kstat_named_t` (`struct kstat_named`): one name/value statistic.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct kstat_named_t {
    /// Name of the counter.
    pub name: [c_char; KSTAT_STRLEN],
    /// Data type.
    pub data_type: uchar_t,
    /// Value of the counter.
    pub value: kstat_named_value,
}

impl kstat_named_t {
    /// An all-zero entry (empty name, `KSTAT_DATA_CHAR`), as
    /// `kstat_create()` leaves a data section before `kstat_named_init()`.
    pub const fn zeroed() -> kstat_named_t {
        kstat_named_t {
            name: [0; KSTAT_STRLEN],
            data_type: 0,
            value: kstat_named_value { c: [0; 16] },
        }
    }
}

/// Data type: `char[16]`.
pub const KSTAT_DATA_CHAR: uchar_t = 0;
/// Data type: `int32_t`.
pub const KSTAT_DATA_INT32: uchar_t = 1;
/// Data type: `uint32_t`.
pub const KSTAT_DATA_UINT32: uchar_t = 2;
/// Data type: `int64_t`.
pub const KSTAT_DATA_INT64: uchar_t = 3;
/// Data type: `uint64_t`.
pub const KSTAT_DATA_UINT64: uchar_t = 4;
/// Data type: `long`, as an LP64 kernel sees it (`_KERNEL`; the userland
/// headers define `KSTAT_DATA_LONG` as `KSTAT_DATA_INT64`, so a snapshot
/// read from userland never carries 7).
pub const KSTAT_DATA_LONG: uchar_t = 7;
/// Data type: `ulong_t`, as an LP64 kernel sees it (`_KERNEL`; userland
/// sees `KSTAT_DATA_UINT64`).
pub const KSTAT_DATA_ULONG: uchar_t = 8;
/// Data type: a string held outside the data section.
pub const KSTAT_DATA_STRING: uchar_t = 9;
/// Data type: `float` (obsolete).
pub const KSTAT_DATA_FLOAT: uchar_t = 5;
/// Data type: `double` (obsolete).
pub const KSTAT_DATA_DOUBLE: uchar_t = 6;

// ---------------------------------------------------------------------
// uts/common/sys/cmn_err.h
// ---------------------------------------------------------------------

/// Continuation.
pub const CE_CONT: c_int = 0;
/// Notice.
pub const CE_NOTE: c_int = 1;
/// Warning.
pub const CE_WARN: c_int = 2;
/// Panic.
pub const CE_PANIC: c_int = 3;
/// Print nothing.
pub const CE_IGNORE: c_int = 4;

// ---------------------------------------------------------------------
// Compile-time checks of every size, alignment and offset relied on
// (LP64). Offsets are from the header's declaration order with C's
// natural alignment.
// ---------------------------------------------------------------------

const _: () = assert!(size_of::<*mut c_void>() == 8, "the bindings are LP64");
const _: () = assert!(size_of::<c_long>() == 8 && size_of::<c_int>() == 4);

const _: () = assert!(size_of::<kmutex_t>() == 8 && align_of::<kmutex_t>() == 8);
const _: () = assert!(size_of::<kcondvar_t>() == 2 && align_of::<kcondvar_t>() == 2);
const _: () = assert!(size_of::<kmutex_type_t>() == size_of::<c_int>());
const _: () = assert!(size_of::<kcv_type_t>() == size_of::<c_int>());

const _: () = assert!(size_of::<kstat_named_str>() == 16);
const _: () = assert!(size_of::<kstat_named_value>() == 16);
const _: () = assert!(align_of::<kstat_named_value>() == 8);
const _: () = assert!(offset_of!(kstat_named_t, name) == 0);
const _: () = assert!(offset_of!(kstat_named_t, data_type) == 31);
const _: () = assert!(offset_of!(kstat_named_t, value) == 32);
const _: () = assert!(size_of::<kstat_named_t>() == 48 && align_of::<kstat_named_t>() == 8);

const _: () = assert!(offset_of!(kstat_t, ks_crtime) == 0);
const _: () = assert!(offset_of!(kstat_t, ks_next) == 8);
const _: () = assert!(offset_of!(kstat_t, ks_kid) == 16);
const _: () = assert!(offset_of!(kstat_t, ks_module) == 20);
const _: () = assert!(offset_of!(kstat_t, ks_resv) == 51);
const _: () = assert!(offset_of!(kstat_t, ks_instance) == 52);
const _: () = assert!(offset_of!(kstat_t, ks_name) == 56);
const _: () = assert!(offset_of!(kstat_t, ks_type) == 87);
const _: () = assert!(offset_of!(kstat_t, ks_class) == 88);
const _: () = assert!(offset_of!(kstat_t, ks_flags) == 119);
const _: () = assert!(offset_of!(kstat_t, ks_data) == 120);
const _: () = assert!(offset_of!(kstat_t, ks_ndata) == 128);
const _: () = assert!(offset_of!(kstat_t, ks_data_size) == 136);
const _: () = assert!(offset_of!(kstat_t, ks_snaptime) == 144);
const _: () = assert!(offset_of!(kstat_t, ks_update) == 152);
const _: () = assert!(offset_of!(kstat_t, ks_private) == 160);
const _: () = assert!(offset_of!(kstat_t, ks_snapshot) == 168);
const _: () = assert!(offset_of!(kstat_t, ks_lock) == 176);
const _: () = assert!(size_of::<kstat_t>() == 184 && align_of::<kstat_t>() == 8);
// A function pointer field is nullable exactly like C's.
const _: () = assert!(size_of::<Option<ks_update_t>>() == 8);
const _: () = assert!(size_of::<Option<ks_snapshot_t>>() == 8);
