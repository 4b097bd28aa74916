//! The host layer: the VM system below the ARC. Each part owns its own
//! state and takes the counters it touches:
//!
//! - [`memory`]: physical memory by `::memstat` category, `freemem`,
//!   `availrmem`, `needfree`, and the thresholds fixed at boot;
//! - [`kmem`]: the kmem taskq, system-wide reaps and the ARC's caches'
//!   depot (touches Kernel and the depot's bytes);
//! - [`pageout`]: `schedpaging()`, the page scanner and `vmmeter()`
//!   (touches the pageable categories and the cachelist);
//! - [`memstat`]: `::memstat`'s categories read from [`memory`], and
//!   mdb's layout of them;
//! - [`swapper`]: `sched()`'s desperate swap (touches Anon and the
//!   cachelist).
//!
//! Nothing here knows the ARC or the guests; the machine
//! ([`crate::machine`]) calls each part in the kernel's order every tick.

pub mod kmem;
pub mod memory;
pub mod memstat;
pub mod pageout;
pub mod swapper;
