//! What bhyve and the kernel print while guests start: typed messages,
//! rendered as the tools print them, in a bounded log that folds a line
//! repeated once a second (bhyve's retry) into one line with a count.

use std::collections::HashMap;
use std::fmt;

use vmm_client::VmmError;
use zfs_tunables::TunableError;

use crate::params::HZ;

/// A line bhyve or the kernel prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message {
    /// bhyve, after `vm_setup_memory()` failed with `ENOMEM`: "Unable to
    /// allocate memory (N), retrying in 1 second".
    RetryingAllocation {
        /// Guest RAM, bytes.
        ram: u64,
    },
    /// bhyve's last line when `vm_setup_memory()` fails with anything but
    /// `ENOMEM`: "Unable to setup memory (N)"; then it exits.
    SetupFailed {
        /// The errno.
        errno: i32,
    },
    /// An injected allocation failure: "fault: the allocator refuses N
    /// bytes (the guest holds M)".
    AllocatorRefuses {
        /// Bytes refused.
        bytes: u64,
        /// Bytes the guest held then.
        held: u64,
    },
    /// OS-8005's `vm_arc_resv()` refused at launch: "Could not shrink
    /// ARC: Not enough space".
    CouldNotShrinkArc,
    /// The project's vmm refused a create at its reservation: "vmm:
    /// cannot reserve memory: ...".
    CannotReserve(VmmError),
    /// The project's vmm failed a create after its reservation: "vmm:
    /// ...".
    Vmm(VmmError),
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::RetryingAllocation { ram } => {
                write!(f, "Unable to allocate memory ({ram}), retrying in 1 second")
            }
            Message::SetupFailed { errno } => write!(f, "Unable to setup memory ({errno})"),
            Message::AllocatorRefuses { bytes, held } => write!(
                f,
                "fault: the allocator refuses {bytes} bytes (the guest holds {held})"
            ),
            Message::CouldNotShrinkArc => write!(f, "Could not shrink ARC: Not enough space"),
            Message::CannotReserve(e) => write!(f, "vmm: cannot reserve memory: {e}"),
            Message::Vmm(e) => write!(f, "vmm: {e}"),
        }
    }
}

/// A bhyve or kernel log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// Tick.
    pub at: u64,
    /// The guest.
    pub guest: String,
    /// What was printed.
    pub message: Message,
    /// How many times the guest printed the same message again, each
    /// within a second of the one before, with nothing else in between
    /// (syslog's "last message repeated N times"): bhyve's retry line,
    /// once a second.
    pub repeats: u64,
    /// Tick of the last repeat (`at` if none).
    pub last_at: u64,
}

/// Where log lines go (bounded).
#[derive(Clone, Debug, Default)]
pub struct Log {
    /// Kept lines.
    pub lines: Vec<LogLine>,
    /// Lines dropped past the cap.
    pub dropped: u64,
    /// Each guest's last kept line, while it is the last it printed.
    last_of: HashMap<String, usize>,
}

/// How many log lines a run keeps.
pub const LOG_CAP: usize = 400;

/// A line the guest printed again within this many ticks (a second, the
/// period of bhyve's retry) is counted as a repeat.
const REPEAT_WINDOW: u64 = HZ;

/// A create refused because the host could not give its memory now
/// (`ShortOfMemory`), as the kernel's line printed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShortOfMemoryLine {
    /// Tick.
    pub at: u64,
    /// Bytes the reservation asked for.
    pub requested: u64,
    /// Bytes the host could give without paging.
    pub available: u64,
    /// The line as printed.
    pub text: String,
}

impl ShortOfMemoryLine {
    /// How many bytes the host was short.
    #[must_use]
    pub fn shortfall(&self) -> u64 {
        self.requested.saturating_sub(self.available)
    }
}

