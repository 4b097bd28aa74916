//! The entry points vmm calls (`arctun_vmm_*` in `sys/arctun.h`), over
//! vmm-client.
//!
//! vmm registers once its driver attaches ([`arctun_vmm_register`]): that
//! builds the vmm client in static storage (it registers the
//! `vmm_arc_page_overhead` tunable), binds vmm's tunable variables and
//! creates the `vmm:0:arc_resv` kstat. Each VM is an instance of the
//! client, created with the VM (`vm_create()`) and destroyed once its
//! memory is freed (`vm_destroy()`), which returns every reservation it
//! still holds. Names are vmm's to keep unique ([`NameOwner::Caller`]):
//! a VM destroyed while its device is held open leaves vmm's list at once
//! but reaches `vm_destroy()` only at the last close, and a VM of the same
//! name may be created in between, as stock vmm allows. The instance is
//! found by its id only. Each memory segment (`vm_alloc_memseg()`) is one create of
//! the client, in four steps the driver drives, each one of vmm-client's
//! `VM_ALLOC_MEMSEG` steps ([`ioctl_commands`](vmm_client::ioctl_commands),
//! which the simulator drives too):
//!
//! | step | entry point | vmm-client | the create after it |
//! |---|---|---|---|
//! | reserve | `arctun_vmm_reserve` | `memseg_reserve` (refusals are immediate) | `Reserved` |
//! | wait | `arctun_vmm_wait` | `memseg_wait`: `wait_headroom` (until free memory covers it plus `lotsfree + desfree`; `ETIME`, `EINTR`), then `claim_headroom`: out of the headroom term before the driver takes its pages, still counted by younger waiters | `Claimed` (`Reserved` or `Ready` if it failed) |
//! | mark allocated | `arctun_vmm_mark_allocated` | `memseg_commit`: the whole segment recorded, then `finish` | gone |
//! | release | `arctun_vmm_release` | `memseg_release`: `abort` (after any failure) | gone |
//!
//! The driver allocates the segment itself (`vm_object_allocate()`,
//! one `vmem_alloc()`), between the wait and the marking; the allocator
//! handed to vmm-client therefore only records (see [`DriverAllocates`]).
//!
//! The create in flight lives in the caller's `arctun_vmm_create_t`, an
//! opaque, 8-byte aligned buffer on the driver's stack: no table, and no
//! lock beyond the client's. A magic word says which state the create it
//! holds is in, or that it holds none, so a buffer that was never filled,
//! or was already consumed, is refused (`EINVAL`) instead of read, and so
//! is a step the create's state does not allow: a second wait, or a wait
//! after the claim, is `EINVAL` and leaves the create as it was; marking
//! a segment allocated before its wait succeeded is `EINVAL` and rolls
//! it back. Rust callers get the same order from the types
//! (`Creation<Reserved>`, `<Ready>`, `<Claimed>`); C callers from the
//! word.
//!
//! # errno at the driver's boundary
//!
//! Every vmm-client error becomes the errno vmm returns through
//! [`ioctl_errno`], vmm-client's one mapping for its driver boundary: the
//! client's errno, except `ENOSPC` for a reservation that can never fit
//! on this host (bhyve retries `ENOMEM` once a second forever and exits on
//! anything else; see that function). Such a refusal is also reported
//! with `cmn_err`, so when bhyve exits with "Unable to setup memory (28)"
//! the console says why. No change to bhyve is needed.

use core::mem::ManuallyDrop;

use illumos_ddi::{c_char, c_int, uint_t, EINVAL};
use vmm_client::ioctl_commands::{
    ioctl_errno, memseg_commit, memseg_release, memseg_reserve, memseg_wait, MemsegCreate,
};
use vmm_client::{
    Claimed, ClientConfig, Creation, DriverAllocates, InstanceId, NameOwner, Ready, Reserved,
    VmmError,
};
use zfs_tunables::TunableError;

