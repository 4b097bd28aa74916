//! Raw writes: the kernel's C variables, `mdb -kw`, and the sync tick.
//!
//! In the kernel each runtime tunable is also a C global (`zfs_arc_max`,
//! `zfs_arc_min`, ...) that an admin can poke with `mdb -kw`
//! (`zfs_arc_max/Z 0x200000000`). Nothing tells the kernel such a write
//! happened, so a periodic *sync tick* (the ARC's reap thread runs it once
//! a second) compares each variable with the value last applied:
//!
//! - unchanged: nothing to do, unless the tunable was changed through
//!   another path (a kstat write the raw variables were not told about, a
//!   direct call): then the variable is updated to the tunable's value, so
//!   it always reads what is in force;
//! - changed: the new value is validated and applied through
//!   `zfs-tunables`. If several variables changed since the last tick they
//!   are first tried together, all or nothing (raising `zfs_arc_min` and
//!   `zfs_arc_max` together may be valid only as a pair); if that is
//!   refused, each is tried on its own, in registry order.
//! - refused: the variable is restored to the value kept and a
//!   [`RawSyncWarning`] is produced; the kernel prints it with
//!   `cmn_err(CE_WARN, "%s", ...)`. Its text names the variable, the
//!   refused value and the value kept, for example (on a 16 GiB host,
//!   whose `allmem` is 16911433728 bytes):
//!
//!   ```text
//!   zfs_arc_max: direct write of 0x3e8 (1000) refused (EINVAL), keeping 0x200000000 (8589934592): zfs_arc_max: 1000 is out of bounds (accepted: 67108865 to 16911433727)
//!   ```
//!
//! A successful `zfs:0:tunables` write records its values here
//! ([`RecordApplied`]), so the next tick does not mistake the variable's
//! old value for an admin's write and undo the kstat write.
//!
//! # Storage
//!
//! A variable's storage is anything that implements [`RawCell`]: an
//! atomic owned by [`RawVariables`] (the simulator and tests), or a
//! reference to the kernel's own global, which the kernel module makes
//! with `AtomicU64::from_ptr(&raw mut zfs_arc_max)`. `mdb` writes the
//! global with plain stores, and an aligned 8-byte store is atomic on
//! amd64, so a tick sees either the old or the new value of a `/Z` write.
//! A `/W` writes 4 bytes; two `/W` writes (low half, then high half) are
//! two writes, and a tick between them sees the first alone. Admins
//! should use `/Z` for 64-bit variables.
//!
//! # Locking
//!
//! The variables themselves are atomics, read and written without a lock
//! (`mdb` takes none). The table of last-applied values is plain data
//! behind `&mut self`: [`sync_tick`](RawVariables::sync_tick), the
//! [`RecordApplied`] calls of a kstat write and any binding must be
//! serialized by the caller. In the kernel one `kmutex_t` does it: the
//! reap thread holds it around the tick, and the `zfs:0:tunables` kstat's
//! `ks_lock` points at it, so its `ks_update` runs under it too. The
//! component's own lock (inside `ArcTunables`) is taken after it, never
//! before. A restore uses compare-and-swap, so an admin's write that lands
//! between the tick's load and its restore is not overwritten: the next
//! tick examines it.

use core::fmt;

use heapless::Vec;
use zfs_tunables::errno;
use zfs_tunables::platform::Platform;
use zfs_tunables::registry::{TunableFlags, MAX_TUNABLES};
use zfs_tunables::sync::{AtomicU64, Ordering};
use zfs_tunables::{ArcTunables, TunableError};

use crate::error::ExportError;

/// The storage of one raw variable: a 64-bit word that others may write
/// at any time.
pub trait RawCell {
    /// The current value.
    fn load(&self) -> u64;
    /// Stores `value`.
    fn store(&self, value: u64);
    /// Stores `new` if the value is `current`; returns the previous value
    /// as `Ok` if it did, `Err` if it did not.
    fn compare_exchange(&self, current: u64, new: u64) -> Result<u64, u64>;
}

impl RawCell for AtomicU64 {
    fn load(&self) -> u64 {
        AtomicU64::load(self, Ordering::SeqCst)
    }

    fn store(&self, value: u64) {
        AtomicU64::store(self, value, Ordering::SeqCst);
    }

    fn compare_exchange(&self, current: u64, new: u64) -> Result<u64, u64> {
        AtomicU64::compare_exchange(self, current, new, Ordering::SeqCst, Ordering::SeqCst)
    }
}

