/*
 * This Source Code Form is subject to the terms of the Mozilla Public
 * License, v. 2.0. If a copy of the MPL was not distributed with this
 * file, You can obtain one at https://mozilla.org/MPL/2.0/.
 */

/*
 * The arctun module's C ABI, exercised from C: every function of
 * sys/arctun.h with good and bad arguments, against the DDI stand-in in
 * fakekernel.c.  The host is a 128 GiB machine running the 2021
 * arc_init() (the tree the patches target).
 *
 * Prints one line per failed check and a summary; exits non-zero if any
 * check failed.
 */

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sys/arctun.h>

#include "fakekernel.h"
#include "checks.h"

#define	KIB	(1024ULL)
#define	MIB	(1024ULL * KIB)
#define	GIB	(1024ULL * MIB)
#define	SEC	(1000000000LL)
#define	PAGES(b)	((b) / 4096)

/*
 * The ARC, as far as the module sees it: its size, its evictor, and its
 * tunable variables (what /etc/system sets and mdb -kw patches).
 */
static uint64_t arc_size;
static int evictions;

uint64_t zfs_arc_max;
uint64_t zfs_arc_min;
uint64_t zfs_arc_meta_limit;
uint64_t zfs_arc_meta_min;
uint64_t zfs_arc_headroom_margin;
/* dbuf.c's, which arc.c registers beside its own. */
uint64_t dbuf_cache_max_bytes;
uint64_t dbuf_metadata_cache_max_bytes;

/*
 * The module calls back with its mutexes held, but never from inside a
 * write section, where preemption is disabled.
 */
static uint64_t
arc_size_cb(void)
{
	CHECK_INT(fake_preempt_depth(), 0);
	return (arc_size);
}

static void
arc_evict_cb(void)
{
	CHECK_INT(fake_preempt_depth(), 0);
	evictions++;
}

/*
 * The ARC's admission figures (aao_admission): evictable, all of it but
 * what arc_pinned holds (buffers in use, and those the dbuf caches hold);
 * evicted and waiting in its kmem caches' depots, arc_evicted_cached.
 */
static uint64_t arc_pinned;
static uint64_t arc_evicted_cached;
static int admissions;

static void
arc_admission_cb(arctun_admission_t *ap)
{
	CHECK_INT(fake_preempt_depth(), 0);
	ap->aad_evictable = arc_size > arc_pinned ? arc_size - arc_pinned : 0;
	ap->aad_evicted_cached = arc_evicted_cached;
	ap->aad_pp_reserve = 64;	/* arc_pages_pp_reserve */
	admissions++;
}

static const arctun_var_t arc_vars[] = {
	{ "zfs_arc_max", &zfs_arc_max },
	{ "zfs_arc_min", &zfs_arc_min },
	{ "zfs_arc_meta_limit", &zfs_arc_meta_limit },
	{ "zfs_arc_meta_min", &zfs_arc_meta_min },
	{ "dbuf_cache_max_bytes", &dbuf_cache_max_bytes },
	{ "dbuf_metadata_cache_max_bytes", &dbuf_metadata_cache_max_bytes },
	{ "zfs_arc_headroom_margin", &zfs_arc_headroom_margin },
};

static arctun_arc_ops_t
arc_ops(void)
{
	arctun_arc_ops_t ops = {
		.aao_version = ARCTUN_ARC_OPS_VERSION,
		.aao_size = arc_size_cb,
		.aao_evict = arc_evict_cb,
		.aao_vars = arc_vars,
		.aao_nvars = sizeof (arc_vars) / sizeof (arc_vars[0]),
		.aao_admission = arc_admission_cb,
	};
	return (ops);
}

/*
 * The reap zthr's check a second after the last: arctun's tick does its
 * work (see test_tick_rate() for calls closer together).
 */
static void
tick(void)
{
	fake_advance(SEC);
	CHECK_INT(arctun_arc_tick(), 1);
}

/* 128 GiB host: allmem = 128 GiB - swapfs_minfree (256 MiB). */
#define	HOST_BYTES	(128 * GIB)
#define	ALLMEM		(HOST_BYTES - 256 * MIB)
#define	DEFAULT_C_MAX	(ALLMEM - GIB)

static void
test_before_init(void)
{
	arctun_arc_ops_t ops = arc_ops();
	arctun_limits_t l;

	CHECK_INT(arctun_arc_register(&ops), ENXIO);
	CHECK_U64(arctun_arc_c(), 0);
	CHECK_U64(arctun_arc_c_max(), 0);
	CHECK_U64(arctun_arc_set_target(GIB), 0);
	CHECK(arctun_arc_headroom(0, 0, 0) == INT64_MAX);
	CHECK(arctun_arc_headroom_availrmem(0, UINT64_MAX) == INT64_MAX);
	/* The reaper's rule is the stock one until the module is up. */
	CHECK(arctun_arc_reap_to_free(GIB, -(int64_t)GIB, B_TRUE, GIB, GIB) ==
	    (int64_t)GIB);
	/* ... and the kick cuts nothing. */
	CHECK_U64(arctun_arc_headroom_cut(INT64_MIN, 2 * GIB, GIB, 0), 0);
	(void) memset(&l, 0xff, sizeof (l));
	arctun_arc_limits(&l);
	CHECK_U64(l.al_c_max, 0);
	CHECK_INT(arctun_arc_tick(), 0);
	arctun_arc_progress();
	arctun_arc_unregister();
	CHECK_INT(arctun_mod_busy(), 0);
	arctun_mod_fini();
}

/* Before the module is initialized: ENXIO, and nothing happens. */
static void
test_owner_and_resize_before_init(void)
{
	arctun_owner_grow_t g;
	arctun_arc_resize_t aar;
	uint64_t id = 0;

	(void) memset(&g, 0, sizeof (g));
	(void) memset(&aar, 0, sizeof (aar));
	CHECK_INT(arctun_owner_register("vmm", "reservoir", &id), ENXIO);
	CHECK_INT(arctun_owner_unregister(1), ENXIO);
	CHECK_INT(arctun_owner_grow(1, GIB, &g), ENXIO);
	CHECK_INT(arctun_owner_wait(&g), ENXIO);
	CHECK_INT(arctun_owner_commit(&g), ENXIO);
	arctun_owner_release(&g, EINTR);
	CHECK_INT(arctun_owner_shrink(1, GIB), ENXIO);
	CHECK_INT(arctun_arc_resize(&aar, ARCTUN_RESIZE_READ), ENXIO);
	CHECK_INT(arctun_mod_busy(), 0);
}

static void
test_init_and_defaults(void)
{
	/* The fake host's paging thresholds, as setupclock() sets them. */
	CHECK_U64(lotsfree, PAGES(2 * GIB));
	CHECK_U64(desfree, PAGES(GIB));

	CHECK_INT(arctun_mod_init(), 0);
	CHECK_INT(arctun_mod_init(), EBUSY);
	CHECK_INT(arctun_mod_busy(), 0);

	/*
	 * Today's arc_init(): c_max = MAX(3/4 allmem, allmem - 1 GiB);
	 * c_min = MIN(MAX(allmem/64, 64 MiB), 1 GiB).  (On this host the
	 * 2021 formula gives the same; arc_resize_test.c tells them apart.)
	 */
	CHECK_U64(arctun_arc_c_max(), DEFAULT_C_MAX);
	CHECK_U64(arctun_arc_c_min(), GIB);
	CHECK_U64(arctun_arc_c(), DEFAULT_C_MAX);
	CHECK_U64(arctun_arc_meta_limit(), DEFAULT_C_MAX / 4);
	CHECK_U64(arctun_arc_meta_min(), GIB / 2);
}

static void
test_bad_registrations(void)
{
	arctun_arc_ops_t ops;
	arctun_var_t vars[ARCTUN_MAX_VARS + 1];
	char long_name[40];
	uint64_t x = 0, y = 0;

	CHECK_INT(arctun_arc_register(NULL), EINVAL);

	ops = arc_ops();
	ops.aao_version = ARCTUN_ARC_OPS_VERSION + 1;
	CHECK_INT(arctun_arc_register(&ops), ENOTSUP);
	ops.aao_version = 0;
	CHECK_INT(arctun_arc_register(&ops), ENOTSUP);

	ops = arc_ops();
	ops.aao_size = NULL;
	CHECK_INT(arctun_arc_register(&ops), EINVAL);

	ops = arc_ops();
	ops.aao_evict = NULL;
	CHECK_INT(arctun_arc_register(&ops), EINVAL);

	for (int i = 0; i <= ARCTUN_MAX_VARS; i++) {
		vars[i].av_name = "zfs_arc_max";
		vars[i].av_addr = &x;
	}
	ops = arc_ops();
	ops.aao_vars = vars;
	ops.aao_nvars = ARCTUN_MAX_VARS + 1;
	CHECK_INT(arctun_arc_register(&ops), EINVAL);

	ops.aao_vars = NULL;
	ops.aao_nvars = 1;
	CHECK_INT(arctun_arc_register(&ops), EINVAL);

	vars[0].av_name = "zfs_arc_max";
	vars[0].av_addr = NULL;
	ops.aao_vars = vars;
	CHECK_INT(arctun_arc_register(&ops), EINVAL);

	vars[0].av_name = NULL;
	vars[0].av_addr = &x;
	CHECK_INT(arctun_arc_register(&ops), EINVAL);

	vars[0].av_name = "zfs_arc_maxx";
	CHECK_INT(arctun_arc_register(&ops), ENOENT);

	(void) memset(long_name, 'a', sizeof (long_name));
	vars[0].av_name = long_name;	/* not NUL-terminated */
	CHECK_INT(arctun_arc_register(&ops), EINVAL);

	vars[0].av_name = "zfs_arc_max";
	vars[1].av_name = "zfs_arc_max";
	vars[1].av_addr = &y;
	ops.aao_nvars = 2;
	CHECK_INT(arctun_arc_register(&ops), EINVAL);

	vars[1].av_name = "zfs_arc_min";
	vars[1].av_addr = &x;		/* two tunables, one variable */
	CHECK_INT(arctun_arc_register(&ops), EINVAL);

	/* None of them registered anything or changed anything. */
	CHECK_INT(arctun_mod_busy(), 0);
	CHECK_U64(arctun_arc_c_max(), DEFAULT_C_MAX);
	CHECK_INT(fake_messages(CE_WARN), 0);
}

