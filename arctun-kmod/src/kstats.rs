//! This module's kstats in the kernel: creation, deletion, and the
//! `ks_update` callbacks that hand `ks_data` to kstat-export.
//!
//! | kstat | created when | callback |
//! |---|---|---|
//! | `zfs:0:tunables` | the ARC registers | [`TunablesUpdate`] (writable) |
//! | `zfs:0:arc_headroom` | the ARC registers | [`ArcHeadroomUpdate`] |
//! | `vmm:0:arc_resv` | vmm registers | [`ArcResvUpdate`] |
//!
//! Every kstat here is `KSTAT_FLAG_VIRTUAL` over a static buffer of
//! `kstat_named_t`s in [`state`](crate::state), with `ks_lock` set to the
//! admin lock: the kstat framework holds it around every `ks_update` and
//! snapshot, so the buffers, and the raw-variable table a
//! `zfs:0:tunables` write records into, are never touched by two threads
//! at once. Everything this file reaches, it reaches through `state`.
//!
//! The writable kstat's buffer is a *staging copy*, never the live
//! values: `write_kstat_data()` copies the caller's buffer over `ks_data`
//! before `ks_update(KSTAT_WRITE)` runs, and the update validates the
//! whole staged buffer and applies all of it or nothing (kstat-export's
//! [`TunablesUpdate`]). A refused write leaves the staged values behind;
//! the next read replaces them with the live ones.
//!
//! `kstat_create()` may fail; a module without one of its kstats still
//! works, so a failure is reported with `cmn_err(CE_WARN)` and the kstat
//! is simply absent, as `arc.c` tolerates a missing `arcstats`.

use core::ptr;

use illumos_ddi::kernel::{kstat_create, kstat_delete, kstat_install};
use illumos_ddi::{
    c_int, ks_update_t, kstat_named_t, kstat_t, size_t, uint_t, EACCES, EINVAL, ENXIO, KSTAT_READ,
    KSTAT_TYPE_NAMED, KSTAT_WRITE,
};
use kstat_export::{
    ArcHeadroomUpdate, ArcResvUpdate, ExportError, KstatName, KstatNamed, KstatUpdate,
    TunablesUpdate,
};

use crate::messages;
use crate::state::{self, Component, KstatId};

/// `kstat_create()`, fills the data with one read update, installs.
/// Failures are reported and leave the kstat absent.
fn create(kstat: KstatId, update: ks_update_t) {
    let ident = kstat.ident();
    let names = (
        KstatName::new(ident.module),
        KstatName::new(ident.name),
        KstatName::new(ident.class),
    );
    let capacity = kstat.capacity();
    let (Ok(module), Ok(name), Ok(class), Ok(ndata)) = (
        names.0,
        names.1,
        names.2,
        uint_t::try_from(core::cmp::min(ident.ndata_max, capacity)),
    ) else {
        messages::warn(format_args!(
            "kstat {}:{}:{} has an invalid name or size",
            ident.module, ident.instance, ident.name
        ));
        return;
    };
    // SAFETY: the names are NUL-terminated (KstatName keeps at most
    // 30 bytes of 31 and pads with NULs) and outlive the call.
    let ksp = unsafe {
        kstat_create(
            module.0.as_ptr().cast(),
            ident.instance,
            name.0.as_ptr().cast(),
            class.0.as_ptr().cast(),
            KSTAT_TYPE_NAMED,
            ndata,
            ident.flags.bits(),
        )
    };
    if ksp.is_null() {
        messages::warn(format_args!(
            "cannot create kstat {}:{}:{}",
            ident.module, ident.instance, ident.name
        ));
        return;
    }
    {
        let mut admin = state::admin();
        // SAFETY: ksp came from kstat_create and is not installed, so
        // nobody else uses it; the data section and the lock are
        // statics that outlive the kstat (deleted before they go).
        // The read update runs with the admin lock held, as it
        // requires, and nothing obtained through `admin` is used while
        // it runs.
        unsafe {
            (*ksp).ks_data = admin.kstat_data_ptr(kstat).cast();
            (*ksp).ks_lock = admin.ks_lock().cast();
            (*ksp).ks_update = Some(update);
            let _ = update(ksp, KSTAT_READ);
            *admin.kstat_handle(kstat) = ksp;
        }
    }
    // SAFETY: a created, fully initialized kstat.
    unsafe { kstat_install(ksp) };
}

/// `kstat_delete()`, if the kstat exists. Never with the admin lock
/// held (kstat_delete() waits for readers, who hold it).
fn delete(kstat: KstatId) {
    let ksp = core::mem::replace(state::admin().kstat_handle(kstat), ptr::null_mut());
    if !ksp.is_null() {
        // SAFETY: ksp was installed by create() and is deleted once
        // (the slot was cleared under the lock). When kstat_delete()
        // returns no update callback runs on it any more.
        unsafe { kstat_delete(ksp) };
    }
}

/// Creates vmm's kstat (at its registration).
pub fn create_vmm_kstat() {
    create(KstatId::ArcResv, resv_update);
}

/// Deletes vmm's kstat (at its unregistration).
pub fn delete_vmm_kstat() {
    delete(KstatId::ArcResv);
}