impl<T: RawCell + ?Sized> RawCell for &T {
    fn load(&self) -> u64 {
        (**self).load()
    }

    fn store(&self, value: u64) {
        (**self).store(value);
    }

    fn compare_exchange(&self, current: u64, new: u64) -> Result<u64, u64> {
        (**self).compare_exchange(current, new)
    }
}

/// Told of every value a kstat write applied, so raw variables follow.
pub trait RecordApplied {
    /// `name` now has `value` in force.
    fn record_applied(&mut self, name: &str, value: u64);
}

/// One bound variable.
#[derive(Debug)]
struct RawVar<C> {
    module: &'static str,
    name: &'static str,
    cell: C,
    last_applied: u64,
}

/// A refused raw write, as the kernel reports it with `cmn_err(CE_WARN)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawSyncWarning {
    /// The variable.
    pub name: &'static str,
    /// The value found in the variable and refused.
    pub refused: u64,
    /// The value kept in force and written back.
    pub kept: u64,
    /// Why the value was refused.
    pub error: TunableError,
}

impl fmt::Display for RawSyncWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{name}: direct write of {refused:#x} ({refused}) refused ({errno}), \
             keeping {kept:#x} ({kept}): {error}",
            name = self.name,
            refused = self.refused,
            kept = self.kept,
            errno = errno::name(self.error.to_errno()),
            error = self.error,
        )
    }
}

/// What one sync tick did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncOutcome {
    /// Raw writes validated and applied.
    pub applied: u32,
    /// Raw writes refused and undone (one warning each).
    pub refused: u32,
    /// Variables updated to follow a change made through another path.
    pub followed: u32,
}

/// One bound variable, as [`RawVariables::variable`] finds it.
#[derive(Debug)]
pub struct BoundVariable<'a, C> {
    /// The module that registered the tunable (`zfs`, `vmm`).
    pub module: &'static str,
    /// The variable's (and the tunable's) name.
    pub name: &'static str,
    /// Its storage.
    pub cell: &'a C,
}

/// The raw variables of the runtime tunables, with their last-applied
/// values; see the module documentation.
#[derive(Debug)]
pub struct RawVariables<C: RawCell> {
    vars: Vec<RawVar<C>, MAX_TUNABLES>,
}

impl<C: RawCell> Default for RawVariables<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl RawVariables<AtomicU64> {
    /// A variable of its own for every runtime tunable registered now,
    /// each holding the tunable's value (the simulator's C globals).
    pub fn with_owned_cells<P: Platform>(t: &ArcTunables<P>) -> Result<Self, ExportError> {
        let mut names: Vec<&'static str, MAX_TUNABLES> = Vec::new();
        t.for_each_tunable(|e| {
            if e.desc.flags.contains(TunableFlags::DYNAMIC) {
                // Cannot overflow: the registry holds at most MAX_TUNABLES.
                let _ = names.push(e.desc.name);
            }
        });
        let mut raw = RawVariables::new();
        for name in names {
            raw.bind(t, name, AtomicU64::new(0))?;
        }
        Ok(raw)
    }
}

impl<C: RawCell> RawVariables<C> {
    /// No variables.
    #[must_use]
    pub const fn new() -> Self {
        RawVariables { vars: Vec::new() }
    }

    /// Binds the runtime tunable `name` to `cell`, which is set to the
    /// tunable's value (so it reads what is in force; in the kernel,
    /// `/etc/system`'s value was already taken at boot and refused ones
    /// are thereby replaced by the value in force).
    pub fn bind<P: Platform>(
        &mut self,
        t: &ArcTunables<P>,
        name: &str,
        cell: C,
    ) -> Result<(), ExportError> {
        let mut found = None;
        t.for_each_tunable(|e| {
            if e.desc.name == name {
                found = Some((e.module, e.desc.name, e.desc.flags, e.value));
            }
        });
        let (module, name, flags, value) = found.ok_or(ExportError::UnknownVariable)?;
        if !flags.contains(TunableFlags::DYNAMIC) {
            return Err(ExportError::NotDynamic { name });
        }
        if self.vars.iter().any(|v| v.name == name) {
            return Err(ExportError::AlreadyBound { name });
        }
        cell.store(value);
        self.vars
            .push(RawVar {
                module,
                name,
                cell,
                last_applied: value,
            })
            .map_err(|_| ExportError::Full)
    }

