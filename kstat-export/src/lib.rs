//! The kernel side of the ARC tunables' admin paths: the kstats, their update callbacks, and the raw variables `mdb -kw` writes.
//!
//! # Big theory statement
//!
//! ## What it is for
//!
//! `zfs-tunables` makes the ARC's limits adjustable and lets kernel
//! consumers reserve headroom. Admins reach that through the interfaces
//! they already use on illumos; this crate is the part of those
//! interfaces that lives in the kernel, and everything in it is linked by
//! the kernel module (`arctun-kmod`):
//!
//! | admin does | the kernel runs | module |
//! |---|---|---|
//! | `kstat -p zfs:0:arcstats` | four named kstats and their update callbacks | [`exported_kstats`] |
//! | writes `zfs:0:tunables` | the write callback, over the driver's staging copy | [`exported_kstats`], [`kstat_driver`] |
//! | `echo 'zfs_arc_max/Z 0x200000000' \| mdb -kw` | the raw variables and their sync tick | [`raw_variables`] |
//! | reads the console | a refused raw write's warning, formatted without an allocator | [`message`] |
//!
//! What admins *type* (`/etc/system` lines, `mdb -kw` commands, `kstat`
//! operands and write requests) and what `kstat -p` *prints* are parsed
//! and rendered by the `admin-syntax` crate, which the simulator, the
//! admin command and the fuzz targets use and the kernel module does not:
//! krtld parses `/etc/system` before the module loads, `mdb` stores to
//! the C globals itself, and `kstat(8)` runs in userland. So the kernel
//! links no parser.
//!
//! ## The kstats
//!
//! [`KstatNamed`] has `kstat_named_t`'s layout (48 bytes, union at 32),
//! checked at compile time against `illumos-ddi`'s transcription of the
//! C structure, and illumos's numbering, taken from the same crate
//! (`KSTAT_DATA_UINT64` 4, `KSTAT_DATA_STRING` 9, `KSTAT_STRLEN` 31 with
//! 30 significant characters, `KSTAT_FLAG_WRITABLE` 0x04). A name that
//! does not fit is refused rather than truncated, so two statistics can
//! never collide. `zfs:0:arcstats` (`c_max` is the *effective* ceiling),
//! `zfs:0:tunables` (writable; one `KSTAT_DATA_UINT64` per runtime
//! tunable of every registrant), `zfs:0:arc_headroom` and `vmm:0:arc_resv`
//! are described in [`exported_kstats`].
//!
//! ## Writes, as illumos performs them
//!
//! `write_kstat_data()` copies the caller's buffer *over `ks_data`* before
//! the kstat's update callback runs ([`kstat_driver`] gives the exact
//! order of its checks). So no writable kstat here points `ks_data` at
//! live values: `ks_data` is a staging copy, refreshed by every read; the
//! write callback checks every entry (name, type) and applies every
//! changed value through `ArcTunables::set_many`, all or nothing; a
//! refusal leaves the live values as they were. Errnos: `EPERM` without
//! privilege, `EACCES` for a kstat that is not writable (as
//! `zfs:0:arcstats`), `EINVAL` for a buffer of the wrong size, types or
//! names, and the core's own errno for a refused value (`EINVAL` out of
//! bounds, `ERANGE` minimum above maximum, `EBUSY` conflicts with live
//! reservations). [`Kstat`] and [`KstatSet`] are the driver's side of
//! that sequence for userland, so the simulator and the tests call the
//! update callbacks in the kernel's order.
//!
//! ## Raw variables
//!
//! `mdb -kw` writes a C global and tells nobody. The sync tick (run from
//! the ARC's 1 s reap thread) validates and applies a changed variable
//! through `zfs-tunables`, or restores it and reports a
//! [`RawSyncWarning`] that names the variable, the refused value and the
//! value kept. Storage is behind [`RawCell`], so the kernel module binds
//! the real globals and the simulator owns atomics.
//!
//! ## Invariants
//!
//! - A refused kstat write or raw write changes no tunable; a refused raw
//!   write is undone in the variable.
//! - After a sync tick, every bound raw variable holds the value in force,
//!   except one an admin wrote after the tick looked at it.
//! - A successful `zfs:0:tunables` write updates the raw variables and
//!   their last-applied values, so the next tick does not undo it.
//! - Every statistic name fits `KSTAT_STRLEN`.
//!
//! ## Locking
//!
//! This crate adds one lock, and it is the caller's: the raw variables'
//! last-applied table is mutated through `&mut` by the sync tick and by a
//! `zfs:0:tunables` write. In the kernel one `kmutex_t` serializes them:
//! the reap thread holds it around [`RawVariables::sync_tick`], and the
//! tunables kstat's `ks_lock` points at it (so the driver holds it around
//! both update callbacks). Lock order: that mutex, then the component's
//! lock inside `ArcTunables`. The raw variables themselves are atomics
//! (through `zfs_tunables::sync`), written by `mdb` without any lock.
//! Reads of the other kstats take only the component's lock.
//!
//! ## Design decisions
//!
//! - **A refused kstat value returns the core's errno**, not always
//!   `EINVAL`: `ERANGE` and `EBUSY` tell an admin which rule the value
//!   broke. Out-of-bounds values are `EINVAL`.
//! - **`zfs:0:tunables` is `VAR_SIZE`**: modules register tunables after
//!   zfs (vmm loads later), and the driver runs the read update before it
//!   compares `ks_ndata`, which is exactly what `VAR_SIZE` is for.
//! - **The write callback checks names**; the driver checks only sizes and
//!   types, but the names arrive in `ks_data` and a permuted buffer would
//!   otherwise put values into the wrong tunables.
//! - **Several raw writes in one tick are tried together first**, then one
//!   by one, so a pair that is only valid together (raising `zfs_arc_min`
//!   above the old `zfs_arc_max` while raising that) is not refused.
//! - **The sync tick also follows changes made through other paths**
//!   (a direct call, a kstat write made without the raw variables), so the
//!   C globals always read the value in force.
//! - **No parser is linked into the kernel**: see "What it is for".
//!
//! # The API the kernel module and the simulator call
//!
//! Kernel module: the idents [`ARCSTATS`], [`TUNABLES`],
//! [`ARC_HEADROOM`], [`ARC_RESV`] for `kstat_create()`; the update
//! callbacks [`ArcstatsUpdate`], [`TunablesUpdate`], [`ArcHeadroomUpdate`],
//! [`ArcResvUpdate`] (through [`KstatUpdate`]) called from `ks_update`
//! with `ks_data` as `&mut [KstatNamed]`; [`RawVariables::bind`] on the
//! C globals and [`RawVariables::sync_tick`] from the reap thread;
//! [`ExportError`] and its errno.
//!
//! Simulator and tests: [`KstatSet`] with [`Sources`] for reads and
//! writes (`write_values`); [`RawVariables::with_owned_cells`] and
//! [`RawVariables::variable`] for the cells `mdb` writes;
//! [`format_message`] for what the kernel hands `cmn_err`.
//!
//! # Builds
//!
//! `no_std` without an allocator, always (the tests link std); the
//! crate has no features.
#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented,
        clippy::cast_possible_truncation,
        clippy::cast_possible_wrap,
        clippy::cast_sign_loss
    )
)]

mod error;
pub mod exported_kstats;
mod kstat_data_type;
pub mod kstat_driver;
pub mod kstat_named;
pub mod message;
pub mod raw_variables;

pub use error::ExportError;
pub use exported_kstats::{
    ArcHeadroomUpdate, ArcResvUpdate, ArcstatsUpdate, KstatId, KstatSet, Sources, TunablesUpdate,
    ARCSTATS, ARC_HEADROOM, ARC_RESV, TUNABLES,
};
pub use kstat_driver::{Credential, Kstat, KstatUpdate};
pub use kstat_named::{KstatDataType, KstatFlags, KstatIdent, KstatName, KstatNamed, KstatValue};
pub use message::format_message;
pub use raw_variables::{
    BoundVariable, RawCell, RawSyncWarning, RawVariables, RecordApplied, SyncOutcome,
};
