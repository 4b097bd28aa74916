//! What the kstat driver does on a read and on a write, as illumos does it.
//!
//! In the kernel, `kstat(4D)`'s `write_kstat_data()`
//! (`uts/common/io/kstat.c`) handles `KSTAT_IOC_WRITE` in this order:
//!
//! 1. `secpolicy_sys_config()` must pass, else `EPERM`;
//! 2. the user's buffer is copied in (its `ks_data_size` bytes);
//! 3. the kstat must exist (`ENXIO`), be valid (`KSTAT_FLAG_INVALID`:
//!    `EAGAIN`) and be `KSTAT_FLAG_WRITABLE`, else `EACCES`;
//! 4. under `ks_lock`, `ks_update(KSTAT_READ)` runs (so a `VAR_SIZE`
//!    kstat's `ks_ndata` is current), then the buffer's `ks_data_size` and
//!    `ks_ndata` must match the kstat's, else `EINVAL`;
//! 5. for a named kstat, a `KSTAT_READ` snapshot is taken and every
//!    entry's `data_type` in the buffer must equal the kstat's, else
//!    `EINVAL` (string pointers are range-checked here too); names are
//!    *not* compared;
//! 6. `ks_snapshot(KSTAT_WRITE)` runs: the default one `bcopy`s the buffer
//!    over `ks_data` (`default_kstat_snapshot()`, `kstat_fr.c`);
//! 7. only then `ks_update(KSTAT_WRITE)` runs, and its return value is the
//!    ioctl's.
//!
//! Step 6 is why a writable kstat must not point `ks_data` at live values:
//! the caller's bytes land there before anyone validated them. Every kstat
//! here keeps `ks_data` as a *staging* copy: the read update refreshes it
//! from the live values, the write update validates it and applies it
//! through `zfs-tunables` (all or nothing), and a refused write leaves the
//! live values untouched (the staging copy is refreshed on the next read).
//!
//! [`Kstat`] is that machinery for userland: the simulator and the tests
//! read and write through it and so exercise the same order of checks.
//! In the kernel the real driver does steps 1 to 6, and the kernel module
//! calls the same [`KstatUpdate`] implementations from its `ks_update`.

use zfs_tunables::Hrtime;

use crate::error::ExportError;
use crate::kstat_named::{KstatFlags, KstatIdent, KstatName, KstatNamed, KSTAT_TYPE_NAMED};

/// The most entries any kstat here has (`zfs:0:tunables` holds one per
/// runtime tunable, and the registry holds at most this many).
pub const MAX_NDATA: usize = zfs_tunables::registry::MAX_TUNABLES;

/// The caller's privilege, as `secpolicy_sys_config()` would judge it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    /// Has `PRIV_SYS_CONFIG` (root in the global zone).
    SysConfig,
    /// Anyone else.
    Unprivileged,
}

/// A kstat's `ks_update` callback.
///
/// The kernel module calls these from its `ks_update` with `ks_data` as
/// the slice; [`Kstat`] calls them in the driver's order.
pub trait KstatUpdate {
    /// `KSTAT_READ`: fills the front of `data` from live values and
    /// returns the number of entries (the new `ks_ndata`).
    fn read(&mut self, data: &mut [KstatNamed]) -> Result<usize, ExportError>;

    /// `KSTAT_WRITE`: `data` is `ks_data` after the caller's buffer was
    /// copied over it. Validate everything, then apply everything or
    /// nothing. The default refuses, as `arc_kstat_update()` does.
    fn write(&mut self, data: &[KstatNamed]) -> Result<(), ExportError> {
        let _ = data;
        Err(ExportError::NotWritable)
    }
}

/// One installed named kstat: its header and its staging `ks_data`.
#[derive(Clone, Debug)]
pub struct Kstat {
    module: KstatName,
    instance: i32,
    name: KstatName,
    class: KstatName,
    flags: KstatFlags,
    crtime: Hrtime,
    snaptime: Hrtime,
    ndata: usize,
    data: [KstatNamed; MAX_NDATA],
}

impl Kstat {
    /// `kstat_create()` + `kstat_install()`: a kstat called `ident`,
    /// created at `crtime`. Names must fit (`BadName`), and `ndata_max`
    /// must fit the staging buffer (`BufferTooSmall`).
    pub fn create(ident: &KstatIdent, crtime: Hrtime) -> Result<Kstat, ExportError> {
        if ident.ndata_max > MAX_NDATA {
            return Err(ExportError::BufferTooSmall {
                needed: ident.ndata_max,
                capacity: MAX_NDATA,
            });
        }
        Ok(Kstat {
            module: KstatName::new(ident.module)?,
            instance: ident.instance,
            name: KstatName::new(ident.name)?,
            class: KstatName::new(ident.class)?,
            flags: ident.flags,
            crtime,
            snaptime: Hrtime(0),
            ndata: 0,
            data: [KstatNamed::ZERO; MAX_NDATA],
        })
    }

    /// `ks_module`.
    #[must_use]
    pub fn module(&self) -> &KstatName {
        &self.module
    }

    /// `ks_instance`.
    #[must_use]
    pub fn instance(&self) -> i32 {
        self.instance
    }

    /// `ks_name`.
    #[must_use]
    pub fn name(&self) -> &KstatName {
        &self.name
    }

    /// `ks_class`.
    #[must_use]
    pub fn class(&self) -> &KstatName {
        &self.class
    }

    /// `ks_type`: always `KSTAT_TYPE_NAMED`.
    #[must_use]
    pub fn ks_type(&self) -> u8 {
        KSTAT_TYPE_NAMED
    }

    /// `ks_flags`.
    #[must_use]
    pub fn flags(&self) -> KstatFlags {
        self.flags
    }

