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
//! `kstat_named_t`s, with `ks_lock` set to [`ADMIN_LOCK`]: the kstat
//! framework holds it around every `ks_update` and snapshot, so the
//! buffers, and the raw-variable table a `zfs:0:tunables` write records
//! into, are never touched by two threads at once.
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

use core::cell::UnsafeCell;
use core::ptr;

use illumos_ddi::kernel::{kstat_create, kstat_delete, kstat_install};
use illumos_ddi::{
    c_int, ks_update_t, kstat_named_t, kstat_t, size_t, uint_t, EACCES, EINVAL, ENXIO, KSTAT_READ,
    KSTAT_TYPE_NAMED, KSTAT_WRITE,
};
use kstat_export::{
    ArcHeadroomUpdate, ArcResvUpdate, ExportError, KstatIdent, KstatName, KstatNamed, KstatUpdate,
    TunablesUpdate, ARC_HEADROOM, ARC_RESV, TUNABLES,
};

use crate::component::{component, Component};
use crate::raw_vars::{table_locked, ADMIN_LOCK};
use crate::{messages, vmm_entry};

/// One kstat of this module: its handle and its data section.
pub struct KstatSlot<const N: usize> {
    ident: &'static KstatIdent,
    ksp: UnsafeCell<*mut kstat_t>,
    data: UnsafeCell<[KstatNamed; N]>,
}

// SAFETY: both cells are only accessed with ADMIN_LOCK held (by this
// module, or by the kstat framework, which holds ks_lock = ADMIN_LOCK
// around ks_update and the snapshot).
unsafe impl<const N: usize> Sync for KstatSlot<N> {}

impl<const N: usize> KstatSlot<N> {
    const fn new(ident: &'static KstatIdent) -> Self {
        KstatSlot {
            ident,
            ksp: UnsafeCell::new(ptr::null_mut()),
            data: UnsafeCell::new([KstatNamed::ZERO; N]),
        }
    }

    /// The data section, for a caller that holds [`ADMIN_LOCK`].
    ///
    /// # Safety
    ///
    /// The calling thread holds ADMIN_LOCK for as long as it uses the
    /// reference, and holds no other reference to this data section.
    #[expect(
        clippy::mut_from_ref,
        reason = "exclusive access comes from ADMIN_LOCK, not from the borrow"
    )]
    unsafe fn data_locked(&self) -> &mut [KstatNamed; N] {
        // SAFETY: per the contract.
        unsafe { &mut *self.data.get() }
    }

    /// `kstat_create()`, fills the data with one read update, installs.
    /// Failures are reported and leave the kstat absent.
    fn create(&self, update: ks_update_t) {
        let ident = self.ident;
        let names = (
            KstatName::new(ident.module),
            KstatName::new(ident.name),
            KstatName::new(ident.class),
        );
        let (Ok(module), Ok(name), Ok(class), Ok(ndata)) = (
            names.0,
            names.1,
            names.2,
            uint_t::try_from(core::cmp::min(ident.ndata_max, N)),
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
            let _g = ADMIN_LOCK.enter();
            // SAFETY: ksp came from kstat_create and is not installed, so
            // nobody else uses it; the data section and the lock are
            // statics that outlive the kstat (deleted before they go).
            // The read update runs with ADMIN_LOCK held, as it requires.
            unsafe {
                (*ksp).ks_data = self.data.get().cast();
                (*ksp).ks_lock = ADMIN_LOCK.as_ptr().cast();
                (*ksp).ks_update = Some(update);
                let _ = update(ksp, KSTAT_READ);
                *self.ksp.get() = ksp;
            }
        }
        // SAFETY: a created, fully initialized kstat.
        unsafe { kstat_install(ksp) };
    }

    /// `kstat_delete()`, if the kstat exists. Never with ADMIN_LOCK held
    /// (kstat_delete() waits for readers, who hold it).
    fn delete(&self) {
        let ksp = {
            let _g = ADMIN_LOCK.enter();
            // SAFETY: ADMIN_LOCK is held.
            unsafe { core::mem::replace(&mut *self.ksp.get(), ptr::null_mut()) }
        };
        if !ksp.is_null() {
            // SAFETY: ksp was installed by create() and is deleted once
            // (the slot was cleared under the lock). When kstat_delete()
            // returns no update callback runs on it any more.
            unsafe { kstat_delete(ksp) };
        }
    }
}

