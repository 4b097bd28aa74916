//! Headroom reservations: the table and its arithmetic, without locking.
//!
//! A reservation is memory a consumer (vmm, for one guest) has been
//! promised and will allocate. It has two parts:
//!
//! - *pending*: promised, not yet allocated. Nothing in the VM system
//!   accounts for it yet, so `arc_available_memory()` subtracts it from
//!   `freemem` (the headroom term) and the ARC shrinks until it is free;
//! - *allocated*: the consumer has the pages. They are already gone from
//!   `freemem` and `availrmem`, so counting them again would make the ARC
//!   shrink a second time for the same memory: that double count is what
//!   made OS-8005 over-evict. Allocated bytes still lower the ARC's ceiling
//!   (the ARC must not grow back into a running guest's memory).
//!
//! Pending bytes may be *claimed*: the consumer's wait succeeded and it is
//! taking the pages now. vmm takes `freemem` for a whole segment at once
//! and then zeroes it for seconds before it can say the segment is
//! allocated, so claimed bytes leave the headroom term (the ARC would
//! otherwise free them twice) but stay pending for younger waiters until
//! they are marked allocated (a younger waiter would otherwise be admitted
//! on memory the claimer is about to take).
//!
//! An owner that holds memory in amounts it changes over time (the VMM
//! reservoir, grown and shrunk by its administrator) keeps one
//! reservation for what it holds. Each growth is a reservation of its own,
//! waited for in its place in the queue like any other, and folded into
//! the held one once allocated ([`HeadroomTable::merge_allocated`]); a
//! shrink gives back any part of the allocated bytes
//! ([`HeadroomTable::shrink`]), so the ceiling rises by exactly what the
//! owner returned to the system.
//!
//! Handles are never reused: ids grow from 1. So releasing a handle twice
//! is recognisably a repeat (harmless), and a handle that was never issued
//! is recognisably unknown (an error), without keeping released entries.
//!
//! The table is kept in creation order; waiters are served first come,
//! first served: a waiter proceeds when free memory covers its own pending
//! bytes *and* those of every reservation ahead of it in the queue,
//! claimed or not, plus the margin (`lotsfree + desfree` by default), so
//! two guests starting together cannot both take the same freed memory.
//! A reservation's place in the queue is its own id, or that of an older
//! reservation it is queued with ([`HeadroomTable::queue_with`]): vmm
//! queues a guest's later segments with its first, so a guest that
//! started first finishes first. The pages are locked
//! down, so they leave `availrmem` too: the same bytes must also be there
//! above the ARC's `availrmem` floor (`pages_pp_maximum +
//! arc_pages_pp_reserve`), and the ARC's headroom term is the smaller of
//! the two (`ArcTunables::headroom_term`,
//! `ArcTunables::headroom_term_availrmem`).
//!
//! # Admission
//!
//! A reservation is granted only if the host can give its pending part
//! without paging anything out ([`HostSupply::can_give`]): free memory,
//! plus what the ARC can still shed (its evictable bytes, down to
//! `c_min`), plus what it has evicted already and its kmem caches hold,
//! less the unclaimed pending bytes of every earlier reservation and the
//! margin. Claimed bytes are not subtracted: the driver takes them out of
//! `freemem` as it claims them (`page_create_va()` reserves a whole
//! segment at once) and zeroes them for seconds before it marks them
//! allocated, so counting them would refuse a guest for memory that free
//! memory has already lost. (A younger *waiter* still counts them, as
//! above: admission is an estimate, a wait is the guarantee.) The same sum is taken against `availrmem` (less the part the ARC keeps
//! untouched), since a guest's pages must come out of both; the smaller
//! wins. Memory held by the kernel, by processes (Anon, Exec and libs,
//! Page cache) or by running guests is not counted: only the page
//! scanner could free it, and that is what a start must not cause. A
//! request above the estimate is refused at once
//! ([`TunableError::ShortOfMemory`], `ENOMEM`): the caller learns in one
//! call what a wait would have learned only at its deadline.

use heapless::{String, Vec};

use crate::error::TunableError;
use crate::units::Bytes;

/// How many reservations may be live at once (one per guest on a host; a
/// 1 TiB host of 2 GiB guests needs about 500).
pub const MAX_RESERVATIONS: usize = 1024;
/// The most significant bytes of a consumer's name.
pub const CONSUMER_NAME_LEN: usize = 16;

/// A reservation's handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReservationId(pub u64);

/// One live reservation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reservation {
    /// Its handle.
    pub id: ReservationId,
    /// Who holds it (`vmm`).
    pub consumer: String<CONSUMER_NAME_LEN>,
    /// Bytes reserved in all.
    pub reserved: Bytes,
    /// Bytes not yet allocated.
    pub pending: Bytes,
    /// The part of `pending` its consumer is allocating now.
    pub claimed: Bytes,
    /// Its place in the wait queue: its own id, or that of the older
    /// reservation it was queued with (see [`HeadroomTable::queue_with`]).
    pub queue: ReservationId,
}

