//! The tunables' C variables (the ARC's `zfs_arc_max` and kin, vmm's
//! `vmm_arc_page_overhead`) in the kernel: boot values at registration,
//! and the once-a-second synchronisation behind `arctun_arc_tick()`.
//!
//! The variables are the C globals that `/etc/system` sets before
//! `arc_init()` runs and that an administrator may patch later with
//! `mdb -kw`. At registration each one's value is applied (as a boot
//! value while booting; after boot, when zfs is reloaded, as a runtime
//! write), a value that is refused is reported, and every variable is then
//! bound, through kstat-export's
//! [`RawVariables`](kstat_export::RawVariables), to the value in force.
//! kstat-export's sync tick does the rest: it validates and applies a
//! value written from outside, or restores the variable and produces a
//! warning that this module prints with `cmn_err(CE_WARN)`, and it makes a
//! variable follow a change made through the `zfs:0:tunables` kstat.
//!
//! The table of bound variables and their last-applied values lives in
//! [`state`](crate::state), under the admin lock, which is also the
//! `ks_lock` of this module's kstats, so the tick and a `zfs:0:tunables`
//! write (which records what it applied in the same table) are
//! serialized. The variables themselves are read
//! and written as atomics (`AtomicU64::from_ptr` over the C globals): `mdb`
//! writes them with plain stores, and an aligned 8-byte store is atomic on
//! amd64.

use core::ffi::CStr;
use core::ptr::read_volatile;

use illumos_ddi::{c_char, KSTAT_STRLEN};
use zfs_tunables::sync::AtomicU64;
use zfs_tunables::{errno, TunableError, TunableFlags};

use crate::state::{self, Component, RawTable, VarOwner};
use crate::{messages, KmodError};

/// At most this many variables per client (`ARCTUN_MAX_VARS`).
pub use crate::state::MAX_VARS;

/// `arctun_var_t`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct arctun_var_t {
    /// The registered tunable's name.
    pub av_name: *const c_char,
    /// The variable.
    pub av_addr: *mut u64,
}

/// Runs `f` on the table with the admin lock held.
fn with_table<R>(f: impl FnOnce(&mut RawTable) -> R) -> R {
    let mut admin = state::admin();
    f(admin.raw())
}

/// Reads a C tunable name: at most `KSTAT_STRLEN` bytes, NUL-terminated,
/// UTF-8.
///
/// # Safety
///
/// `p` is non-NULL and readable up to its NUL or `KSTAT_STRLEN` bytes,
/// whichever comes first, for `'a`.
unsafe fn read_name<'a>(p: *const c_char) -> Result<&'a str, KmodError> {
    let mut len = 0usize;
    loop {
        if len >= KSTAT_STRLEN {
            return Err(KmodError::BadVariableName);
        }
        // SAFETY: `len` is below KSTAT_STRLEN and no NUL was seen yet, so
        // the byte is within what the contract makes readable.
        if unsafe { p.add(len).read() } == 0 {
            break;
        }
        len = len.saturating_add(1);
    }
    // SAFETY: bytes 0..=len were read one by one above and stay valid
    // for 'a.
    let bytes = unsafe { core::slice::from_raw_parts(p.cast::<u8>(), len.saturating_add(1)) };
    CStr::from_bytes_with_nul(bytes)
        .map_err(|_| KmodError::BadVariableName)?
        .to_str()
        .map_err(|_| KmodError::BadVariableName)
}

/// One variable, checked and resolved to its registered tunable.
#[derive(Clone, Copy)]
struct Resolved {
    name: &'static str,
    addr: *mut u64,
}