use crate::raw_vars::{self, arctun_var_t};
use crate::state::{self, client, component, VarOwner};
use crate::{kstats, messages, KmodError};

/// Registers vmm; see [`arctun_vmm_register`].
///
/// # Safety
///
/// As [`arctun_vmm_register`].
unsafe fn vmm_register(vars: *const arctun_var_t, nvars: uint_t) -> Result<(), KmodError> {
    let c = component()?;
    let n = usize::try_from(nvars).map_err(|_| KmodError::TooManyVariables)?;
    let config = ClientConfig {
        names: NameOwner::Caller,
        ..ClientConfig::default()
    };
    let registration = state::begin_vmm_registration(c, config)?;
    // SAFETY: the caller vouches for `vars` (see arctun_vmm_register).
    if let Err(e) = unsafe { raw_vars::register(VarOwner::Vmm, c, vars, n) } {
        registration.abandon();
        return Err(e);
    }
    // The kstat before the client is published: an unregistration tears
    // down only what a complete registration made, and until then the
    // kstat's update finds no client and reads nothing.
    kstats::create_vmm_kstat();
    registration.complete();
    Ok(())
}

/// `int arctun_vmm_register(const arctun_var_t *, uint_t);`
///
/// # Safety
///
/// `vars` points to `nvars` readable `arctun_var_t`s (or `nvars` is 0),
/// each name NUL-terminated (or at least 31 readable bytes) and each
/// variable valid until `arctun_vmm_unregister()`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arctun_vmm_register(vars: *const arctun_var_t, nvars: uint_t) -> c_int {
    // SAFETY: per this function's contract.
    match unsafe { vmm_register(vars, nvars) } {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `void arctun_vmm_unregister(void);`
#[unsafe(no_mangle)]
pub extern "C" fn arctun_vmm_unregister() {
    // Claims the teardown: of two unregistrations, or one racing a
    // registration still in progress, at most one gets past here.
    let Some(teardown) = state::begin_vmm_teardown() else {
        return;
    };
    kstats::delete_vmm_kstat();
    raw_vars::unregister(VarOwner::Vmm);
    // Last, once the kstat that reads the client is gone: dropping the
    // client returns any reservation left and unregisters the tunable.
    teardown.complete();
}

/// The longest VM name (`VM_MAX_NAMELEN - 1`) plus its NUL.
const NAME_BUF: usize = vmm_client::instance_table::VM_MAX_NAMELEN;

/// Reads a VM name: NUL-terminated within `VM_MAX_NAMELEN` bytes.
///
/// # Safety
///
/// `p` is non-NULL and readable up to its NUL or `VM_MAX_NAMELEN` bytes,
/// whichever comes first, for `'a`.
unsafe fn vm_name<'a>(p: *const c_char) -> Result<&'a [u8], VmmError> {
    let mut len = 0usize;
    loop {
        if len >= NAME_BUF {
            return Err(VmmError::BadName);
        }
        // SAFETY: below the bound and before any NUL (the contract).
        if unsafe { p.add(len).read() } == 0 {
            break;
        }
        len = len.saturating_add(1);
    }
    // SAFETY: bytes 0..len were read one by one above.
    Ok(unsafe { core::slice::from_raw_parts(p.cast::<u8>(), len) })
}

/// Says why a segment was refused, where bhyve's `errno` alone does not:
/// one that can never fit on the console (bhyve exits), one the host
/// cannot give now without paging in the system log (bhyve retries
/// `ENOMEM` every second, so this may repeat as often). The second
/// message names the bytes the segment waits for, what the host can give
/// now, the shortfall and the free memory a start keeps (the margin),
/// and fits in `cmn_err`'s `LOG_MSGSIZE` (200) even with every figure at
/// its widest (197 bytes with `arctun: `).
fn report_refusal(e: VmmError, len: u64) {
    match e {
        VmmError::Arc(TunableError::NeverFits { .. }) => messages::warn(format_args!(
            "vmm: a guest memory segment of {len} bytes cannot start on this host: {e}"
        )),
        VmmError::Arc(TunableError::ShortOfMemory {
            requested,
            available,
            margin,
        }) => messages::note_to_log(format_args!(
            "vmm: guest segment of {} bytes refused now (ENOMEM), {} short: \
             host can give {} bytes without paging, keeping {} free",
            requested.0,
            requested.0.saturating_sub(available.0),
            available.0,
            margin.0
        )),
        _ => {}
    }
}

/// `int arctun_vmm_instance_create(const char *, uint64_t *);`
///
/// # Safety
///
/// `name` is NULL or readable up to its NUL or `VM_MAX_NAMELEN` bytes;
/// `idp` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arctun_vmm_instance_create(name: *const c_char, idp: *mut u64) -> c_int {
    let cl = match client() {
        Ok(cl) => cl,
        Err(e) => return e.to_errno(),
    };
    if name.is_null() || idp.is_null() {
        return EINVAL;
    }
    // SAFETY: non-NULL and readable per the contract.
    let name = match unsafe { vm_name(name) } {
        Ok(n) => n,
        Err(e) => return ioctl_errno(e),
    };
    match cl.create_instance(name) {
        Ok(id) => {
            // SAFETY: non-NULL and writable per the contract.
            unsafe { idp.write(id.0) };
            0
        }
        Err(e) => ioctl_errno(e),
    }
}