static void
test_register_with_boot_values(void)
{
	arctun_arc_ops_t ops = arc_ops();
	arctun_limits_t l;

	/* /etc/system: a valid zfs_arc_max and a zfs_arc_min that the 2021
	 * arc_init() would ignore (not above 64 MiB). */
	zfs_arc_max = 8 * GIB;
	zfs_arc_min = 1000;
	arc_size = 8 * GIB;

	CHECK_INT(arctun_arc_register(&ops), 0);
	CHECK_INT(arctun_arc_register(&ops), EBUSY);
	CHECK_INT(arctun_mod_busy(), 1);

	CHECK_U64(arctun_arc_c_max(), 8 * GIB);
	CHECK_U64(arctun_arc_c_min(), GIB);
	CHECK_U64(arctun_arc_c(), 8 * GIB);
	/* The ignored value was reported and put back to the value in
	 * force. */
	CHECK_U64(zfs_arc_min, 0);
	CHECK(fake_message_seen(CE_WARN, "zfs_arc_min = 0x3e8 ignored"));
	CHECK_U64(zfs_arc_max, 8 * GIB);

	(void) memset(&l, 0, sizeof (l));
	arctun_arc_limits(&l);
	CHECK_U64(l.al_c_max, 8 * GIB);
	CHECK_U64(l.al_c_min, GIB);
	CHECK(l.al_c_min <= l.al_c && l.al_c <= l.al_c_max);
	CHECK_U64(l.al_meta_limit, 2 * GIB);
	CHECK_U64(l.al_meta_min, GIB / 2);
	CHECK_U64(l.al_dbuf_cache_max, 8 * GIB >> 5);
	CHECK_U64(l.al_dbuf_metadata_cache_max, 8 * GIB >> 6);
	arctun_arc_limits(NULL);	/* nothing to write: no crash */
}

static void
test_arc_moves(void)
{
	uint64_t sections = fake_preempt_sections();

	/* Targets are clamped into [c_min, c_max]. */
	CHECK_U64(arctun_arc_set_target(UINT64_MAX), 8 * GIB);
	CHECK_U64(arctun_arc_set_target(0), GIB);
	CHECK_U64(arctun_arc_c(), GIB);

	/* Growth stops at c_max. */
	CHECK_U64(arctun_arc_grow_target(GIB), 2 * GIB);
	CHECK_U64(arctun_arc_grow_target(UINT64_MAX), 8 * GIB);

	/*
	 * Each move was one write section with preemption disabled, now
	 * closed; growth at the ceiling opens none.
	 */
	CHECK_U64(fake_preempt_sections() - sections, 4);
	CHECK_INT(fake_preempt_depth(), 0);
	CHECK_U64(arctun_arc_grow_target(GIB), 8 * GIB);
	CHECK_U64(fake_preempt_sections() - sections, 4);

	/* p never exceeds c; setting it is one store, not a section. */
	arctun_arc_set_p(UINT64_MAX);
	CHECK_U64(arctun_arc_p(), 8 * GIB);
	CHECK_U64(fake_preempt_sections() - sections, 4);

	/* arc_reduce_target_size(1 GiB) with the ARC above c: c drops by
	 * 1 GiB, p loses p >> 7 and then exceeds c, so it becomes c/2. */
	CHECK_U64(arctun_arc_reduce_target(GIB, 16 * GIB, 7), 7 * GIB);
	CHECK_U64(arctun_arc_p(), 7 * GIB / 2);

	/* With the ARC below c, c drops to its size; a negative shift
	 * leaves p alone until it exceeds c. */
	CHECK_U64(arctun_arc_reduce_target(0, 2 * GIB, -1), 2 * GIB);
	CHECK_U64(arctun_arc_p(), GIB);

	/* Never below c_min, whatever is asked. */
	CHECK_U64(arctun_arc_reduce_target(UINT64_MAX, 0, 7), GIB);
	CHECK_U64(arctun_arc_reduce_target(GIB, 0, 64), GIB);
	CHECK_U64(fake_preempt_sections() - sections, 8);
	CHECK_INT(fake_preempt_depth(), 0);

	/* Nothing pending: the headroom term stays out of the way. */
	CHECK(arctun_arc_headroom(0, 0, 0) == INT64_MAX);
	CHECK(arctun_arc_headroom(UINT64_MAX, UINT64_MAX, UINT64_MAX) ==
	    INT64_MAX);
	CHECK(arctun_arc_headroom(freemem, lotsfree, desfree) == INT64_MAX);
	CHECK(arctun_arc_headroom_availrmem(0, UINT64_MAX) == INT64_MAX);
	CHECK(arctun_arc_headroom_availrmem(availrmem, pages_pp_maximum) ==
	    INT64_MAX);
	/*
	 * ... and the reaper keeps its stock to_free under any other reason,
	 * whatever is in flight; a pass the headroom term began whose term is
	 * met now frees nothing (no slack).
	 */
	CHECK(arctun_arc_reap_to_free(GIB, 0, B_TRUE, 3 * GIB, 0) <= 0);
	CHECK(arctun_arc_reap_to_free(GIB, -(int64_t)GIB, B_FALSE, UINT64_MAX,
	    UINT64_MAX) == (int64_t)GIB);
	CHECK(arctun_arc_reap_to_free(-5, 0, B_FALSE, GIB, GIB) == -5);
	CHECK(arctun_arc_reap_to_free(INT64_MIN, INT64_MIN, B_FALSE,
	    UINT64_MAX, UINT64_MAX) == INT64_MIN);
	/* ... nor does the kick cut c, whatever term it is given. */
	CHECK_U64(arctun_arc_headroom_cut(INT64_MIN, 0, 0, 0), 0);
	CHECK_U64(arctun_arc_headroom_cut(-1, 0, 0, 0), 0);
	arctun_arc_progress();

	(void) arctun_arc_set_target(UINT64_MAX);
}

static void
test_raw_variables(void)
{
	arctun_limits_t l;
	int warnings = fake_messages(CE_WARN);
	int before = evictions;
	uint64_t sections = fake_preempt_sections();

	/* mdb -kw: zfs_arc_max/Z 0x100000000 */
	zfs_arc_max = 4 * GIB;
	tick();
	/* The new limits were published in a write section, now closed. */
	CHECK(fake_preempt_sections() > sections);
	CHECK_INT(fake_preempt_depth(), 0);
	CHECK_U64(arctun_arc_c_max(), 4 * GIB);
	CHECK_U64(arctun_arc_c(), 4 * GIB);
	CHECK(evictions > before);	/* c fell below the ARC's size */
	CHECK_U64(fake_kstat_value("zfs", 0, "tunables", "zfs_arc_max"),
	    4 * GIB);

	/* mdb -kw: zfs_arc_max/Z 0t1000: refused, restored, reported. */
	zfs_arc_max = 1000;
	tick();
	CHECK_U64(zfs_arc_max, 4 * GIB);
	CHECK_U64(arctun_arc_c_max(), 4 * GIB);
	CHECK(fake_message_seen(CE_WARN, "zfs_arc_max: direct write of 0x3e8 "
	    "(1000) refused (EINVAL), keeping 0x100000000"));

	/* A minimum above the maximum: ERANGE. */
	zfs_arc_min = 2 * GIB;
	tick();
	CHECK_U64(arctun_arc_c_min(), 2 * GIB);
	zfs_arc_min = 5 * GIB;
	tick();
	CHECK_U64(zfs_arc_min, 2 * GIB);
	CHECK_U64(arctun_arc_c_min(), 2 * GIB);
	CHECK(fake_message_seen(CE_WARN, "zfs_arc_min: direct write of "
	    "0x140000000 (5368709120) refused (ERANGE)"));
	CHECK_INT(fake_messages(CE_WARN), warnings + 2);

	/* Nothing changed: a tick says nothing. */
	tick();
	CHECK_INT(fake_messages(CE_WARN), warnings + 2);

	zfs_arc_min = 0;
	tick();
	CHECK_U64(arctun_arc_c_min(), GIB);

	/*
	 * The dbuf caches: 0 follows the ceiling (4 GiB >> 5 and >> 6); a
	 * value below it is taken; one not below it is refused and the
	 * variable restored, as dbuf_init() would have ignored it.
	 */
	arctun_arc_limits(&l);
	CHECK_U64(l.al_dbuf_cache_max, 4 * GIB >> 5);
	CHECK_U64(l.al_dbuf_metadata_cache_max, 4 * GIB >> 6);
	dbuf_cache_max_bytes = 100 * MIB;
	tick();
	arctun_arc_limits(&l);
	CHECK_U64(l.al_dbuf_cache_max, 100 * MIB);
	CHECK_U64(fake_kstat_value("zfs", 0, "tunables",
	    "dbuf_cache_max_bytes"), 100 * MIB);
	dbuf_metadata_cache_max_bytes = 4 * GIB;
	tick();
	CHECK_U64(dbuf_metadata_cache_max_bytes, 0);
	CHECK(fake_message_seen(CE_WARN, "dbuf_metadata_cache_max_bytes: "
	    "direct write of 0x100000000"));
	arctun_arc_limits(&l);
	CHECK_U64(l.al_dbuf_metadata_cache_max, 4 * GIB >> 6);
	dbuf_cache_max_bytes = 0;
	tick();
	arctun_arc_limits(&l);
	CHECK_U64(l.al_dbuf_cache_max, 4 * GIB >> 5);
	CHECK_INT(fake_messages(CE_WARN), warnings + 3);
}

