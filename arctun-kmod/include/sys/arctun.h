/*
 * This file and its contents are supplied under the terms of the
 * Common Development and Distribution License ("CDDL"), version 1.0.
 * You may only use this file in accordance with the terms of version
 * 1.0 of the CDDL.
 *
 * A full copy of the text of the CDDL should have accompanied this
 * source.  A copy of the CDDL is also available via the Internet at
 * http://www.illumos.org/license/CDDL.
 */

/*
 * Copyright 2026 The arctun authors
 */

#ifndef _SYS_ARCTUN_H
#define	_SYS_ARCTUN_H

/*
 * arctun: runtime-adjustable ZFS ARC limits and ARC headroom reservations.
 *
 * The arctun misc module owns the ARC's size limits (arc_c_min, arc_c_max
 * and what derives from them) after arc_init(): it recomputes them with
 * arc_init()'s own rules whenever a tunable changes, validates every write
 * before storing anything, and publishes the results so that no reader can
 * see c above c_max or c_min above c_max.  Kernel consumers (vmm, for each
 * guest) reserve headroom: a reservation lowers the ARC's effective ceiling
 * by its size and, while its memory is still to be allocated, asks
 * arc_available_memory() for exactly that memory.
 *
 * Both zfs and vmm depend on this module (ld -N misc/arctun).  The module's
 * implementation is Rust; this header is its whole interface.
 *
 * Contexts and locking
 *
 * Functions marked "any context" take no lock and never block; they may be
 * called with any lock held (the ARC calls them from its allocation path,
 * from arc_kstat_update() and from zthr check functions).  Every other
 * function may block on the module's mutex and must be called from kernel
 * or user context, never from interrupt context, with no ARC lock held
 * except where noted.  The module calls back into the ARC through
 * arctun_arc_ops_t with its own mutexes held, so the ARC's callbacks must
 * not call back into this module except through "any context" functions.
 *
 * Lock order: the admin lock (tunable variables and this module's kstats'
 * ks_lock), then vmm's instance table lock, then the module's mutex, then
 * the callback lock, then whatever the ARC's callbacks take
 * (arc_adjust_lock, the adjust zthr's locks).
 *
 * Errors are returned as errno values; nothing here panics on bad input.
 */

#include <sys/types.h>

