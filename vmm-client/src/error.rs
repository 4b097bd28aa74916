//! The one error type of the vmm client, with its exhaustive errno mapping
//! and the kstat counter each failure is counted under.

use core::fmt;

use zfs_tunables::{errno, TunableError};

/// Everything that can go wrong in the vmm client.
///
/// [`to_errno`](VmmError::to_errno) and [`failure`](VmmError::failure) are
/// exhaustive, down to the wrapped [`TunableError`]: a new variant here or
/// in the core does not compile until it has an errno and a counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmmError {
    /// The headroom core refused or failed: `ENOMEM` (no headroom now, or
    /// never on this host; the ioctl answers `ENOSPC` for the latter, see
    /// [`ioctl_errno`](crate::ioctl_commands::ioctl_errno)), `ETIME` (the
    /// wait reached its deadline),
    /// `EINTR` (a signal), `ENOSPC` (its reservation table is full),
    /// `EOVERFLOW`.
    Arc(TunableError),
    /// The instance table is full (`ENOSPC`).
    TableFull,
    /// An instance with this name exists (`EEXIST`).
    DuplicateName,
    /// No instance has this id or name (`ENOENT`).
    UnknownInstance,
    /// The instance was destroyed while this create was in flight; the
    /// create rolled back (`ENOENT`: the instance is gone).
    Destroyed,
    /// Another create is in flight on this instance (`EBUSY`); the driver
    /// serializes `VM_ALLOC_MEMSEG` under the instance's write lock, so
    /// only a caller that bypasses it sees this.
    Busy,
    /// An empty name, or one of `VM_MAX_NAMELEN` bytes or more (`EINVAL`).
    BadName,
    /// A segment id outside `0..VM_MAX_MEMSEGS`, or twice in one request
    /// (`EINVAL`).
    BadSegment {
        /// The refused id.
        segid: i64,
    },
    /// The segment exists with this length and kind (`EEXIST`, as
    /// `vm_alloc_memseg()`).
    SegmentExists {
        /// The segment.
        segid: u8,
    },
    /// The segment exists with another length or kind (`EINVAL`, as
    /// `vm_alloc_memseg()`).
    SegmentConflict {
        /// The segment.
        segid: u8,
    },
    /// A size of zero (`EINVAL`).
    ZeroSize,
    /// A size that overflows 64 bits when rounded up to pages, when the
    /// overhead is added, or when an instance's segments are summed
    /// (`EOVERFLOW`).
    Overflow,
    /// The memory allocator failed; carries its errno (`ENOMEM` if it gave
    /// none).
    AllocFailed {
        /// The allocator's errno.
        errno: i32,
    },
    /// A create step called out of order (finishing before everything was
    /// allocated; through the C ABI, marking a segment allocated before
    /// its wait succeeded: in Rust the create's type rules out the rest)
    /// or with a create that is not this client's (`EINVAL`). A bug in the
    /// caller; the create rolls back.
    OutOfOrder,
}

/// The `vmm:0:arc_resv` counter a failed create is counted under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// `fail_no_headroom`: the reservation does not fit next to the live
    /// ones.
    NoHeadroom,
    /// `fail_never_fits`: the reservation could never fit on this host.
    NeverFits,
    /// `fail_no_memory`: the host could not give the guest's memory now
    /// without paging.
    NoMemory,
    /// `fail_timeout`: the ARC did not free the memory before the deadline.
    Timeout,
    /// `fail_interrupted`: a signal, or the instance's destruction,
    /// interrupted the create.
    Interrupted,
    /// `fail_alloc`: allocating the guest's memory failed.
    Alloc,
    /// `fail_table_full`: the instance table or the reservation table is
    /// full.
    TableFull,
    /// `fail_invalid`: the request's arguments or the instance's state.
    Invalid,
}

impl VmmError {
    /// The illumos errno for this error.
    #[must_use]
    pub const fn to_errno(self) -> i32 {
        match self {
            VmmError::Arc(e) => e.to_errno(),
            VmmError::TableFull => errno::ENOSPC,
            VmmError::DuplicateName => errno::EEXIST,
            VmmError::UnknownInstance => errno::ENOENT,
            VmmError::Destroyed => errno::ENOENT,
            VmmError::Busy => errno::EBUSY,
            VmmError::BadName => errno::EINVAL,
            VmmError::BadSegment { .. } => errno::EINVAL,
            VmmError::SegmentExists { .. } => errno::EEXIST,
            VmmError::SegmentConflict { .. } => errno::EINVAL,
            VmmError::ZeroSize => errno::EINVAL,
            VmmError::Overflow => errno::EOVERFLOW,
            VmmError::AllocFailed { errno } => {
                if errno > 0 {
                    errno
                } else {
                    errno::ENOMEM
                }
            }
            VmmError::OutOfOrder => errno::EINVAL,
        }
    }

