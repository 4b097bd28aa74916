//! The ARC's tunable variables (`zfs_arc_max` and kin): boot values at
//! registration, and the once-a-second synchronisation behind
//! `arctun_arc_tick()`.
//!
//! The variables are the C globals that `/etc/system` sets before
//! `arc_init()` runs and that an administrator may patch later with
//! `mdb -kw`. The module remembers, per variable, the value it last applied
//! (or wrote back). On each tick:
//!
//! - a variable that differs from that value was written from outside: the
//!   new value is validated and applied like any other write, or refused,
//!   in which case the variable is restored and a warning names the
//!   variable, the refused value, the reason and the value kept;
//! - otherwise, if the tunable itself changed through another path (a
//!   `zfs:0:tunables` kstat write), the variable is updated to match, so
//!   `mdb` and `::zfs_params` always show the value in force.
//!
//! A write made with `mdb -kw` between a tick's load of a variable and its
//! write-back can be lost; the window is a few instructions once a second,
//! and the administrator sees the outcome in the variable and the kstat.

use core::cell::UnsafeCell;
use core::ffi::CStr;
use core::ptr::{read_volatile, write_volatile};

use illumos_ddi::{c_char, KSTAT_STRLEN};
use zfs_tunables::{errno, TunableError, TunableFlags, TunableHandle};

use crate::component::Component;
use crate::kernel_platform::KMutex;
use crate::{messages, KmodError};

/// At most this many variables (`ARCTUN_MAX_VARS`).
pub const MAX_VARS: usize = 16;

/// `arctun_var_t`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct arctun_var_t {
    /// The registered tunable's name.
    pub av_name: *const c_char,
    /// The variable.
    pub av_addr: *mut u64,
}

/// One variable being synchronised.
#[derive(Clone, Copy)]
struct RawVar {
    /// The tunable's name, as the registry spells it.
    name: &'static str,
    handle: TunableHandle,
    addr: *mut u64,
    /// The value last applied from, or written back to, the variable.
    applied: u64,
}

struct RawTable {
    vars: UnsafeCell<[Option<RawVar>; MAX_VARS]>,
}

// SAFETY: `vars` is only accessed with RAW_LOCK held. The raw pointers in
// it point at the registering module's globals, valid until it
// unregisters (which clears the table under the same lock).
unsafe impl Sync for RawTable {}

static RAW_LOCK: KMutex = KMutex::new();
static TABLE: RawTable = RawTable {
    vars: UnsafeCell::new([None; MAX_VARS]),
};

/// `mutex_init()` of the raw-variable lock.
///
/// # Safety
///
/// As [`KMutex::init`].
pub unsafe fn init_lock() {
    // SAFETY: per the contract.
    unsafe { RAW_LOCK.init() };
}

/// `mutex_destroy()` of the raw-variable lock.
///
/// # Safety
///
/// As [`KMutex::destroy`].
pub unsafe fn destroy_lock() {
    // SAFETY: per the contract.
    unsafe { RAW_LOCK.destroy() };
}

/// Runs `f` on the table with the lock held.
fn with_table<R>(f: impl FnOnce(&mut [Option<RawVar>; MAX_VARS]) -> R) -> R {
    let _g = RAW_LOCK.enter();
    // SAFETY: RAW_LOCK is held, and every access to the table holds it;
    // the reference does not outlive the guard.
    f(unsafe { &mut *TABLE.vars.get() })
}

/// Reads a C tunable name: at most `KSTAT_STRLEN` bytes, NUL-terminated,
/// UTF-8.
///
/// # Safety
///
/// `p` is non-NULL and readable up to its NUL or `KSTAT_STRLEN` bytes,
/// whichever comes first.
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
    // SAFETY: bytes 0..=len are readable (checked one by one above) and
    // stay valid for the caller's 'a.
    let bytes = unsafe { core::slice::from_raw_parts(p.cast::<u8>(), len.saturating_add(1)) };
    CStr::from_bytes_with_nul(bytes)
        .map_err(|_| KmodError::BadVariableName)?
        .to_str()
        .map_err(|_| KmodError::BadVariableName)
}