/// `int arctun_vmm_instance_destroy(uint64_t);`
#[unsafe(no_mangle)]
pub extern "C" fn arctun_vmm_instance_destroy(id: u64) -> c_int {
    match client() {
        Ok(cl) => match cl.destroy(InstanceId(id)) {
            Ok(_) => 0,
            Err(e) => ioctl_errno(e),
        },
        Err(e) => e.to_errno(),
    }
}

/// `arctun_vmm_create_t`: room for one create in flight.
#[repr(C)]
#[derive(Debug)]
pub struct arctun_vmm_create_t {
    /// Opaque to C.
    pub avc_opaque: [u64; 8],
}

/// What an `arctun_vmm_create_t` holds, in Rust's terms.
#[repr(C)]
struct Token {
    /// Which of `slot`'s fields holds the create in flight ([`RESERVED`],
    /// [`READY`], [`CLAIMED`]), or [`DEAD`].
    magic: u64,
    /// Why the last wait failed (a [`WaitFailure`] code), for the counter
    /// the release files the failure under.
    wait_failure: u64,
    slot: Slot,
}

/// The create in flight, in the state its last step left it; `magic`
/// says which field was written. (An enum would not fit the caller's 64
/// bytes: its tag would need a word of its own.)
#[repr(C)]
union Slot {
    reserved: ManuallyDrop<Creation<Reserved>>,
    ready: ManuallyDrop<Creation<Ready>>,
    claimed: ManuallyDrop<Creation<Claimed>>,
}

/// "arctunvr": a token holding a reserved create (after
/// arctun_vmm_reserve(), or a failed wait).
const RESERVED: u64 = 0x6172_6374_756e_7672;
/// "arctunvy": a token holding a create whose headroom was found but
/// whose claim failed.
const READY: u64 = 0x6172_6374_756e_7679;
/// "arctunvc": a token holding a claimed create (after a successful
/// arctun_vmm_wait()).
const CLAIMED: u64 = 0x6172_6374_756e_7663;
/// A consumed (or refused) token.
const DEAD: u64 = 0;

/// Why a wait failed, kept in the token until the release.
#[derive(Clone, Copy)]
#[repr(u64)]
enum WaitFailure {
    None = 0,
    TimedOut = 1,
    Interrupted = 2,
    Destroyed = 3,
}