impl Reservation {
    /// Bytes already allocated.
    #[must_use]
    pub fn allocated(&self) -> Bytes {
        self.reserved.saturating_sub(self.pending)
    }
}

/// The counters exported as `zfs:0:arc_headroom`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeadroomCounters {
    /// Reservations granted.
    pub reserves: u64,
    /// Reservations refused for lack of headroom now.
    pub rejections: u64,
    /// Reservations refused because they could never fit on this host.
    pub rejections_never_fit: u64,
    /// Reservations refused because the host could not give their memory
    /// now without paging (see [`HostSupply`]).
    pub rejections_memory: u64,
    /// Reservations released.
    pub releases: u64,
    /// Waits that had to sleep.
    pub waits: u64,
    /// Waits that reached their deadline.
    pub wait_timeouts: u64,
    /// Waits interrupted by a signal.
    pub wait_interrupts: u64,
}

/// The outcome of a release.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReleaseOutcome {
    /// The reservation was live and is gone.
    Released {
        /// Its size.
        reserved: Bytes,
    },
    /// The reservation had already been released.
    AlreadyReleased,
}

/// What the host has that a new reservation could be given without
/// paging, in bytes (the kernel's page counts converted by the caller).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostSupply {
    /// `freemem`: the free and cache lists.
    pub freemem: Bytes,
    /// `availrmem`.
    pub availrmem: Bytes,
    /// The part of `availrmem` the ARC keeps untouched
    /// (`pages_pp_maximum + arc_pages_pp_reserve`).
    pub availrmem_floor: Bytes,
    /// The ARC's size.
    pub arc_size: Bytes,
    /// The ARC's evictable bytes.
    pub arc_evictable: Bytes,
    /// Bytes the ARC evicted that its kmem caches still hold.
    pub arc_evicted_cached: Bytes,
    /// The ARC's floor: it never sheds below `c_min`.
    pub c_min: Bytes,
    /// Free memory a start must leave (the headroom margin).
    pub margin: Bytes,
}

impl HostSupply {
    /// What the ARC can hand back: its evictable bytes down to `c_min`,
    /// plus what it evicted already and has not returned yet (saturating
    /// at `u64::MAX` bytes).
    #[must_use]
    pub fn arc_returnable(&self) -> Bytes {
        Bytes(clamp_u64(self.returnable_wide()))
    }

    fn returnable_wide(&self) -> u128 {
        let shed = core::cmp::min(self.arc_evictable, self.arc_size.saturating_sub(self.c_min));
        u128::from(shed.0).saturating_add(u128::from(self.arc_evicted_cached.0))
    }

    /// What a new reservation can be given now, when earlier reservations
    /// still wait for `earlier_pending` bytes: the smaller of
    /// `freemem + returnable - earlier - margin` and `availrmem +
    /// returnable - earlier - availrmem_floor`, never below zero. Exact:
    /// the sums are taken in 128 bits.
    #[must_use]
    pub fn can_give(&self, earlier_pending: Bytes) -> Bytes {
        let back = self.returnable_wide();
        let side = |have: Bytes, keep: Bytes| {
            u128::from(have.0)
                .saturating_add(back)
                .saturating_sub(u128::from(earlier_pending.0))
                .saturating_sub(u128::from(keep.0))
        };
        let by_free = side(self.freemem, self.margin);
        let by_avail = side(self.availrmem, self.availrmem_floor);
        Bytes(clamp_u64(core::cmp::min(by_free, by_avail)))
    }
}

/// The largest block ZFS reads or writes (`SPA_MAXBLOCKSIZE` in
/// `sys/spa.h`): while a guest waits for its memory, the patched
/// `arc_is_overflowing()` lets a reader run this far ahead of the adjust
/// zthr's pass, and no further.
pub const SPA_MAXBLOCKSIZE: Bytes = Bytes(16 << 20);

/// What a reader keeps in circulation when a reservation comes: the ARC
/// of `arc_size` bytes above `c_before`, the target the reservation found,
/// plus the `evicted_cached` bytes in its kmem caches' depots, up to one
/// [`SPA_MAXBLOCKSIZE`]; nothing when the ARC is not above that target.
///
/// An ARC above its own target has a reader (or writer) filling it: each
/// block it adds pushes the ARC over `c`, the adjust zthr evicts as much
/// into the depots, and the reader's next block comes out of the depots.
/// Those bytes circulate between the ARC and the depots; a reap returns
/// them to `freemem` and the reader takes as much back from it. They are
/// not on their way to `freemem`, although the kick would count them in
/// flight (`arc_size - arc_c` and the depots). While a guest waits the
/// band is one block, so the circulation is at most that.
///
/// Without this the cut leaves the guest short by the float, and only a
/// reaper pass that sees the deficit outlast its expectation
/// ([`ArcTunables::reap_to_free`](crate::ArcTunables::reap_to_free)) cuts
/// it, a second and more later, once per wait. Pure arithmetic,
/// saturating: every argument is accepted.
#[must_use]
pub fn reader_float(arc_size: Bytes, c_before: Bytes, evicted_cached: Bytes) -> Bytes {
    if arc_size <= c_before {
        return Bytes::ZERO;
    }
    core::cmp::min(
        arc_size
            .saturating_sub(c_before)
            .saturating_add(evicted_cached),
        SPA_MAXBLOCKSIZE,
    )
}

