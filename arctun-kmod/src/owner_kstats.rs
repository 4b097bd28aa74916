//! The kstat of each headroom owner, `<module>:0:arc_resv_<name>`
//! (`vmm:0:arc_resv_reservoir` for the VMM reservoir): created when the
//! owner registers, deleted when it unregisters.
//!
//! | statistic | meaning |
//! |---|---|
//! | `reserved` | committed headroom plus the growth in flight |
//! | `pending` | the growth's bytes the ARC is still to free (0 once its wait ends: claimed) |
//! | `committed` | what the owner holds: the ceiling is lowered by it |
//! | `grows`, `shrinks` | growths committed, shrinks made |
//! | `refusals` | growths refused at once (`ENOMEM`, `ENOSPC`) |
//! | `failures` | growths released after a failed wait or allocation |
//!
//! As the module's other kstats ([`kstats`](crate::kstats)), each is
//! `KSTAT_FLAG_VIRTUAL` over a static buffer in [`state`](crate::state),
//! with `ks_lock` the admin lock; the update reads the owners' table under
//! the instance table lock, below the admin lock in the order.

use core::ptr;

use illumos_ddi::kernel::{kstat_create, kstat_delete, kstat_install};
use illumos_ddi::{
    c_int, kstat_named_t, kstat_t, size_t, uint_t, EACCES, EINVAL, ENXIO, KSTAT_READ,
    KSTAT_TYPE_NAMED,
};
use kstat_export::exported_kstats::KSTAT_CLASS;
use kstat_export::kstat_named::KSTAT_NAME_MAX;
use kstat_export::{KstatFlags, KstatName, KstatNamed};

use crate::messages;
use crate::owners::{OwnerName, KSTAT_PREFIX};
use crate::state::{self, OWNER_FIELDS, OWNER_NDATA};

/// `arc_resv_<name>`, NUL-padded.
fn kstat_name(owner: &OwnerName) -> Option<KstatName> {
    let mut buf = [0u8; KSTAT_NAME_MAX];
    let parts = KSTAT_PREFIX.bytes().chain(owner.name().bytes());
    let mut len = 0usize;
    for b in parts {
        *buf.get_mut(len)? = b;
        len = len.checked_add(1)?;
    }
    let s = core::str::from_utf8(buf.get(..len)?).ok()?;
    KstatName::new(s).ok()
}

/// Creates the kstat of the owner in `slot`; a failure is reported and
/// leaves it absent (the owner works without it).
pub fn create(slot: usize, owner: &OwnerName) {
    let names = (
        KstatName::new(owner.module()).ok(),
        kstat_name(owner),
        KstatName::new(KSTAT_CLASS).ok(),
    );
    let (Some(module), Some(name), Some(class), Ok(ndata)) =
        (names.0, names.1, names.2, uint_t::try_from(OWNER_NDATA))
    else {
        messages::warn(format_args!(
            "kstat {}:0:{}{} has an invalid name",
            owner.module(),
            KSTAT_PREFIX,
            owner.name()
        ));
        return;
    };
    // SAFETY: the names are NUL-terminated (KstatName keeps at most 30
    // bytes of 31 and pads with NULs) and outlive the call.
    let ksp = unsafe {
        kstat_create(
            module.0.as_ptr().cast(),
            0,
            name.0.as_ptr().cast(),
            class.0.as_ptr().cast(),
            KSTAT_TYPE_NAMED,
            ndata,
            KstatFlags::VIRTUAL.bits(),
        )
    };
    if ksp.is_null() {
        messages::warn(format_args!(
            "cannot create kstat {}:0:{}{}",
            owner.module(),
            KSTAT_PREFIX,
            owner.name()
        ));
        return;
    }
    let recorded = {
        let mut admin = state::admin();
        let lock = admin.ks_lock();
        match (
            admin.owner_kstat_data_ptr(slot),
            admin.owner_kstat_handle(slot),
        ) {
            (Some(data), Some(handle)) => {
                // SAFETY: ksp came from kstat_create and is not installed,
                // so nobody else uses it; the data section and the lock
                // are statics that outlive the kstat (deleted before the
                // owner's slot is reused).
                unsafe {
                    (*ksp).ks_data = data.cast();
                    (*ksp).ks_lock = lock.cast();
                    (*ksp).ks_update = Some(update);
                }
                *handle = ksp;
                true
            }
            _ => false,
        }
    };
    if !recorded {
        // No such slot: nothing refers to the kstat yet.
        // SAFETY: created above, never installed.
        unsafe { kstat_delete(ksp) };
        return;
    }
    {
        let _admin = state::admin();
        // SAFETY: the read update runs with the admin lock held, as it
        // requires, and its handle is recorded, so it finds its slot.
        let _ = unsafe { update(ksp, KSTAT_READ) };
    }
    // SAFETY: a created, fully initialized kstat.
    unsafe { kstat_install(ksp) };
}

/// Deletes the kstat of the owner in `slot`, if it exists. Never with the
/// admin lock held (kstat_delete() waits for readers, who hold it).
pub fn delete(slot: usize) {
    let ksp = state::admin()
        .owner_kstat_handle(slot)
        .map_or(ptr::null_mut(), |h| core::mem::replace(h, ptr::null_mut()));
    if !ksp.is_null() {
        // SAFETY: ksp was installed by create() and is deleted once (the
        // slot was cleared under the lock). When kstat_delete() returns no
        // update callback runs on it any more.
        unsafe { kstat_delete(ksp) };
    }
}

/// `ks_update` of an owner's kstat: read-only.
///
/// # Safety
///
/// Called by the kstat framework (or [`create`]) with `ks_lock` (the
/// admin lock) held, on one of this module's owner kstats.
unsafe extern "C" fn update(ksp: *mut kstat_t, rw: c_int) -> c_int {
    let Ok(c) = state::component() else {
        return ENXIO;
    };
    if rw != KSTAT_READ {
        return EACCES;
    }
    // SAFETY: the framework holds ks_lock, the admin lock, around this
    // call, and no other Admin of this thread is in use meanwhile.
    let mut admin = unsafe { state::admin_held() };
    let Some(slot) = admin.owner_kstat_slot(ksp) else {
        return ENXIO;
    };
    let Some((_, f)) = state::owners().table().figures(c, slot) else {
        return ENXIO;
    };
    let values = [
        f.reserved.0,
        f.pending.0,
        f.committed.0,
        f.counters.grows,
        f.counters.shrinks,
        f.counters.refusals,
        f.counters.failures,
    ];
    let Some(data) = admin.owner_kstat_data(slot) else {
        return ENXIO;
    };
    let mut n = 0usize;
    for ((entry, name), value) in data.iter_mut().zip(OWNER_FIELDS).zip(values) {
        match KstatNamed::uint64(name, value) {
            Ok(k) => *entry = k,
            Err(e) => return e.to_errno(),
        }
        n = n.saturating_add(1);
    }
    let (Ok(ndata), Some(size)) = (
        uint_t::try_from(n),
        n.checked_mul(core::mem::size_of::<kstat_named_t>())
            .and_then(|s| size_t::try_from(s).ok()),
    ) else {
        return EINVAL;
    };
    // SAFETY: ksp is a live kstat of this module and the caller holds its
    // ks_lock.
    unsafe {
        (*ksp).ks_ndata = ndata;
        (*ksp).ks_data_size = size;
    }
    0
}
