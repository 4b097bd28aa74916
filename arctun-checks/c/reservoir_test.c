/*
 * This Source Code Form is subject to the terms of the Mozilla Public
 * License, v. 2.0. If a copy of the MPL was not distributed with this
 * file, You can obtain one at https://mozilla.org/MPL/2.0/.
 */

/*
 * The VMM reservoir as the headroom's second consumer (issue 14,
 * acceptance 3): vmm_arc.c's reservoir glue, taken from patches/0003 (the
 * test harness extracts it), compiled against the module and the DDI
 * stand-in in fakekernel.c, and driven in the order vmm_reservoir.c's
 * vmmr_add() and vmmr_remove() call it (reservoir_add() and
 * reservoir_remove() below mirror the patched functions):
 *
 *	vmmr_init()	vmm_arc_resv_register()
 *	vmmr_add()	vmm_arc_resv_grow(), vmm_arc_resv_wait(), then
 *			page_xresv() and the pages; vmm_arc_resv_release() if
 *			either fails, vmm_arc_resv_commit() once they are the
 *			reservoir's
 *	vmmr_remove()	page_unresv(), then vmm_arc_resv_shrink()
 *	vmmr_fini()	vmm_arc_resv_unregister()
 *
 * The ARC is a size the test moves and an evictor callback it counts;
 * eviction progress is arctun_arc_progress(), which the patched ARC calls
 * after each eviction or reap pass.  The clock moves only where a test
 * says so, so a growth that completes was woken by that progress and by
 * nothing else.
 *
 * Prints one line per failed check and a summary; exits non-zero if any
 * check failed.
 */

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/arctun.h>

#include "fakekernel.h"
#include "checks.h"
#include "vmm_arc.h"

#define	KIB	(1024ULL)
#define	MIB	(1024ULL * KIB)
#define	GIB	(1024ULL * MIB)
#define	SEC	(1000000000LL)
#define	PAGES(b)	((b) / 4096)

/* The ARC, as far as the module sees it. */
static uint64_t arc_size;
static int evictions;
uint64_t zfs_arc_max;
uint64_t zfs_arc_min;

static uint64_t
arc_size_cb(void)
{
	return (arc_size);
}

static void
arc_evict_cb(void)
{
	evictions++;
}

static const arctun_var_t arc_vars[] = {
	{ "zfs_arc_max", &zfs_arc_max },
	{ "zfs_arc_min", &zfs_arc_min },
};

/* vmm:0:arc_resv_reservoir and zfs:0:arc_headroom. */
static uint64_t
resv(const char *stat)
{
	return (fake_kstat_value("vmm", 0, "arc_resv_reservoir", stat));
}

static uint64_t
headroom(const char *stat)
{
	return (fake_kstat_value("zfs", 0, "arc_headroom", stat));
}

/* The ceiling with nothing reserved. */
static uint64_t ceiling;

/*
 * vmmr_add(sz, false) as patches/0003 leaves it, the reservoir's own
 * bookkeeping left out: xresv says whether page_xresv() succeeds (0: a
 * signal interrupted it), pages_err what vmmr_alloc_pages() returns.
 */
static int
reservoir_add(size_t sz, int xresv, int pages_err)
{
	vmm_arc_resv_grow_t arc_grow = { .varg_reserved = B_FALSE };
	int arc_err;

	arc_err = vmm_arc_resv_grow(sz, &arc_grow);
	if (arc_err == 0)
		arc_err = vmm_arc_resv_wait(&arc_grow);
	if (arc_err != 0)
		return (arc_err);
	if (!xresv) {
		vmm_arc_resv_release(&arc_grow, EINTR);
		return (EINTR);
	}
	if (pages_err != 0) {
		vmm_arc_resv_release(&arc_grow, pages_err);
		return (pages_err);
	}
	vmm_arc_resv_commit(&arc_grow);
	return (0);
}

/* vmmr_remove(sz, false): page_unresv(), then the headroom. */
static void
reservoir_remove(size_t sz)
{
	vmm_arc_resv_shrink(sz);
}

typedef struct grower {
	pthread_t	g_thread;
	size_t		g_size;
	int		g_result;
	int		g_done;
} grower_t;

static void *
grower_run(void *arg)
{
	grower_t *g = arg;

	g->g_result = reservoir_add(g->g_size, 1, 0);
	fake_set_done(&g->g_done);
	return (NULL);
}

