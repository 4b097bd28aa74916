//! The entry point of OS-8638's `ZFS_IOC_ARC` (`arctun_arc_resize` in
//! `sys/arctun.h`): the C ABI over [`arc_resize`](crate::arc_resize), which
//! says what the write does and refuses.

use illumos_ddi::{c_int, EINVAL};

use crate::arc_resize::{self, ResizeReply};
use crate::state::component;

/// `arctun_arc_resize_t`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct arctun_arc_resize_t {
    /// In: the new minimum (0 keeps); out: `c_min` in force.
    pub aar_c_min: u64,
    /// In: the new maximum (0 keeps); out: the effective ceiling.
    pub aar_c_max: u64,
    /// Out: `arc_init()`'s default `c_min`.
    pub aar_default_c_min: u64,
    /// Out: `arc_init()`'s default `c_max`.
    pub aar_default_c_max: u64,
    /// Out: `arc_init()`'s `allmem`.
    pub aar_allmem: u64,
}

/// `int arctun_arc_resize(arctun_arc_resize_t *, int);`
///
/// # Safety
///
/// `aarp` is NULL or points to a readable and writable
/// `arctun_arc_resize_t` that no other thread uses meanwhile.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arctun_arc_resize(aarp: *mut arctun_arc_resize_t, cmd: c_int) -> c_int {
    if aarp.is_null() {
        return EINVAL;
    }
    let c = match component() {
        Ok(c) => c,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: non-NULL, readable and this thread's per the contract.
    let (c_min, c_max) = unsafe { ((*aarp).aar_c_min, (*aarp).aar_c_max) };
    let err = match arc_resize::resize(c, cmd, c_min, c_max) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    };
    let r: ResizeReply = arc_resize::reply(c);
    // SAFETY: as above, writable.
    unsafe {
        aarp.write(arctun_arc_resize_t {
            aar_c_min: r.c_min,
            aar_c_max: r.c_max,
            aar_default_c_min: r.default_c_min,
            aar_default_c_max: r.default_c_max,
            aar_allmem: r.allmem,
        });
    }
    err
}
