//! The module's lifecycle entry points (`arctun_mod_init`,
//! `arctun_mod_busy`, `arctun_mod_fini`), for the C half's `_init()` and
//! `_fini()`: the C ABI over [`state`](crate::state)'s [`init`](state::init),
//! [`busy`](state::busy) and [`fini`](state::fini).

use illumos_ddi::c_int;

use crate::messages;
use crate::state::{self, Fini};

/// Initializes the module: its locks and the component. From `_init()`.
#[unsafe(no_mangle)]
pub extern "C" fn arctun_mod_init() -> c_int {
    match state::init() {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Non-zero while the module must not be unloaded: the ARC or vmm is
/// registered, or a reservation is live. From `_fini()`.
#[unsafe(no_mangle)]
pub extern "C" fn arctun_mod_busy() -> c_int {
    c_int::from(state::busy())
}

/// Tears the module down. From `_fini()`, after `arctun_mod_busy()`
/// returned 0 and `mod_remove()` succeeded.
#[unsafe(no_mangle)]
pub extern "C" fn arctun_mod_fini() {
    if state::fini() == Fini::InUse {
        // The caller broke the contract; tearing down now would leave
        // registered clients with dangling state. Everything is kept.
        messages::warn(format_args!(
            "arctun_mod_fini() called while the module is in use; ignored"
        ));
    }
}
