/*
 * This Source Code Form is subject to the terms of the Mozilla Public
 * License, v. 2.0. If a copy of the MPL was not distributed with this
 * file, You can obtain one at https://mozilla.org/MPL/2.0/.
 */

/*
 * The headroom cut and the paced cut of patches/0002, with the series' own
 * code: c_abi.rs extracts from the patch the functions it adds to arc.c
 * whole (arc_headroom(), arc_adjust_target(), arc_adjust_pass_start(),
 * arc_adjust_pass_end(), arc_overflow_target(), arc_tunables_evict())
 * into arc_cut_series.c, which this file includes after the few parts of
 * arc.c they use.  arc_tunables_evict() is the ARC's aao_evict callback,
 * so the module calls it as it would in the kernel, with its own mutexes
 * held.
 *
 * What it checks:
 *
 * - a reservation whose headroom term shows a deficit beyond what is
 *   already on its way to freemem (arc_size - arc_c and the depots'
 *   bytes) lowers arc_c at the kick by the rest (arctun_arc_headroom_cut()
 *   through arc_reduce_target_size()), and by nothing when what is in
 *   flight covers it, or when there is no deficit;
 * - the deficit is that of freemem or of availrmem above
 *   pages_pp_maximum + arc_pages_pp_reserve, whichever is larger
 *   (arc_headroom()): a guest's pages are locked, so they leave both;
 * - a cut is evicted in passes of one overflow band, readers comparing
 *   arc_size with the pass's start rather than arc_c: at the start of a
 *   cut of tens of gigabytes, where the stock rule makes every reader
 *   wait for all of it, none waits; a reader that runs one block ahead of
 *   the pass while the term shows a deficit waits for that pass only, and
 *   every pass ends with a wakeup of the waiters;
 * - the band is narrowed to one block only while the term is negative.
 *
 * A process of its own: the module is loaded once per process, as in the
 * kernel.  Prints one line per failed check and a summary; exits non-zero
 * if any check failed.
 */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sys/arctun.h>

#include "fakekernel.h"
#include "checks.h"

#define	KIB	(1024ULL)
#define	MIB	(1024ULL * KIB)
#define	GIB	(1024ULL * MIB)
#define	SEC	(1000000000LL)
#define	PAGES(b)	((b) / 4096)

/* The fake host: 128 GiB; lotsfree 2 GiB and desfree 1 GiB (fake_host()). */
#define	HOST_BYTES	(128 * GIB)

/*
 * What of arc.c the series' functions use, as ARC_TUNABLES builds have
 * it: arc_c is arctun's, arc_size an aggsum.
 */
#define	MAX(a, b)	((a) > (b) ? (a) : (b))
#define	MIN(a, b)	((a) < (b) ? (a) : (b))
#define	ASSERT(x)	CHECK(x)
#define	MUTEX_HELD(m)	mutex_owned(m)
#define	SPA_MAXBLOCKSIZE	(16ULL * MIB)
#define	arc_c		arctun_arc_c()

typedef struct aggsum {
	uint64_t	as_value;
} aggsum_t;

typedef struct zthr {
	int	z_wakeups;
} zthr_t;

static aggsum_t arc_size;
static zthr_t adjust_zthr;
static zthr_t *arc_adjust_zthr = &adjust_zthr;
static kmutex_t arc_adjust_lock;
static kcondvar_t arc_adjust_waiters_cv;
static boolean_t arc_adjust_needed = B_FALSE;
static boolean_t arc_tunables_reap_wanted = B_FALSE;
static uint64_t arc_adjust_pass_target = 0;
static int zfs_arc_overflow_shift = 8;
static int arc_shrink_shift = 7;
static int64_t arc_pages_pp_reserve = 64;

/* The evicted bytes in our kmem caches' depots. */
static uint64_t depot_bytes;
/* Each cv_broadcast() of the waiters' condition variable. */
static int broadcasts;

static uint64_t
aggsum_value(aggsum_t *as)
{
	return (as->as_value);
}