/*
 * The tick's rate (issue 17, finding 3): arc_reap_cb_check() runs on the
 * reap zthr's one-second timer and again at every zthr_wakeup(), which
 * arc_adapt() asks for on each allocation while memory is short.  However
 * often it calls, the tick does its work (the raw variables' sync, which
 * takes the admin lock, and the waiters' wake-up) once a second of
 * gethrtime(): the first call in a second returns 1, the others 0 and
 * change nothing, and a variable patched meanwhile is picked up by the
 * first call a second after the last tick that worked.
 */
static void
test_tick_rate(void)
{
	int worked = 0;

	tick();
	zfs_arc_max = 5 * GIB;
	for (int i = 0; i < 1000; i++) {
		fake_advance(SEC / 1000 - 1);
		worked += arctun_arc_tick();
	}
	CHECK_INT(worked, 0);
	CHECK_U64(arctun_arc_c_max(), 4 * GIB);
	/* A second after the last tick that worked: picked up, once. */
	fake_advance(1000);
	CHECK_INT(arctun_arc_tick(), 1);
	CHECK_U64(arctun_arc_c_max(), 5 * GIB);
	CHECK_INT(arctun_arc_tick(), 0);

	/* A thousand calls over a thousand seconds: a thousand ticks. */
	worked = 0;
	for (int i = 0; i < 1000; i++) {
		fake_advance(SEC);
		worked += arctun_arc_tick();
	}
	CHECK_INT(worked, 1000);

	zfs_arc_max = 4 * GIB;
	tick();
	CHECK_U64(arctun_arc_c_max(), 4 * GIB);
}

/* Reads a named kstat into buf (at most n entries); returns ks_ndata. */
static uint_t
read_kstat(kstat_t *ksp, kstat_named_t *buf, uint_t n)
{
	CHECK(ksp != NULL);
	if (ksp == NULL)
		return (0);
	CHECK_INT(fake_kstat_read(ksp, buf, n), 0);
	CHECK(ksp->ks_ndata <= n);
	return (ksp->ks_ndata);
}

static kstat_named_t *
find_stat(kstat_named_t *buf, uint_t n, const char *name)
{
	for (uint_t i = 0; i < n; i++) {
		if (strcmp(buf[i].name, name) == 0)
			return (&buf[i]);
	}
	return (NULL);
}

static void
test_kstats(void)
{
	kstat_t *tun = fake_kstat_lookup("zfs", 0, "tunables");
	kstat_t *hr = fake_kstat_lookup("zfs", 0, "arc_headroom");
	kstat_named_t buf[64], orig[64];
	kstat_named_t *max, *min;
	uint_t n;

	CHECK(tun != NULL && hr != NULL);
	if (tun == NULL || hr == NULL)
		return;
	CHECK(tun->ks_flags & KSTAT_FLAG_WRITABLE);
	CHECK(tun->ks_flags & KSTAT_FLAG_VAR_SIZE);
	CHECK(!(hr->ks_flags & KSTAT_FLAG_WRITABLE));
	CHECK(strcmp(tun->ks_class, "misc") == 0);

	/* A buffer too small for the data: ENOMEM, as the driver says. */
	CHECK_INT(fake_kstat_read(tun, buf, 1), ENOMEM);

	/* Reads show the values in force. */
	n = read_kstat(tun, buf, 64);
	CHECK(n >= 4);
	max = find_stat(buf, n, "zfs_arc_max");
	min = find_stat(buf, n, "zfs_arc_min");
	CHECK(max != NULL && min != NULL);
	if (max == NULL || min == NULL)
		return;
	CHECK_INT(max->data_type, KSTAT_DATA_UINT64);
	CHECK_U64(max->value.ui64, 4 * GIB);
	CHECK_U64(fake_kstat_value("zfs", 0, "arc_headroom", "c_max_effective"),
	    4 * GIB);
	CHECK_U64(fake_kstat_value("zfs", 0, "arc_headroom", "reserved"), 0);
	(void) memcpy(orig, buf, sizeof (buf));

	/* A valid write applies at once, and the variable follows. */
	max->value.ui64 = 6 * GIB;
	CHECK_INT(fake_kstat_write(tun, buf, n), 0);
	CHECK_U64(arctun_arc_c_max(), 6 * GIB);
	CHECK_U64(zfs_arc_max, 6 * GIB);
	tick();
	CHECK_U64(arctun_arc_c_max(), 6 * GIB);

	/* An invalid value: EINVAL, nothing changes. */
	n = read_kstat(tun, buf, 64);
	max = find_stat(buf, n, "zfs_arc_max");
	min = find_stat(buf, n, "zfs_arc_min");
	max->value.ui64 = 1000;
	CHECK_INT(fake_kstat_write(tun, buf, n), EINVAL);
	CHECK_U64(arctun_arc_c_max(), 6 * GIB);
	CHECK_U64(zfs_arc_max, 6 * GIB);

	/* One valid and one invalid value: EINVAL, neither applies. */
	min->value.ui64 = 2 * GIB;
	CHECK_INT(fake_kstat_write(tun, buf, n), EINVAL);
	CHECK_U64(arctun_arc_c_min(), GIB);
	CHECK_U64(arctun_arc_c_max(), 6 * GIB);

	/* A minimum above the maximum: ERANGE. */
	n = read_kstat(tun, buf, 64);
	min = find_stat(buf, n, "zfs_arc_min");
	min->value.ui64 = 7 * GIB;
	CHECK_INT(fake_kstat_write(tun, buf, n), ERANGE);
	CHECK_U64(arctun_arc_c_min(), GIB);

	/* Malformed buffers: wrong size, wrong type, permuted names. */
	n = read_kstat(tun, buf, 64);
	CHECK_INT(fake_kstat_write(tun, buf, n - 1), EINVAL);
	buf[0].data_type = KSTAT_DATA_INT64;
	CHECK_INT(fake_kstat_write(tun, buf, n), EINVAL);
	n = read_kstat(tun, buf, 64);
	{
		kstat_named_t t = buf[0];

		buf[0] = buf[1];
		buf[1] = t;
	}
	CHECK_INT(fake_kstat_write(tun, buf, n), EINVAL);
	CHECK_U64(arctun_arc_c_max(), 6 * GIB);
	CHECK_U64(arctun_arc_c_min(), GIB);

	/* The read-only kstats refuse writes. */
	n = read_kstat(hr, buf, 64);
	CHECK_INT(fake_kstat_write(hr, buf, n), EACCES);

	/* Both values valid together: both apply. */
	n = read_kstat(tun, buf, 64);
	max = find_stat(buf, n, "zfs_arc_max");
	min = find_stat(buf, n, "zfs_arc_min");
	max->value.ui64 = 5 * GIB;
	min->value.ui64 = 2 * GIB;
	CHECK_INT(fake_kstat_write(tun, buf, n), 0);
	CHECK_U64(arctun_arc_c_max(), 5 * GIB);
	CHECK_U64(arctun_arc_c_min(), 2 * GIB);
	CHECK_U64(zfs_arc_min, 2 * GIB);

	/* Back to where the test was. */
	CHECK_INT(fake_kstat_write(tun, orig, n), 0);
	CHECK_U64(arctun_arc_c_max(), 4 * GIB);
	CHECK_U64(arctun_arc_c_min(), GIB);
	CHECK_U64(zfs_arc_max, 4 * GIB);
}

/*
 * vmm.
 */
uint64_t vmm_arc_page_overhead;

static const arctun_var_t vmm_vars[] = {
	{ "vmm_arc_page_overhead", &vmm_arc_page_overhead },
};

#define	GUEST64		(64 * GIB)
#define	OVERHEAD64	(PAGES(GUEST64) * 120)		/* 1.875 GiB */
#define	BASE		DEFAULT_C_MAX

static uint64_t
resv(const char *stat)
{
	return (fake_kstat_value("vmm", 0, "arc_resv", stat));
}

static uint64_t
headroom(const char *stat)
{
	return (fake_kstat_value("zfs", 0, "arc_headroom", stat));
}

typedef struct waiter {
	pthread_t		w_thread;
	arctun_vmm_create_t	*w_create;
	int			w_result;
	int			w_done;		/* fake_set_done() */
} waiter_t;

static void *
waiter_run(void *arg)
{
	waiter_t *w = arg;

	w->w_result = arctun_vmm_wait(w->w_create);
	fake_set_done(&w->w_done);
	return (NULL);
}

/*
 * Starts a wait in another thread and returns once it sleeps; a wait that
 * returns without sleeping fails the check (and does not hang the test).
 */
static void
wait_in_background(waiter_t *w, arctun_vmm_create_t *ac)
{
	w->w_create = ac;
	w->w_result = -1;
	w->w_done = 0;
	CHECK_INT(pthread_create(&w->w_thread, NULL, waiter_run, w), 0);
	CHECK(fake_await_sleepers(1, &w->w_done));
}

static int
wait_result(waiter_t *w)
{
	CHECK_INT(pthread_join(w->w_thread, NULL), 0);
	return (w->w_result);
}

static void
test_vmm_before_registration(void)
{
	arctun_vmm_create_t ac;
	uint64_t id = 0;

	CHECK_INT(arctun_vmm_instance_create("vm0", &id), ENXIO);
	CHECK_INT(arctun_vmm_instance_destroy(1), ENXIO);
	CHECK_INT(arctun_vmm_reserve(1, 0, GIB, 1, &ac), ENXIO);
	CHECK_INT(arctun_vmm_wait(&ac), ENXIO);
	CHECK_INT(arctun_vmm_mark_allocated(&ac), ENXIO);
	arctun_vmm_release(&ac, ENOMEM);
	arctun_vmm_unregister();
}