#ifdef	__cplusplus
extern "C" {
#endif

/*
 * Module lifecycle, for the module's own _init() and _fini().
 *
 * arctun_mod_init() sets up the module's locks and computes the ARC's
 * default limits from physmem, swapfs_minfree and the kernel heap; it
 * returns 0, or EBUSY if the module is already initialized (each load of
 * the module initializes it once; a second arctun_mod_init() in the same
 * load, even after arctun_mod_fini(), is EBUSY).
 * arctun_mod_busy() returns non-zero while the ARC or vmm is registered or
 * a reservation is live; _fini() must not proceed then.  arctun_mod_fini()
 * tears everything down; it must only be called when arctun_mod_busy() has
 * returned 0 and mod_remove() has succeeded.
 */
extern int arctun_mod_init(void);
extern int arctun_mod_busy(void);
extern void arctun_mod_fini(void);

/*
 * A tunable's C variable: the variable /etc/system sets and an
 * administrator may patch with mdb -kw.  The module reads it once a second
 * (arctun_arc_tick()) and applies a changed value, or restores the value in
 * force and warns.
 */
typedef struct arctun_var {
	const char	*av_name;	/* its name, e.g. "zfs_arc_max" */
	uint64_t	*av_addr;	/* the variable */
} arctun_var_t;

#define	ARCTUN_ARC_OPS_VERSION_1	1	/* aao_size to aao_nvars */
#define	ARCTUN_ARC_OPS_VERSION_2	2	/* and aao_admission */
#define	ARCTUN_ARC_OPS_VERSION		ARCTUN_ARC_OPS_VERSION_2
#define	ARCTUN_MAX_VARS			16

/*
 * The ARC's own figures for the admission of a headroom reservation (see
 * arctun_vmm_reserve()), filled in by aao_admission:
 *
 *   aad_evictable	bytes eviction could free now: the evictable data
 *			and metadata of the MRU and MFU lists (arcs_esize).
 *			Buffers the dbuf caches hold are referenced, so they
 *			are not among them; the module counts no more of it
 *			than lies above c_min.
 *   aad_evicted_cached	bytes already evicted that wait in the ARC's kmem
 *			caches, where the next reap of those caches returns
 *			them: the full magazines of their depots.
 *   aad_pp_reserve	pages of availrmem the ARC keeps above
 *			pages_pp_maximum (arc_pages_pp_reserve).
 *
 * The module adds freemem, availrmem and pages_pp_maximum, which it reads
 * itself.
 */
typedef struct arctun_admission {
	uint64_t	aad_evictable;
	uint64_t	aad_evicted_cached;
	uint64_t	aad_pp_reserve;
} arctun_admission_t;

/*
 * What the ARC gives the module at registration.  The callbacks are
 * called with the module's mutexes held and must not block for long:
 *
 *   aao_size	returns the ARC's current size (aggsum_value(&arc_size)).
 *   aao_evict	starts eviction now: c dropped below the ARC's size, or
 *		headroom was reserved.  Once eviction is done the ARC should
 *		also return the evicted memory (reap its kmem caches), which
 *		nothing else may do while memory is plentiful.  It is also
 *		called from arctun_arc_tick(), so it must not wake or wait
 *		for the thread that runs the tick.
 *   aao_admission (version 2; may be NULL) fills in the ARC's figures for
 *		a reservation's admission (arctun_admission_t).  It may take
 *		the ARC's own locks and kmem's (kmem_cache_stat()), and like
 *		the others must not call back into the module.
 *
 * A reservation is admitted only if the host can give its memory without
 * paging (see arctun_vmm_reserve()); without aao_admission (a version 1
 * ops vector, or a NULL one), the module has no view of the ARC's
 * figures and admits by the ceiling rule alone, as before.
 *
 * aao_vars lists the ARC's tunable variables (aao_nvars of them, at most
 * ARCTUN_MAX_VARS); their values at registration are applied as boot
 * values (or, once boot is over, when zfs is reloaded, as runtime writes).
 */
typedef struct arctun_arc_ops {
	uint_t			aao_version;	/* ARCTUN_ARC_OPS_VERSION */
	uint64_t		(*aao_size)(void);
	void			(*aao_evict)(void);
	const arctun_var_t	*aao_vars;
	uint_t			aao_nvars;
	/* Version 2: */
	void			(*aao_admission)(arctun_admission_t *);
} arctun_arc_ops_t;

/*
 * A consistent snapshot of the published limits: c_min <= c <= c_max
 * always holds in one snapshot.  al_c_max is the effective ceiling, lowered
 * by live reservations.
 */
typedef struct arctun_limits {
	uint64_t	al_c;
	uint64_t	al_c_min;
	uint64_t	al_c_max;
	uint64_t	al_p;
	uint64_t	al_meta_limit;
	uint64_t	al_meta_min;
	uint64_t	al_dbuf_cache_max;
	uint64_t	al_dbuf_metadata_cache_max;
} arctun_limits_t;

/*
 * The ARC's registration, from arc_init() and arc_fini().
 *
 * arctun_arc_register() applies each variable's current value (a value
 * arc_init() would ignore is reported and the variable is reset to the
 * value in force), ends boot-time processing, and creates the
 * zfs:0:tunables and zfs:0:arc_headroom kstats.  It returns 0, EINVAL for a
 * NULL or malformed ops vector, ENOTSUP for an ops version other than 1 or
 * 2 (the module reads only the fields of the version given), ENOENT for
 * a variable name that is not a registered tunable, EBUSY if an ARC is
 * already registered, or ENXIO if the module is not initialized.
 * arctun_arc_unregister() removes the callbacks and the kstats; the limits
 * and any reservations stay with the module.
 */
extern int arctun_arc_register(const arctun_arc_ops_t *);
extern void arctun_arc_unregister(void);

/*
 * The ARC's hot-path reads: one atomic load each (arctun_arc_p(): two, as
 * p is clamped to c).  Any context.
 */
extern uint64_t arctun_arc_c(void);
extern uint64_t arctun_arc_c_min(void);
extern uint64_t arctun_arc_c_max(void);
extern uint64_t arctun_arc_p(void);
extern uint64_t arctun_arc_meta_limit(void);
extern uint64_t arctun_arc_meta_min(void);

/*
 * Fills *lp with a consistent snapshot.  Any context.
 */
extern void arctun_arc_limits(arctun_limits_t *);

/*
 * The ARC's own moves of its target size c, each returning the new c.
 * They never block and take no mutex (a sequence lock orders them against
 * the module's own updates), and run the few stores of their update with
 * kernel preemption disabled, so that nobody spins behind a preempted
 * writer.  Any context.
 *
 * arctun_arc_set_target() sets c, clamped into [c_min, c_max]
 * (arc_init(), arc_tempreserve_space()).  arctun_arc_grow_target() grows c
 * by the given bytes up to c_max (arc_adapt()).
 * arctun_arc_reduce_target() shrinks c as arc_reduce_target_size() does:
 * by to_free but not below c_min, then down to asize (the ARC's size) if
 * that is smaller; p loses p >> shrink_shift.  The caller starts eviction
 * if asize exceeds the returned c.  arctun_arc_set_p() sets p, clamped to c.
 */
extern uint64_t arctun_arc_set_target(uint64_t);
extern uint64_t arctun_arc_grow_target(uint64_t);
extern uint64_t arctun_arc_reduce_target(uint64_t, uint64_t, int);
extern void arctun_arc_set_p(uint64_t);

/*
 * The headroom term of arc_available_memory() is the smaller of two halves,
 * each in bytes and INT64_MAX when nothing is pending (and before
 * arctun_mod_init()); pending is the memory promised to reservations that
 * no consumer is allocating yet (see arctun_vmm_wait()).  Any context.
 *
 * arctun_arc_headroom(freemem, lotsfree, desfree) is the freemem half,
 * ptob(freemem) - pending - ptob(lotsfree) - ptob(desfree).  It is the
 * FMR_LOTSFREE term with pending in the place of needfree: the ARC frees
 * what the consumers are about to take and keeps free what it keeps free
 * anyway, so that a start never takes free memory below lotsfree, where
 * the page scanner runs.
 *
 * arctun_arc_headroom_availrmem(availrmem, floor) is the availrmem half,
 * ptob(availrmem) - ptob(floor) - pending, called with the floor the
 * FMR_PAGES_PP_MAXIMUM term keeps, pages_pp_maximum +
 * arc_pages_pp_reserve.  A guest's pages are locked down, so they leave
 * availrmem as well as freemem.  On a host whose kernel holds much locked
 * memory availrmem is the tighter of the two: a guest admitted on freemem
 * alone would take availrmem under the floor once its pages were locked,
 * and the stock reaper would then cut arc_c again, by arc_c >>
 * arc_shrink_shift beyond the deficit, for memory the headroom term had
 * not asked for.  No margin is added: the floor is the ARC's own.
 * Every argument of either is accepted; the results saturate.
 */
extern int64_t arctun_arc_headroom(pgcnt_t, pgcnt_t, pgcnt_t);
extern int64_t arctun_arc_headroom_availrmem(pgcnt_t, pgcnt_t);

/*
 * The ARC's reaper under headroom, for arc_reap_cb(): called as
 * arctun_arc_reap_to_free(to_free, free_memory, headroom, to_evict,
 * depots), with the stock to_free ((arc_c >> arc_shrink_shift) -
 * free_memory), arc_available_memory()'s free_memory, headroom true when
 * the headroom term is the reason memory is short (last_free_reason ==
 * FMR_HEADROOM) or was at the check that began the pass, and what is on
 * its way to freemem: to_evict, MAX(0, arc_size - arc_c), which the
 * adjust zthr has yet to evict, and depots, the bytes in the full
 * magazines of the ARC's kmem caches, which the reap at the start of each
 * arc_reap_cb() returns.  It returns how much to free; to_free unchanged
 * when nothing is pending and headroom is false, and before
 * arctun_mod_init().
 *
 * The stock reaper frees the deficit plus a slack of arc_c >>
 * arc_shrink_shift.  When the headroom term is or was the reason, the
 * deficit, MAX(0, -free_memory), is exact (the pending bytes, with the
 * margin already in the term), so it is wanted without the slack, which
 * would be evicted for nobody: a guest that claims its bytes during the
 * pass's sleep leaves the term met, and the slack would be cut for the
 * memory it just took.  Under any other reason to_free is wanted.
 *
 * The headroom term is met only once memory reaches freemem, but bytes
 * the reaper asked for a second ago may still be on their way.  Cutting
 * arc_c again by the same deficit every second until the memory arrives
 * collapses the ARC to arc_c_min, so the reaper subtracts to_evict and
 * depots from what it wants.  That holds while the memory arrives.  Each
 * pass begins with a reap of the depots and the next check waits for it,
 * so by the next call the depots a call counted are in freemem, and the
 * deficit should be at most that call's less them (every call is so on
 * the first call since a reservation was made).  When it is more, someone
 * took as much from freemem: a reader that keeps taking back what the ARC
 * evicts keeps a float of buffers in the depots for good, so a deficit
 * the size of that float would never close.  The call then returns the
 * deficit less to_evict, and at least the stock slack (to_free +
 * free_memory) up to the deficit: one pass closes a reader's float.  A
 * stalled evictor leaves the deficit where it was expected to be (its
 * bytes are still in to_evict), and no call cuts for it twice.  Under any
 * other reason it returns to_free less to_evict and depots.
 *
 * The module keeps what the last call expected, and a new reservation
 * resets it: only the ARC's reap thread may call this.  Any value of any
 * argument is accepted: any nonzero headroom is true, to_evict, depots
 * and their sum count as INT64_MAX at most, and the result saturates
 * instead of wrapping.  A result of zero or less means nothing more to
 * free.  Takes no lock.
 */
extern int64_t arctun_arc_reap_to_free(int64_t, int64_t, boolean_t,
    uint64_t, uint64_t);

/*
 * The headroom cut, for the ARC's arc_tunables_evict(): called as
 * arctun_arc_headroom_cut(headroom, size, c, evicted_cached), with the
 * headroom term (the smaller of arctun_arc_headroom() and
 * arctun_arc_headroom_availrmem()), arc_size, arc_c and the bytes
 * the ARC evicted that its kmem caches' depots still hold, it returns how
 * far to lower arc_c at once (arc_reduce_target_size()): the term's
 * deficit less what is already on its way to freemem (size - c, which
 * the adjust zthr has been asked to evict, and evicted_cached, which the
 * next reap returns).  0 when the term is not negative, when what is in
 * flight covers the deficit, when nothing is pending, and before
 * arctun_mod_init().
 *
 * The first call with a negative term after the pending reservations
 * were made also takes the arc_c that the first of them found: if size
 * is above it, a reader is filling the ARC and takes back what the
 * adjust zthr evicts, so the bytes above it plus evicted_cached, up to
 * SPA_MAXBLOCKSIZE (the band while a guest waits), are not in flight
 * and are cut as well.  Later calls count no such float.
 *
 * A guest's memory then comes out of arc_c at the kick, not out of the
 * overflow band a reader may be filling, and the reaper does not have to
 * find the same deficit a second later.  It counts in flight what
 * arctun_arc_reap_to_free() counts on a first pass, so the two never ask
 * for the same bytes twice.  Any value of any argument is
 * accepted (the sums saturate).  Takes no lock (one atomic swap); any
 * context.
 */
extern uint64_t arctun_arc_headroom_cut(int64_t, uint64_t, uint64_t,
    uint64_t);

/*
 * From the ARC's reap zthr (arc_reap_cb_check()), as often as it runs:
 * once a second of gethrtime(), and no more often however often it is
 * called, applies or reverts changed tunable variables (see arctun_var_t)
 * and wakes threads waiting for headroom so they re-check free memory.
 * Returns 1 when it did that work, 0 when it was called again within the
 * second (or before arctun_mod_init()), so that the caller can keep its
 * own once-a-second work in step.  May be called with the reap zthr's
 * lock held.
 */
extern int arctun_arc_tick(void);

/*
 * The ARC freed memory (an eviction or reap pass finished): wakes threads
 * waiting for headroom.  Takes the module's mutex only when a reservation
 * is pending.
 */
extern void arctun_arc_progress(void);

/*
 * vmm: bhyve guests as consumers of ARC headroom.
 *
 * vmm registers when its driver attaches and unregisters when it detaches
 * (with no VM left).  arctun_vmm_register() registers vmm's tunable
 * (vmm_arc_page_overhead: bytes reserved per guest page on top of the
 * page, 120 by default) and applies the values of the variables given
 * (as for the ARC's), and creates the vmm:0:arc_resv kstat.  It returns 0,
 * EBUSY if vmm is already registered, ENXIO if the module is not
 * initialized, or an error about the variables (see
 * arctun_arc_register()).
 *
 * Each VM is an instance: arctun_vmm_instance_create() when the VM is
 * created (EINVAL for an empty name or one of VM_MAX_NAMELEN bytes or
 * more, ENOSPC when the instance table is full),
 * arctun_vmm_instance_destroy() once its memory is freed (vm_destroy()),
 * which returns every reservation it still holds (ENOENT for an unknown
 * instance).  An instance is known by the id the create returns; its name
 * is a label, which vmm keeps unique among its live VMs.  A VM destroyed
 * while its device is held open leaves vmm_list at once but reaches
 * vm_destroy() only at the last close, so two instances may share a name
 * meanwhile.
 *
 * Each memory segment of a VM is reserved, waited for, allocated by the
 * driver and marked allocated, in this order:
 *
 *	arctun_vmm_create_t ac;
 *
 *	if ((err = arctun_vmm_reserve(id, segid, len, sysmem, &ac)) != 0)
 *		return (err);
 *	if ((err = arctun_vmm_wait(&ac)) != 0) {
 *		arctun_vmm_release(&ac, err);
 *		return (err);
 *	}
 *	if ((obj = allocate(len)) == NULL) {
 *		arctun_vmm_release(&ac, ENOMEM);
 *		return (ENOMEM);
 *	}
 *	if ((err = arctun_vmm_mark_allocated(&ac)) != 0) {
 *		deallocate(obj);
 *		return (err);
 *	}
 *
 * arctun_vmm_reserve() reserves len (rounded up to pages) plus the page
 * overhead, lowering the ARC's ceiling at once; it never waits.  Only len
 * is pending: the page overhead counts as allocated from the start, so it
 * keeps the ceiling lowered while the VM lives and is never waited for.
 * It returns ENOMEM when the reservation does not fit next to the live
 * ones, or when the host cannot give its memory now without paging:
 * free memory plus what the ARC can shed down to c_min plus what it has
 * evicted and not yet returned, less the pending memory of earlier
 * reservations and a margin (zfs_arc_headroom_margin; 0, the default,
 * is lotsfree + desfree), the same sum taken against availrmem above
 * pages_pp_maximum.  Both are worth retrying, and neither waits: the
 * second is reported in the system log with the request, what the host
 * can give and the margin, in bytes.  It returns ENOSPC when the
 * reservation could never fit on this host (reported on the console),
 * EINVAL for a bad segment id or length,
 * EOVERFLOW for a length that overflows, EEXIST for a segment that exists,
 * and ENOENT for an unknown instance.  On success *acp holds the create
 * in flight until arctun_vmm_mark_allocated() or arctun_vmm_release()
 * consumes it; the buffer may live on the caller's stack, and is the
 * caller's own until then.
 *
 * arctun_vmm_wait() sleeps until free memory covers the segment (and the
 * pending memory of reservations made before it) plus lotsfree and
 * desfree, and availrmem covers the same bytes above pages_pp_maximum
 * plus the ARC's aad_pp_reserve (the pages are locked down; with an
 * aao_admission only), woken as the ARC frees memory: 0, ETIME after 60
 * seconds, EINTR on a signal, ENOENT if the VM was destroyed meanwhile.
 * After a failure the caller releases.  The margin is lotsfree, not just
 * desfree, because allocating the segment must never take free memory
 * below lotsfree, where the page scanner runs and pages processes out; it
 * is also what the headroom term keeps free, so the ARC frees no more for
 * a start than it would keep free anyway.  On success the segment is
 * claimed: the caller allocates it next, and page_create_va() takes
 * freemem for all of it at once, before the pages are zeroed (seconds,
 * for a large guest), so it leaves the headroom term at once (counted both
 * as gone from freemem and in the term, it would show as a deficit the
 * ARC's reaper frees a second time).  Younger waiters still count it until
 * it is marked allocated, so none is admitted on the memory it is taking.
 * The ceiling stays lowered, and a release returns it all.
 *
 * arctun_vmm_mark_allocated() commits the segment (the ceiling stays
 * lowered while the VM lives) and consumes the create.  If it fails (the
 * VM was destroyed meanwhile), the reservation is already returned and
 * the caller frees the segment.  arctun_vmm_release() returns the
 * reservation of a create that failed, after the caller freed whatever it
 * allocated, and consumes it; err is the failure (for the kstat's
 * counters).  Both refuse, with EINVAL or by doing nothing, a buffer that
 * holds no create.
 */
typedef struct arctun_vmm_create {
	uint64_t	avc_opaque[8];
} arctun_vmm_create_t;

extern int arctun_vmm_register(const arctun_var_t *, uint_t);
extern void arctun_vmm_unregister(void);
extern int arctun_vmm_instance_create(const char *, uint64_t *);
extern int arctun_vmm_instance_destroy(uint64_t);
extern int arctun_vmm_reserve(uint64_t, int, uint64_t, int,
    arctun_vmm_create_t *);
extern int arctun_vmm_wait(arctun_vmm_create_t *);
extern int arctun_vmm_mark_allocated(arctun_vmm_create_t *);
extern void arctun_vmm_release(arctun_vmm_create_t *, int);

/*
 * Headroom owners other than VMs: the VMM reservoir.
 *
 * The reservoir (vmm_reservoir.c) holds guest memory that an administrator
 * sets aside with rsrvrctl(8), growing and shrinking it by any amount.
 * Growing it takes pages from the system as a transient guest does, so it
 * reserves headroom first, waits for the ARC to free the memory, and
 * commits the headroom once the pages are its own; shrinking it returns
 * headroom, and the ARC's ceiling rises by exactly what was given back.
 * An owner is registered once (vmmr_init()) and holds one committed
 * reservation, which its growths join and its shrinks reduce.
 *
 * arctun_owner_register(module, name, &id) registers an owner and creates
 * its kstat, module:0:arc_resv_name (reserved, pending, committed, grows,
 * shrinks, refusals, failures); the reservoir is ("vmm", "reservoir"),
 * vmm:0:arc_resv_reservoir.  module has 1 to 30 and name 1 to 15
 * characters of [a-z0-9_] (EINVAL otherwise); EEXIST for an owner of that
 * module and name, ENOSPC when ARCTUN_MAX_OWNERS are registered, ENXIO if
 * the module is not initialized.  arctun_owner_unregister() removes it:
 * EBUSY while it holds headroom or has a growth in flight, ENOENT for an
 * unknown id.
 *
 * One growth is in flight per owner at a time (vmmr_set_target() already
 * refuses a racing resize with EALREADY), in the same steps as a guest's
 * segment:
 *
 *	arctun_owner_grow_t g;
 *
 *	if ((err = arctun_owner_grow(id, sz, &g)) != 0)
 *		return (err);
 *	if ((err = arctun_owner_wait(&g)) != 0) {
 *		arctun_owner_release(&g, err);
 *		return (err);
 *	}
 *	if ((err = take_the_pages(sz)) != 0) {
 *		arctun_owner_release(&g, err);
 *		return (err);
 *	}
 *	(void) arctun_owner_commit(&g);
 *
 * arctun_owner_grow() reserves sz bytes (rounded up to pages; no page_t
 * term: the reservoir's pages have their page_ts from boot like any
 * other), lowering the ARC's ceiling at once, and never waits or blocks
 * for long (it may be called with the caller's own mutex held): ENOMEM
 * when it does not fit next to live reservations, ENOSPC when it could
 * never fit on this host (reported on the console), EINVAL for zero bytes
 * or a NULL buffer, EOVERFLOW when the rounding overflows, EBUSY while a
 * growth is in flight, ENOENT for an unknown owner.  arctun_owner_wait()
 * is arctun_vmm_wait() for the growth: 0 once free memory covers it (and
 * older reservations) plus lotsfree and desfree, and availrmem the same
 * bytes above its floor, woken as the ARC frees memory, ETIME after 60
 * seconds, EINTR on a signal; the growth is then claimed (out of the
 * headroom term, as a segment's is).
 * arctun_owner_commit() joins the growth to the owner's committed
 * headroom and consumes the buffer; arctun_owner_release() returns the
 * growth's reservation after a failure (err counts it) and consumes the
 * buffer.  Both refuse, with EINVAL or by doing nothing, a buffer that
 * holds no growth.
 *
 * arctun_owner_shrink(id, sz) returns sz bytes (rounded up to pages) of
 * committed headroom, after the pages went back to the system: the
 * ceiling rises by exactly that much.  EINVAL for zero bytes or more than
 * is committed (nothing changes), ENOENT for an unknown owner.  It never
 * waits.
 */
#define	ARCTUN_MAX_OWNERS	4

typedef struct arctun_owner_grow {
	uint64_t	aog_opaque[8];
} arctun_owner_grow_t;

extern int arctun_owner_register(const char *, const char *, uint64_t *);
extern int arctun_owner_unregister(uint64_t);
extern int arctun_owner_grow(uint64_t, uint64_t, arctun_owner_grow_t *);
extern int arctun_owner_wait(arctun_owner_grow_t *);
extern int arctun_owner_commit(arctun_owner_grow_t *);
extern void arctun_owner_release(arctun_owner_grow_t *, int);
extern int arctun_owner_shrink(uint64_t, uint64_t);

/*
 * The ARC's limits as one administrative write, for trees with OS-8638's
 * ZFS_IOC_ARC (arc_dynamic_resize(), used by zfscache(8)).
 *
 * arctun_arc_resize(&aar, cmd) with cmd ARCTUN_RESIZE_READ fills the out
 * fields only.  ARCTUN_RESIZE_WRITE sets zfs_arc_min to aar_c_min and
 * zfs_arc_max to aar_c_max, where 0 keeps a tunable as it is, in one
 * validated write: both apply, with everything derived from them
 * recomputed, c lowered and eviction started if the ceiling drops, or
 * neither does.  ARCTUN_RESIZE_DEFAULTS puts both back to arc_init()'s
 * defaults (the tunables to 0).  ARCTUN_RESIZE_NOWAIT, or'd into either
 * write, refuses with EAGAIN instead of waiting for the module's mutex.
 *
 * The refusals are arc_dynamic_resize()'s, in its order: EINVAL for a
 * minimum below 64 MiB (or at 64 MiB, which arc_init() ignores), ERANGE
 * for a minimum above the maximum (a kept limit counts with the value in
 * force), ENOMEM for a maximum at or above allmem; then the module's own:
 * EINVAL for a limit arc_init() would ignore (64 MiB or less), EBUSY for
 * a minimum that live headroom reservations leave no room for (c_min plus
 * what is reserved above the ceiling with nothing reserved).  On
 * every return but EINVAL for a NULL aar the out fields hold the values
 * in force: aar_c_min and aar_c_max the ARC's c_min and effective ceiling
 * (what arcstats shows as c_min and c_max), aar_default_* the defaults
 * arc_init() computes for this host, aar_allmem its allmem.  Not from
 * interrupt context.
 */
typedef struct arctun_arc_resize {
	uint64_t	aar_c_min;		/* in: 0 keeps; out: in force */
	uint64_t	aar_c_max;		/* in: 0 keeps; out: in force */
	uint64_t	aar_default_c_min;	/* out: arc_init()'s */
	uint64_t	aar_default_c_max;	/* out: arc_init()'s */
	uint64_t	aar_allmem;		/* out: arc_init()'s allmem */
} arctun_arc_resize_t;

#define	ARCTUN_RESIZE_READ	0
#define	ARCTUN_RESIZE_WRITE	1
#define	ARCTUN_RESIZE_DEFAULTS	2
#define	ARCTUN_RESIZE_NOWAIT	0x100

extern int arctun_arc_resize(arctun_arc_resize_t *, int);

#ifdef	__cplusplus
}
#endif

#endif	/* _SYS_ARCTUN_H */