static void
start_grower(grower_t *g, size_t sz)
{
	(void) memset(g, 0, sizeof (*g));
	g->g_size = sz;
	CHECK_INT(pthread_create(&g->g_thread, NULL, grower_run, g), 0);
}

static void
setup(void)
{
	arctun_arc_ops_t ops = {
		.aao_version = ARCTUN_ARC_OPS_VERSION,
		.aao_size = arc_size_cb,
		.aao_evict = arc_evict_cb,
		.aao_vars = arc_vars,
		.aao_nvars = sizeof (arc_vars) / sizeof (arc_vars[0]),
	};

	/* 128 GiB, lotsfree 2 GiB and desfree 1 GiB; the ARC fills it. */
	fake_host(128 * GIB, PAGES(GIB), 1024 * GIB);
	CHECK_INT(arctun_mod_init(), 0);
	CHECK_INT(arctun_arc_register(&ops), 0);
	arc_size = 120 * GIB;
	/* vmmr_init(). */
	vmm_arc_resv_register();
	CHECK(fake_kstat_lookup("vmm", 0, "arc_resv_reservoir") != NULL);
	ceiling = arctun_arc_c_max();
	CHECK(ceiling > 100 * GIB);
	CHECK_U64(resv("reserved"), 0);
}

/*
 * rsrvrctl -s 8G on a host whose ARC fills memory: the growth lowers the
 * ceiling at once, kicks the evictor and asks the ARC for the memory
 * through the headroom term, then sleeps.  Free memory that appears
 * without eviction progress wakes nobody (no polling); the progress does,
 * and the growth completes and commits.
 */
static void
test_growth_waits_for_eviction(void)
{
	grower_t g;
	int kicks = evictions;

	start_grower(&g, 8 * GIB);
	CHECK(fake_await_sleepers(1, &g.g_done));
	CHECK_U64(arctun_arc_c_max(), ceiling - 8 * GIB);
	CHECK(evictions > kicks);
	CHECK_U64(resv("reserved"), 8 * GIB);
	CHECK_U64(resv("pending"), 8 * GIB);
	CHECK_U64(resv("committed"), 0);
	CHECK_U64(headroom("pending"), 8 * GIB);
	/* The ARC is asked for the growth plus lotsfree and desfree. */
	CHECK(arctun_arc_headroom(freemem, lotsfree, desfree) ==
	    (int64_t)GIB - (int64_t)(8 * GIB) - (int64_t)(3 * GIB));

	/* The memory appears, but nothing says so: the growth sleeps on. */
	fake_set_freemem(PAGES(12 * GIB));
	CHECK(fake_await_sleepers(1, &g.g_done));
	CHECK_INT(g.g_done, 0);

	/* The ARC evicted 11 GiB and says so. */
	arc_size -= 11 * GIB;
	arctun_arc_progress();
	CHECK_INT(pthread_join(g.g_thread, NULL), 0);
	CHECK_INT(g.g_result, 0);
	CHECK_U64(arctun_arc_c_max(), ceiling - 8 * GIB);
	CHECK_U64(resv("reserved"), 8 * GIB);
	CHECK_U64(resv("pending"), 0);
	CHECK_U64(resv("committed"), 8 * GIB);
	CHECK_U64(resv("grows"), 1);
	CHECK_U64(headroom("pending"), 0);
	CHECK(arctun_arc_headroom(freemem, lotsfree, desfree) == INT64_MAX);

	/* A second growth, with memory free already: no wait at all. */
	fake_set_freemem(PAGES(20 * GIB));
	CHECK_INT(reservoir_add(4 * GIB, 1, 0), 0);
	CHECK_U64(arctun_arc_c_max(), ceiling - 12 * GIB);
	CHECK_U64(resv("committed"), 12 * GIB);
	CHECK_U64(resv("grows"), 2);
	CHECK_U64(headroom("reservations"), 1);
}

/*
 * A growth that can never fit on this host is refused at once, with a
 * console message and nothing reserved; one that does not fit next to
 * what is reserved is ENOMEM; neither sleeps.
 */
