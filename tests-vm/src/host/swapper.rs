//! The swapper (`sched.c`): the desperate hard swap and its stop rule.

use crate::host::memory::{Memory, Thresholds};
use crate::host::pageout::Pageout;
use crate::params::Params;

/// What the swapper has swapped out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swapper {
    /// Processes swapped out.
    pub procs_swapped: u64,
    /// LWPs swapped out (the seed's symptom).
    pub lwps_swapped: u64,
}

impl Swapper {
    /// `sched()`, once a second: the desperate hard swap (sched.c:184)
    /// and its stop rule (sched.c:404). Each process swapped out takes its
    /// LWPs and its share of Anon with it.
    pub fn sched(&mut self, mem: &mut Memory, thr: &Thresholds, vm: &Pageout, p: &Params) {
        let desperate = p.avenrun >= 2
            && vm.avefree.max(vm.avefree30) < thr.desfree
            && (vm.pgoutrate > p.maxpgio || vm.avefree < thr.minfree);
        if !desperate {
            return;
        }
        while self.procs_swapped < p.swappable_procs {
            let f = mem.freemem();
            if vm.avefree > thr.minfree || f > thr.desfree {
                break;
            }
            let left = p.swappable_procs - self.procs_swapped;
            let rss = mem.anon / left.max(1);
            mem.anon -= rss;
            mem.swapped_anon += rss;
            mem.cachelist += rss;
            self.procs_swapped += 1;
            self.lwps_swapped += p.lwps_per_proc;
        }
    }
}
