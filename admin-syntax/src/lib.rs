//! What admins type and read about the runtime ARC tunables: `/etc/system` lines, `mdb -kw` writes, `kstat` operands and write requests, and `kstat -p` output.
//!
//! # Big theory statement
//!
//! ## What it is for
//!
//! `kstat-export` is the kernel side of the admin paths: the kstats, their
//! update callbacks, the raw variables and their sync tick. This crate is
//! the other side, the text: it parses what an admin types and renders
//! what `kstat -p` prints, and performs the parsed input on those kernel
//! interfaces the way the illumos tool would.
//!
//! | admin types or reads | parser or renderer | performed by | module |
//! |---|---|---|---|
//! | `set zfs:zfs_arc_max = 0x200000000` in `/etc/system` | [`parse_system_line`] | [`apply_etc_system`], at boot | [`etc_system`] |
//! | `echo 'zfs_arc_max/Z 0x200000000' \| mdb -kw` | [`parse_mdb_write`] | [`perform_mdb_write`] on a raw variable | [`mdb_write`] |
//! | `kstat -p zfs:0:arcstats:c_*` | [`parse_selector`] | `kstat_p`, `render_kstat_p` (std) | [`kstat_operands`], `kstat_p` |
//! | `zfs:0:tunables:zfs_arc_max=8G` (a write request) | [`parse_assignment`] | [`write_assignments`] | [`kstat_operands`] |
//! | a refusal of any of these | | [`OperatorMessage`], [`BootFinding`] | [`messages`] |
//!
//! Its users are the simulator (`tests-vm`), the admin command, which
//! writes tunables from requests with size suffixes and reads back the
//! `set` lines of `/etc/system`, and the fuzz targets. The kernel module
//! does not link it: krtld parses `/etc/system` before the module loads,
//! `mdb` stores to the C globals itself, and `kstat(8)` runs in userland.
//!
//! ## Parsers
//!
//! Each parser takes arbitrary bytes, parses into fixed-size structures
//! (`heapless` strings, no allocation) and returns a [`ParseError`] with
//! a byte offset into its input rather than panicking; property tests
//! (`tests/parsers_never_panic.rs`, `tests/admin_input_invariants.rs`) and
//! the fuzz targets feed them random and near-valid input. Each follows
//! the illumos tool's own grammar (krtld's `modsysfile.c`, `mdb_lex.l`,
//! `kstat.c` and `gmatch(3GEN)`); where it departs, its module says so.
//!
//! ## Messages
//!
//! Every refusal an operator reads is a sentence that quotes the offending
//! text and says where it is (a column counted in bytes from 1, a line of
//! `/etc/system`) and why, in the words of illumos's tools where they have
//! some; never a Rust `Debug` rendering. [`ParseError::located`] pairs an
//! error with its input; [`OperatorMessage`] is the refusal of each
//! path; [`BootFinding`] is `/etc/system`'s. `tests/operator_messages.rs`
//! feeds every kind of bad input to every path and checks both this and
//! the bounds below.
//!
//! ## Invariants
//!
//! - A parse error's offset lies within its input (at most its length).
//! - A refused write request, `/etc/system` value or `mdb` write changes
//!   no tunable; a refused `mdb` write changes no variable either, and an
//!   accepted one changes exactly the bytes it names.
//! - What [`parse_assignment`] accepts names exactly one statistic: no
//!   field is empty, a glob, or longer than 30 characters.
//!
//! ## Locking
//!
//! None of its own. [`apply_etc_system`] and [`write_assignments`] go
//! through `ArcTunables`, which takes the component's lock;
//! [`write_assignments`] with raw variables in its
//! [`Sources`](kstat_export::Sources) mutates
//! their last-applied table, which the caller serializes with the sync
//! tick as `kstat-export` describes. [`perform_mdb_write`] stores to the
//! variable with a compare-and-swap loop and takes no lock, as `mdb`
//! takes none.
//!
//! ## Design decisions
//!
//! - **A refused value is quoted with the bounds in force on this host,
//!   the same on every path.** `zfs_arc_max`'s descriptor has the static
//!   bounds 67108865 to 18446744073709551615, but `arc_init()` accepts
//!   only values below `allmem`: on a 16 GiB host every path quotes
//!   67108865 to 16911433727 (`tests/operator_messages.rs`). An admin
//!   acts on the range, so it is the one the kernel enforces, and an
//!   `mdb -kw` write, a kstat write and an `/etc/system` line with the
//!   same value quote it alike, whichever check refuses the value. The
//!   range is settled where the value is refused, in `zfs-tunables` (its
//!   registry narrows a descriptor's bounds by the registrant's rules):
//!   the kernel's console warning, this crate's messages and the errno
//!   all come from that one refusal, and no path computes bounds of its
//!   own.
//! - **`/etc/system` is stricter than krtld** about junk after a value,
//!   values over 64 bits and `0x` without digits (krtld applies or wraps
//!   them); see [`etc_system`].
//! - **`mdb` parsing is a subset**: `symbol[+offset]/modifier value`; no
//!   expressions, numeric addresses, several values or floating point;
//!   see [`mdb_write`].
//! - **`kstat` selectors take globs, not `/regex/`** (refused with an
//!   error).
//! - **Write requests take sizes** (`8G`, `512MiB`, `1.5T`, powers of
//!   1024) besides decimal and hex, as the simulator's scenario files and
//!   `zfs(8)` do; a fraction must come to whole bytes.
//!
//! # The API
//!
//! Parsers: [`parse_system_line`], [`parse_mdb_write`],
//! [`parse_mdb_write_with_radix`], [`parse_selector`],
//! [`parse_assignment`]; [`kstat_operands::glob_match`].
//! Performing: [`apply_etc_system`] before `finish_boot()`,
//! [`perform_mdb_write`], [`write_assignments`]; with `std`,
//! `kstat_p::snapshots`, `kstat_p::kstat_p` and `render_kstat_p`.
//! Messages: [`ParseError::located`], [`OperatorMessage`],
//! [`BootFinding::malformed`]. Errors: [`ParseError`] and [`AdminError`],
//! with its errno.
//!
//! # Builds
//!
//! `no_std` without an allocator unless the `std` feature (default) is
//! on; `std` adds `kstat -p` rendering and its owned snapshots.
#![cfg_attr(not(any(feature = "std", test)), no_std)]
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
pub mod etc_system;
pub mod kstat_operands;
#[cfg(feature = "std")]
pub mod kstat_p;
mod lexing;
pub mod mdb_write;
pub mod messages;

pub use error::{AdminError, ParseError, ParseErrorKind};
pub use etc_system::{
    apply_etc_system, parse_system_line, BootFinding, BootReport, FindingKind, SystemLine,
};
pub use kstat_operands::{
    parse_assignment, parse_selector, write_assignments, KstatAssignment, KstatSelector,
};
#[cfg(feature = "std")]
pub use kstat_p::{render_kstat_p, KstatSnapshot, StatValue};
pub use mdb_write::{
    parse_mdb_write, parse_mdb_write_with_radix, perform_mdb_write, MdbWrite, RawWriteOutcome,
    WriteWidth,
};
pub use messages::{Located, OperatorMessage};
