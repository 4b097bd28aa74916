//! The entry points of headroom owners other than VMs
//! (`arctun_owner_*` in `sys/arctun.h`): the VMM reservoir.
//!
//! Each translates the C ABI into a call on [`owners`](crate::owners)'
//! table, taken from [`state`](crate::state) with the instance table lock,
//! and on the component; the growth's wait holds no table lock.
//!
//! | step | entry point | does |
//! |---|---|---|
//! | grow | `arctun_owner_grow` | [`OwnerTable::grow`]: reserves, never waits |
//! | wait | `arctun_owner_wait` | the component's wait (60 s, `EINTR`), then its claim |
//! | commit | `arctun_owner_commit` | [`OwnerTable::commit`]: joins the committed headroom |
//! | release | `arctun_owner_release` | [`OwnerTable::release`]: after a failure |
//! | shrink | `arctun_owner_shrink` | [`OwnerTable::shrink`]: the ceiling rises by exactly that |
//!
//! The growth in flight lives in the caller's `arctun_owner_grow_t`, like a
//! guest segment's create: a magic word says whether it holds one, and
//! the owner's table keeps a copy, so a buffer that was never filled, was
//! consumed already or was altered is refused instead of trusted.

use illumos_ddi::{c_char, c_int, EINVAL};
use zfs_tunables::{Bytes, Hrtime, ReservationId};

use crate::kernel_platform::PAGE_SIZE;
use crate::owners::{Growth, OwnerId, OwnerName, MODULE_LEN, NAME_LEN};
use crate::state::{self, component};
use crate::{messages, owner_kstats, KmodError};

fn errno_of(r: Result<(), KmodError>) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Reads a NUL-terminated name of at most `max` bytes.
///
/// # Safety
///
/// `p` is NULL or readable up to its NUL or `max + 1` bytes, whichever
/// comes first, for `'a`.
unsafe fn short_name<'a>(p: *const c_char, max: usize) -> Result<&'a [u8], KmodError> {
    if p.is_null() {
        return Err(KmodError::NullPointer);
    }
    let mut len = 0usize;
    loop {
        if len > max {
            return Err(KmodError::BadOwnerName);
        }
        // SAFETY: at most max + 1 bytes, stopping at the first NUL (the
        // contract).
        if unsafe { p.add(len).read() } == 0 {
            break;
        }
        len = len.saturating_add(1);
    }
    // SAFETY: bytes 0..len were read one by one above.
    Ok(unsafe { core::slice::from_raw_parts(p.cast::<u8>(), len) })
}

/// Registers an owner; see [`arctun_owner_register`].
///
/// # Safety
///
/// As [`arctun_owner_register`].
unsafe fn register(
    module: *const c_char,
    name: *const c_char,
    idp: *mut u64,
) -> Result<(), KmodError> {
    component()?;
    if idp.is_null() {
        return Err(KmodError::NullPointer);
    }
    // SAFETY: per the contract.
    let owner =
        unsafe { OwnerName::new(short_name(module, MODULE_LEN)?, short_name(name, NAME_LEN)?)? };
    let (id, slot) = state::owners().table().register(owner)?;
    // The kstat after the owner exists (its update reads the table), and
    // outside the table lock (kstat_create() may sleep; kstat_install()
    // must not run under ks_lock, the admin lock, which ranks above).
    owner_kstats::create(slot, &owner);
    // SAFETY: non-NULL and writable per the contract.
    unsafe { idp.write(id.0) };
    Ok(())
}

/// `int arctun_owner_register(const char *, const char *, uint64_t *);`
///
/// # Safety
///
/// `module` and `name` are NULL or readable up to their NUL or 31 and 16
/// bytes; `idp` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arctun_owner_register(
    module: *const c_char,
    name: *const c_char,
    idp: *mut u64,
) -> c_int {
    // SAFETY: per this function's contract.
    errno_of(unsafe { register(module, name, idp) })
}

/// `int arctun_owner_unregister(uint64_t);`
#[unsafe(no_mangle)]
pub extern "C" fn arctun_owner_unregister(id: u64) -> c_int {
    if let Err(e) = component() {
        return e.to_errno();
    }
    let slot = match state::owners().table().unregister(OwnerId(id)) {
        Ok(slot) => slot,
        Err(e) => return e.to_errno(),
    };
    // The slot is free, but its kstat cell is reused only by a
    // registration, which creates a new kstat: delete this one first,
    // outside the locks. A registration racing into the slot meanwhile
    // would find its handle cleared by this delete; owners register once,
    // at vmm's load, and unregister at its unload, so none does.
    owner_kstats::delete(slot);
    0
}

/// `arctun_owner_grow_t`: room for one growth in flight.
#[repr(C)]
#[derive(Debug)]
pub struct arctun_owner_grow_t {
    /// Opaque to C.
    pub aog_opaque: [u64; 8],
}

/// "arctunog": a buffer holding a growth in flight.
const LIVE: u64 = 0x6172_6374_756e_6f67;
/// A consumed (or refused) buffer.
const DEAD: u64 = 0;

/// What an `arctun_owner_grow_t` holds, in Rust's terms.
#[repr(C)]
struct Token {
    magic: u64,
    owner: u64,
    reservation: u64,
    bytes: u64,
    deadline: u64,
}

