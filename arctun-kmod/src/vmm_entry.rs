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
//! the client, in four steps the driver drives:
//!
//! | step | entry point | vmm-client |
//! |---|---|---|
//! | reserve | `arctun_vmm_reserve` | `begin_alloc_memseg` (refusals are immediate) |
//! | wait | `arctun_vmm_wait` | `wait_headroom` (until free memory covers it plus `lotsfree + desfree`; `ETIME`, `EINTR`), then `claim_headroom`: out of the headroom term before the driver takes its pages, still counted by younger waiters |
//! | mark allocated | `arctun_vmm_mark_allocated` | `allocate_chunk` for the whole segment, then `finish` |
//! | release | `arctun_vmm_release` | `abort` (after any failure) |
//!
//! The driver allocates the segment itself (`vm_object_allocate()`,
//! one `vmem_alloc()`), between the wait and the marking; the allocator
//! handed to vmm-client therefore only records (see [`DriverAllocates`]).
//!
//! The create in flight lives in the caller's `arctun_vmm_create_t`, an
//! opaque, 8-byte aligned buffer on the driver's stack: no table, and no
//! lock beyond the client's. A magic word says whether it holds a live
//! create, so a buffer that was never filled, or was already consumed, is
//! refused (`EINVAL`) instead of read.
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

use core::mem::MaybeUninit;

use illumos_ddi::{c_char, c_int, uint_t, EINVAL};
use vmm_client::ioctl_commands::ioctl_errno;
use vmm_client::{
    AllocProgress, ClientConfig, Creation, InstanceId, MemSegRequest, NameOwner, SegmentAllocator,
    SegmentId, VmmError,
};
use zfs_tunables::{Bytes, TunableError};

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
    /// [`LIVE`] while `creation` holds a create in flight.
    magic: u64,
    /// Why the last wait failed (a [`WaitFailure`] code), for the counter
    /// the release files the failure under.
    wait_failure: u64,
    creation: MaybeUninit<Creation>,
}

/// "arctunvc": a token holding a live create.
const LIVE: u64 = 0x6172_6374_756e_7663;
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

/// The token in a caller's buffer, if it holds a live create.
///
/// # Safety
///
/// `p` is NULL or points to a readable, writable `arctun_vmm_create_t`
/// that no other thread uses meanwhile.
unsafe fn live_token<'a>(p: *mut arctun_vmm_create_t) -> Option<&'a mut Token> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-NULL per the contract; the buffer is 8-byte aligned and
    // large enough (asserted below), and Token has no invalid bit pattern
    // except in `creation`, which is only read when `magic` says it was
    // written by arctun_vmm_reserve().
    let t = unsafe { &mut *p.cast::<Token>() };
    (t.magic == LIVE).then_some(t)
}

/// Takes the create out of a live token, leaving it dead.
fn take(t: &mut Token) -> (Creation, u64) {
    t.magic = DEAD;
    // SAFETY: the token was live, so `creation` was written by
    // arctun_vmm_reserve() and not taken since (taking marks it dead).
    let c = unsafe { t.creation.assume_init_read() };
    (c, t.wait_failure)
}

/// The driver's own allocation, seen from vmm-client: the segment is
/// allocated (and, on failure, freed) by the driver, so `allocate` only
/// lets vmm-client record it and `free` has nothing to do.
pub struct DriverAllocates;

impl SegmentAllocator for DriverAllocates {
    fn allocate(&mut self, _: InstanceId, _: SegmentId, _: Bytes) -> Result<(), i32> {
        Ok(())
    }

    fn free(&mut self, _: InstanceId, _: SegmentId, _: Bytes) {}
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
    let t = unsafe { &mut *tokp.cast::<Token>() };
    t.magic = DEAD;
    t.wait_failure = WaitFailure::None as u64;
    let cl = match client() {
        Ok(cl) => cl,
        Err(e) => return e.to_errno(),
    };
    let seg = match SegmentId::new(i64::from(segid)) {
        Ok(seg) => seg,
        Err(e) => return ioctl_errno(e),
    };
    let req = MemSegRequest {
        segid: seg,
        len: Bytes(len),
        sysmem: sysmem != 0,
    };
    match cl.begin_alloc_memseg(InstanceId(id), req) {
        Ok(c) => {
            t.creation.write(c);
            t.magic = LIVE;
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
    let Some(t) = (unsafe { live_token(tokp) }) else {
        return EINVAL;
    };
    // SAFETY: the token is live, so `creation` holds a create.
    let c = unsafe { t.creation.assume_init_mut() };
    // The caller allocates the segment next, and page_create_va() takes
    // freemem for all of it at once, before the pages are zeroed (seconds,
    // for a large guest). Counted both as gone from freemem and as pending
    // meanwhile, the segment would show as a deficit the ARC's reaper frees
    // a second time; so it is claimed now: out of the headroom term, still
    // counted by younger waiters until it is marked allocated, so they are
    // not admitted on the memory it is taking.
    let ready = cl.wait_headroom(c).and_then(|()| cl.claim_headroom(c));
    match ready {
        Ok(()) => 0,
        Err(e) => {
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
    let Some(t) = (unsafe { live_token(tokp) }) else {
        return EINVAL;
    };
    let (mut c, _) = take(t);
    let mut alloc = DriverAllocates;
    loop {
        match cl.allocate_chunk(&mut c, &mut alloc, Bytes(u64::MAX)) {
            Ok(AllocProgress::More) => {}
            Ok(AllocProgress::Done) => break,
            Err(e) => return ioctl_errno(cl.abort(c, &mut alloc, e)),
        }
    }
    match cl.finish(c, &mut alloc) {
        Ok(_) => 0,
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
    let Some(t) = (unsafe { live_token(tokp) }) else {
        return;
    };
    let (c, wait_failure) = take(t);
    let _ = cl.abort(
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