/// Checks the caller's variables and resolves them to runtime tunables,
/// without applying anything.
///
/// # Safety
///
/// `vars` points to `n` readable `arctun_var_t`s whose names satisfy
/// [`read_name`]'s contract.
unsafe fn resolve(
    c: &Component,
    vars: *const arctun_var_t,
    n: usize,
) -> Result<[Option<Resolved>; MAX_VARS], KmodError> {
    if n > MAX_VARS {
        return Err(KmodError::TooManyVariables);
    }
    if n > 0 && vars.is_null() {
        return Err(KmodError::NullPointer);
    }
    let mut out = [None; MAX_VARS];
    for (i, slot) in out.iter_mut().enumerate().take(n) {
        // SAFETY: i < n and the caller vouches for n entries.
        let v = unsafe { vars.add(i).read() };
        if v.av_name.is_null() || v.av_addr.is_null() {
            return Err(KmodError::NullPointer);
        }
        if !v.av_addr.is_aligned() {
            return Err(KmodError::MisalignedVariable);
        }
        // SAFETY: non-NULL, and readable per the contract.
        let name = unsafe { read_name(v.av_name)? };
        let desc = c
            .desc(name)
            .ok_or(KmodError::Tunable(TunableError::UnknownTunable))?;
        if !desc.flags.contains(TunableFlags::DYNAMIC) {
            // Only runtime tunables have a variable to keep in step.
            return Err(KmodError::NotRuntimeTunable);
        }
        *slot = Some(Resolved {
            name: desc.name,
            addr: v.av_addr,
        });
    }
    for (i, a) in out.iter().enumerate() {
        let Some(a) = a else { continue };
        if out
            .iter()
            .skip(i.saturating_add(1))
            .flatten()
            .any(|b| b.name == a.name || b.addr == a.addr)
        {
            return Err(KmodError::DuplicateVariable);
        }
    }
    Ok(out)
}

/// Registers a client's variables: applies each one's value (see the
/// module documentation), reports what is refused, and binds every
/// variable to the value in force, all or nothing.
///
/// # Safety
///
/// `vars` points to `n` readable `arctun_var_t`s whose
/// names are NUL-terminated (or at least 31 readable bytes); moreover
/// each variable is a valid `u64` until [`unregister`] of `owner`.
pub unsafe fn register(
    owner: VarOwner,
    c: &Component,
    vars: *const arctun_var_t,
    n: usize,
) -> Result<(), KmodError> {
    // SAFETY: per the contract.
    let resolved = unsafe { resolve(c, vars, n)? };
    for v in resolved.iter().flatten() {
        // SAFETY: valid and aligned (checked) per the contract.
        let raw = unsafe { read_volatile(v.addr) };
        if c.get(v.name) == Ok(raw) {
            continue;
        }
        // Boot values while booting; after boot (zfs reloaded, vmm
        // loaded), a variable's value is a runtime write like any other.
        let applied = match c.boot_set(v.name, raw) {
            Err(TunableError::BootOnly { .. }) => c.set(v.name, raw),
            r => r,
        };
        if let Err(e) = applied {
            messages::warn(format_args!(
                "{} = {:#x} ignored ({}: {}); using {:#x}",
                v.name,
                raw,
                errno::name(e.to_errno()),
                e,
                c.get(v.name).unwrap_or(0)
            ));
        }
    }
    let mut admin = state::admin();
    let (t, names) = admin.raw_and_names(owner);
    for (i, v) in resolved.iter().enumerate() {
        let Some(v) = v else { continue };
        // SAFETY: the variable is a valid, aligned u64 that others
        // write only with single aligned stores (mdb) until the
        // owner's unregister(), which unbinds it first.
        let cell = unsafe { AtomicU64::from_ptr(v.addr) };
        // Binding stores the value in force into the variable, which
        // resets one whose value was refused above.
        if let Err(e) = t.bind(c, v.name, cell) {
            for b in resolved.iter().take(i).flatten() {
                let _ = t.unbind(b.name);
            }
            return Err(KmodError::Export(e));
        }
    }
    for (slot, v) in names.iter_mut().zip(resolved.iter()) {
        *slot = v.map(|v| v.name);
    }
    Ok(())
}

/// Stops synchronising `owner`'s variables. When this returns, no tick
/// touches them any more.
pub fn unregister(owner: VarOwner) {
    let mut admin = state::admin();
    let (t, names) = admin.raw_and_names(owner);
    for name in names.iter_mut() {
        if let Some(n) = name.take() {
            let _ = t.unbind(n);
        }
    }
}

/// One synchronisation pass (`arctun_arc_tick()`); refused writes are
/// reported with `cmn_err(CE_WARN)`.
pub fn tick(c: &Component) {
    with_table(|t| {
        let _ = t.sync_tick(c, &mut |w| messages::warn(format_args!("{w}")));
    });
}

// arctun_var_t is two pointers, as in the header.
const _: () = assert!(core::mem::size_of::<arctun_var_t>() == 16);
const _: () = assert!(core::mem::align_of::<arctun_var_t>() == 8);
