//! The real kernel, through libkstat (illumos only).
//!
//! The declarations of `usr/src/head/kstat.h`, in its order, with its
//! exact prototypes (`kstat_lookup` takes `char *`, not `const char *`;
//! libkstat does not write through them). `kstat_t` and `kstat_named_t`
//! are `uts/common/sys/kstat.h`'s, from `illumos-ddi`, whose layouts are
//! checked at compile time.
//!
//! A write is what `kstat_write(3KSTAT)` asks of a program: read the
//! kstat (`kstat_read` fills libkstat's copy, `ks_data`), change values
//! in that copy, write it back (`kstat_write` with a NULL buffer writes
//! `ks_data`). The kernel's answer is -1 and `errno`.

use std::ffi::{CStr, CString};

use admin_syntax::{KstatSnapshot, StatValue};
use illumos_ddi::{
    c_char, c_int, c_void, kid_t, kstat_named_t, kstat_t, KSTAT_DATA_CHAR, KSTAT_DATA_INT32,
    KSTAT_DATA_INT64, KSTAT_DATA_STRING, KSTAT_DATA_UINT32, KSTAT_DATA_UINT64, KSTAT_STRLEN,
    KSTAT_TYPE_NAMED,
};
use zfs_tunables::Hrtime;

use crate::backend::{Backend, BackendError, KstatCall, KstatRef};

// ---------------------------------------------------------------------
// usr/src/head/kstat.h
// ---------------------------------------------------------------------

/// `kstat_ctl_t` (`struct kstat_ctl`): what `kstat_open()` returns.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct kstat_ctl_t {
    /// Current kstat chain ID.
    pub kc_chain_id: kid_t,
    /// Pointer to the kstat chain.
    pub kc_chain: *mut kstat_t,
    /// The `/dev/kstat` descriptor.
    pub kc_kd: c_int,
}

const _: () = assert!(core::mem::offset_of!(kstat_ctl_t, kc_chain_id) == 0);
const _: () = assert!(core::mem::offset_of!(kstat_ctl_t, kc_chain) == 8);
const _: () = assert!(core::mem::offset_of!(kstat_ctl_t, kc_kd) == 16);
const _: () = assert!(core::mem::size_of::<kstat_ctl_t>() == 24);

#[link(name = "kstat")]
extern "C" {
    /// `kstat_ctl_t *kstat_open(void);`
    pub fn kstat_open() -> *mut kstat_ctl_t;
    /// `int kstat_close(kstat_ctl_t *);`
    pub fn kstat_close(kc: *mut kstat_ctl_t) -> c_int;
    /// `kid_t kstat_read(kstat_ctl_t *, kstat_t *, void *);`
    pub fn kstat_read(kc: *mut kstat_ctl_t, ksp: *mut kstat_t, buf: *mut c_void) -> kid_t;
    /// `kid_t kstat_write(kstat_ctl_t *, kstat_t *, void *);`
    pub fn kstat_write(kc: *mut kstat_ctl_t, ksp: *mut kstat_t, buf: *mut c_void) -> kid_t;
    /// `kstat_t *kstat_lookup(kstat_ctl_t *, char *, int, char *);`
    pub fn kstat_lookup(
        kc: *mut kstat_ctl_t,
        ks_module: *mut c_char,
        ks_instance: c_int,
        ks_name: *mut c_char,
    ) -> *mut kstat_t;
}

/// `errno` after a failed call.
fn errno(call: KstatCall) -> BackendError {
    BackendError::Errno {
        call,
        errno: std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
    }
}