static void
test_vmm_registration(void)
{
	/* A bad variable: nothing registers. */
	CHECK_INT(arctun_vmm_register(NULL, 1), EINVAL);
	CHECK(fake_kstat_lookup("vmm", 0, "arc_resv") == NULL);

	/* /etc/system asks for more than a page per page: ignored. */
	vmm_arc_page_overhead = 5000;
	CHECK_INT(arctun_vmm_register(vmm_vars, 1), 0);
	CHECK_INT(arctun_vmm_register(vmm_vars, 1), EBUSY);
	CHECK_U64(vmm_arc_page_overhead, 120);
	CHECK(fake_message_seen(CE_WARN, "vmm_arc_page_overhead = 0x1388 "
	    "ignored (EINVAL"));
	CHECK(fake_kstat_lookup("vmm", 0, "arc_resv") != NULL);
	/* The tunable joins zfs:0:tunables, like the ARC's. */
	CHECK_U64(fake_kstat_value("zfs", 0, "tunables",
	    "vmm_arc_page_overhead"), 120);
	CHECK_U64(resv("instances"), 0);
}

static void
test_vmm_guests(void)
{
	arctun_vmm_create_t ac, ac2;
	uint64_t vm0, vm1, vm2, vm3, vm4, dup;
	char longname[300];
	waiter_t w;
	int64_t term;

	/* The ARC's own cap out of the way: the ceiling is the base. */
	zfs_arc_max = 0;
	tick();
	CHECK_U64(arctun_arc_c_max(), BASE);
	arc_size = 100 * GIB;

	/* Instances, and names that are refused. */
	CHECK_INT(arctun_vmm_instance_create("vm0", &vm0), 0);
	CHECK_INT(arctun_vmm_instance_create("", &dup), EINVAL);
	CHECK_INT(arctun_vmm_instance_create(NULL, &dup), EINVAL);
	CHECK_INT(arctun_vmm_instance_create("vm1", NULL), EINVAL);
	(void) memset(longname, 'x', sizeof (longname) - 1);
	longname[sizeof (longname) - 1] = '\0';
	CHECK_INT(arctun_vmm_instance_create(longname, &dup), EINVAL);
	CHECK_U64(resv("instances"), 1);

	/*
	 * A 64 GiB guest: reserves 64 GiB plus 120 bytes a page, at once;
	 * the ceiling drops by as much.  Only the guest's memory is pending
	 * and enters the headroom term, ptob(freemem) - pending -
	 * ptob(lotsfree) - ptob(desfree): the page overhead counts as
	 * allocated from the start (it only lowers the ceiling).
	 */
	fake_set_freemem(PAGES(100 * GIB));
	CHECK_INT(arctun_vmm_reserve(vm0, 0, GUEST64, 1, &ac), 0);
	CHECK_U64(arctun_arc_c_max(), BASE - GUEST64 - OVERHEAD64);
	CHECK_U64(headroom("reserved"), GUEST64 + OVERHEAD64);
	CHECK_U64(headroom("pending"), GUEST64);
	CHECK_U64(headroom("c_max_effective"), BASE - GUEST64 - OVERHEAD64);
	term = arctun_arc_headroom(freemem, lotsfree, desfree);
	CHECK(term == (int64_t)(100 * GIB - GUEST64 - lotsfree * 4096 -
	    desfree * 4096));
	CHECK(term == (int64_t)(33 * GIB));
	/* Without lotsfree the term would be 2 GiB larger. */
	CHECK(arctun_arc_headroom(freemem, 0, desfree) == term +
	    (int64_t)(2 * GIB));
	/* Extreme thresholds saturate instead of wrapping. */
	CHECK(arctun_arc_headroom(0, UINT64_MAX, UINT64_MAX) == INT64_MIN);
	CHECK(arctun_arc_headroom(0, 0, 0) == -(int64_t)GUEST64);
	/*
	 * Free memory covers it: no sleep.  The segment leaves the headroom
	 * term as the wait returns, before the driver allocates it:
	 * page_create_va() takes freemem for the whole segment at once and
	 * zeroing it takes seconds, and a segment counted both as gone from
	 * freemem and in the term meanwhile would show as a 64 GiB deficit,
	 * which the ARC's reaper would free a second time.  It stays pending
	 * (for the kstat, and for younger waiters, below) until it is marked
	 * allocated.  The ceiling stays lowered.
	 */
	CHECK_INT(arctun_vmm_wait(&ac), 0);
	/* A second wait is refused and leaves the claimed create as it is. */
	CHECK_INT(arctun_vmm_wait(&ac), EINVAL);
	CHECK_U64(headroom("pending"), GUEST64);
	CHECK_U64(headroom("reserved"), GUEST64 + OVERHEAD64);
	CHECK(arctun_arc_headroom(freemem, lotsfree, desfree) == INT64_MAX);
	fake_set_freemem(PAGES(100 * GIB - GUEST64));
	CHECK(arctun_arc_headroom(freemem, lotsfree, desfree) == INT64_MAX);
	CHECK_U64(arctun_arc_c_max(), BASE - GUEST64 - OVERHEAD64);
	CHECK_INT(arctun_vmm_mark_allocated(&ac), 0);
	CHECK_U64(headroom("pending"), 0);
	CHECK(arctun_arc_headroom(freemem, lotsfree, desfree) == INT64_MAX);
	fake_set_freemem(PAGES(100 * GIB));
	CHECK_U64(headroom("reserved"), GUEST64 + OVERHEAD64);
	CHECK_U64(resv("reserved_bytes"), GUEST64 + OVERHEAD64);
	CHECK_U64(resv("overhead_bytes"), OVERHEAD64);
	/* A consumed buffer is refused, and releasing it does nothing. */
	CHECK_INT(arctun_vmm_mark_allocated(&ac), EINVAL);
	CHECK_INT(arctun_vmm_wait(&ac), EINVAL);
	arctun_vmm_release(&ac, ENOMEM);
	CHECK_U64(headroom("reserved"), GUEST64 + OVERHEAD64);

	/* Bad requests: refused at once, nothing reserved. */
	CHECK_INT(arctun_vmm_reserve(vm0, 7, GIB, 1, &ac), EINVAL);
	CHECK_INT(arctun_vmm_reserve(vm0, -1, GIB, 1, &ac), EINVAL);
	CHECK_INT(arctun_vmm_reserve(vm0, 1, 0, 1, &ac), EINVAL);
	CHECK_INT(arctun_vmm_reserve(vm0, 1, UINT64_MAX, 1, &ac), EOVERFLOW);
	CHECK_INT(arctun_vmm_reserve(vm0, 0, GUEST64, 1, &ac), EEXIST);
	CHECK_INT(arctun_vmm_reserve(9999, 0, GIB, 1, &ac), ENOENT);
	CHECK_INT(arctun_vmm_reserve(vm0, 1, GIB, 1, NULL), EINVAL);
	CHECK_INT(arctun_vmm_wait(&ac), EINVAL);
	CHECK_INT(arctun_vmm_wait(NULL), EINVAL);
	CHECK_U64(headroom("reserved"), GUEST64 + OVERHEAD64);

	/* A refused reservation: no headroom next to the 64 GiB guest. */
	CHECK_INT(arctun_vmm_reserve(vm0, 1, 70 * GIB, 1, &ac), ENOMEM);
	CHECK_INT(arctun_vmm_wait(&ac), EINVAL);
	CHECK_U64(resv("fail_no_headroom"), 1);
	CHECK_U64(arctun_arc_c_max(), BASE - GUEST64 - OVERHEAD64);

	/* One that could never fit on this host: ENOSPC, and said so. */
	CHECK_INT(arctun_vmm_instance_create("vm1", &vm1), 0);
	CHECK_INT(arctun_vmm_reserve(vm1, 0, 200 * GIB, 1, &ac), ENOSPC);
	CHECK(fake_message_seen(CE_WARN, "cannot start on this host"));
	CHECK_U64(resv("fail_never_fits"), 1);

	/* A wait that times out: 60 s, then ETIME; release restores. */
	fake_set_freemem(PAGES(GIB));
	CHECK_INT(arctun_vmm_reserve(vm1, 0, 8 * GIB, 1, &ac), 0);
	CHECK_U64(headroom("reserved"), GUEST64 + OVERHEAD64 + 8 * GIB +
	    PAGES(8 * GIB) * 120);
	CHECK_U64(headroom("pending"), 8 * GIB);
	/*
	 * With headroom pending, the kick's cut is the deficit less what is
	 * on its way to freemem, size - c and the depots' bytes (as the
	 * reaper's first pass counts them; see test_reaper()), nothing once
	 * they cover it, and nothing without a deficit.  The first cut after
	 * the reservation also takes the arc_c it found, below this 12 GiB
	 * ARC: a reader's float, one block (16 MiB) here, is cut as well, and
	 * only by that first cut.
	 */
	CHECK_U64(arctun_arc_headroom_cut(-(int64_t)(10 * GIB), 12 * GIB,
	    10 * GIB, GIB), 7 * GIB + (16ULL << 20));
	CHECK_U64(arctun_arc_headroom_cut(-(int64_t)(10 * GIB), 12 * GIB,
	    10 * GIB, GIB), 7 * GIB);
	CHECK_U64(arctun_arc_headroom_cut(-(int64_t)GIB, 12 * GIB, 10 * GIB,
	    0), 0);
	CHECK_U64(arctun_arc_headroom_cut(0, GIB, 0, 0), 0);
	CHECK_U64(arctun_arc_headroom_cut(INT64_MIN, UINT64_MAX, 0,
	    UINT64_MAX), 0);
	wait_in_background(&w, &ac);
	fake_advance(61 * SEC);
	CHECK_INT(wait_result(&w), ETIME);
	arctun_vmm_release(&ac, ETIME);
	/* Only allocated reservations are left: the stock rule again. */
	CHECK(arctun_arc_reap_to_free(GIB, -(int64_t)GIB, B_FALSE, 3 * GIB,
	    0) == (int64_t)GIB);
	CHECK_U64(resv("fail_timeout"), 1);
	CHECK_U64(headroom("wait_timeouts"), 1);
	CHECK_U64(headroom("pending"), 0);
	CHECK_U64(arctun_arc_c_max(), BASE - GUEST64 - OVERHEAD64);

	/* A wait interrupted by a signal: EINTR. */
	CHECK_INT(arctun_vmm_reserve(vm1, 0, 8 * GIB, 1, &ac), 0);
	wait_in_background(&w, &ac);
	fake_post_signal();
	CHECK_INT(wait_result(&w), EINTR);
	arctun_vmm_release(&ac, EINTR);
	CHECK_U64(resv("fail_interrupted"), 1);

	/*
	 * Marked allocated before its wait: refused, and the segment rolled
	 * back (nothing pending, the ceiling back); the buffer is consumed.
	 */
	CHECK_INT(arctun_vmm_reserve(vm1, 0, 8 * GIB, 1, &ac), 0);
	CHECK_INT(arctun_vmm_mark_allocated(&ac), EINVAL);
	CHECK_U64(headroom("pending"), 0);
	CHECK_U64(arctun_arc_c_max(), BASE - GUEST64 - OVERHEAD64);
	CHECK_INT(arctun_vmm_wait(&ac), EINVAL);
	arctun_vmm_release(&ac, ENOMEM);

	/*
	 * The margin: a wait needs free memory for its pending bytes plus
	 * lotsfree and desfree, so that allocating the guest never takes
	 * free memory below lotsfree, where the page scanner runs.  Free
	 * memory that covers the pending bytes and desfree alone does not
	 * do: the wait goes to sleep (with a signal posted, it returns
	 * EINTR at once instead of 0).  Nor does a page less than the whole
	 * margin.
	 */
	fake_set_freemem(PAGES(8 * GIB) + desfree);
	CHECK_INT(arctun_vmm_reserve(vm1, 0, 8 * GIB, 1, &ac), 0);
	CHECK(arctun_arc_headroom(freemem, lotsfree, desfree) ==
	    -(int64_t)(lotsfree * 4096));
	fake_post_signal();
	CHECK_INT(arctun_vmm_wait(&ac), EINTR);
	arctun_vmm_release(&ac, EINTR);
	fake_set_freemem(PAGES(8 * GIB) + lotsfree + desfree - 1);
	CHECK_INT(arctun_vmm_reserve(vm1, 0, 8 * GIB, 1, &ac), 0);
	CHECK(arctun_arc_headroom(freemem, lotsfree, desfree) == -4096);
	fake_post_signal();
	CHECK_INT(arctun_vmm_wait(&ac), EINTR);
	arctun_vmm_release(&ac, EINTR);
	CHECK_U64(resv("fail_interrupted"), 3);
	CHECK_U64(headroom("wait_interrupts"), 3);

	/*
	 * A wait woken by the ARC's progress once free memory covers the
	 * pending bytes, lotsfree and desfree: it sleeps a page short, and
	 * proceeds at exactly that much.
	 */
	CHECK_INT(arctun_vmm_reserve(vm1, 0, 8 * GIB, 1, &ac), 0);
	wait_in_background(&w, &ac);
	fake_set_freemem(PAGES(8 * GIB) + lotsfree + desfree);
	CHECK(arctun_arc_headroom(freemem, lotsfree, desfree) == 0);
	arctun_arc_progress();
	CHECK_INT(wait_result(&w), 0);
	CHECK_INT(arctun_vmm_mark_allocated(&ac), 0);
	CHECK_U64(headroom("waits"), 5);

	/*
	 * The driver's allocation fails after the wait, when the segment was
	 * out of the headroom term: release returns everything.
	 */
	CHECK_INT(arctun_vmm_reserve(vm1, 1, GIB, 1, &ac), 0);
	CHECK_INT(arctun_vmm_wait(&ac), 0);
	CHECK(arctun_arc_headroom(freemem, lotsfree, desfree) == INT64_MAX);
	arctun_vmm_release(&ac, ENOMEM);
	CHECK_U64(headroom("pending"), 0);
	CHECK_U64(resv("fail_alloc"), 1);
	CHECK_U64(headroom("reserved"), GUEST64 + OVERHEAD64 +
	    8 * GIB + PAGES(8 * GIB) * 120);

	/* vmm's tunable changed with mdb -kw applies to the next guest. */
	vmm_arc_page_overhead = 0;
	tick();
	CHECK_U64(fake_kstat_value("zfs", 0, "tunables",
	    "vmm_arc_page_overhead"), 0);
	CHECK_INT(arctun_vmm_reserve(vm1, 1, GIB, 0, &ac2), 0);
	CHECK_INT(arctun_vmm_wait(&ac2), 0);
	CHECK_INT(arctun_vmm_mark_allocated(&ac2), 0);
	CHECK_U64(resv("overhead_bytes"), OVERHEAD64 + PAGES(8 * GIB) * 120);
	vmm_arc_page_overhead = 120;
	tick();

	/* Destroying a VM whose create still waits: the wait ends ENOENT. */
	CHECK_INT(arctun_vmm_instance_create("vm2", &vm2), 0);
	fake_set_freemem(PAGES(GIB));
	CHECK_INT(arctun_vmm_reserve(vm2, 0, 4 * GIB, 1, &ac), 0);
	wait_in_background(&w, &ac);
	CHECK_INT(arctun_vmm_instance_destroy(vm2), 0);
	CHECK_INT(wait_result(&w), ENOENT);
	arctun_vmm_release(&ac, ENOENT);
	CHECK_INT(arctun_vmm_instance_destroy(vm2), ENOENT);

	/*
	 * First come, first served across a claim.  vm3's wait succeeds and
	 * claims its 2 GiB, which leaves the headroom term; vm4, reserved
	 * after it, still counts them until vm3 marks them allocated, so it
	 * is not admitted on the memory vm3 is taking: it sleeps.  vm3 takes
	 * its pages, the ARC frees 2 GiB more, vm3 marks its segment
	 * allocated, and vm4 proceeds.
	 */
	CHECK_INT(arctun_vmm_instance_create("vm3", &vm3), 0);
	CHECK_INT(arctun_vmm_instance_create("vm4", &vm4), 0);
	fake_set_freemem(PAGES(2 * GIB) + lotsfree + desfree);
	CHECK_INT(arctun_vmm_reserve(vm3, 0, 2 * GIB, 1, &ac), 0);
	CHECK_INT(arctun_vmm_reserve(vm4, 0, 2 * GIB, 1, &ac2), 0);
	CHECK_INT(arctun_vmm_wait(&ac), 0);
	/* The term asks the ARC only for vm4's memory... */
	CHECK(arctun_arc_headroom(freemem, lotsfree, desfree) == 0);
	wait_in_background(&w, &ac2);
	/* ...which it frees once vm3's pages have left freemem. */
	fake_set_freemem(lotsfree + desfree);
	CHECK(arctun_arc_headroom(freemem, lotsfree, desfree) ==
	    -(int64_t)(2 * GIB));
	fake_set_freemem(PAGES(2 * GIB) + lotsfree + desfree);
	arctun_arc_progress();
	CHECK_INT(arctun_vmm_mark_allocated(&ac), 0);
	CHECK_INT(wait_result(&w), 0);
	CHECK_INT(arctun_vmm_mark_allocated(&ac2), 0);
	CHECK_INT(arctun_vmm_instance_destroy(vm3), 0);
	CHECK_INT(arctun_vmm_instance_destroy(vm4), 0);

	/*
	 * vm0 destroyed while its device is held open: vmm takes it off
	 * vmm_list at once, but vm_destroy() runs at the last close.  A VM
	 * of the same name created meanwhile is another instance, as stock
	 * vmm allows, and the old one's destroy leaves it alone.
	 */
	fake_set_freemem(PAGES(16 * GIB));
	CHECK_INT(arctun_vmm_instance_create("vm0", &dup), 0);
	CHECK(dup != vm0);
	CHECK_INT(arctun_vmm_reserve(dup, 0, 256 * MIB, 1, &ac), 0);
	CHECK_INT(arctun_vmm_wait(&ac), 0);
	CHECK_INT(arctun_vmm_mark_allocated(&ac), 0);
	CHECK_U64(resv("instances"), 3);
	CHECK_INT(arctun_vmm_instance_destroy(vm0), 0);
	CHECK_U64(headroom("reserved"), 8 * GIB + PAGES(8 * GIB) * 120 +
	    GIB + 256 * MIB + PAGES(256 * MIB) * 120);
	CHECK_INT(arctun_vmm_reserve(dup, 1, GIB, 1, &ac), 0);
	arctun_vmm_release(&ac, ENOMEM);
	CHECK_INT(arctun_vmm_instance_destroy(dup), 0);

	/* Destroy returns every reservation: the ceiling is restored. */
	CHECK_INT(arctun_vmm_instance_destroy(vm1), 0);
	CHECK_INT(arctun_vmm_instance_destroy(vm0), ENOENT);
	CHECK_U64(arctun_arc_c_max(), BASE);
	CHECK_U64(headroom("reserved"), 0);
	CHECK_U64(headroom("reservations"), 0);
	CHECK_U64(resv("instances"), 0);
	CHECK_U64(resv("reserved_bytes"), 0);
	/* vm2, vm3, vm4 and the second vm0 count too. */
	CHECK_U64(resv("destroys"), 6);
	fake_set_freemem(PAGES(16 * GIB));

	/* Back where the other tests expect the ARC. */
	zfs_arc_max = 4 * GIB;
	tick();
	CHECK_U64(arctun_arc_c_max(), 4 * GIB);
}

