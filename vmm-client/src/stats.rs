//! The figures exported as the `vmm:0:arc_resv` kstat.

use crate::error::Failure;

/// The figures of `vmm:0:arc_resv`: gauges of the instance table and
/// counters of creates, destroys and failed creates by cause.
///
/// The kstat-export crate renders the kstat from [`fields`](Self::fields);
/// the names and their order are that crate's contract.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArcResvStats {
    /// Instances in the table, whatever their state (being created,
    /// running, being destroyed).
    pub instances: u64,
    /// Bytes of ARC headroom held by vmm's live reservations (guest RAM
    /// plus page overhead), including creates still waiting.
    pub reserved_bytes: u64,
    /// The page-overhead part of `reserved_bytes`.
    pub overhead_bytes: u64,
    /// Instances created (`VMM_CREATE_VM`, or a whole create that
    /// finished).
    pub creates: u64,
    /// Created instances whose destruction finished (their reservations
    /// returned); an instance destroyed while being created counts as a
    /// failed create instead.
    pub destroys: u64,
    /// Creates refused: the reservation did not fit next to live ones.
    pub fail_no_headroom: u64,
    /// Creates refused: the reservation could never fit on this host.
    pub fail_never_fits: u64,
    /// Creates refused: the host could not give the guest's memory now
    /// without paging (free memory and what the ARC can shed fall short).
    pub fail_no_memory: u64,
    /// Creates rolled back: the ARC did not free the memory in time.
    pub fail_timeout: u64,
    /// Creates rolled back: a signal, or the instance's destruction.
    pub fail_interrupted: u64,
    /// Creates rolled back: allocating guest memory failed.
    pub fail_alloc: u64,
    /// Creates refused: the instance or reservation table was full.
    pub fail_table_full: u64,
    /// Creates refused for their arguments or the instance's state.
    pub fail_invalid: u64,
}

impl ArcResvStats {
    /// How many figures [`fields`](Self::fields) gives.
    pub const FIELDS: usize = 13;

    /// Every figure with its kstat name, in the kstat's order.
    #[must_use]
    pub fn fields(&self) -> [(&'static str, u64); Self::FIELDS] {
        [
            ("instances", self.instances),
            ("reserved_bytes", self.reserved_bytes),
            ("overhead_bytes", self.overhead_bytes),
            ("creates", self.creates),
            ("destroys", self.destroys),
            ("fail_no_headroom", self.fail_no_headroom),
            ("fail_never_fits", self.fail_never_fits),
            ("fail_no_memory", self.fail_no_memory),
            ("fail_timeout", self.fail_timeout),
            ("fail_interrupted", self.fail_interrupted),
            ("fail_alloc", self.fail_alloc),
            ("fail_table_full", self.fail_table_full),
            ("fail_invalid", self.fail_invalid),
        ]
    }

    /// Counts one failed create under its cause.
    pub(crate) fn count_failure(&mut self, f: Failure) {
        let c = match f {
            Failure::NoHeadroom => &mut self.fail_no_headroom,
            Failure::NeverFits => &mut self.fail_never_fits,
            Failure::NoMemory => &mut self.fail_no_memory,
            Failure::Timeout => &mut self.fail_timeout,
            Failure::Interrupted => &mut self.fail_interrupted,
            Failure::Alloc => &mut self.fail_alloc,
            Failure::TableFull => &mut self.fail_table_full,
            Failure::Invalid => &mut self.fail_invalid,
        };
        *c = c.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_have_the_kstat_names_in_order() {
        let s = ArcResvStats {
            instances: 1,
            reserved_bytes: 2,
            overhead_bytes: 3,
            creates: 4,
            destroys: 5,
            fail_no_headroom: 6,
            fail_never_fits: 7,
            fail_no_memory: 8,
            fail_timeout: 9,
            fail_interrupted: 10,
            fail_alloc: 11,
            fail_table_full: 12,
            fail_invalid: 13,
        };
        let names = [
            "instances",
            "reserved_bytes",
            "overhead_bytes",
            "creates",
            "destroys",
            "fail_no_headroom",
            "fail_never_fits",
            "fail_no_memory",
            "fail_timeout",
            "fail_interrupted",
            "fail_alloc",
            "fail_table_full",
            "fail_invalid",
        ];
        for (i, ((name, value), want)) in s.fields().iter().zip(names).enumerate() {
            assert_eq!(*name, want);
            assert_eq!(*value, i as u64 + 1);
            // A kstat name is at most KSTAT_STRLEN - 1 characters.
            assert!(name.len() <= 30);
        }
    }

    #[test]
    fn each_failure_has_its_own_counter() {
        let all = [
            Failure::NoHeadroom,
            Failure::NeverFits,
            Failure::NoMemory,
            Failure::Timeout,
            Failure::Interrupted,
            Failure::Alloc,
            Failure::TableFull,
            Failure::Invalid,
        ];
        for (i, f) in all.into_iter().enumerate() {
            let mut s = ArcResvStats::default();
            s.count_failure(f);
            let counted: Vec<u64> = s.fields()[5..].iter().map(|&(_, v)| v).collect();
            let mut want = vec![0; 8];
            want[i] = 1;
            assert_eq!(counted, want, "{f:?}");
        }
    }
}