impl WaitFailure {
    fn of(e: VmmError) -> WaitFailure {
        match e {
            VmmError::Arc(TunableError::TimedOut) => WaitFailure::TimedOut,
            VmmError::Arc(TunableError::Interrupted) => WaitFailure::Interrupted,
            _ => WaitFailure::Destroyed,
        }
    }

    fn error(code: u64, caller_errno: c_int) -> VmmError {
        match code {
            1 => VmmError::Arc(TunableError::TimedOut),
            2 => VmmError::Arc(TunableError::Interrupted),
            3 => VmmError::Destroyed,
            _ => VmmError::AllocFailed {
                errno: caller_errno,
            },
        }
    }
}

/// The token in a caller's buffer.
///
/// # Safety
///
/// `p` is NULL or points to a readable, writable `arctun_vmm_create_t`
/// that no other thread uses meanwhile.
unsafe fn token<'a>(p: *mut arctun_vmm_create_t) -> Option<&'a mut Token> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-NULL per the contract; the buffer is 8-byte aligned and
    // large enough (asserted below). `magic` and `wait_failure` are plain
    // words; `slot` is only read through `take`, which reads the field
    // `magic` says was written.
    Some(unsafe { &mut *p.cast::<Token>() })
}

/// Takes the create out of a token, leaving it dead: `None` if it held
/// none (never filled, or already consumed).
fn take(t: &mut Token) -> Option<(MemsegCreate, u64)> {
    let magic = t.magic;
    t.magic = DEAD;
    // In each arm, `magic` names the field `put` wrote last, and it was
    // not taken since (taking marks the token dead).
    let c = match magic {
        RESERVED => {
            // SAFETY: `reserved` was written (above).
            let c = unsafe { core::ptr::read(&raw const t.slot.reserved) };
            MemsegCreate::Reserved(ManuallyDrop::into_inner(c))
        }
        READY => {
            // SAFETY: `ready` was written (above).
            let c = unsafe { core::ptr::read(&raw const t.slot.ready) };
            MemsegCreate::Ready(ManuallyDrop::into_inner(c))
        }
        CLAIMED => {
            // SAFETY: `claimed` was written (above).
            let c = unsafe { core::ptr::read(&raw const t.slot.claimed) };
            MemsegCreate::Claimed(ManuallyDrop::into_inner(c))
        }
        _ => return None,
    };
    Some((c, t.wait_failure))
}

/// Puts a create in flight into a token, which becomes live.
fn put(t: &mut Token, c: MemsegCreate) {
    match c {
        MemsegCreate::Reserved(c) => {
            t.slot = Slot {
                reserved: ManuallyDrop::new(c),
            };
            t.magic = RESERVED;
        }
        MemsegCreate::Ready(c) => {
            t.slot = Slot {
                ready: ManuallyDrop::new(c),
            };
            t.magic = READY;
        }
        MemsegCreate::Claimed(c) => {
            t.slot = Slot {
                claimed: ManuallyDrop::new(c),
            };
            t.magic = CLAIMED;
        }
    }
}

/// `int arctun_vmm_reserve(uint64_t, int, uint64_t, int,
/// arctun_vmm_create_t *);`
///
/// # Safety
///
/// `tokp` is NULL or points to a writable `arctun_vmm_create_t` that no
/// other thread uses until it is released or marked allocated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arctun_vmm_reserve(
    id: u64,
    segid: c_int,
    len: u64,
    sysmem: c_int,
    tokp: *mut arctun_vmm_create_t,
) -> c_int {
    if tokp.is_null() {
        return EINVAL;
    }
    // SAFETY: non-NULL, writable, and this thread's per the contract.
    let Some(t) = (unsafe { token(tokp) }) else {
        return EINVAL;
    };
    t.magic = DEAD;
    t.wait_failure = WaitFailure::None as u64;
    let cl = match client() {
        Ok(cl) => cl,
        Err(e) => return e.to_errno(),
    };
    match memseg_reserve(cl, InstanceId(id), i64::from(segid), len, sysmem != 0) {
        Ok(c) => {
            put(t, MemsegCreate::Reserved(c));
            0
        }
        Err(e) => {
            report_refusal(e, len);
            ioctl_errno(e)
        }
    }
}