/*
 * The ARC's reaper while headroom is pending, as 0002's arc_reap_cb()
 * calls it: arctun_arc_reap_to_free(to_free, free_memory, headroom,
 * to_evict, depots).  1 GiB free, 8 GiB pending and 3 GiB kept
 * (lotsfree + desfree): the headroom term is 10 GiB short, and the stock
 * to_free is that plus a slack of 1 GiB (arc_c >> arc_shrink_shift).
 * 2 GiB are still to be evicted (arc_size - arc_c) and 3 GiB wait in the
 * depots.  When the headroom term is the reason, the deficit is wanted
 * without the slack; both in-flight figures come off while the deficit
 * shrinks from one pass to the next (and on the first pass after a
 * reservation), only to_evict when it has not (a reader's float in the
 * depots, or a stalled evictor), and then at least the slack, up to the
 * deficit.  Under any other reason, to_free less both.  And the headroom
 * term's availrmem half.
 */
static void
test_reaper(void)
{
	arctun_vmm_create_t ac, ac2;
	uint64_t vm, vm2;
	pgcnt_t pp_floor = pages_pp_maximum + 64;
	int64_t term;

	zfs_arc_max = 0;
	tick();
	arc_size = 100 * GIB;
	arc_pinned = 0;
	arc_evicted_cached = 0;
	fake_set_freemem(PAGES(GIB));
	CHECK_INT(arctun_vmm_instance_create("vm-reap", &vm), 0);
	CHECK_INT(arctun_vmm_instance_create("vm-reap2", &vm2), 0);

	/*
	 * Nothing pending and another reason: to_free as it is, and no
	 * availrmem half.
	 */
	CHECK(arctun_arc_reap_to_free(11 * GIB, -(int64_t)(10 * GIB), B_FALSE,
	    2 * GIB, 3 * GIB) == (int64_t)(11 * GIB));
	CHECK(arctun_arc_headroom_availrmem(pp_floor, pp_floor) == INT64_MAX);

	CHECK_INT(arctun_vmm_reserve(vm, 0, 8 * GIB, 1, &ac), 0);
	term = arctun_arc_headroom(freemem, lotsfree, desfree);
	CHECK(term == -(int64_t)(10 * GIB));

	/*
	 * The first pass since the reservation, the headroom term the
	 * reason: the 10 GiB deficit without the slack, less 2 GiB to evict
	 * and 3 GiB in the depots.
	 */
	CHECK(arctun_arc_reap_to_free(11 * GIB, term, B_TRUE, 2 * GIB,
	    3 * GIB) == (int64_t)(5 * GIB));
	/*
	 * A second pass, the deficit as it was: the depots' bytes are not
	 * arriving, so they are not counted; to_evict still is.
	 */
	CHECK(arctun_arc_reap_to_free(11 * GIB, term, B_TRUE, 2 * GIB,
	    3 * GIB) == (int64_t)(8 * GIB));
	/* to_evict covers the deficit: at least the stock slack... */
	CHECK(arctun_arc_reap_to_free(11 * GIB, term, B_TRUE, 10 * GIB,
	    3 * GIB) == (int64_t)GIB);
	/* ... but never more than the deficit. */
	CHECK(arctun_arc_reap_to_free(30 * GIB, term, B_TRUE, 10 * GIB,
	    3 * GIB) == (int64_t)(10 * GIB));

	/*
	 * The reap returned only 1 GiB of the 3 GiB of depots counted: the
	 * deficit (9 GiB) is more than the last pass's less them (7 GiB), so
	 * the depots are not counted.
	 */
	fake_set_freemem(PAGES(2 * GIB));
	term = arctun_arc_headroom(freemem, lotsfree, desfree);
	CHECK(term == -(int64_t)(9 * GIB));
	CHECK(arctun_arc_reap_to_free(10 * GIB, term, B_TRUE, 2 * GIB,
	    3 * GIB) == (int64_t)(7 * GIB));
	/*
	 * This time the reap returned all 3 GiB counted: the deficit is the
	 * last pass's less them, the depots arrive, and count again.
	 */
	fake_set_freemem(PAGES(5 * GIB));
	term = arctun_arc_headroom(freemem, lotsfree, desfree);
	CHECK(term == -(int64_t)(6 * GIB));
	CHECK(arctun_arc_reap_to_free(8 * GIB, term, B_TRUE, 2 * GIB,
	    3 * GIB) == (int64_t)GIB);
	/* Then it stays where it was: the new depots did not arrive. */
	CHECK(arctun_arc_reap_to_free(8 * GIB, term, B_TRUE, 2 * GIB,
	    3 * GIB) == (int64_t)(4 * GIB));
	/* A reader took 1 GiB back: more than expected, not counted. */
	fake_set_freemem(PAGES(4 * GIB));
	term = arctun_arc_headroom(freemem, lotsfree, desfree);
	CHECK(term == -(int64_t)(7 * GIB));
	CHECK(arctun_arc_reap_to_free(9 * GIB, term, B_TRUE, 2 * GIB,
	    3 * GIB) == (int64_t)(5 * GIB));
	/*
	 * A stalled evictor: all of the deficit still to evict, and no
	 * depots.  The first such pass is judged against the last (its 3 GiB
	 * of depots did not arrive) and asks for the stock slack; then the
	 * deficit stays where it was expected, and no pass asks again.
	 */
	CHECK(arctun_arc_reap_to_free(9 * GIB, term, B_TRUE, 7 * GIB, 0) ==
	    (int64_t)(2 * GIB));
	CHECK(arctun_arc_reap_to_free(9 * GIB, term, B_TRUE, 7 * GIB, 0) ==
	    0);
	CHECK(arctun_arc_reap_to_free(9 * GIB, term, B_TRUE, 7 * GIB, 0) ==
	    0);

	/*
	 * A new reservation (another guest's 1 GiB, 8 GiB short): its
	 * deficit is new, so the next pass is a first pass and counts the
	 * depots, though the deficit grew.
	 */
	CHECK_INT(arctun_vmm_reserve(vm2, 0, GIB, 1, &ac2), 0);
	term = arctun_arc_headroom(freemem, lotsfree, desfree);
	CHECK(term == -(int64_t)(8 * GIB));
	CHECK(arctun_arc_reap_to_free(10 * GIB, term, B_TRUE, 2 * GIB,
	    3 * GIB) == (int64_t)(3 * GIB));
	arctun_vmm_release(&ac2, ENOMEM);
	term = arctun_arc_headroom(freemem, lotsfree, desfree);
	CHECK(term == -(int64_t)(7 * GIB));

	/*
	 * Another term the reason (free_memory is then that term): to_free,
	 * slack and all, less both figures, pass after pass.
	 */
	CHECK(arctun_arc_reap_to_free(10 * GIB, -(int64_t)(9 * GIB), B_FALSE,
	    2 * GIB, 3 * GIB) == (int64_t)(5 * GIB));
	CHECK(arctun_arc_reap_to_free(10 * GIB, -(int64_t)(9 * GIB), B_FALSE,
	    2 * GIB, 3 * GIB) == (int64_t)(5 * GIB));
	/* What is in flight may cover it: nothing to free. */
	CHECK(arctun_arc_reap_to_free(GIB, 0, B_FALSE, 2 * GIB, 0) ==
	    -(int64_t)GIB);
	/* The headroom term the reason again: a first pass. */
	CHECK(arctun_arc_reap_to_free(11 * GIB, term, B_TRUE, 2 * GIB,
	    3 * GIB) == (int64_t)(2 * GIB));
	/*
	 * Any nonzero headroom is true: the same deficit, its depots not
	 * arrived; at least the slack (4 GiB), here less than the deficit
	 * less to_evict.
	 */
	CHECK(arctun_arc_reap_to_free(11 * GIB, term, (boolean_t)2, 2 * GIB,
	    3 * GIB) == (int64_t)(5 * GIB));
	/* A deficit the term does not show: nothing wanted. */
	CHECK(arctun_arc_reap_to_free(GIB, 0, B_TRUE, 0, 0) == 0);
	/* Extreme arguments saturate. */
	CHECK(arctun_arc_reap_to_free(INT64_MAX, INT64_MIN, B_TRUE, UINT64_MAX,
	    UINT64_MAX) == 0);
	CHECK(arctun_arc_reap_to_free(INT64_MIN, 0, B_FALSE, UINT64_MAX,
	    UINT64_MAX) == INT64_MIN);
	CHECK(arctun_arc_reap_to_free(INT64_MAX, INT64_MAX, B_FALSE, 0, 0) ==
	    INT64_MAX);

	/*
	 * The availrmem half: availrmem less its floor less the 8 GiB
	 * pending, in bytes; it saturates at the extremes.
	 */
	CHECK(arctun_arc_headroom_availrmem(pp_floor + PAGES(20 * GIB),
	    pp_floor) == (int64_t)(12 * GIB));
	CHECK(arctun_arc_headroom_availrmem(pp_floor + PAGES(8 * GIB),
	    pp_floor) == 0);
	CHECK(arctun_arc_headroom_availrmem(pp_floor, pp_floor) ==
	    -(int64_t)(8 * GIB));
	CHECK(arctun_arc_headroom_availrmem(0, 0) == -(int64_t)(8 * GIB));
	CHECK(arctun_arc_headroom_availrmem(0, UINT64_MAX) == INT64_MIN);
	CHECK(arctun_arc_headroom_availrmem(UINT64_MAX, 0) == INT64_MAX);
	/* No margin in it: lotsfree and desfree are freemem's half's. */
	CHECK(arctun_arc_headroom_availrmem(PAGES(11 * GIB), 0) ==
	    (int64_t)(3 * GIB));

	/*
	 * Released: the stock rule again under any other reason, and no
	 * availrmem half.  A pass the headroom term began (its guest claimed
	 * or went during the sleep) still takes no slack: with the term met
	 * it frees nothing, and a deficit of another term without the slack.
	 */
	arctun_vmm_release(&ac, ENOMEM);
	CHECK(arctun_arc_reap_to_free(11 * GIB, -(int64_t)(10 * GIB), B_FALSE,
	    2 * GIB, 3 * GIB) == (int64_t)(11 * GIB));
	CHECK(arctun_arc_reap_to_free(GIB, 0, B_TRUE, 0, 0) == 0);
	CHECK(arctun_arc_reap_to_free(2 * GIB, -(int64_t)GIB, B_TRUE, 0, 0) ==
	    (int64_t)GIB);
	CHECK(arctun_arc_headroom_availrmem(pp_floor, pp_floor) == INT64_MAX);
	CHECK_U64(headroom("reserved"), 0);
	CHECK_INT(arctun_vmm_instance_destroy(vm), 0);
	CHECK_INT(arctun_vmm_instance_destroy(vm2), 0);

	/* Back where the other tests expect the ARC. */
	fake_set_freemem(PAGES(16 * GIB));
	zfs_arc_max = 4 * GIB;
	tick();
	CHECK_U64(arctun_arc_c_max(), 4 * GIB);
}