/// `zfs:0:tunables`.
static TUNABLES_KSTAT: KstatSlot<{ TUNABLES.ndata_max }> = KstatSlot::new(&TUNABLES);
/// `zfs:0:arc_headroom`.
static HEADROOM_KSTAT: KstatSlot<{ ARC_HEADROOM.ndata_max }> = KstatSlot::new(&ARC_HEADROOM);

/// `vmm:0:arc_resv`.
static RESV_KSTAT: KstatSlot<{ ARC_RESV.ndata_max }> = KstatSlot::new(&ARC_RESV);

/// Creates vmm's kstat (at its registration).
pub fn create_vmm_kstat() {
    RESV_KSTAT.create(resv_update);
}

/// Deletes vmm's kstat (at its unregistration).
pub fn delete_vmm_kstat() {
    RESV_KSTAT.delete();
}

/// Creates the ARC's kstats (at its registration).
pub fn create_arc_kstats() {
    TUNABLES_KSTAT.create(tunables_update);
    HEADROOM_KSTAT.create(headroom_update);
}

/// Deletes the ARC's kstats (at its unregistration).
pub fn delete_arc_kstats() {
    TUNABLES_KSTAT.delete();
    HEADROOM_KSTAT.delete();
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
    component().map_err(|_| ENXIO)
}

/// `ks_update` of `zfs:0:tunables`.
///
/// # Safety
///
/// Called by the kstat framework (or `create`) with `ks_lock`
/// (ADMIN_LOCK) held, on this module's `zfs:0:tunables` kstat.
unsafe extern "C" fn tunables_update(ksp: *mut kstat_t, rw: c_int) -> c_int {
    let c = match component_or_enxio() {
        Ok(c) => c,
        Err(e) => return e,
    };
    // SAFETY: ADMIN_LOCK is held (ks_lock), and neither reference is
    // used beyond this call.
    let (data, raw) = unsafe { (TUNABLES_KSTAT.data_locked(), table_locked()) };
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
    // SAFETY: ADMIN_LOCK is held (ks_lock).
    let data = unsafe { HEADROOM_KSTAT.data_locked() };
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
    let Ok(cl) = vmm_entry::client() else {
        return ENXIO;
    };
    if rw != KSTAT_READ {
        return EACCES;
    }
    let fields = cl.stats().fields();
    // SAFETY: ADMIN_LOCK is held (ks_lock).
    let data = unsafe { RESV_KSTAT.data_locked() };
    let mut update = ArcResvUpdate { fields: &fields };
    // SAFETY: ksp is this kstat and `data` its data section.
    unsafe { read_into(ksp, &mut update, data) }
}

// kstat-export's KstatNamed is the kernel's kstat_named_t.
const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    assert!(size_of::<KstatNamed>() == size_of::<kstat_named_t>());
    assert!(align_of::<KstatNamed>() == align_of::<kstat_named_t>());
    assert!(offset_of!(KstatNamed, name) == offset_of!(kstat_named_t, name));
    assert!(offset_of!(KstatNamed, data_type) == offset_of!(kstat_named_t, data_type));
    assert!(offset_of!(KstatNamed, value) == offset_of!(kstat_named_t, value));
    assert!(kstat_export::kstat_named::KSTAT_STRLEN == illumos_ddi::KSTAT_STRLEN);
    assert!(kstat_export::kstat_named::KSTAT_TYPE_NAMED == KSTAT_TYPE_NAMED);
    assert!(kstat_export::kstat_named::KSTAT_READ == KSTAT_READ);
    assert!(kstat_export::kstat_named::KSTAT_WRITE == KSTAT_WRITE);
    assert!(kstat_export::KstatDataType::UINT64.0 == illumos_ddi::KSTAT_DATA_UINT64);
    assert!(kstat_export::KstatFlags::WRITABLE.bits() == illumos_ddi::KSTAT_FLAG_WRITABLE);
    assert!(kstat_export::KstatFlags::VIRTUAL.bits() == illumos_ddi::KSTAT_FLAG_VIRTUAL);
    assert!(kstat_export::KstatFlags::VAR_SIZE.bits() == illumos_ddi::KSTAT_FLAG_VAR_SIZE);
};