/// `int arctun_vmm_wait(arctun_vmm_create_t *);`
///
/// # Safety
///
/// As [`arctun_vmm_reserve`]'s `tokp`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arctun_vmm_wait(tokp: *mut arctun_vmm_create_t) -> c_int {
    let cl = match client() {
        Ok(cl) => cl,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: per the contract.
    let Some(t) = (unsafe { token(tokp) }) else {
        return EINVAL;
    };
    // Only a reserved create waits; any other is put back untouched.
    let c = match take(t) {
        Some((MemsegCreate::Reserved(c), _)) => c,
        Some((other, _)) => {
            put(t, other);
            return EINVAL;
        }
        None => return EINVAL,
    };
    // The caller allocates the segment next, and page_create_va() takes
    // freemem for all of it at once, before the pages are zeroed (seconds,
    // for a large guest). Counted both as gone from freemem and as pending
    // meanwhile, the segment would show as a deficit the ARC's reaper frees
    // a second time; so it is claimed now: out of the headroom term, still
    // counted by younger waiters until it is marked allocated, so they are
    // not admitted on the memory it is taking.
    match memseg_wait(cl, c) {
        Ok(c) => {
            put(t, MemsegCreate::Claimed(c));
            0
        }
        Err((c, e)) => {
            put(t, c);
            t.wait_failure = WaitFailure::of(e) as u64;
            ioctl_errno(e)
        }
    }
}

/// `int arctun_vmm_mark_allocated(arctun_vmm_create_t *);`
///
/// # Safety
///
/// As [`arctun_vmm_reserve`]'s `tokp`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arctun_vmm_mark_allocated(tokp: *mut arctun_vmm_create_t) -> c_int {
    let cl = match client() {
        Ok(cl) => cl,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: per the contract.
    let Some(t) = (unsafe { token(tokp) }) else {
        return EINVAL;
    };
    let mut alloc = DriverAllocates;
    let committed = match take(t) {
        Some((MemsegCreate::Claimed(c), _)) => memseg_commit(cl, c, &mut alloc),
        // A claim that failed (the instance was destroyed): the commit
        // finds that and rolls back.
        Some((MemsegCreate::Ready(c), _)) => memseg_commit(cl, c, &mut alloc),
        // Marked allocated without a successful wait: a caller's bug,
        // rolled back.
        Some((c @ MemsegCreate::Reserved(_), _)) => {
            Err(memseg_release(cl, c, &mut alloc, VmmError::OutOfOrder))
        }
        None => return EINVAL,
    };
    match committed {
        Ok(()) => 0,
        Err(e) => ioctl_errno(e),
    }
}

/// `void arctun_vmm_release(arctun_vmm_create_t *, int);`
///
/// # Safety
///
/// As [`arctun_vmm_reserve`]'s `tokp`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arctun_vmm_release(tokp: *mut arctun_vmm_create_t, err: c_int) {
    let Ok(cl) = client() else {
        return;
    };
    // SAFETY: per the contract.
    let Some(t) = (unsafe { token(tokp) }) else {
        return;
    };
    let Some((c, wait_failure)) = take(t) else {
        return;
    };
    let _ = memseg_release(
        cl,
        c,
        &mut DriverAllocates,
        WaitFailure::error(wait_failure, err),
    );
}

// The token fits the caller's buffer, with the buffer's alignment.
const _: () = assert!(core::mem::size_of::<Token>() <= core::mem::size_of::<arctun_vmm_create_t>());
const _: () =
    assert!(core::mem::align_of::<Token>() <= core::mem::align_of::<arctun_vmm_create_t>());
const _: () = assert!(core::mem::size_of::<arctun_vmm_create_t>() == 64);