/*
 * Admission (issue 13): a segment the host cannot give without paging is
 * refused at once with ENOMEM, nothing changed, and the system log (not
 * the console: bhyve retries every second) says how much was asked, how
 * much the host can give, by how much it falls short and what margin a
 * start keeps.  What the host can give is free memory, plus what the ARC
 * can shed down to c_min (its evictable bytes: not what the dbuf caches
 * or readers hold), plus what it has evicted and its kmem caches still
 * hold, less the pending bytes of earlier reservations and the margin;
 * and the same against availrmem above pages_pp_maximum plus the ARC's
 * reserve.  Here: 4 GiB free above the margin (lotsfree + desfree =
 * 3 GiB), 10 GiB evictable of a 40 GiB ARC, 1 GiB in the caches: 15 GiB.
 */
static void
test_vmm_admission(void)
{
	arctun_vmm_create_t ac, ac2;
	uint64_t vm, vm2;
	uint64_t margin = (lotsfree + desfree) * 4096;
	uint64_t waits;
	pgcnt_t avail = availrmem;
	hrtime_t before;
	int asked, warnings;

	zfs_arc_max = 0;
	tick();
	CHECK_U64(arctun_arc_c_max(), BASE);
	arc_size = 40 * GIB;
	arc_pinned = 30 * GIB;
	arc_evicted_cached = GIB;
	fake_set_freemem(PAGES(4 * GIB) + lotsfree + desfree);
	CHECK_INT(arctun_vmm_instance_create("vm-admit", &vm), 0);
	CHECK_INT(arctun_vmm_instance_create("vm-admit2", &vm2), 0);
	CHECK_U64(headroom("margin"), margin);
	CHECK_U64(headroom("available_now"), 15 * GIB);

	/* 16 GiB: refused at once, and said why, in bytes. */
	before = fake_now();
	asked = admissions;
	warnings = fake_messages(CE_WARN);
	waits = headroom("waits");
	CHECK_INT(arctun_vmm_reserve(vm, 0, 16 * GIB, 1, &ac), ENOMEM);
	CHECK(admissions > asked);
	CHECK(fake_now() == before);
	CHECK(fake_message_seen(CE_NOTE, "!arctun: vmm: guest segment of "
	    "17179869184 bytes refused now (ENOMEM), 1073741824 short: host "
	    "can give 16106127360 bytes without paging, keeping 3221225472 "
	    "free"));
	CHECK_INT(fake_messages(CE_WARN), warnings);	/* not the console */
	/* Nothing changed but the counters of refusals. */
	CHECK_INT(arctun_vmm_wait(&ac), EINVAL);
	CHECK_U64(arctun_arc_c_max(), BASE);
	CHECK_U64(headroom("reserved"), 0);
	CHECK_U64(headroom("pending"), 0);
	CHECK_U64(headroom("reservations"), 0);
	CHECK_U64(headroom("waits"), waits);
	CHECK_U64(headroom("rejections_memory"), 1);
	CHECK_U64(resv("fail_no_memory"), 1);
	CHECK(arctun_arc_headroom(freemem, lotsfree, desfree) == INT64_MAX);

	/* 15 GiB, all the host can give: admitted. */
	CHECK_INT(arctun_vmm_reserve(vm, 0, 15 * GIB, 1, &ac), 0);
	arctun_vmm_release(&ac, ENOMEM);

	/* An earlier reservation's pending bytes are not given twice. */
	CHECK_INT(arctun_vmm_reserve(vm, 0, 10 * GIB, 1, &ac), 0);
	CHECK_U64(headroom("available_now"), 5 * GIB);
	CHECK_INT(arctun_vmm_reserve(vm2, 0, 6 * GIB, 1, &ac2), ENOMEM);
	CHECK(fake_message_seen(CE_NOTE, "guest segment of 6442450944 bytes "
	    "refused now (ENOMEM), 1073741824 short: host can give 5368709120 "
	    "bytes"));
	CHECK_INT(arctun_vmm_reserve(vm2, 0, 5 * GIB, 1, &ac2), 0);
	arctun_vmm_release(&ac2, ENOMEM);
	arctun_vmm_release(&ac, ENOMEM);

	/*
	 * availrmem too: 2 GiB above pages_pp_maximum and the ARC's 64
	 * pages, plus the 11 GiB the ARC can return, is 13 GiB.
	 */
	availrmem = pages_pp_maximum + 64 + PAGES(2 * GIB);
	CHECK_U64(headroom("available_now"), 13 * GIB);
	CHECK_INT(arctun_vmm_reserve(vm, 0, 14 * GIB, 1, &ac), ENOMEM);
	CHECK_INT(arctun_vmm_reserve(vm, 0, 13 * GIB, 1, &ac), 0);
	arctun_vmm_release(&ac, ENOMEM);
	availrmem = avail;

	/*
	 * The margin, lowered to desfree with mdb -kw: 2 GiB more for the
	 * guest, which now fits.  Below desfree it is refused and restored.
	 */
	zfs_arc_headroom_margin = desfree * 4096;
	tick();
	CHECK_U64(headroom("margin"), desfree * 4096);
	CHECK_U64(headroom("available_now"), 17 * GIB);
	CHECK_INT(arctun_vmm_reserve(vm, 0, 16 * GIB, 1, &ac), 0);
	arctun_vmm_release(&ac, ENOMEM);
	zfs_arc_headroom_margin = 4096;
	tick();
	CHECK_U64(zfs_arc_headroom_margin, desfree * 4096);
	CHECK(fake_message_seen(CE_WARN, "zfs_arc_headroom_margin: direct "
	    "write of 0x1000 (4096) refused (EINVAL)"));
	zfs_arc_headroom_margin = 0;
	tick();
	CHECK_U64(headroom("margin"), margin);

	CHECK_INT(arctun_vmm_instance_destroy(vm), 0);
	CHECK_INT(arctun_vmm_instance_destroy(vm2), 0);
	CHECK_U64(headroom("reserved"), 0);
	CHECK_U64(arctun_arc_c_max(), BASE);
	fake_set_freemem(PAGES(16 * GIB));
	arc_size = 100 * GIB;
	arc_pinned = 0;
	arc_evicted_cached = 0;
	zfs_arc_max = 4 * GIB;
	tick();
}