/// How far to lower the ARC's target `c` at once when the evictor is
/// kicked (`arc_tunables_evict()` in the patched `arc.c`), for the
/// headroom term `headroom_term` of `arc_available_memory()` (see
/// [`ArcTunables::headroom_term`](crate::ArcTunables::headroom_term)), an
/// ARC of `arc_size` bytes with target `arc_c`, `evicted_cached` bytes
/// the ARC evicted that its kmem caches' depots still hold, and
/// `reader_float` bytes of those that a reader keeps in circulation
/// ([`reader_float`]).
///
/// A negative term is a deficit: that much more must reach `freemem`
/// before the waiting guests have their memory. Part of it is already on
/// its way: `arc_size - arc_c`, which the adjust zthr has been asked to
/// evict, and `evicted_cached`, which the next reap returns, less the
/// reader's float, which the reader takes back. The rest is the cut:
/// lowering `c` by it now puts the guests' memory under `c`, where a
/// reader filling the ARC cannot take it, instead of waiting for the
/// reaper's next check and its one-second sleep to find the same
/// deficit. Zero when the term is not negative (no deficit, or nothing
/// pending: `i64::MAX`) or when what is in flight covers it.
///
/// With no float, the same figures as
/// [`ArcTunables::reap_to_free`](crate::ArcTunables::reap_to_free) counts
/// in flight, so the kick and the reaper never ask twice for the same
/// bytes. Pure integer arithmetic, saturating: every argument is
/// accepted.
#[must_use]
pub fn headroom_cut(
    headroom_term: i64,
    arc_size: Bytes,
    arc_c: Bytes,
    evicted_cached: Bytes,
    reader_float: Bytes,
) -> Bytes {
    if headroom_term >= 0 {
        return Bytes::ZERO;
    }
    let in_flight = arc_size
        .saturating_sub(arc_c)
        .saturating_add(evicted_cached)
        .saturating_sub(reader_float);
    Bytes(headroom_term.unsigned_abs()).saturating_sub(in_flight)
}