static void
zthr_wakeup(zthr_t *t)
{
	t->z_wakeups++;
}

static uint64_t
arc_kmem_depots_bytes(void)
{
	return (depot_bytes);
}

static void
broadcast(kcondvar_t *cvp)
{
	broadcasts++;
	cv_broadcast(cvp);
}

/* What arc_reduce_target_size() was asked for, and arc_c before it. */
static int reduce_calls;
static uint64_t reduce_to_free;
static uint64_t reduce_c_before;

/* The series' (below). */
static void arc_adjust_pass_start(uint64_t);

/* arc_reduce_target_size() as 0002 has it (ARC_TUNABLES). */
static void
arc_reduce_target_size(int64_t to_free)
{
	uint64_t asize = aggsum_value(&arc_size);
	uint64_t c;

	reduce_calls++;
	reduce_to_free = (uint64_t)MAX(to_free, 0);
	reduce_c_before = arc_c;
	c = arctun_arc_reduce_target(MAX(to_free, 0), asize, arc_shrink_shift);
	if (asize > c) {
		mutex_enter(&arc_adjust_lock);
		arc_adjust_needed = B_TRUE;
		arc_adjust_pass_start(asize);
		mutex_exit(&arc_adjust_lock);
		zthr_wakeup(arc_adjust_zthr);
	}
}

/* The series' code. */
#define	cv_broadcast(cvp)	broadcast(cvp)
#include "arc_cut_series.c"
#undef	cv_broadcast

/* arc_is_overflowing() as 0002 has it (ARC_TUNABLES). */
static boolean_t
arc_is_overflowing(void)
{
	uint64_t c = arc_overflow_target();
	uint64_t overflow = MAX(SPA_MAXBLOCKSIZE,
	    c >> zfs_arc_overflow_shift);

	if (arc_headroom() < 0)
		overflow = SPA_MAXBLOCKSIZE;
	return (aggsum_value(&arc_size) >= c + overflow);
}

/* The stock rule, for comparison: the band above arc_c. */
static boolean_t
stock_is_overflowing(void)
{
	uint64_t c = arc_c;

	return (aggsum_value(&arc_size) >=
	    c + MAX(SPA_MAXBLOCKSIZE, c >> zfs_arc_overflow_shift));
}

/*
 * One pass of the adjust zthr, arc_adjust_cb() as 0002 has it: arc_adjust()
 * evicts down to the pass's target (everything here is evictable, and
 * evicted bytes go to freemem at once), then the pass ends.  Returns the
 * bytes evicted.
 */
static uint64_t
adjust_pass(void)
{
	uint64_t target = arc_adjust_target(aggsum_value(&arc_size));
	uint64_t evicted = 0;

	if (arc_size.as_value > target) {
		evicted = arc_size.as_value - target;
		arc_size.as_value = target;
		fake_set_freemem(freemem + PAGES(evicted));
	}
	mutex_enter(&arc_adjust_lock);
	arc_adjust_needed = evicted > 0 && aggsum_value(&arc_size) > arc_c;
	if (!arc_adjust_needed)
		broadcast(&arc_adjust_waiters_cv);
	arc_adjust_pass_end();
	mutex_exit(&arc_adjust_lock);
	return (evicted);
}

static uint64_t
arc_size_cb(void)
{
	return (aggsum_value(&arc_size));
}

static int
pending_term_negative(void)
{
	return (arc_headroom() < 0);
}

uint64_t zfs_arc_max;
uint64_t zfs_arc_min;
uint64_t vmm_arc_page_overhead;

static const arctun_var_t arc_vars[] = {
	{ "zfs_arc_max", &zfs_arc_max },
	{ "zfs_arc_min", &zfs_arc_min },
};

static const arctun_var_t vmm_vars[] = {
	{ "vmm_arc_page_overhead", &vmm_arc_page_overhead },
};