/*
 * An ARC built against version 1 of the header: its ops vector is one
 * field shorter, and the module reads no more of it (placed against an
 * unmapped page, a read past its end would fault).  Without the ARC's
 * figures a reservation is admitted by the ceiling rule alone, as before
 * admission: the 16 GiB refused above now goes through, to wait.
 */
typedef struct arc_ops_v1 {
	uint_t			aao_version;
	uint64_t		(*aao_size)(void);
	void			(*aao_evict)(void);
	const arctun_var_t	*aao_vars;
	uint_t			aao_nvars;
} arc_ops_v1_t;

static void
test_arc_ops_version_1(void)
{
	long pagesize = sysconf(_SC_PAGESIZE);
	char *pages = mmap(NULL, 2 * pagesize, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANON, -1, 0);
	arc_ops_v1_t *v1;
	arctun_arc_ops_t ops = arc_ops();
	arctun_vmm_create_t ac;
	uint64_t vm;
	int asked;

	CHECK(pages != MAP_FAILED);
	if (pages == MAP_FAILED)
		return;
	CHECK_INT(mprotect(pages + pagesize, pagesize, PROT_NONE), 0);
	v1 = (arc_ops_v1_t *)(pages + pagesize - sizeof (*v1));
	v1->aao_version = ARCTUN_ARC_OPS_VERSION_1;
	v1->aao_size = arc_size_cb;
	v1->aao_evict = arc_evict_cb;
	v1->aao_vars = arc_vars;
	v1->aao_nvars = sizeof (arc_vars) / sizeof (arc_vars[0]);

	arctun_arc_unregister();
	CHECK_INT(arctun_arc_register((const arctun_arc_ops_t *)v1), 0);

	arc_size = 40 * GIB;
	arc_pinned = 30 * GIB;
	fake_set_freemem(PAGES(4 * GIB) + lotsfree + desfree);
	CHECK_INT(arctun_vmm_instance_create("vm-v1", &vm), 0);
	asked = admissions;
	CHECK_INT(arctun_vmm_reserve(vm, 0, 16 * GIB, 1, &ac), 0);
	CHECK_INT(admissions, asked);
	CHECK_U64(headroom("available_now"), UINT64_MAX);
	arctun_vmm_release(&ac, ENOMEM);
	CHECK_INT(arctun_vmm_instance_destroy(vm), 0);

	/* Version 2 with no aao_admission: the same. */
	arctun_arc_unregister();
	ops.aao_admission = NULL;
	CHECK_INT(arctun_arc_register(&ops), 0);
	CHECK_U64(headroom("available_now"), UINT64_MAX);
	arctun_arc_unregister();

	ops = arc_ops();
	CHECK_INT(arctun_arc_register(&ops), 0);
	CHECK_U64(headroom("available_now"), 14 * GIB);
	CHECK_INT(munmap(pages, 2 * pagesize), 0);
	fake_set_freemem(PAGES(16 * GIB));
	arc_size = 100 * GIB;
	arc_pinned = 0;
	CHECK_U64(arctun_arc_c_max(), 4 * GIB);
}