/// `v`, or `u64::MAX` if it does not fit.
fn clamp_u64(v: u128) -> u64 {
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// Every live reservation, in creation order.
#[derive(Debug)]
pub struct HeadroomTable {
    table: Vec<Reservation, MAX_RESERVATIONS>,
    next_id: u64,
    reserved: Bytes,
    pending: Bytes,
    claimed: Bytes,
    counters: HeadroomCounters,
}

/// Why a reservation cannot be granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal(pub TunableError);

impl HeadroomTable {
    /// An empty table.
    #[must_use]
    pub const fn new() -> Self {
        HeadroomTable {
            table: Vec::new(),
            next_id: 1,
            reserved: Bytes::ZERO,
            pending: Bytes::ZERO,
            claimed: Bytes::ZERO,
            counters: HeadroomCounters {
                reserves: 0,
                rejections: 0,
                rejections_never_fit: 0,
                rejections_memory: 0,
                releases: 0,
                waits: 0,
                wait_timeouts: 0,
                wait_interrupts: 0,
            },
        }
    }

    /// Bytes held by live reservations.
    #[must_use]
    pub fn reserved(&self) -> Bytes {
        self.reserved
    }

    /// Bytes promised and not yet allocated.
    #[must_use]
    pub fn pending(&self) -> Bytes {
        self.pending
    }

    /// Pending bytes no consumer is allocating yet: what the headroom term
    /// asks the ARC to free.
    #[must_use]
    pub fn unclaimed(&self) -> Bytes {
        self.pending.saturating_sub(self.claimed)
    }

    /// The counters.
    #[must_use]
    pub fn counters(&self) -> HeadroomCounters {
        self.counters
    }

    /// Mutable counters, for the wait path.
    pub fn counters_mut(&mut self) -> &mut HeadroomCounters {
        &mut self.counters
    }

    /// Live reservations, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Reservation> {
        self.table.iter()
    }

    /// The number of distinct consumers holding live reservations.
    #[must_use]
    pub fn consumers(&self) -> u64 {
        let mut n = 0u64;
        for (i, r) in self.table.iter().enumerate() {
            if !self.table.iter().take(i).any(|o| o.consumer == r.consumer) {
                n = n.saturating_add(1);
            }
        }
        n
    }

    /// The live reservation `id`.
    #[must_use]
    pub fn get(&self, id: ReservationId) -> Option<&Reservation> {
        self.table.iter().find(|r| r.id == id)
    }

    /// Whether `id` was issued at some point.
    #[must_use]
    pub fn was_issued(&self, id: ReservationId) -> bool {
        id.0 != 0 && id.0 < self.next_id
    }

    /// Grants `bytes` to `consumer` if `c_min + reserved + bytes <=
    /// c_max_base`; otherwise nothing changes and the refusal says whether
    /// the request could ever fit. Admission against what the host can
    /// give is [`reserve_admitted`](Self::reserve_admitted)'s; this is the
    /// ceiling rule alone, with nothing allocated up front.
    pub fn reserve(
        &mut self,
        consumer: &str,
        bytes: Bytes,
        c_min: Bytes,
        c_max_base: Bytes,
    ) -> Result<ReservationId, TunableError> {
        self.reserve_admitted(consumer, bytes, Bytes::ZERO, c_min, c_max_base, None)
    }

    /// Grants `bytes` to `consumer`, of which `allocated` are allocated
    /// from the start (memory the consumer already holds or never
    /// allocates, such as vmm's `page_t` term: it lowers the ceiling and is
    /// never waited for), if
    /// - `c_min + reserved + bytes <= c_max_base` (otherwise
    ///   [`NeverFits`](TunableError::NeverFits) when even an empty table
    ///   could not hold it, [`NoHeadroom`](TunableError::NoHeadroom)
    ///   when the live reservations are in the way), and
    /// - when `supply` is given, the pending part `bytes - allocated` is at
    ///   most what the host can give now on top of every earlier pending
    ///   byte ([`ShortOfMemory`](TunableError::ShortOfMemory)).
    ///
    /// A refusal changes nothing but its counter.
    pub fn reserve_admitted(
        &mut self,
        consumer: &str,
        bytes: Bytes,
        allocated: Bytes,
        c_min: Bytes,
        c_max_base: Bytes,
        supply: Option<&HostSupply>,
    ) -> Result<ReservationId, TunableError> {
        if bytes == Bytes::ZERO {
            return Err(TunableError::ZeroSize);
        }
        let pending_part = bytes
            .checked_sub(allocated)
            .ok_or(TunableError::ExceedsPending {
                requested: allocated,
                pending: bytes,
            })?;
        // The most that can ever be reserved on this host.
        let host_limit = c_max_base.saturating_sub(c_min);
        if bytes > host_limit {
            self.counters.rejections_never_fit =
                self.counters.rejections_never_fit.saturating_add(1);
            return Err(TunableError::NeverFits {
                requested: bytes,
                host_limit,
            });
        }
        let available = host_limit.saturating_sub(self.reserved);
        if bytes > available {
            self.counters.rejections = self.counters.rejections.saturating_add(1);
            return Err(TunableError::NoHeadroom {
                requested: bytes,
                available,
            });
        }
        if let Some(supply) = supply {
            // Claimed bytes are already out of freemem (see Admission).
            let can_give = supply.can_give(self.unclaimed());
            if pending_part > can_give {
                self.counters.rejections_memory = self.counters.rejections_memory.saturating_add(1);
                return Err(TunableError::ShortOfMemory {
                    requested: pending_part,
                    available: can_give,
                    margin: supply.margin,
                });
            }
        }
        if self.table.is_full() {
            return Err(TunableError::Full);
        }
        let reserved = self
            .reserved
            .checked_add(bytes)
            .ok_or(TunableError::Overflow)?;
        let pending = self
            .pending
            .checked_add(pending_part)
            .ok_or(TunableError::Overflow)?;
        let id = ReservationId(self.next_id);
        let next_id = self.next_id.checked_add(1).ok_or(TunableError::Overflow)?;
        let mut name: String<CONSUMER_NAME_LEN> = String::new();
        for ch in consumer.chars() {
            if name.push(ch).is_err() {
                break;
            }
        }
        self.table
            .push(Reservation {
                id,
                consumer: name,
                reserved: bytes,
                pending: pending_part,
                claimed: Bytes::ZERO,
                queue: id,
            })
            .map_err(|_| TunableError::Full)?;
        self.reserved = reserved;
        self.pending = pending;
        self.next_id = next_id;
        self.counters.reserves = self.counters.reserves.saturating_add(1);
        Ok(id)
    }

    /// The live reservation `id`, or why there is none.
    fn live_mut(&mut self, id: ReservationId) -> Result<&mut Reservation, TunableError> {
        let issued = self.was_issued(id);
        match self.table.iter_mut().find(|r| r.id == id) {
            Some(r) => Ok(r),
            None if issued => Err(TunableError::Released),
            None => Err(TunableError::UnknownReservation),
        }
    }

    /// Claims every pending byte of `id` not yet claimed: its consumer is
    /// allocating them now.
    pub fn claim(&mut self, id: ReservationId) -> Result<(), TunableError> {
        let r = self.live_mut(id)?;
        let more = r.pending.saturating_sub(r.claimed);
        r.claimed = r.pending;
        // Cannot overflow: the total is at most the sum of the pendings.
        self.claimed = self.claimed.saturating_add(more);
        Ok(())
    }

    /// Moves `bytes` of `id` from pending to allocated, claimed bytes
    /// first.
    pub fn mark_allocated(&mut self, id: ReservationId, bytes: Bytes) -> Result<(), TunableError> {
        let r = self.live_mut(id)?;
        let pending = r
            .pending
            .checked_sub(bytes)
            .ok_or(TunableError::ExceedsPending {
                requested: bytes,
                pending: r.pending,
            })?;
        let unclaimed = core::cmp::min(r.claimed, bytes);
        r.pending = pending;
        r.claimed = r.claimed.saturating_sub(unclaimed);
        // Cannot underflow: the totals are the sums of every entry's.
        self.pending = self.pending.saturating_sub(bytes);
        self.claimed = self.claimed.saturating_sub(unclaimed);
        Ok(())
    }

    /// Releases `id`, returning both parts. Releasing twice is harmless.
    pub fn release(&mut self, id: ReservationId) -> Result<ReleaseOutcome, TunableError> {
        match self.table.iter().position(|r| r.id == id) {
            Some(i) => {
                let r = self.table.remove(i);
                self.reserved = self.reserved.saturating_sub(r.reserved);
                self.pending = self.pending.saturating_sub(r.pending);
                self.claimed = self.claimed.saturating_sub(r.claimed);
                self.counters.releases = self.counters.releases.saturating_add(1);
                Ok(ReleaseOutcome::Released {
                    reserved: r.reserved,
                })
            }
            None if self.was_issued(id) => Ok(ReleaseOutcome::AlreadyReleased),
            None => Err(TunableError::UnknownReservation),
        }
    }

    /// Folds `from`, whose memory is now all allocated, into `into`: an
    /// owner that grows in steps (the VMM reservoir) keeps one reservation
    /// for what it holds, and each step waits as a reservation of its own,
    /// in its place in the queue, until it is allocated. `from`'s pending
    /// bytes, claimed or not, become allocated; `into` gains its size and
    /// `from` is gone (later calls on it answer
    /// [`Released`](TunableError::Released)). The total reserved, and so
    /// the ceiling, do not move; this is not a release.
    pub fn merge_allocated(
        &mut self,
        into: ReservationId,
        from: ReservationId,
    ) -> Result<(), TunableError> {
        if into == from {
            return Err(TunableError::Duplicate);
        }
        // Both must be live before anything changes.
        let into_reserved = self.live_mut(into)?.reserved;
        let from_entry = self.live_mut(from)?;
        let (bytes, pending, claimed) =
            (from_entry.reserved, from_entry.pending, from_entry.claimed);
        let merged = into_reserved
            .checked_add(bytes)
            .ok_or(TunableError::Overflow)?;
        let Some(i) = self.table.iter().position(|r| r.id == from) else {
            return Err(TunableError::Released);
        };
        let _ = self.table.remove(i);
        // Cannot underflow: the totals are the sums of every entry's.
        self.pending = self.pending.saturating_sub(pending);
        self.claimed = self.claimed.saturating_sub(claimed);
        if let Some(r) = self.table.iter_mut().find(|r| r.id == into) {
            r.reserved = merged;
        }
        Ok(())
    }

    /// Gives back `bytes` of `id`'s allocated part: its owner returned
    /// that much memory to the system (the VMM reservoir shrinking), so the
    /// ceiling may rise by exactly `bytes`. Refused with nothing changed
    /// ([`OutOfBounds`](TunableError::OutOfBounds), `EINVAL`) for more
    /// than is allocated. Returns what `id` still holds; at zero it is
    /// released.
    pub fn shrink(&mut self, id: ReservationId, bytes: Bytes) -> Result<Bytes, TunableError> {
        let r = self.live_mut(id)?;
        let allocated = r.allocated();
        if bytes > allocated {
            return Err(TunableError::OutOfBounds {
                name: "headroom returned",
                value: bytes.0,
                min: 0,
                max: allocated.0,
            });
        }
        r.reserved = r.reserved.saturating_sub(bytes);
        let left = r.reserved;
        // Cannot underflow: the total is the sum of every entry's.
        self.reserved = self.reserved.saturating_sub(bytes);
        if left == Bytes::ZERO {
            self.release(id)?;
        }
        Ok(left)
    }

    /// The pending bytes, claimed or not, of `id` and of every live
    /// reservation ahead of it in the wait queue: what free memory must
    /// cover before `id`'s owner may allocate.
    #[must_use]
    pub fn pending_through(&self, id: ReservationId) -> Option<Bytes> {
        let key = self.get(id).map(|r| (r.queue, r.id))?;
        Some(
            self.table
                .iter()
                .filter(|r| (r.queue, r.id) <= key)
                .fold(Bytes::ZERO, |sum, r| sum.saturating_add(r.pending)),
        )
    }

    /// Queues `id` where `with` is: `id` then waits only for what is ahead
    /// of `with` (and `with` itself), not for what was reserved between
    /// the two. A consumer whose one object takes memory in steps (vmm: a
    /// guest's segments, one `VM_ALLOC_MEMSEG` each) queues each later
    /// step with its first, so a guest that started first is not made to
    /// wait for younger guests between its own segments (on a 512 GiB host
    /// three guests of 102 GiB started 15 s apart, the first's second
    /// segment waited behind the others' first and timed out). Does
    /// nothing if `with` is not live or is younger than `id`; `Released`
    /// or `UnknownReservation` for an `id` that is not live.
    pub fn queue_with(
        &mut self,
        id: ReservationId,
        with: ReservationId,
    ) -> Result<(), TunableError> {
        let place = self.get(with).map(|r| r.queue);
        let r = self.live_mut(id)?;
        if let Some(q) = place.filter(|q| *q < r.queue) {
            r.queue = q;
        }
        Ok(())
    }
}