/*
 * A 64 GiB guest on a full ARC: the ceiling drops, the kick cuts arc_c by
 * the deficit not in flight, and the cut is evicted in passes while no
 * reader waits for more than a pass.
 */
static void
test_cut_and_passes(uint64_t vm)
{
	arctun_vmm_create_t ac;
	uint64_t c_max_eff, size0, c, band, evicted, passes;
	int64_t term;
	int wakeups;

	arc_size.as_value = 100 * GIB;
	(void) arctun_arc_set_target(100 * GIB);
	CHECK_U64(arctun_arc_c(), 100 * GIB);
	fake_set_freemem(PAGES(20 * GIB));
	depot_bytes = GIB;
	wakeups = adjust_zthr.z_wakeups;

	CHECK(arctun_vmm_reserve(vm, 0, 64 * GIB, 1, &ac) == 0);
	c_max_eff = arctun_arc_c_max();
	CHECK(c_max_eff < 64 * GIB);
	/* 20 GiB free, 64 GiB pending, 3 GiB kept: 47 GiB short. */
	term = arctun_arc_headroom(freemem, lotsfree, desfree);
	CHECK(term == -(int64_t)(47 * GIB));
	/*
	 * The ceiling took c down to c_max_eff; size - c (100 GiB - c_max_eff)
	 * and the depots' 1 GiB are on their way; the kick cut the rest.
	 */
	CHECK(reduce_calls == 1);
	CHECK_U64(reduce_c_before, c_max_eff);
	CHECK_U64(reduce_to_free, 47 * GIB - (100 * GIB - c_max_eff) - GIB);
	CHECK_U64(arctun_arc_headroom_cut(term, 100 * GIB, c_max_eff, GIB),
	    reduce_to_free);
	c = arctun_arc_c();
	CHECK_U64(c, c_max_eff - reduce_to_free);
	/* Eviction asked for, and a reap once it is done. */
	CHECK(arc_adjust_needed == B_TRUE);
	CHECK(arc_tunables_reap_wanted == B_TRUE);
	CHECK(adjust_zthr.z_wakeups > wakeups);

	/*
	 * The first pass starts where the ARC is: the stock rule would make
	 * every reader wait for the whole cut (tens of GiB); here none does.
	 */
	CHECK_U64(arc_adjust_pass_target, 100 * GIB);
	CHECK(stock_is_overflowing());
	CHECK(!arc_is_overflowing());
	/*
	 * With the deficit, a reader gets one block above the pass's target
	 * and no more: the guest's memory does not go to readers.
	 */
	CHECK(pending_term_negative());
	arc_size.as_value = 100 * GIB + SPA_MAXBLOCKSIZE - 1;
	CHECK(!arc_is_overflowing());
	arc_size.as_value = 100 * GIB + SPA_MAXBLOCKSIZE;
	CHECK(arc_is_overflowing());

	/*
	 * A pass evicts one band (of c, at least a block), no more, and its
	 * end wakes the waiters: the next pass starts where it ended, and the
	 * reader that waited goes on.
	 */
	band = MAX(SPA_MAXBLOCKSIZE, c >> zfs_arc_overflow_shift);
	size0 = arc_size.as_value;
	broadcasts = 0;
	evicted = adjust_pass();
	CHECK_U64(evicted, band);
	CHECK_U64(arc_size.as_value, size0 - band);
	CHECK(arc_adjust_needed == B_TRUE);
	CHECK_U64(arc_adjust_pass_target, size0 - band);
	CHECK(broadcasts == 1);
	CHECK(!arc_is_overflowing());

	/* The passes go on down to arc_c, each waking the waiters. */
	passes = 1;
	while (arc_adjust_needed && passes < 10000) {
		(void) adjust_pass();
		passes++;
	}
	CHECK_U64(arc_size.as_value, c);
	CHECK_U64(passes, (size0 - c + band - 1) / band);
	CHECK(broadcasts == (int)passes);
	CHECK_U64(arc_adjust_pass_target, 0);
	CHECK(!arc_is_overflowing());

	/*
	 * The reap returns the depots' bytes: the waiter's memory is there,
	 * the term is not negative, and a reader has the stock band again.
	 */
	CHECK(pending_term_negative());
	fake_set_freemem(freemem + PAGES(depot_bytes));
	depot_bytes = 0;
	CHECK(!pending_term_negative());
	arc_size.as_value = c + SPA_MAXBLOCKSIZE;
	CHECK(!arc_is_overflowing());
	CHECK(!stock_is_overflowing());

	CHECK(arctun_vmm_wait(&ac) == 0);
	arctun_vmm_release(&ac, ENOMEM);
}

