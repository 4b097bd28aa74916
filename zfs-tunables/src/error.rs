//! The one error type of the core, with its exhaustive errno mapping.

use core::fmt;

use crate::errno;
use crate::units::Bytes;

/// Everything that can go wrong in the core.
///
/// Each variant carries what a message needs (the tunable's name, the
/// refused value, the limit it broke) so that a `cmn_err` warning or a
/// simulator event can say *why*, not just which errno. [`to_errno`]
/// is exhaustive: adding a variant without an errno does not compile.
///
/// [`to_errno`]: TunableError::to_errno
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TunableError {
    /// No tunable has this name.
    UnknownTunable,
    /// A value outside a tunable's bounds, or otherwise malformed.
    ///
    /// `min` and `max` are the bounds in force on this host, whichever
    /// check refused the value: the descriptor's static bounds narrowed by
    /// the registrant's rules (`zfs_arc_max` above 64 MiB and below
    /// `allmem`, `zfs_arc_min` above 64 MiB and at most the ceiling). So a
    /// kstat write, an `mdb -kw` write and an `/etc/system` line with the
    /// same value quote the same range, and the range is one the admin
    /// can act on (never "up to 18446744073709551615" for a limit that
    /// must stay below the host's memory).
    OutOfBounds {
        /// The tunable's name.
        name: &'static str,
        /// The refused value.
        value: u64,
        /// The smallest accepted value (0, "use the default", is accepted
        /// too where the tunable allows it).
        min: u64,
        /// The largest accepted value.
        max: u64,
    },
    /// A minimum that would exceed its maximum (`zfs_arc_min` above
    /// `c_max`, or `zfs_arc_max` below an admin-set `zfs_arc_min`).
    MinAboveMax {
        /// The tunable being written.
        name: &'static str,
        /// The refused value.
        value: u64,
        /// The minimum that would be in force.
        min: u64,
        /// The maximum that would be in force.
        max: u64,
    },
    /// The change would leave less than `c_min` for the ARC under the
    /// headroom already promised to live reservations.
    ConflictsWithReservations {
        /// The tunable being written.
        name: &'static str,
        /// The refused value.
        value: u64,
        /// Bytes held by live reservations.
        reserved: Bytes,
    },
    /// The tunable may only be set at boot (`/etc/system`).
    BootOnly {
        /// The tunable's name.
        name: &'static str,
    },
    /// A writer would have to wait for the lock in a context that cannot.
    WouldBlock,
    /// An empty tunable or module name, or a tunable name that is not
    /// ASCII.
    BadName,
    /// A tunable or module name longer than 30 characters.
    NameTooLong {
        /// The refused name.
        name: &'static str,
    },
    /// A tunable or registrant with this name already exists.
    Duplicate,
    /// A fixed-capacity table (registry, reservations) is full.
    Full,
    /// A reservation that cannot be granted now: `c_min + reserved +
    /// request` exceeds the ARC's base ceiling.
    NoHeadroom {
        /// The refused request.
        requested: Bytes,
        /// Bytes still available to reserve.
        available: Bytes,
    },
    /// A reservation that could never be granted on this host, even with
    /// no other reservation live: `c_min + request` exceeds the base
    /// ceiling.
    NeverFits {
        /// The refused request.
        requested: Bytes,
        /// The most this host could ever reserve.
        host_limit: Bytes,
    },
    /// A reservation whose memory the host cannot give now without paging:
    /// free memory, what the ARC can shed down to `c_min` and what it has
    /// evicted already, less earlier reservations' pending bytes and the
    /// margin, fall short of the request's pending part.
    ShortOfMemory {
        /// The bytes the reservation would wait for.
        requested: Bytes,
        /// What the host can give now.
        available: Bytes,
        /// The free memory a start must leave (`zfs_arc_headroom_margin`).
        margin: Bytes,
    },
    /// A size of zero where a positive size is required.
    ZeroSize,
    /// Arithmetic on a caller's value would overflow.
    Overflow,
    /// No live or past reservation has this handle.
    UnknownReservation,
    /// More bytes marked allocated than the reservation has pending.
    ExceedsPending {
        /// Bytes the caller tried to mark.
        requested: Bytes,
        /// Bytes still pending.
        pending: Bytes,
    },
    /// The operation needs a live reservation, and this one was released.
    Released,
    /// A wait reached its deadline before headroom appeared.
    TimedOut,
    /// A wait was interrupted by a signal.
    Interrupted,
}