impl Default for HeadroomTable {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::GIB;

    #[test]
    fn headroom_cut_is_zero_without_a_deficit() {
        let (size, c) = (Bytes(60 * GIB), Bytes(50 * GIB));
        assert_eq!(
            headroom_cut(i64::MAX, size, c, Bytes::ZERO, Bytes::ZERO),
            Bytes::ZERO
        );
        assert_eq!(
            headroom_cut(0, size, c, Bytes::ZERO, Bytes::ZERO),
            Bytes::ZERO
        );
        assert_eq!(
            headroom_cut(1, Bytes::ZERO, Bytes::ZERO, Bytes::ZERO, Bytes::ZERO),
            Bytes::ZERO
        );
    }

    #[test]
    fn headroom_cut_is_the_deficit_less_what_is_in_flight() {
        let g = |n: u64| Bytes(n * GIB);
        let deficit = -i64::try_from(10 * GIB).unwrap();
        // Nothing in flight: the whole deficit.
        assert_eq!(
            headroom_cut(deficit, g(50), g(50), Bytes::ZERO, Bytes::ZERO),
            g(10)
        );
        // An ARC below c has nothing in flight either.
        assert_eq!(
            headroom_cut(deficit, g(40), g(50), Bytes::ZERO, Bytes::ZERO),
            g(10)
        );
        // size - c and the depots count, each and together.
        assert_eq!(
            headroom_cut(deficit, g(53), g(50), Bytes::ZERO, Bytes::ZERO),
            g(7)
        );
        assert_eq!(headroom_cut(deficit, g(50), g(50), g(2), Bytes::ZERO), g(8));
        assert_eq!(headroom_cut(deficit, g(53), g(50), g(2), Bytes::ZERO), g(5));
    }