/*
 * What is already in flight covers the deficit: the kick cuts nothing,
 * and asks the adjust zthr for size - c.  Without a deficit it cuts
 * nothing either.  (The ARC above the target the reservation found has a
 * reader's float in it, up to one block, which is not in flight: the
 * depots hold that much more here.)
 */
static void
test_no_cut(uint64_t vm)
{
	arctun_vmm_create_t ac;
	uint64_t c;

	/* 4 GiB free, 8 GiB pending, 3 GiB kept: 7 GiB short. */
	(void) arctun_arc_set_target(50 * GIB);
	c = arctun_arc_c();
	CHECK_U64(c, 50 * GIB);
	arc_size.as_value = c + 5 * GIB;
	depot_bytes = 2 * GIB + SPA_MAXBLOCKSIZE;
	fake_set_freemem(PAGES(4 * GIB));
	reduce_calls = 0;
	arc_adjust_needed = B_FALSE;
	CHECK(arctun_vmm_reserve(vm, 1, 8 * GIB, 1, &ac) == 0);
	CHECK(arctun_arc_headroom(freemem, lotsfree, desfree) ==
	    -(int64_t)(7 * GIB));
	CHECK(reduce_calls == 0);
	CHECK_U64(arctun_arc_c(), c);
	CHECK(arc_adjust_needed == B_TRUE);
	CHECK_U64(arc_adjust_pass_target, c + 5 * GIB);
	/*
	 * A create that fails returns its reservation, and with it the part
	 * of the ceiling's cut not yet evicted: c is back at the ARC's size.
	 */
	arctun_vmm_release(&ac, ENOMEM);
	CHECK_U64(arctun_arc_c(), c + 5 * GIB);
	while (arc_adjust_needed)
		(void) adjust_pass();

	/* 40 GiB free: no deficit, no cut. */
	c = arctun_arc_c();
	fake_set_freemem(PAGES(40 * GIB));
	arc_size.as_value = c + GIB;
	CHECK(arctun_vmm_reserve(vm, 2, 8 * GIB, 1, &ac) == 0);
	CHECK(arctun_arc_headroom(freemem, lotsfree, desfree) > 0);
	CHECK(reduce_calls == 0);
	CHECK_U64(arctun_arc_c(), c);
	while (arc_adjust_needed)
		(void) adjust_pass();
	CHECK_U64(arc_size.as_value, c);
	/*
	 * A guest still waits (the term is not INT64_MAX), but free memory
	 * covers it: a reader keeps the stock band above arc_c, not one
	 * block.
	 */
	fake_set_freemem(PAGES(40 * GIB));
	CHECK(arctun_arc_headroom(freemem, lotsfree, desfree) != INT64_MAX);
	arc_size.as_value = c + 2 * SPA_MAXBLOCKSIZE;
	CHECK(!arc_is_overflowing());
	arc_size.as_value = c + (c >> zfs_arc_overflow_shift);
	CHECK(arc_is_overflowing());
	arctun_vmm_release(&ac, ENOMEM);
}

/*
 * The kick from the tick (arc_reap_cb_check() in the kernel, with the
 * reap zthr's lock held): an administrator lowers zfs_arc_max under a
 * pending reservation with a deficit; the callback cuts with arctun's
 * lock-free functions only.
 */