impl TunableError {
    /// The illumos errno for this error.
    #[must_use]
    pub const fn to_errno(self) -> i32 {
        match self {
            TunableError::UnknownTunable => errno::ENOENT,
            TunableError::OutOfBounds { .. } => errno::EINVAL,
            TunableError::MinAboveMax { .. } => errno::ERANGE,
            TunableError::ConflictsWithReservations { .. } => errno::EBUSY,
            TunableError::BootOnly { .. } => errno::EACCES,
            TunableError::WouldBlock => errno::EAGAIN,
            TunableError::BadName => errno::EINVAL,
            TunableError::NameTooLong { .. } => errno::ENAMETOOLONG,
            TunableError::Duplicate => errno::EEXIST,
            TunableError::Full => errno::ENOSPC,
            TunableError::NoHeadroom { .. } => errno::ENOMEM,
            TunableError::NeverFits { .. } => errno::ENOMEM,
            TunableError::ShortOfMemory { .. } => errno::ENOMEM,
            TunableError::ZeroSize => errno::EINVAL,
            TunableError::Overflow => errno::EOVERFLOW,
            TunableError::UnknownReservation => errno::ENOENT,
            TunableError::ExceedsPending { .. } => errno::EINVAL,
            TunableError::Released => errno::ENOENT,
            TunableError::TimedOut => errno::ETIME,
            TunableError::Interrupted => errno::EINTR,
        }
    }
}

impl fmt::Display for TunableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TunableError::UnknownTunable => write!(f, "no runtime tunable has this name"),
            TunableError::OutOfBounds {
                name,
                value,
                min,
                max,
            } => write!(
                f,
                "{name}: {value} is out of bounds (accepted: {min} to {max})"
            ),
            TunableError::MinAboveMax {
                name,
                value,
                min,
                max,
            } => write!(
                f,
                "{name}: {value} would put the minimum ({min}) above the \
                 maximum ({max})"
            ),
            TunableError::ConflictsWithReservations {
                name,
                value,
                reserved,
            } => write!(
                f,
                "{name}: {value} conflicts with {} of live headroom \
                 reservations",
                reserved.0
            ),
            TunableError::BootOnly { name } => {
                write!(f, "{name} can only be set in /etc/system")
            }
            TunableError::WouldBlock => {
                write!(f, "the tunables are being changed; try again")
            }
            TunableError::BadName => {
                write!(f, "a tunable or module name must be non-empty ASCII")
            }
            TunableError::NameTooLong { name } => {
                write!(f, "{name}: a name has at most 30 characters")
            }
            TunableError::Duplicate => write!(f, "the name is already registered"),
            TunableError::Full => write!(f, "the fixed-capacity table is full"),
            TunableError::NoHeadroom {
                requested,
                available,
            } => write!(
                f,
                "cannot reserve {} bytes of ARC headroom: only {} bytes \
                 remain above c_min after live reservations",
                requested.0, available.0
            ),
            TunableError::NeverFits {
                requested,
                host_limit,
            } => write!(
                f,
                "cannot reserve {} bytes of ARC headroom: this host can \
                 reserve at most {} bytes above c_min",
                requested.0, host_limit.0
            ),
            TunableError::ShortOfMemory {
                requested,
                available,
                margin,
            } => write!(
                f,
                "cannot reserve {} bytes of ARC headroom now: {} bytes short; \
                 this host can give {} bytes without paging (free memory, what \
                 the ARC can shed down to c_min and what it has evicted, less \
                 earlier reservations and a margin of {} bytes)",
                requested.0,
                requested.0.saturating_sub(available.0),
                available.0,
                margin.0
            ),
            TunableError::ZeroSize => {
                write!(f, "a size of zero bytes is refused: it must be positive")
            }
            TunableError::Overflow => write!(f, "the size overflows 64 bits"),
            TunableError::UnknownReservation => {
                write!(f, "no live headroom reservation has this handle")
            }
            TunableError::ExceedsPending { requested, pending } => write!(
                f,
                "cannot mark {} bytes allocated: only {} bytes are pending",
                requested.0, pending.0
            ),
            TunableError::Released => write!(f, "the reservation was released"),
            TunableError::TimedOut => {
                write!(f, "timed out waiting for the ARC to free memory")
            }
            TunableError::Interrupted => {
                write!(f, "interrupted waiting for the ARC to free memory")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errnos_are_illumos_values() {
        assert_eq!(TunableError::TimedOut.to_errno(), 62);
        assert_eq!(TunableError::Interrupted.to_errno(), 4);
        assert_eq!(
            TunableError::NoHeadroom {
                requested: Bytes(1),
                available: Bytes(0)
            }
            .to_errno(),
            12
        );
        assert_eq!(TunableError::Overflow.to_errno(), 79);
        assert_eq!(TunableError::BadName.to_errno(), 22);
        assert_eq!(TunableError::NameTooLong { name: "x" }.to_errno(), 78);
    }
}