/// A fixed `char[KSTAT_STRLEN]` as text.
fn text(name: &[c_char; KSTAT_STRLEN]) -> String {
    let bytes: Vec<u8> = name
        .iter()
        .map(|&c| c.to_ne_bytes()[0])
        .take_while(|&b| b != 0)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// One statistic as `kstat` prints it.
///
/// # Safety
///
/// `n` is an entry of a `ks_data` that `kstat_read` just filled: a
/// `KSTAT_DATA_STRING`'s pointer, if not NULL, points at a NUL-terminated
/// string in that buffer (libkstat relocates it there).
unsafe fn value_of(n: &kstat_named_t) -> StatValue {
    // SAFETY (all arms): the union member read is the one `data_type`
    // names, and every member is plain data of at most 16 bytes.
    unsafe {
        match n.data_type {
            KSTAT_DATA_CHAR => {
                let c = n.value.c;
                let bytes: Vec<u8> = c
                    .iter()
                    .map(|&b| b.to_ne_bytes()[0])
                    .take_while(|&b| b != 0)
                    .collect();
                StatValue::Char(String::from_utf8_lossy(&bytes).into_owned())
            }
            KSTAT_DATA_INT32 => StatValue::Int32(n.value.i32),
            KSTAT_DATA_UINT32 => StatValue::Uint32(n.value.ui32),
            KSTAT_DATA_INT64 => StatValue::Int64(n.value.i64),
            KSTAT_DATA_UINT64 => StatValue::Uint64(n.value.ui64),
            KSTAT_DATA_STRING => {
                let p = n.value.str.addr.ptr;
                if p.is_null() {
                    StatValue::Str(String::new())
                } else {
                    // SAFETY: per this function's contract.
                    StatValue::Str(CStr::from_ptr(p).to_string_lossy().into_owned())
                }
            }
            _ => StatValue::Str(String::new()),
        }
    }
}

/// An open `/dev/kstat`; closed when dropped.
pub struct LibKstat {
    kc: *mut kstat_ctl_t,
}

impl LibKstat {
    /// `kstat_open()`.
    pub fn open() -> Result<LibKstat, BackendError> {
        // SAFETY: no arguments; NULL (checked) on failure.
        let kc = unsafe { kstat_open() };
        if kc.is_null() {
            return Err(errno(KstatCall::Open));
        }
        Ok(LibKstat { kc })
    }

    /// `kstat_lookup` then `kstat_read`: the kstat with `ks_data` fresh.
    fn lookup_and_read(&mut self, ks: KstatRef) -> Result<*mut kstat_t, BackendError> {
        let module = CString::new(ks.module).map_err(|_| BackendError::NotNamed)?;
        let name = CString::new(ks.name).map_err(|_| BackendError::NotNamed)?;
        // SAFETY: `self.kc` is open; the names are NUL-terminated and
        // outlive the call, and libkstat only reads them (the prototype's
        // `char *` predates `const`).
        let ksp = unsafe {
            kstat_lookup(
                self.kc,
                module.as_ptr().cast_mut(),
                ks.instance,
                name.as_ptr().cast_mut(),
            )
        };
        if ksp.is_null() {
            // kstat_lookup fails only when the chain has no such kstat
            // (it sets ENOENT); say so even if errno was left stale.
            return Err(BackendError::Errno {
                call: KstatCall::Lookup,
                errno: zfs_tunables::errno::ENOENT,
            });
        }
        // SAFETY: `ksp` is on `self.kc`'s chain; a NULL buffer reads into
        // libkstat's own `ks_data`.
        if unsafe { kstat_read(self.kc, ksp, std::ptr::null_mut()) } == -1 {
            return Err(errno(KstatCall::Read));
        }
        // SAFETY: `ksp` is valid until the chain is updated or closed,
        // neither of which happens while `&mut self` is borrowed here.
        if unsafe { (*ksp).ks_type } != KSTAT_TYPE_NAMED {
            return Err(BackendError::NotNamed);
        }
        Ok(ksp)
    }

    /// The named entries of `ksp`'s `ks_data`.
    ///
    /// # Safety
    ///
    /// `ksp` was just read by [`lookup_and_read`](Self::lookup_and_read)
    /// and nothing has touched the chain since.
    unsafe fn entries<'a>(ksp: *mut kstat_t) -> &'a mut [kstat_named_t] {
        // SAFETY: a named kstat's `ks_data` holds `ks_ndata`
        // `kstat_named_t`s after `kstat_read`, allocated by libkstat.
        unsafe {
            let k = &*ksp;
            if k.ks_data.is_null() {
                return &mut [];
            }
            let n = usize::try_from(k.ks_ndata).unwrap_or(0);
            std::slice::from_raw_parts_mut(k.ks_data.cast::<kstat_named_t>(), n)
        }
    }
}

impl Drop for LibKstat {
    fn drop(&mut self) {
        // SAFETY: `self.kc` came from `kstat_open` and is closed once.
        let _ = unsafe { kstat_close(self.kc) };
    }
}

fn hrtime(t: i64) -> Hrtime {
    Hrtime(u64::try_from(t).unwrap_or(0))
}

impl Backend for LibKstat {
    fn read(&mut self, ks: KstatRef) -> Result<KstatSnapshot, BackendError> {
        let ksp = self.lookup_and_read(ks)?;
        // SAFETY: just read, and the chain is untouched until we return.
        let (k, entries) = unsafe { (&*ksp, Self::entries(ksp)) };
        let data = entries
            .iter()
            .filter(|n| n.name[0] != 0)
            // SAFETY: entries of a `ks_data` `kstat_read` just filled.
            .map(|n| (text(&n.name), unsafe { value_of(n) }))
            .collect();
        Ok(KstatSnapshot {
            module: text(&k.ks_module),
            instance: k.ks_instance,
            name: text(&k.ks_name),
            class: text(&k.ks_class),
            crtime: hrtime(k.ks_crtime),
            snaptime: hrtime(k.ks_snaptime),
            data,
        })
    }

    fn write(&mut self, ks: KstatRef, values: &[(&str, u64)]) -> Result<(), BackendError> {
        let ksp = self.lookup_and_read(ks)?;
        // SAFETY: just read, and the chain is untouched until we return.
        let entries = unsafe { Self::entries(ksp) };
        for &(stat, value) in values {
            let entry = entries
                .iter_mut()
                .find(|n| text(&n.name) == stat)
                .ok_or_else(|| BackendError::NoSuchStatistic(stat.to_string()))?;
            if entry.data_type != KSTAT_DATA_UINT64 {
                return Err(BackendError::NotUint64(stat.to_string()));
            }
            entry.value.ui64 = value;
        }
        // SAFETY: `ksp` is on the chain; a NULL buffer writes `ks_data`,
        // which holds the kstat's `ks_ndata` entries as read, changed in
        // place.
        if unsafe { kstat_write(self.kc, ksp, std::ptr::null_mut()) } == -1 {
            return Err(errno(KstatCall::Write));
        }
        Ok(())
    }
}