    /// Unbinds `name` (its module unregistered) and returns its cell.
    pub fn unbind(&mut self, name: &str) -> Option<C> {
        let i = self.vars.iter().position(|v| v.name == name)?;
        Some(self.vars.swap_remove(i).cell)
    }

    /// The cell of `name`.
    #[must_use]
    pub fn cell(&self, name: &str) -> Option<&C> {
        self.vars.iter().find(|v| v.name == name).map(|v| &v.cell)
    }

    /// The current raw value of `name`.
    #[must_use]
    pub fn raw_value(&self, name: &str) -> Option<u64> {
        self.cell(name).map(RawCell::load)
    }

    /// The last value of `name` that was applied.
    #[must_use]
    pub fn last_applied(&self, name: &str) -> Option<u64> {
        self.vars
            .iter()
            .find(|v| v.name == name)
            .map(|v| v.last_applied)
    }

    /// The bound variables' names, in binding order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.vars.iter().map(|v| v.name)
    }

    /// The bound variable called `name`: its module, its name and its
    /// cell. An `mdb -kw` write goes through this to the cell, as `mdb`
    /// stores to the C global (see `admin-syntax`, which performs them).
    #[must_use]
    pub fn variable(&self, name: &str) -> Option<BoundVariable<'_, C>> {
        self.vars
            .iter()
            .find(|v| v.name == name)
            .map(|v| BoundVariable {
                module: v.module,
                name: v.name,
                cell: &v.cell,
            })
    }

    /// Brings the variables and the tunables back in step; see the module
    /// documentation. `warn` receives one warning per refused write, in
    /// registry order.
    pub fn sync_tick<P: Platform>(
        &mut self,
        t: &ArcTunables<P>,
        warn: &mut dyn FnMut(&RawSyncWarning),
    ) -> SyncOutcome {
        let mut out = SyncOutcome::default();
        // (index, raw value, value in force) of every variable an admin
        // changed since the last tick.
        let mut changed: Vec<(usize, u64, u64), MAX_TUNABLES> = Vec::new();
        for (i, v) in self.vars.iter_mut().enumerate() {
            let Ok(live) = t.get(v.name) else {
                // Its module unregistered; the kernel module unbinds it.
                continue;
            };
            let raw = v.cell.load();
            if raw != v.last_applied {
                // Cannot overflow: at most MAX_TUNABLES variables.
                let _ = changed.push((i, raw, live));
            } else if live != v.last_applied && v.cell.compare_exchange(raw, live).is_ok() {
                // Changed through another path: follow it. (If the swap
                // fails, an admin wrote meanwhile and the next tick sees
                // that.)
                v.last_applied = live;
                out.followed = out.followed.saturating_add(1);
            }
        }
        if changed.len() > 1 {
            let mut writes: Vec<(&str, u64), MAX_TUNABLES> = Vec::new();
            for &(i, raw, _) in changed.iter() {
                if let Some(v) = self.vars.get(i) {
                    let _ = writes.push((v.name, raw));
                }
            }
            if t.set_many(&writes).is_ok() {
                for &(i, raw, _) in changed.iter() {
                    if let Some(v) = self.vars.get_mut(i) {
                        v.last_applied = raw;
                        out.applied = out.applied.saturating_add(1);
                    }
                }
                return out;
            }
        }
        for &(i, raw, live) in changed.iter() {
            let Some(v) = self.vars.get_mut(i) else {
                continue;
            };
            match t.set(v.name, raw) {
                Ok(()) => {
                    v.last_applied = raw;
                    out.applied = out.applied.saturating_add(1);
                }
                Err(error) => {
                    // Restore the value in force, unless an admin wrote
                    // again meanwhile (then the next tick examines that).
                    let _ = v.cell.compare_exchange(raw, live);
                    v.last_applied = live;
                    out.refused = out.refused.saturating_add(1);
                    warn(&RawSyncWarning {
                        name: v.name,
                        refused: raw,
                        kept: live,
                        error,
                    });
                }
            }
        }
        out
    }
}

impl<C: RawCell> RecordApplied for RawVariables<C> {
    fn record_applied(&mut self, name: &str, value: u64) {
        if let Some(v) = self.vars.iter_mut().find(|v| v.name == name) {
            v.cell.store(value);
            v.last_applied = value;
        }
    }
}