    #[test]
    fn headroom_cut_is_zero_when_in_flight_covers_the_deficit() {
        let g = |n: u64| Bytes(n * GIB);
        let deficit = -i64::try_from(10 * GIB).unwrap();
        assert_eq!(
            headroom_cut(deficit, g(60), g(50), Bytes::ZERO, Bytes::ZERO),
            Bytes::ZERO
        );
        assert_eq!(
            headroom_cut(deficit, g(58), g(50), g(2), Bytes::ZERO),
            Bytes::ZERO
        );
        assert_eq!(
            headroom_cut(deficit, g(70), g(50), g(5), Bytes::ZERO),
            Bytes::ZERO
        );
        // One byte short of covering it.
        assert_eq!(
            headroom_cut(
                deficit,
                Bytes(60 * GIB - 1),
                g(50),
                Bytes::ZERO,
                Bytes::ZERO
            ),
            Bytes(1)
        );
    }

    #[test]
    fn headroom_cut_adds_the_float_a_reader_keeps() {
        let g = |n| Bytes(n * GIB);
        let deficit = -((10 * GIB) as i64);
        // A 10 MiB float is not in flight: the cut is that much larger.
        let f = Bytes(10 << 20);
        let above = Bytes(50 * GIB + f.0);
        assert_eq!(
            headroom_cut(deficit, above, g(50), Bytes::ZERO, Bytes::ZERO),
            Bytes(10 * GIB - f.0)
        );
        assert_eq!(headroom_cut(deficit, above, g(50), Bytes::ZERO, f), g(10));
        assert_eq!(
            headroom_cut(deficit, g(53), g(50), g(2), f),
            Bytes(5 * GIB + f.0)
        );
        // The float is part of what the kick sees in flight, never more.
        assert_eq!(headroom_cut(deficit, g(50), g(50), Bytes::ZERO, f), g(10));
        // In flight that covers the deficit and the float: no cut.
        assert_eq!(
            headroom_cut(deficit, g(70), g(50), Bytes::ZERO, f),
            Bytes::ZERO
        );
        // No deficit: no cut, float or not.
        assert_eq!(headroom_cut(0, g(50), g(50), Bytes::ZERO, f), Bytes::ZERO);
    }