static void
test_growth_that_never_fits(void)
{
	uint64_t before = arctun_arc_c_max();
	int kicks = evictions;

	CHECK_INT(reservoir_add(127 * GIB, 1, 0), ENOSPC);
	CHECK(fake_message_seen(CE_WARN, "can never fit on this host"));
	CHECK_INT(reservoir_add(115 * GIB, 1, 0), ENOMEM);
	CHECK_U64(arctun_arc_c_max(), before);
	CHECK_INT(evictions, kicks);
	CHECK_U64(resv("refusals"), 2);
	CHECK_U64(resv("reserved"), 12 * GIB);
	CHECK_U64(resv("pending"), 0);
}

/*
 * Every failure returns the growth's headroom: page_xresv() interrupted,
 * the pages not created, the wait interrupted by a signal or reaching its
 * minute.
 */
static void
test_failed_growths_return_their_headroom(void)
{
	uint64_t before = arctun_arc_c_max();
	grower_t g;

	CHECK_INT(reservoir_add(GIB, 0, 0), EINTR);
	CHECK_U64(arctun_arc_c_max(), before);
	CHECK_INT(reservoir_add(GIB, 1, ENOMEM), ENOMEM);
	CHECK_U64(arctun_arc_c_max(), before);

	fake_set_freemem(PAGES(GIB));
	start_grower(&g, 2 * GIB);
	CHECK(fake_await_sleepers(1, &g.g_done));
	CHECK_U64(arctun_arc_c_max(), before - 2 * GIB);
	fake_post_signal();
	CHECK_INT(pthread_join(g.g_thread, NULL), 0);
	CHECK_INT(g.g_result, EINTR);
	CHECK_U64(arctun_arc_c_max(), before);

	start_grower(&g, 2 * GIB);
	CHECK(fake_await_sleepers(1, &g.g_done));
	fake_advance(61 * SEC);
	CHECK_INT(pthread_join(g.g_thread, NULL), 0);
	CHECK_INT(g.g_result, ETIME);
	CHECK_U64(arctun_arc_c_max(), before);

	CHECK_U64(resv("failures"), 4);
	CHECK_U64(resv("reserved"), 12 * GIB);
	CHECK_U64(resv("pending"), 0);
	CHECK_U64(headroom("pending"), 0);
	fake_set_freemem(PAGES(20 * GIB));
}

/*
 * vmmr_remove() restores the ceiling exactly: each shrink raises it by
 * what it returned, in any amount, and the last one to where it was
 * before the reservoir grew.  More than the reservoir holds is refused
 * and changes nothing.
 */
static void
test_shrinks_restore_the_ceiling(void)
{
	reservoir_remove(3 * GIB + 4096);
	CHECK_U64(arctun_arc_c_max(), ceiling - 9 * GIB + 4096);
	CHECK_U64(resv("committed"), 9 * GIB - 4096);
	CHECK_U64(resv("shrinks"), 1);

	CHECK_INT(arctun_owner_shrink(1, 10 * GIB), EINVAL);
	CHECK_U64(arctun_arc_c_max(), ceiling - 9 * GIB + 4096);

	reservoir_remove(9 * GIB - 4096);
	CHECK_U64(arctun_arc_c_max(), ceiling);
	CHECK_U64(resv("committed"), 0);
	CHECK_U64(resv("reserved"), 0);
	CHECK_U64(resv("shrinks"), 2);
	CHECK_U64(headroom("reserved"), 0);
	CHECK_U64(headroom("reservations"), 0);
}

/* vmmr_fini(): the owner and its kstat go. */
static void
test_fini(void)
{
	vmm_arc_resv_unregister();
	CHECK(fake_kstat_lookup("vmm", 0, "arc_resv_reservoir") == NULL);
	/* After vmmr_fini() every step is a no-op, as without arctun. */
	CHECK_INT(reservoir_add(GIB, 1, 0), 0);
	CHECK_U64(arctun_arc_c_max(), ceiling);
	reservoir_remove(GIB);
	CHECK_U64(arctun_arc_c_max(), ceiling);
	arctun_arc_unregister();
	CHECK_INT(arctun_mod_busy(), 0);
}

int
main(void)
{
	setup();
	test_growth_waits_for_eviction();
	test_growth_that_never_fits();
	test_failed_growths_return_their_headroom();
	test_shrinks_restore_the_ceiling();
	test_fini();

	if (failures != 0)
		fake_dump_messages();
	(void) printf("reservoir ARC headroom test: %d checks, %d failures\n",
	    checks, failures);
	return (failures == 0 ? 0 : 1);
}