static void
test_cut_from_the_tick(uint64_t vm)
{
	arctun_vmm_create_t ac;

	(void) arctun_arc_set_target(60 * GIB);
	arc_size.as_value = 60 * GIB;
	depot_bytes = 0;
	fake_set_freemem(PAGES(4 * GIB));
	CHECK(arctun_vmm_reserve(vm, 3, 8 * GIB, 1, &ac) == 0);
	/* 7 GiB short, nothing in flight: cut by 7 GiB at the kick. */
	CHECK_U64(arctun_arc_c(), 53 * GIB);
	reduce_calls = 0;
	zfs_arc_max = 50 * GIB;
	fake_advance(SEC);
	CHECK(arctun_arc_tick() == 1);
	CHECK_U64(arctun_arc_c_max(), 50 * GIB);
	/* size - c is 10 GiB now, more than the 7 GiB short: no cut. */
	CHECK(reduce_calls == 0);
	CHECK_U64(arctun_arc_c(), 50 * GIB);
	CHECK(arc_adjust_needed == B_TRUE);
	arctun_vmm_release(&ac, ENOMEM);
}

/*
 * A reader fills the ARC: it is 6 MiB above the target the reservation
 * finds and 4 MiB sit in the depots.  Those bytes circulate (the reader
 * takes back what the adjust zthr evicts) and never reach freemem, so
 * the kick cuts them with the deficit, once: a second kick for the same
 * reservation counts them in flight again.
 */
static void
test_float_cut(uint64_t vm)
{
	arctun_vmm_create_t ac;
	uint64_t c;

	(void) arctun_arc_set_target(50 * GIB);
	c = arctun_arc_c();
	CHECK_U64(c, 50 * GIB);
	arc_size.as_value = c + 6 * MIB;
	depot_bytes = 4 * MIB;
	fake_set_freemem(PAGES(4 * GIB));
	reduce_calls = 0;
	arc_adjust_needed = B_FALSE;
	/* 4 GiB free, 8 GiB pending, 3 GiB kept: 7 GiB short. */
	CHECK(arctun_vmm_reserve(vm, 3, 8 * GIB, 1, &ac) == 0);
	CHECK(arctun_arc_headroom(freemem, lotsfree, desfree) ==
	    -(int64_t)(7 * GIB));
	CHECK(reduce_calls == 1);
	CHECK_U64(reduce_to_free, 7 * GIB);
	CHECK_U64(arctun_arc_c(), c - 7 * GIB);
	CHECK_U64(arctun_arc_headroom_cut(-(int64_t)(7 * GIB), c + 6 * MIB,
	    c, 4 * MIB), 7 * GIB - 10 * MIB);
	arctun_vmm_release(&ac, ENOMEM);
	while (arc_adjust_needed)
		(void) adjust_pass();
}

/*
 * availrmem is the tighter half: a host whose kernel holds much locked
 * memory.  Free memory covers the guest with room to spare, but its
 * locked pages would take availrmem under pages_pp_maximum +
 * arc_pages_pp_reserve, so the term is availrmem's deficit, the kick cuts
 * arc_c by it, and a reader gets one block above the target.
 */