    /// The counter this failure is counted under.
    #[must_use]
    pub const fn failure(self) -> Failure {
        match self {
            VmmError::Arc(e) => match e {
                TunableError::NoHeadroom { .. } => Failure::NoHeadroom,
                TunableError::NeverFits { .. } => Failure::NeverFits,
                TunableError::ShortOfMemory { .. } => Failure::NoMemory,
                TunableError::TimedOut => Failure::Timeout,
                TunableError::Interrupted | TunableError::Released => Failure::Interrupted,
                TunableError::Full => Failure::TableFull,
                TunableError::UnknownTunable
                | TunableError::OutOfBounds { .. }
                | TunableError::MinAboveMax { .. }
                | TunableError::ConflictsWithReservations { .. }
                | TunableError::BootOnly { .. }
                | TunableError::WouldBlock
                | TunableError::BadName
                | TunableError::NameTooLong { .. }
                | TunableError::Duplicate
                | TunableError::ZeroSize
                | TunableError::Overflow
                | TunableError::UnknownReservation
                | TunableError::ExceedsPending { .. } => Failure::Invalid,
            },
            VmmError::TableFull => Failure::TableFull,
            VmmError::Destroyed => Failure::Interrupted,
            VmmError::AllocFailed { .. } => Failure::Alloc,
            VmmError::DuplicateName
            | VmmError::UnknownInstance
            | VmmError::Busy
            | VmmError::BadName
            | VmmError::BadSegment { .. }
            | VmmError::SegmentExists { .. }
            | VmmError::SegmentConflict { .. }
            | VmmError::ZeroSize
            | VmmError::Overflow
            | VmmError::OutOfOrder => Failure::Invalid,
        }
    }
}

impl From<TunableError> for VmmError {
    fn from(e: TunableError) -> Self {
        match e {
            // The reservation was released underneath a create: only a
            // destroy of its instance does that.
            TunableError::Released => VmmError::Destroyed,
            e => VmmError::Arc(e),
        }
    }
}

/// What the operator reads (bhyve's log, the simulator's events): one
/// sentence that names what was refused and, where the error carries it,
/// the offending value, never a `Debug` rendering. Instance names are not
/// carried (the error is `Copy` and the kernel has no allocator); the
/// caller that has the name prints it beside the message.
impl fmt::Display for VmmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            VmmError::Arc(e) => write!(f, "{e}"),
            VmmError::TableFull => write!(
                f,
                "the vmm instance table is full: destroy an instance before creating another"
            ),
            VmmError::DuplicateName => write!(f, "a vmm instance with this name already exists"),
            VmmError::UnknownInstance => write!(f, "no vmm instance has this name or id"),
            VmmError::Destroyed => {
                write!(
                    f,
                    "the vmm instance was destroyed while it was being created"
                )
            }
            VmmError::Busy => write!(
                f,
                "another memory segment create is in flight on this instance"
            ),
            VmmError::BadName => write!(
                f,
                "a vmm instance name must have 1 to {} bytes",
                crate::limits::MAX_NAME_LEN
            ),
            VmmError::BadSegment { segid } => write!(
                f,
                "memory segment id {segid} is refused: ids are 0 to {} and each appears once \
                 in a request",
                crate::limits::MAX_SEGMENTS.saturating_sub(1)
            ),
            VmmError::SegmentExists { segid } => {
                write!(f, "memory segment {segid} already exists")
            }
            VmmError::SegmentConflict { segid } => write!(
                f,
                "memory segment {segid} exists with another length or kind"
            ),
            VmmError::ZeroSize => write!(f, "a memory segment of zero bytes cannot be created"),
            VmmError::Overflow => write!(
                f,
                "the memory size overflows 64 bits when rounded to pages or \
                 when the page overhead is added"
            ),
            VmmError::AllocFailed { errno } => write!(
                f,
                "allocating guest memory failed ({})",
                errno::name(VmmError::AllocFailed { errno }.to_errno())
            ),
            VmmError::OutOfOrder => write!(
                f,
                "a memory segment create step was called out of order; the create was rolled back"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zfs_tunables::Bytes;

    #[test]
    fn errnos_are_illumos_values() {
        assert_eq!(VmmError::TableFull.to_errno(), 28);
        assert_eq!(VmmError::DuplicateName.to_errno(), 17);
        assert_eq!(VmmError::UnknownInstance.to_errno(), 2);
        assert_eq!(VmmError::ZeroSize.to_errno(), 22);
        assert_eq!(VmmError::Overflow.to_errno(), 79);
        assert_eq!(VmmError::from(TunableError::TimedOut).to_errno(), 62);
        assert_eq!(VmmError::from(TunableError::Interrupted).to_errno(), 4);
        assert_eq!(VmmError::AllocFailed { errno: 0 }.to_errno(), 12);
        assert_eq!(VmmError::AllocFailed { errno: 5 }.to_errno(), 5);
        let e = VmmError::from(TunableError::NeverFits {
            requested: Bytes(1),
            host_limit: Bytes(0),
        });
        assert_eq!((e.to_errno(), e.failure()), (12, Failure::NeverFits));
        assert_eq!(VmmError::from(TunableError::Released), VmmError::Destroyed);
        assert_eq!(VmmError::Destroyed.failure(), Failure::Interrupted);
    }

    #[test]
    fn messages_say_what_was_refused_and_the_value() {
        assert_eq!(
            VmmError::BadName.to_string(),
            "a vmm instance name must have 1 to 228 bytes"
        );
        assert_eq!(
            VmmError::BadSegment { segid: -1 }.to_string(),
            "memory segment id -1 is refused: ids are 0 to 3 and each appears once in a request"
        );
        for e in [
            VmmError::TableFull,
            VmmError::DuplicateName,
            VmmError::UnknownInstance,
            VmmError::Destroyed,
            VmmError::Busy,
            VmmError::SegmentExists { segid: 1 },
            VmmError::SegmentConflict { segid: 1 },
            VmmError::ZeroSize,
            VmmError::Overflow,
            VmmError::AllocFailed { errno: 0 },
            VmmError::OutOfOrder,
            VmmError::from(TunableError::NeverFits {
                requested: Bytes(1),
                host_limit: Bytes(0),
            }),
        ] {
            let m = e.to_string();
            assert!(
                !m.is_empty() && !m.contains('{') && !m.contains("Error"),
                "{m}"
            );
        }
    }
}