/// Checks the ARC's variables and resolves them to registered tunables,
/// without applying anything.
///
/// # Safety
///
/// `vars` points to `n` readable `arctun_var_t`s whose names satisfy
/// [`read_name`]'s contract and whose addresses are valid, aligned `u64`s
/// until [`unregister`].
unsafe fn resolve(
    c: &Component,
    vars: *const arctun_var_t,
    n: usize,
) -> Result<[Option<RawVar>; MAX_VARS], KmodError> {
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
        // SAFETY: non-NULL, and readable per the contract.
        let name = unsafe { read_name(v.av_name)? };
        let desc = c
            .desc(name)
            .ok_or(KmodError::Tunable(TunableError::UnknownTunable))?;
        let handle = c
            .lookup(desc.name)
            .ok_or(KmodError::Tunable(TunableError::UnknownTunable))?;
        *slot = Some(RawVar {
            name: desc.name,
            handle,
            addr: v.av_addr,
            applied: 0,
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

/// Registers the ARC's variables: applies each one's value as a boot value
/// (or, once boot is over, as a runtime write; a refused value is reported
/// and the variable reset to the value in force) and starts synchronising
/// them.
///
/// # Safety
///
/// As [`resolve`].
pub unsafe fn register(
    c: &Component,
    vars: *const arctun_var_t,
    n: usize,
) -> Result<(), KmodError> {
    // SAFETY: per the contract.
    let mut table = unsafe { resolve(c, vars, n)? };
    for v in table.iter_mut().flatten() {
        // SAFETY: valid and aligned until unregister (the contract).
        let raw = unsafe { read_volatile(v.addr) };
        let current = c.value(v.handle);
        if raw != current {
            // Boot values while booting; after boot (zfs reloaded), the
            // new instance's values are runtime writes like any other.
            let applied = match c.boot_set(v.name, raw) {
                Err(TunableError::BootOnly { .. }) => c.set(v.name, raw),
                r => r,
            };
            if let Err(e) = applied {
                let kept = c.value(v.handle);
                messages::warn(format_args!(
                    "{} = {:#x} ignored ({}: {}); using {:#x}",
                    v.name,
                    raw,
                    errno::name(e.to_errno()),
                    e,
                    kept
                ));
                // SAFETY: as above.
                unsafe { write_volatile(v.addr, kept) };
            }
        }
        v.applied = c.value(v.handle);
    }
    with_table(|t| *t = table);
    Ok(())
}

/// Stops synchronising (at the ARC's unregistration). When this returns,
/// no tick touches the variables any more.
pub fn unregister() {
    with_table(|t| *t = [None; MAX_VARS]);
}

/// One synchronisation pass; see the module documentation.
pub fn tick(c: &Component) {
    with_table(|t| {
        for v in t.iter_mut().flatten() {
            // SAFETY: registered variables stay valid until unregister(),
            // which takes RAW_LOCK, held here.
            let raw = unsafe { read_volatile(v.addr) };
            if raw != v.applied {
                sync_written(c, v, raw);
            } else {
                let current = c.value(v.handle);
                if current != v.applied {
                    // SAFETY: as above.
                    unsafe { write_volatile(v.addr, current) };
                    v.applied = current;
                }
            }
        }
    });
}

/// Applies or refuses a value written into a variable from outside.
fn sync_written(c: &Component, v: &mut RawVar, raw: u64) {
    let runtime = c
        .desc(v.name)
        .is_some_and(|d| d.flags.contains(TunableFlags::DYNAMIC));
    let outcome = if runtime {
        c.set(v.name, raw)
    } else {
        Err(TunableError::BootOnly { name: v.name })
    };
    match outcome {
        Ok(()) => {
            v.applied = raw;
            messages::note(format_args!("{} set to {:#x}", v.name, raw));
        }
        Err(e) => {
            let kept = c.value(v.handle);
            messages::warn(format_args!(
                "{} = {:#x} refused ({}: {}); keeping {:#x}",
                v.name,
                raw,
                errno::name(e.to_errno()),
                e,
                kept
            ));
            // SAFETY: registered variables stay valid until unregister(),
            // whose lock the caller holds.
            unsafe { write_volatile(v.addr, kept) };
            v.applied = kept;
        }
    }
}

// arctun_var_t is two pointers, as in the header.
const _: () = assert!(core::mem::size_of::<arctun_var_t>() == 16);
const _: () = assert!(core::mem::align_of::<arctun_var_t>() == 8);