impl Log {
    /// Every refusal for want of memory now, in the order printed.
    #[must_use]
    pub fn short_of_memory(&self) -> Vec<ShortOfMemoryLine> {
        self.lines
            .iter()
            .filter_map(|l| match l.message {
                Message::CannotReserve(VmmError::Arc(TunableError::ShortOfMemory {
                    requested,
                    available,
                    ..
                })) => Some(ShortOfMemoryLine {
                    at: l.at,
                    requested: requested.0,
                    available: available.0,
                    text: l.message.to_string(),
                }),
                _ => None,
            })
            .collect()
    }

    /// Appends a line, counts it as a repeat of the guest's last one, or
    /// counts it past the cap.
    pub fn push(&mut self, at: u64, guest: &str, message: Message) {
        if let Some(last) = self.last_of.get(guest).and_then(|&i| self.lines.get_mut(i)) {
            if last.message == message && at.saturating_sub(last.last_at) <= REPEAT_WINDOW {
                last.repeats += 1;
                last.last_at = at;
                return;
            }
        }
        if self.lines.len() < LOG_CAP {
            self.lines.push(LogLine {
                at,
                guest: guest.to_string(),
                message,
                repeats: 0,
                last_at: at,
            });
            self.last_of.insert(guest.to_string(), self.lines.len() - 1);
        } else {
            self.dropped += 1;
            self.last_of.remove(guest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RETRY: Message = Message::RetryingAllocation { ram: 1 };

    fn other(n: u64) -> Message {
        Message::AllocatorRefuses { bytes: n, held: 0 }
    }

    #[test]
    fn messages_print_as_bhyve_and_the_kernel_print_them() {
        assert_eq!(
            RETRY.to_string(),
            "Unable to allocate memory (1), retrying in 1 second"
        );
        assert_eq!(
            Message::SetupFailed { errno: 28 }.to_string(),
            "Unable to setup memory (28)"
        );
        assert_eq!(
            Message::AllocatorRefuses {
                bytes: 4096,
                held: 8192
            }
            .to_string(),
            "fault: the allocator refuses 4096 bytes (the guest holds 8192)"
        );
    }

    #[test]
    fn a_line_repeated_each_second_is_kept_once_with_a_count() {
        let mut log = Log::default();
        for s in 10..20 {
            log.push(s * HZ, "a", RETRY);
            // Another guest's lines in between do not break a's run.
            log.push(s * HZ, "b", other(s));
        }
        let a: Vec<&LogLine> = log.lines.iter().filter(|l| l.guest == "a").collect();
        assert_eq!(a.len(), 1);
        assert_eq!((a[0].at, a[0].repeats, a[0].last_at), (10 * HZ, 9, 19 * HZ));
        // b's lines differ: each is kept.
        assert_eq!(log.lines.len(), 11);
    }

    #[test]
    fn a_repeat_after_a_gap_or_another_line_is_a_new_line() {
        let mut log = Log::default();
        log.push(0, "a", RETRY);
        // A minute later (vm_reserve_pages()'s loop): a line of its own.
        log.push(61 * HZ, "a", RETRY);
        log.push(61 * HZ, "a", other(1));
        log.push(62 * HZ, "a", RETRY);
        assert_eq!(log.lines.len(), 4);
        assert!(log.lines.iter().all(|l| l.repeats == 0));
    }

    #[test]
    fn past_the_cap_lines_are_counted_and_never_folded_into_an_old_one() {
        let mut log = Log::default();
        for i in 0..LOG_CAP {
            log.push(0, "x", other(i as u64));
        }
        log.push(0, "a", RETRY);
        log.push(HZ, "a", RETRY);
        assert_eq!((log.lines.len(), log.dropped), (LOG_CAP, 2));
        // x printed a line that was dropped: its next repeat of the last
        // kept line is not folded into it (something came in between).
        log.push(0, "x", other(u64::MAX));
        log.push(0, "x", other(LOG_CAP as u64 - 1));
        assert_eq!(log.lines.last().unwrap().repeats, 0);
        assert_eq!(log.dropped, 4);
    }
}