    #[test]
    fn reader_float_is_what_lies_above_the_target_the_reservation_found() {
        let m = |n: u64| Bytes(n << 20);
        // An ARC at or under its target has no reader filling it.
        assert_eq!(reader_float(m(100), m(100), m(5)), Bytes::ZERO);
        assert_eq!(reader_float(m(90), m(100), m(5)), Bytes::ZERO);
        // Above it: the bytes above and the depots' bytes.
        assert_eq!(reader_float(m(105), m(100), m(5)), m(10));
        assert_eq!(reader_float(m(105), m(100), Bytes::ZERO), m(5));
        // At most one block, however far the stock band let it run.
        assert_eq!(
            reader_float(Bytes(12 * GIB), m(100), m(5)),
            SPA_MAXBLOCKSIZE
        );
        assert_eq!(
            reader_float(Bytes(u64::MAX), Bytes::ZERO, Bytes(u64::MAX)),
            SPA_MAXBLOCKSIZE
        );
    }

    #[test]
    fn headroom_cut_saturates_at_the_extremes() {
        let max = Bytes(u64::MAX);
        // i64::MIN's magnitude is 2^63, which fits in u64.
        assert_eq!(
            headroom_cut(i64::MIN, Bytes::ZERO, max, Bytes::ZERO, Bytes::ZERO),
            Bytes(1 << 63)
        );
        // In flight saturates at u64::MAX instead of wrapping.
        assert_eq!(
            headroom_cut(i64::MIN, max, Bytes::ZERO, max, Bytes::ZERO),
            Bytes::ZERO
        );
        assert_eq!(
            headroom_cut(-1, max, Bytes::ZERO, Bytes::ZERO, Bytes::ZERO),
            Bytes::ZERO
        );
        assert_eq!(
            headroom_cut(-1, Bytes::ZERO, Bytes::ZERO, max, Bytes::ZERO),
            Bytes::ZERO
        );
        assert_eq!(
            headroom_cut(-1, Bytes::ZERO, Bytes::ZERO, Bytes::ZERO, Bytes::ZERO),
            Bytes(1)
        );
    }

    #[test]
    fn reserve_mark_release_round_trip() {
        let mut t = HeadroomTable::new();
        let id = t
            .reserve("vmm", Bytes(4 * GIB), Bytes(GIB), Bytes(16 * GIB))
            .unwrap();
        assert_eq!(t.reserved(), Bytes(4 * GIB));
        assert_eq!(t.pending(), Bytes(4 * GIB));
        t.mark_allocated(id, Bytes(GIB)).unwrap();
        assert_eq!(t.pending(), Bytes(3 * GIB));
        assert_eq!(t.get(id).unwrap().allocated(), Bytes(GIB));
        assert!(matches!(
            t.mark_allocated(id, Bytes(4 * GIB)),
            Err(TunableError::ExceedsPending { .. })
        ));
        assert_eq!(
            t.release(id),
            Ok(ReleaseOutcome::Released {
                reserved: Bytes(4 * GIB)
            })
        );
        assert_eq!(t.release(id), Ok(ReleaseOutcome::AlreadyReleased));
        assert_eq!(
            t.release(ReservationId(99)),
            Err(TunableError::UnknownReservation)
        );
        assert_eq!(
            t.release(ReservationId(0)),
            Err(TunableError::UnknownReservation)
        );
        assert_eq!(t.mark_allocated(id, Bytes(1)), Err(TunableError::Released));
        assert_eq!(t.reserved(), Bytes::ZERO);
        assert_eq!(t.pending(), Bytes::ZERO);
    }

    #[test]
    fn refusals_change_nothing() {
        let mut t = HeadroomTable::new();
        let a = t
            .reserve("vmm", Bytes(10 * GIB), Bytes(GIB), Bytes(16 * GIB))
            .unwrap();
        let before = (t.reserved(), t.pending(), t.iter().count());
        assert!(matches!(
            t.reserve("vmm", Bytes(6 * GIB), Bytes(GIB), Bytes(16 * GIB)),
            Err(TunableError::NoHeadroom { .. })
        ));
        assert!(matches!(
            t.reserve("vmm", Bytes(16 * GIB), Bytes(GIB), Bytes(16 * GIB)),
            Err(TunableError::NeverFits { .. })
        ));
        assert_eq!(
            t.reserve("vmm", Bytes(0), Bytes(GIB), Bytes(16 * GIB)),
            Err(TunableError::ZeroSize)
        );
        assert_eq!(before, (t.reserved(), t.pending(), t.iter().count()));
        assert_eq!(t.counters().rejections, 1);
        assert_eq!(t.counters().rejections_never_fit, 1);
        // Exactly filling the headroom is allowed.
        t.reserve("vmm", Bytes(5 * GIB), Bytes(GIB), Bytes(16 * GIB))
            .unwrap();
        t.release(a).unwrap();
    }