static void
test_cut_by_availrmem(uint64_t vm)
{
	arctun_vmm_create_t ac;
	pgcnt_t avail0 = availrmem;
	pgcnt_t pp_floor = pages_pp_maximum + (pgcnt_t)arc_pages_pp_reserve;
	uint64_t c;

	/* Below the 50 GiB zfs_arc_max of the test before, and the guest's. */
	(void) arctun_arc_set_target(30 * GIB);
	c = arctun_arc_c();
	CHECK_U64(c, 30 * GIB);
	arc_size.as_value = c;
	depot_bytes = 0;
	reduce_calls = 0;
	arc_adjust_needed = B_FALSE;
	/* 40 GiB free; availrmem 3 GiB above its floor. */
	fake_set_freemem(PAGES(40 * GIB));
	availrmem = pp_floor + PAGES(3 * GIB);

	/* Nothing pending: neither half is in the way. */
	CHECK(arctun_arc_headroom_availrmem(availrmem, pp_floor) == INT64_MAX);
	CHECK(arc_headroom() == INT64_MAX);

	CHECK_INT(arctun_vmm_reserve(vm, 0, 8 * GIB, 1, &ac), 0);
	/* freemem: 40 - 8 - 3 GiB kept; availrmem: 3 - 8 GiB. */
	CHECK(arctun_arc_headroom(freemem, lotsfree, desfree) ==
	    (int64_t)(29 * GIB));
	CHECK(arctun_arc_headroom_availrmem(availrmem, pp_floor) ==
	    -(int64_t)(5 * GIB));
	CHECK(arc_headroom() == -(int64_t)(5 * GIB));
	/* The kick cut arc_c by availrmem's 5 GiB; nothing was in flight. */
	CHECK(reduce_calls == 1);
	CHECK_U64(reduce_to_free, 5 * GIB);
	CHECK_U64(arctun_arc_c(), c - 5 * GIB);
	/*
	 * Once the cut is evicted, the narrow band: one block above arc_c
	 * overflows, where freemem's half alone would leave the stock band.
	 */
	while (arc_adjust_needed)
		(void) adjust_pass();
	CHECK_U64(arc_size.as_value, c - 5 * GIB);
	arc_size.as_value = c - 5 * GIB + SPA_MAXBLOCKSIZE;
	CHECK(arc_is_overflowing());
	CHECK(!stock_is_overflowing());

	/*
	 * A negative arc_pages_pp_reserve counts as 0, as the admission's
	 * figures count it: the floor is pages_pp_maximum.
	 */
	arc_pages_pp_reserve = -(int64_t)PAGES(GIB);
	CHECK(arc_headroom() == -(int64_t)(5 * GIB) + 64 * 4096);
	arc_pages_pp_reserve = 64;

	arctun_vmm_release(&ac, ENOMEM);
	availrmem = avail0;
}

int
main(void)
{
	arctun_arc_ops_t ops = {
		.aao_version = ARCTUN_ARC_OPS_VERSION,
		.aao_size = arc_size_cb,
		.aao_evict = arc_tunables_evict,
		.aao_vars = arc_vars,
		.aao_nvars = sizeof (arc_vars) / sizeof (arc_vars[0]),
	};
	uint64_t vm;

	mutex_init(&arc_adjust_lock, NULL, MUTEX_DEFAULT, NULL);
	cv_init(&arc_adjust_waiters_cv, NULL, CV_DEFAULT, NULL);
	fake_host(HOST_BYTES, PAGES(100 * GIB), 1024 * GIB);

	/* Before the module is up, no cut. */
	CHECK_U64(arctun_arc_headroom_cut(INT64_MIN, 100 * GIB, 0, 0), 0);

	CHECK(arctun_mod_init() == 0);
	CHECK(arctun_arc_register(&ops) == 0);
	CHECK(arctun_vmm_register(vmm_vars, 1) == 0);
	CHECK(arctun_vmm_instance_create("vm0", &vm) == 0);

	/* Nothing pending: nothing to cut, whatever the figures. */
	CHECK_U64(arctun_arc_headroom_cut(INT64_MIN, 100 * GIB, 0, 0), 0);

	test_cut_and_passes(vm);
	test_no_cut(vm);
	test_cut_from_the_tick(vm);
	test_float_cut(vm);
	test_cut_by_availrmem(vm);

	CHECK(arctun_vmm_instance_destroy(vm) == 0);
	arctun_vmm_unregister();
	arctun_arc_unregister();
	CHECK(arctun_mod_busy() == 0);
	arctun_mod_fini();
	cv_destroy(&arc_adjust_waiters_cv);
	mutex_destroy(&arc_adjust_lock);

	if (failures != 0)
		fake_dump_messages();
	(void) printf("headroom and paced cut test: %d checks, %d failures\n",
	    checks, failures);
	return (failures == 0 ? 0 : 1);
}