static void
test_vmm_unregistration(void)
{
	CHECK_INT(arctun_mod_busy(), 1);
	arctun_vmm_unregister();
	arctun_vmm_unregister();	/* twice is harmless */
	CHECK(fake_kstat_lookup("vmm", 0, "arc_resv") == NULL);
	CHECK_U64(fake_kstat_value("zfs", 0, "tunables",
	    "vmm_arc_page_overhead"), UINT64_MAX);
	CHECK_INT(arctun_vmm_reserve(1, 0, GIB, 1, NULL), EINVAL);
}

/*
 * A second unregistration that arrives while the first is tearing down
 * (here, just after the first deleted its kstat) finds nothing left to
 * do, and a registration in that window is refused: the slot stays the
 * first unregistration's until it has dropped what it holds, so nothing
 * is torn down twice and no new registration is torn down with the old.
 */
static int race_register_result;

static void
vmm_unregister_and_register_again(void)
{
	arctun_vmm_unregister();
	race_register_result = arctun_vmm_register(vmm_vars, 1);
}

static void
test_vmm_unregistration_racing_another(void)
{
	CHECK_INT(arctun_vmm_register(vmm_vars, 1), 0);
	CHECK(fake_kstat_lookup("vmm", 0, "arc_resv") != NULL);

	race_register_result = -1;
	fake_after_next_kstat_delete(vmm_unregister_and_register_again);
	arctun_vmm_unregister();
	CHECK_INT(race_register_result, EBUSY);
	CHECK(fake_kstat_lookup("vmm", 0, "arc_resv") == NULL);
	CHECK_U64(fake_kstat_value("zfs", 0, "tunables",
	    "vmm_arc_page_overhead"), UINT64_MAX);

	/* Once the first is done, vmm registers and unregisters again. */
	CHECK_INT(arctun_vmm_register(vmm_vars, 1), 0);
	CHECK(fake_kstat_lookup("vmm", 0, "arc_resv") != NULL);
	arctun_vmm_unregister();
	CHECK(fake_kstat_lookup("vmm", 0, "arc_resv") == NULL);
}

static void
arc_unregister_and_register_again(void)
{
	arctun_arc_ops_t ops = arc_ops();

	arctun_arc_unregister();
	race_register_result = arctun_arc_register(&ops);
}

/* The same for the ARC, which leaves it registered again. */
static void
test_arc_unregistration_racing_another(void)
{
	arctun_arc_ops_t ops = arc_ops();

	race_register_result = -1;
	fake_after_next_kstat_delete(arc_unregister_and_register_again);
	arctun_arc_unregister();
	CHECK_INT(race_register_result, EBUSY);
	CHECK_INT(arctun_mod_busy(), 0);
	CHECK_INT(fake_kstat_count(), 0);

	CHECK_INT(arctun_arc_register(&ops), 0);
	CHECK_INT(arctun_mod_busy(), 1);
	CHECK(fake_kstat_lookup("zfs", 0, "tunables") != NULL);
	CHECK_U64(arctun_arc_c_max(), 4 * GIB);
}

static void
test_unregister_and_fini(void)
{
	int warnings;

	/* In use: _fini must not tear down. */
	arctun_mod_fini();
	CHECK(fake_message_seen(CE_WARN, "called while the module is in use"));
	CHECK_U64(arctun_arc_c_max(), 4 * GIB);

	arctun_arc_unregister();
	arctun_arc_unregister();	/* twice is harmless */
	CHECK_INT(arctun_mod_busy(), 0);
	CHECK_INT(fake_kstat_count(), 0);

	/* Unregistered: the variables are no longer watched. */
	warnings = fake_messages(CE_WARN);
	zfs_arc_max = 6 * GIB;
	tick();
	CHECK_U64(arctun_arc_c_max(), 4 * GIB);
	CHECK_U64(zfs_arc_max, 6 * GIB);
	CHECK_INT(fake_messages(CE_WARN), warnings);

	/* A new ARC (zfs reloaded) registers; boot is over, so its values
	 * are runtime writes. */
	{
		arctun_arc_ops_t ops = arc_ops();

		/* A kstat that cannot be created is reported and absent;
		 * the registration itself succeeds. */
		fake_kstat_fail_next();
		CHECK_INT(arctun_arc_register(&ops), 0);
		CHECK_U64(arctun_arc_c_max(), 6 * GIB);
		CHECK(fake_message_seen(CE_WARN,
		    "cannot create kstat zfs:0:tunables"));
		CHECK(fake_kstat_lookup("zfs", 0, "tunables") == NULL);
		CHECK(fake_kstat_lookup("zfs", 0, "arc_headroom") != NULL);
		arctun_arc_unregister();
		CHECK_INT(fake_kstat_count(), 0);
	}

	arctun_mod_fini();
	CHECK_U64(arctun_arc_c(), 0);
	CHECK_INT(arctun_mod_busy(), 0);
	{
		arctun_arc_ops_t ops = arc_ops();

		CHECK_INT(arctun_arc_register(&ops), ENXIO);
	}
	/* One configuration per load of the module. */
	CHECK_INT(arctun_mod_init(), EBUSY);
	CHECK_U64(arctun_arc_c(), 0);
}

/*
 * The headroom owners' and the ARC resize's entry points, with bad
 * arguments (their behaviour is reservoir_test.c's and
 * arc_resize_test.c's): every refusal leaves the ceiling as it was.
 */
static void
test_owner_and_resize_arguments(void)
{
	arctun_owner_grow_t g;
	arctun_arc_resize_t aar;
	uint64_t ceiling = arctun_arc_c_max();
	uint64_t id = 0;

	CHECK_INT(arctun_owner_register("vmm", "abi", NULL), EINVAL);
	CHECK_INT(arctun_owner_register(NULL, "abi", &id), EINVAL);
	CHECK_INT(arctun_owner_register("vmm", "", &id), EINVAL);
	CHECK_INT(arctun_owner_register("vmm", "Abi", &id), EINVAL);
	CHECK_INT(arctun_owner_register("vmm", "sixteen_chars_xx", &id),
	    EINVAL);
	CHECK_INT(arctun_owner_register("vmm", "abi", &id), 0);
	CHECK(fake_kstat_lookup("vmm", 0, "arc_resv_abi") != NULL);
	CHECK_INT(arctun_owner_register("vmm", "abi", &id), EEXIST);

	CHECK_INT(arctun_owner_grow(id, 0, &g), EINVAL);
	CHECK_INT(arctun_owner_grow(id, GIB, NULL), EINVAL);
	CHECK_INT(arctun_owner_grow(id + 100, GIB, &g), ENOENT);
	CHECK_INT(arctun_owner_grow(id, UINT64_MAX, &g), EOVERFLOW);
	(void) memset(&g, 0, sizeof (g));
	CHECK_INT(arctun_owner_wait(&g), EINVAL);
	CHECK_INT(arctun_owner_wait(NULL), EINVAL);
	CHECK_INT(arctun_owner_commit(&g), EINVAL);
	arctun_owner_release(&g, EINTR);
	arctun_owner_release(NULL, EINTR);
	CHECK_INT(arctun_owner_shrink(id, 0), EINVAL);
	CHECK_INT(arctun_owner_shrink(id, 4096), EINVAL);
	CHECK_INT(arctun_owner_shrink(id + 100, 4096), ENOENT);
	CHECK_U64(arctun_arc_c_max(), ceiling);
	CHECK_U64(fake_kstat_value("vmm", 0, "arc_resv_abi", "reserved"), 0);

	CHECK_INT(arctun_owner_unregister(id), 0);
	CHECK_INT(arctun_owner_unregister(id), ENOENT);
	CHECK(fake_kstat_lookup("vmm", 0, "arc_resv_abi") == NULL);

	CHECK_INT(arctun_arc_resize(NULL, ARCTUN_RESIZE_READ), EINVAL);
	(void) memset(&aar, 0, sizeof (aar));
	CHECK_INT(arctun_arc_resize(&aar, 7), EINVAL);
	CHECK_INT(arctun_arc_resize(&aar, ARCTUN_RESIZE_READ), 0);
	CHECK_U64(aar.aar_c_max, ceiling);
	CHECK_U64(aar.aar_c_min, arctun_arc_c_min());
	CHECK_U64(aar.aar_allmem, ALLMEM);
	CHECK_U64(aar.aar_default_c_max, DEFAULT_C_MAX);
	CHECK_U64(arctun_arc_c_max(), ceiling);
}

int
main(void)
{
	fake_host(HOST_BYTES, 16 * GIB / 4096, 1024 * GIB);

	test_before_init();
	test_owner_and_resize_before_init();
	test_init_and_defaults();
	test_bad_registrations();
	test_register_with_boot_values();
	test_arc_moves();
	test_raw_variables();
	test_tick_rate();
	test_kstats();
	test_vmm_before_registration();
	test_vmm_registration();
	test_vmm_guests();
	test_reaper();
	test_vmm_admission();
	test_arc_ops_version_1();
	test_vmm_unregistration();
	test_vmm_unregistration_racing_another();
	test_arc_unregistration_racing_another();
	test_owner_and_resize_arguments();
	test_unregister_and_fini();

	/*
	 * Every write section paired, none nested, and nothing that may
	 * block (or needs no section) ran inside one.
	 */
	CHECK(fake_preempt_sections() > 0);
	CHECK_U64(fake_preempt_violations(), 0);

	if (failures != 0)
		fake_dump_messages();
	(void) printf("arctun C ABI test: %d checks, %d failures\n", checks,
	    failures);
	return (failures == 0 ? 0 : 1);
}