/// Creates the ARC's kstats (at its registration).
pub fn create_arc_kstats() {
    create(KstatId::Tunables, tunables_update);
    create(KstatId::ArcHeadroom, headroom_update);
}

/// Deletes the ARC's kstats (at its unregistration).
pub fn delete_arc_kstats() {
    delete(KstatId::Tunables);
    delete(KstatId::ArcHeadroom);
}

fn errno_of(r: Result<(), ExportError>) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Runs a read update and sets `ks_ndata` and `ks_data_size` to what it
/// filled.
///
/// # Safety
///
/// `ksp` is one of this module's kstats, whose data section is `data`.
unsafe fn read_into(
    ksp: *mut kstat_t,
    update: &mut dyn KstatUpdate,
    data: &mut [KstatNamed],
) -> c_int {
    match update.read(data) {
        Ok(n) => {
            let (Ok(ndata), Some(size)) = (
                uint_t::try_from(n),
                n.checked_mul(core::mem::size_of::<kstat_named_t>())
                    .and_then(|s| size_t::try_from(s).ok()),
            ) else {
                return EINVAL;
            };
            // SAFETY: per the contract; the caller holds ks_lock.
            unsafe {
                (*ksp).ks_ndata = ndata;
                (*ksp).ks_data_size = size;
            }
            0
        }
        Err(e) => e.to_errno(),
    }
}

fn component_or_enxio() -> Result<&'static Component, c_int> {
    state::component().map_err(|_| ENXIO)
}

/// `ks_update` of `zfs:0:tunables`.
///
/// # Safety
///
/// Called by the kstat framework (or `create`) with `ks_lock`
/// (the admin lock) held, on this module's `zfs:0:tunables` kstat.
unsafe extern "C" fn tunables_update(ksp: *mut kstat_t, rw: c_int) -> c_int {
    let c = match component_or_enxio() {
        Ok(c) => c,
        Err(e) => return e,
    };
    // SAFETY: the framework holds ks_lock, the admin lock, around this
    // call, and no other Admin of this thread is in use meanwhile.
    let mut admin = unsafe { state::admin_held() };
    let (data, raw) = admin.tunables_update_parts();
    let mut update = TunablesUpdate {
        tunables: c,
        raw: Some(raw),
    };
    match rw {
        // SAFETY: ksp is this kstat and `data` its data section.
        KSTAT_READ => unsafe { read_into(ksp, &mut update, data) },
        KSTAT_WRITE => {
            // SAFETY: ksp is a live kstat; ks_ndata was set by the read
            // update the framework runs before copying the caller's
            // buffer in.
            let n = unsafe { (*ksp).ks_ndata };
            let n = usize::try_from(n).map_or(data.len(), |n| core::cmp::min(n, data.len()));
            match data.get(..n) {
                Some(staged) => errno_of(update.write(staged)),
                None => EINVAL,
            }
        }
        _ => EINVAL,
    }
}

/// `ks_update` of `zfs:0:arc_headroom`: read-only.
///
/// # Safety
///
/// As [`tunables_update`], on `zfs:0:arc_headroom`.
unsafe extern "C" fn headroom_update(ksp: *mut kstat_t, rw: c_int) -> c_int {
    let c = match component_or_enxio() {
        Ok(c) => c,
        Err(e) => return e,
    };
    if rw != KSTAT_READ {
        return EACCES;
    }
    // SAFETY: as in tunables_update.
    let mut admin = unsafe { state::admin_held() };
    let data = admin.kstat_data(KstatId::ArcHeadroom);
    let mut update = ArcHeadroomUpdate { tunables: c };
    // SAFETY: ksp is this kstat and `data` its data section.
    unsafe { read_into(ksp, &mut update, data) }
}

/// `ks_update` of `vmm:0:arc_resv`: read-only.
///
/// # Safety
///
/// As [`tunables_update`], on `vmm:0:arc_resv`.
unsafe extern "C" fn resv_update(ksp: *mut kstat_t, rw: c_int) -> c_int {
    let Ok(cl) = state::client() else {
        return ENXIO;
    };
    if rw != KSTAT_READ {
        return EACCES;
    }
    let fields = cl.stats().fields();
    // SAFETY: as in tunables_update.
    let mut admin = unsafe { state::admin_held() };
    let data = admin.kstat_data(KstatId::ArcResv);
    let mut update = ArcResvUpdate { fields: &fields };
    // SAFETY: ksp is this kstat and `data` its data section.
    unsafe { read_into(ksp, &mut update, data) }
}

// kstat-export's KstatNamed is the kernel's kstat_named_t (its numbers
// are illumos-ddi's own, so only the layout needs saying here).
const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    assert!(size_of::<KstatNamed>() == size_of::<kstat_named_t>());
    assert!(align_of::<KstatNamed>() == align_of::<kstat_named_t>());
    assert!(offset_of!(KstatNamed, name) == offset_of!(kstat_named_t, name));
    assert!(offset_of!(KstatNamed, data_type) == offset_of!(kstat_named_t, data_type));
    assert!(offset_of!(KstatNamed, value) == offset_of!(kstat_named_t, value));
};