// The token fits the caller's buffer, with the buffer's alignment.
const _: () = assert!(core::mem::size_of::<Token>() <= core::mem::size_of::<arctun_owner_grow_t>());
const _: () =
    assert!(core::mem::align_of::<Token>() <= core::mem::align_of::<arctun_owner_grow_t>());
const _: () = assert!(core::mem::size_of::<arctun_owner_grow_t>() == 64);

impl Token {
    fn growth(&self) -> Growth {
        Growth {
            owner: OwnerId(self.owner),
            reservation: ReservationId(self.reservation),
            bytes: Bytes(self.bytes),
            deadline: Hrtime(self.deadline),
        }
    }
}

/// The token in a caller's buffer, if it holds a growth.
///
/// # Safety
///
/// `p` is NULL or points to a readable, writable `arctun_owner_grow_t`
/// that no other thread uses meanwhile.
unsafe fn live_token<'a>(p: *mut arctun_owner_grow_t) -> Option<&'a mut Token> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-NULL per the contract; the buffer is 8-byte aligned and
    // large enough (asserted above), and every bit pattern is a Token.
    let t = unsafe { &mut *p.cast::<Token>() };
    (t.magic == LIVE).then_some(t)
}

fn report_refusal(owner: u64, bytes: u64, e: KmodError) {
    if let KmodError::NeverFits(_) = e {
        messages::warn(format_args!(
            "headroom owner {owner}: growing by {bytes} bytes can never fit on this host: {e}"
        ));
    }
}

/// `int arctun_owner_grow(uint64_t, uint64_t, arctun_owner_grow_t *);`
///
/// # Safety
///
/// `gp` is NULL or points to a writable `arctun_owner_grow_t` that no
/// other thread uses until it is committed or released.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arctun_owner_grow(
    id: u64,
    bytes: u64,
    gp: *mut arctun_owner_grow_t,
) -> c_int {
    if gp.is_null() {
        return EINVAL;
    }
    // SAFETY: non-NULL, writable, and this thread's per the contract;
    // every bit pattern is a Token.
    let t = unsafe { &mut *gp.cast::<Token>() };
    t.magic = DEAD;
    let c = match component() {
        Ok(c) => c,
        Err(e) => return e.to_errno(),
    };
    let grown = state::owners()
        .table()
        .grow(c, OwnerId(id), bytes, PAGE_SIZE);
    match grown {
        Ok(g) => {
            *t = Token {
                magic: LIVE,
                owner: g.owner.0,
                reservation: g.reservation.0,
                bytes: g.bytes.0,
                deadline: g.deadline.0,
            };
            0
        }
        Err(e) => {
            report_refusal(id, bytes, e);
            e.to_errno()
        }
    }
}

/// `int arctun_owner_wait(arctun_owner_grow_t *);`
///
/// # Safety
///
/// As [`arctun_owner_grow`]'s `gp`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arctun_owner_wait(gp: *mut arctun_owner_grow_t) -> c_int {
    let c = match component() {
        Ok(c) => c,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: per the contract.
    let Some(t) = (unsafe { live_token(gp) }) else {
        return EINVAL;
    };
    let g = t.growth();
    // No table lock while it sleeps; the owner cannot go meanwhile (its
    // unregistration refuses while a growth is in flight). Claimed once
    // the wait succeeds, as a guest's segment is: the reservoir takes the
    // pages now (page_xresv(), then page_create_va() page by page), and
    // the headroom term must stop asking the ARC for them.
    let ready = c
        .wait(g.reservation, g.deadline)
        .and_then(|()| c.claim(g.reservation));
    errno_of(ready.map_err(KmodError::from))
}

/// `int arctun_owner_commit(arctun_owner_grow_t *);`
///
/// # Safety
///
/// As [`arctun_owner_grow`]'s `gp`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arctun_owner_commit(gp: *mut arctun_owner_grow_t) -> c_int {
    let c = match component() {
        Ok(c) => c,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: per the contract.
    let Some(t) = (unsafe { live_token(gp) }) else {
        return EINVAL;
    };
    let g = t.growth();
    let r = state::owners().table().commit(c, &g);
    if !matches!(r, Err(KmodError::NoGrowth | KmodError::UnknownOwner)) {
        // Committed, or returned: the owner has nothing in flight now.
        t.magic = DEAD;
    }
    errno_of(r)
}

/// `void arctun_owner_release(arctun_owner_grow_t *, int);`
///
/// # Safety
///
/// As [`arctun_owner_grow`]'s `gp`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arctun_owner_release(gp: *mut arctun_owner_grow_t, err: c_int) {
    let Ok(c) = component() else {
        return;
    };
    // SAFETY: per the contract.
    let Some(t) = (unsafe { live_token(gp) }) else {
        return;
    };
    let g = t.growth();
    t.magic = DEAD;
    // `err` is why, for the caller's logs; the owner's kstat counts the
    // failure whatever it was.
    let _ = err;
    let _ = state::owners().table().release(c, &g);
}

/// `int arctun_owner_shrink(uint64_t, uint64_t);`
#[unsafe(no_mangle)]
pub extern "C" fn arctun_owner_shrink(id: u64, bytes: u64) -> c_int {
    let c = match component() {
        Ok(c) => c,
        Err(e) => return e.to_errno(),
    };
    errno_of(
        state::owners()
            .table()
            .shrink(c, OwnerId(id), bytes, PAGE_SIZE),
    )
}