    #[test]
    fn waiters_are_first_come_first_served() {
        let mut t = HeadroomTable::new();
        let a = t
            .reserve("vmm", Bytes(2 * GIB), Bytes(GIB), Bytes(16 * GIB))
            .unwrap();
        let b = t
            .reserve("other", Bytes(3 * GIB), Bytes(GIB), Bytes(16 * GIB))
            .unwrap();
        assert_eq!(t.pending_through(a), Some(Bytes(2 * GIB)));
        assert_eq!(t.pending_through(b), Some(Bytes(5 * GIB)));
        assert_eq!(t.consumers(), 2);
        t.mark_allocated(a, Bytes(2 * GIB)).unwrap();
        assert_eq!(t.pending_through(b), Some(Bytes(3 * GIB)));
        t.release(a).unwrap();
        assert_eq!(t.pending_through(a), None);
    }

    #[test]
    fn claimed_bytes_leave_the_term_but_not_the_queue() {
        let mut t = HeadroomTable::new();
        let a = t
            .reserve("vmm", Bytes(2 * GIB), Bytes(GIB), Bytes(16 * GIB))
            .unwrap();
        let b = t
            .reserve("vmm", Bytes(3 * GIB), Bytes(GIB), Bytes(16 * GIB))
            .unwrap();
        t.claim(a).unwrap();
        t.claim(a).unwrap(); // claiming again claims nothing more
        assert_eq!(
            (t.pending(), t.unclaimed()),
            (Bytes(5 * GIB), Bytes(3 * GIB))
        );
        // b still waits for a's memory until a has it.
        assert_eq!(t.pending_through(b), Some(Bytes(5 * GIB)));
        t.mark_allocated(a, Bytes(GIB)).unwrap();
        assert_eq!(t.get(a).unwrap().claimed, Bytes(GIB));
        assert_eq!(
            (t.pending(), t.unclaimed()),
            (Bytes(4 * GIB), Bytes(3 * GIB))
        );
        t.mark_allocated(a, Bytes(GIB)).unwrap();
        assert_eq!(t.pending_through(b), Some(Bytes(3 * GIB)));
        // A release takes its claim with it.
        t.claim(b).unwrap();
        assert_eq!(t.unclaimed(), Bytes::ZERO);
        t.release(b).unwrap();
        assert_eq!((t.pending(), t.unclaimed()), (Bytes::ZERO, Bytes::ZERO));
        assert_eq!(t.claim(b), Err(TunableError::Released));
        assert_eq!(
            t.claim(ReservationId(77)),
            Err(TunableError::UnknownReservation)
        );
    }
    #[test]
    fn a_stepwise_owner_merges_its_steps_and_shrinks_exactly() {
        let mut t = HeadroomTable::new();
        let held = t
            .reserve("reservoir", Bytes(2 * GIB), Bytes(GIB), Bytes(16 * GIB))
            .unwrap();
        t.mark_allocated(held, Bytes(2 * GIB)).unwrap();
        let guest = t
            .reserve("vmm", Bytes(GIB), Bytes(GIB), Bytes(16 * GIB))
            .unwrap();
        let step = t
            .reserve("reservoir", Bytes(3 * GIB), Bytes(GIB), Bytes(16 * GIB))
            .unwrap();
        // The step waits behind the guest: first come, first served.
        assert_eq!(t.pending_through(step), Some(Bytes(4 * GIB)));
        t.claim(step).unwrap();
        t.merge_allocated(held, step).unwrap();
        assert_eq!(t.get(held).unwrap().reserved, Bytes(5 * GIB));
        assert_eq!(t.get(held).unwrap().pending, Bytes::ZERO);
        assert_eq!(
            (t.reserved(), t.pending(), t.unclaimed()),
            (Bytes(6 * GIB), Bytes(GIB), Bytes(GIB))
        );
        assert_eq!(t.merge_allocated(held, step), Err(TunableError::Released));
        assert_eq!(t.merge_allocated(held, held), Err(TunableError::Duplicate));
        // Back by any amount, and no more than is allocated.
        assert_eq!(t.shrink(held, Bytes(GIB + 4096)), Ok(Bytes(4 * GIB - 4096)));
        assert_eq!(t.reserved(), Bytes(5 * GIB - 4096));
        assert!(matches!(
            t.shrink(held, Bytes(4 * GIB)),
            Err(TunableError::OutOfBounds { .. })
        ));
        assert!(matches!(
            t.shrink(guest, Bytes(1)),
            Err(TunableError::OutOfBounds { .. })
        ));
        assert_eq!(t.reserved(), Bytes(5 * GIB - 4096));
        assert_eq!(t.shrink(held, Bytes(4 * GIB - 4096)), Ok(Bytes::ZERO));
        assert_eq!(t.get(held), None);
        assert_eq!(t.shrink(held, Bytes(1)), Err(TunableError::Released));
        assert_eq!((t.reserved(), t.pending()), (Bytes(GIB), Bytes(GIB)));
    }
}