    /// Sets or clears `KSTAT_FLAG_INVALID`.
    pub fn set_invalid(&mut self, invalid: bool) {
        self.flags.set(KstatFlags::INVALID, invalid);
    }

    /// `ks_crtime`.
    #[must_use]
    pub fn crtime(&self) -> Hrtime {
        self.crtime
    }

    /// `ks_snaptime`: when the data was last read or written.
    #[must_use]
    pub fn snaptime(&self) -> Hrtime {
        self.snaptime
    }

    /// `ks_data` as the last read or write left it.
    #[must_use]
    pub fn data(&self) -> &[KstatNamed] {
        self.data.get(..self.ndata).unwrap_or(&[])
    }

    /// `ks_update(KSTAT_READ)` into the staging buffer.
    fn update_read(&mut self, update: &mut dyn KstatUpdate) -> Result<(), ExportError> {
        let n = update.read(&mut self.data)?;
        if n > MAX_NDATA {
            return Err(ExportError::BufferTooSmall {
                needed: n,
                capacity: MAX_NDATA,
            });
        }
        self.ndata = n;
        Ok(())
    }

    /// `kstat_read()`: runs the read update and returns the snapshot,
    /// stamped `now`.
    pub fn read(
        &mut self,
        update: &mut dyn KstatUpdate,
        now: Hrtime,
    ) -> Result<&[KstatNamed], ExportError> {
        if self.flags.contains(KstatFlags::INVALID) {
            return Err(ExportError::KstatInvalid);
        }
        self.update_read(update)?;
        self.snaptime = now;
        Ok(self.data())
    }

    /// `kstat_write()`: `write_kstat_data()`'s checks in its order (see
    /// the module documentation), then the caller's buffer is copied over
    /// the staging `ks_data` and the write update runs.
    pub fn write(
        &mut self,
        update: &mut dyn KstatUpdate,
        user: &[KstatNamed],
        cred: Credential,
        now: Hrtime,
    ) -> Result<(), ExportError> {
        if cred != Credential::SysConfig {
            return Err(ExportError::NotPrivileged);
        }
        if self.flags.contains(KstatFlags::INVALID) {
            return Err(ExportError::KstatInvalid);
        }
        if !self.flags.contains(KstatFlags::WRITABLE) {
            return Err(ExportError::NotWritable);
        }
        self.update_read(update)?;
        if user.len() != self.ndata {
            return Err(ExportError::NdataMismatch {
                expected: self.ndata,
                got: user.len(),
            });
        }
        for (index, (old, new)) in self.data.iter().zip(user).enumerate() {
            if old.data_type != new.data_type {
                return Err(ExportError::TypeMismatch {
                    index,
                    expected: old.data_type,
                    got: new.data_type,
                });
            }
        }
        // KSTAT_SNAPSHOT(ksp, buf, KSTAT_WRITE): bcopy over ks_data.
        for (dst, src) in self.data.iter_mut().zip(user) {
            *dst = *src;
        }
        self.snaptime = now;
        update.write(self.data())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two fixed statistics; records whether a write reached it.
    struct Probe {
        writes: u32,
    }

    impl KstatUpdate for Probe {
        fn read(&mut self, data: &mut [KstatNamed]) -> Result<usize, ExportError> {
            let mut it = data.iter_mut();
            for (name, v) in [("a", 1), ("b", 2)] {
                *it.next().ok_or(ExportError::Full)? = KstatNamed::uint64(name, v)?;
            }
            Ok(2)
        }

        fn write(&mut self, _data: &[KstatNamed]) -> Result<(), ExportError> {
            self.writes += 1;
            Ok(())
        }
    }

    const WRITABLE: KstatIdent = KstatIdent {
        module: "m",
        instance: 0,
        name: "n",
        class: "misc",
        flags: KstatFlags::VIRTUAL.union(KstatFlags::WRITABLE),
        ndata_max: 2,
    };

    #[test]
    fn the_driver_checks_in_illumos_order() {
        let mut p = Probe { writes: 0 };
        let mut ks = Kstat::create(&WRITABLE, Hrtime(1)).unwrap();
        let good = [
            KstatNamed::uint64("a", 5).unwrap(),
            KstatNamed::uint64("b", 6).unwrap(),
        ];
        // Privilege first, even for a well-formed buffer.
        assert_eq!(
            ks.write(&mut p, &good, Credential::Unprivileged, Hrtime(2)),
            Err(ExportError::NotPrivileged)
        );
        // Then the size.
        assert_eq!(
            ks.write(&mut p, &good[..1], Credential::SysConfig, Hrtime(2)),
            Err(ExportError::NdataMismatch {
                expected: 2,
                got: 1
            })
        );
        // Then the types.
        let mut bad = good;
        bad[1].data_type = crate::kstat_named::KstatDataType::INT64;
        assert!(matches!(
            ks.write(&mut p, &bad, Credential::SysConfig, Hrtime(2)),
            Err(ExportError::TypeMismatch { index: 1, .. })
        ));
        assert_eq!(p.writes, 0);
        ks.write(&mut p, &good, Credential::SysConfig, Hrtime(3))
            .unwrap();
        assert_eq!(p.writes, 1);
        assert_eq!(ks.snaptime(), Hrtime(3));

        let mut ro = Kstat::create(
            &KstatIdent {
                flags: KstatFlags::VIRTUAL,
                ..WRITABLE
            },
            Hrtime(1),
        )
        .unwrap();
        assert_eq!(
            ro.write(&mut p, &good, Credential::SysConfig, Hrtime(2)),
            Err(ExportError::NotWritable)
        );
        ro.set_invalid(true);
        assert_eq!(ro.read(&mut p, Hrtime(2)), Err(ExportError::KstatInvalid));
    }
}
