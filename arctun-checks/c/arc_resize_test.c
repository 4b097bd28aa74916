/*
 * This Source Code Form is subject to the terms of the Mozilla Public
 * License, v. 2.0. If a copy of the MPL was not distributed with this
 * file, You can obtain one at https://mozilla.org/MPL/2.0/.
 */

/*
 * OS-8638's ZFS_IOC_ARC (zfscache(8) -> arc_dynamic_resize()) through the
 * module: arctun_arc_resize(), compiled against the module and the DDI
 * stand-in in fakekernel.c.  Each refusal of arc_dynamic_resize() keeps
 * its errno (EINVAL, ERANGE, ENOMEM, and EAGAIN for a caller that must
 * not wait), the module's own validation follows (EINVAL, EBUSY), and a
 * write applies both limits or neither.  The reply always carries the
 * values in force, as zfscache prints them.
 *
 * Prints one line per failed check and a summary; exits non-zero if any
 * check failed.
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/arctun.h>

#include "fakekernel.h"
#include "checks.h"

#define	KIB	(1024ULL)
#define	MIB	(1024ULL * KIB)
#define	GIB	(1024ULL * MIB)
#define	PAGES(b)	((b) / 4096)

/* The fake host: 128 GiB, swapfs_minfree at its 256 MiB cap. */
#define	HOST_BYTES	(128 * GIB)
#define	ALLMEM		(HOST_BYTES - 256 * MIB)
/* arc_init(): MIN(MAX(allmem / 64, 64 MiB), 1 GiB) and allmem - 1 GiB. */
#define	DEFAULT_C_MIN	(GIB)
#define	DEFAULT_C_MAX	(ALLMEM - GIB)

/* The ARC, as far as the module sees it. */
static uint64_t arc_size;
static int evictions;
uint64_t zfs_arc_max;
uint64_t zfs_arc_min;

/*
 * Set by a test: the evictor callback, which runs with the module's mutex
 * held, tries a write that must not wait.
 */
static int nowait_from_callback;
static int nowait_result = -1;

static uint64_t
arc_size_cb(void)
{
	return (arc_size);
}

static void
arc_evict_cb(void)
{
	evictions++;
	if (nowait_from_callback) {
		arctun_arc_resize_t aar;

		nowait_from_callback = 0;
		(void) memset(&aar, 0, sizeof (aar));
		aar.aar_c_max = 16 * GIB;
		nowait_result = arctun_arc_resize(&aar,
		    ARCTUN_RESIZE_WRITE | ARCTUN_RESIZE_NOWAIT);
	}
}

static const arctun_var_t arc_vars[] = {
	{ "zfs_arc_max", &zfs_arc_max },
	{ "zfs_arc_min", &zfs_arc_min },
};

/* One ioctl: cmd with the given limits; the reply is left in *out. */
static int
resize(int cmd, uint64_t c_min, uint64_t c_max, arctun_arc_resize_t *out)
{
	(void) memset(out, 0xa5, sizeof (*out));
	out->aar_c_min = c_min;
	out->aar_c_max = c_max;
	return (arctun_arc_resize(out, cmd));
}

/* The reply holds the values in force and arc_init()'s. */
static void
check_reply(const arctun_arc_resize_t *r, uint64_t c_min, uint64_t c_max)
{
	CHECK_U64(r->aar_c_min, c_min);
	CHECK_U64(r->aar_c_max, c_max);
	CHECK_U64(r->aar_default_c_min, DEFAULT_C_MIN);
	CHECK_U64(r->aar_default_c_max, DEFAULT_C_MAX);
	CHECK_U64(r->aar_allmem, ALLMEM);
	CHECK_U64(arctun_arc_c_min(), c_min);
	CHECK_U64(arctun_arc_c_max(), c_max);
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

	fake_host(HOST_BYTES, PAGES(120 * GIB), 1024 * GIB);
	CHECK_INT(arctun_mod_init(), 0);
	CHECK_INT(arctun_arc_register(&ops), 0);
	arc_size = 100 * GIB;
}

/* zfscache with no argument: the values in force, nothing changed. */
static void
test_read(void)
{
	arctun_arc_resize_t r;

	CHECK_INT(resize(ARCTUN_RESIZE_READ, 5 * GIB, 6 * GIB, &r), 0);
	check_reply(&r, DEFAULT_C_MIN, DEFAULT_C_MAX);
	/* A read that must not wait needs no lock at all. */
	CHECK_INT(resize(ARCTUN_RESIZE_READ | ARCTUN_RESIZE_NOWAIT, 0, 0, &r),
	    0);
	check_reply(&r, DEFAULT_C_MIN, DEFAULT_C_MAX);
	CHECK_INT(resize(3, 0, 0, &r), EINVAL);
	CHECK_INT(resize(ARCTUN_RESIZE_WRITE | 0x200, 0, 4 * GIB, &r), EINVAL);
	check_reply(&r, DEFAULT_C_MIN, DEFAULT_C_MAX);
}

/* zfscache -l 8G -u 16G: both apply at once, and eviction starts. */
static void
test_write(void)
{
	arctun_arc_resize_t r;
	int kicks = evictions;

	CHECK_INT(resize(ARCTUN_RESIZE_WRITE, 8 * GIB, 16 * GIB, &r), 0);
	check_reply(&r, 8 * GIB, 16 * GIB);
	CHECK(evictions > kicks);
	CHECK(arctun_arc_c() <= 16 * GIB);
	CHECK_U64(fake_kstat_value("zfs", 0, "tunables", "zfs_arc_min"),
	    8 * GIB);
	CHECK_U64(fake_kstat_value("zfs", 0, "tunables", "zfs_arc_max"),
	    16 * GIB);
	/* 0 keeps a limit: -u alone. */
	CHECK_INT(resize(ARCTUN_RESIZE_WRITE, 0, 12 * GIB, &r), 0);
	check_reply(&r, 8 * GIB, 12 * GIB);
	/* Nothing to write is no change. */
	CHECK_INT(resize(ARCTUN_RESIZE_WRITE, 0, 0, &r), 0);
	check_reply(&r, 8 * GIB, 12 * GIB);
}

/*
 * arc_dynamic_resize()'s refusals, each with its errno, each changing
 * nothing, each replying with the values in force.
 */
static void
test_os8638_refusals(void)
{
	arctun_arc_resize_t r;

	/* A minimum below 64 MiB. */
	CHECK_INT(resize(ARCTUN_RESIZE_WRITE, 32 * MIB, 0, &r), EINVAL);
	check_reply(&r, 8 * GIB, 12 * GIB);
	CHECK_INT(resize(ARCTUN_RESIZE_WRITE, 64 * MIB - 4096, 16 * GIB, &r),
	    EINVAL);
	check_reply(&r, 8 * GIB, 12 * GIB);
	/* A minimum above the maximum, both given. */
	CHECK_INT(resize(ARCTUN_RESIZE_WRITE, 10 * GIB, 9 * GIB, &r), ERANGE);
	check_reply(&r, 8 * GIB, 12 * GIB);
	/* ... or one of them kept: it counts with the value in force. */
	CHECK_INT(resize(ARCTUN_RESIZE_WRITE, 13 * GIB, 0, &r), ERANGE);
	check_reply(&r, 8 * GIB, 12 * GIB);
	CHECK_INT(resize(ARCTUN_RESIZE_WRITE, 0, 7 * GIB, &r), ERANGE);
	check_reply(&r, 8 * GIB, 12 * GIB);
	/* A maximum at or above allmem. */
	CHECK_INT(resize(ARCTUN_RESIZE_WRITE, 0, ALLMEM, &r), ENOMEM);
	check_reply(&r, 8 * GIB, 12 * GIB);
	CHECK_INT(resize(ARCTUN_RESIZE_WRITE, 0, UINT64_MAX - 7, &r), ENOMEM);
	check_reply(&r, 8 * GIB, 12 * GIB);
}

/*
 * The module's own rules, after arc_dynamic_resize()'s: a limit that
 * arc_init() would ignore (64 MiB exactly), a minimum that the host's
 * ceiling cannot hold next to live headroom (c_min plus what is reserved
 * above the ceiling with nothing reserved).  All or nothing: the valid
 * half of a refused write is not applied either.
 */
static void
test_module_refusals_are_all_or_nothing(void)
{
	arctun_arc_resize_t r;
	arctun_owner_grow_t g;
	uint64_t id;

	CHECK_INT(resize(ARCTUN_RESIZE_WRITE, 64 * MIB, 64 * MIB, &r), EINVAL);
	check_reply(&r, 8 * GIB, 12 * GIB);

	/* 40 GiB of headroom held by an owner (a grown VMM reservoir). */
	CHECK_INT(resize(ARCTUN_RESIZE_WRITE, 0, 64 * GIB, &r), 0);
	CHECK_INT(arctun_owner_register("vmm", "reservoir", &id), 0);
	CHECK_INT(arctun_owner_grow(id, 40 * GIB, &g), 0);
	CHECK_INT(arctun_owner_wait(&g), 0);
	CHECK_INT(arctun_owner_commit(&g), 0);
	check_reply(&r, 8 * GIB, 64 * GIB);
	/* Below the admin's 64 GiB the ceiling has room for the 40. */
	CHECK_INT(resize(ARCTUN_RESIZE_READ, 0, 0, &r), 0);
	check_reply(&r, 8 * GIB, 64 * GIB);

	/* c_min = 90 GiB next to 40 GiB on a 126 GiB ceiling: refused whole. */
	CHECK_INT(resize(ARCTUN_RESIZE_WRITE, 90 * GIB, 100 * GIB, &r), EBUSY);
	check_reply(&r, 8 * GIB, 64 * GIB);
	CHECK_U64(fake_kstat_value("zfs", 0, "tunables", "zfs_arc_min"),
	    8 * GIB);
	CHECK_U64(fake_kstat_value("zfs", 0, "tunables", "zfs_arc_max"),
	    64 * GIB);

	CHECK_INT(arctun_owner_shrink(id, 40 * GIB), 0);
	CHECK_INT(arctun_owner_unregister(id), 0);
	CHECK_INT(resize(ARCTUN_RESIZE_READ, 0, 0, &r), 0);
	check_reply(&r, 8 * GIB, 64 * GIB);
}

/*
 * A write that must not wait: EAGAIN while the module's mutex is held (here
 * by the write that runs the evictor callback), with nothing changed; the
 * same write succeeds once the mutex is free.
 */
static void
test_nowait(void)
{
	arctun_arc_resize_t r;

	/* The ARC's target at the ceiling, so that lowering it evicts. */
	CHECK_U64(arctun_arc_set_target(UINT64_MAX), 64 * GIB);
	nowait_from_callback = 1;
	CHECK_INT(resize(ARCTUN_RESIZE_WRITE, 0, 32 * GIB, &r), 0);
	CHECK_INT(nowait_from_callback, 0);
	CHECK_INT(nowait_result, EAGAIN);
	check_reply(&r, 8 * GIB, 32 * GIB);

	CHECK_INT(resize(ARCTUN_RESIZE_WRITE | ARCTUN_RESIZE_NOWAIT, 0,
	    16 * GIB, &r), 0);
	check_reply(&r, 8 * GIB, 16 * GIB);
}

/* zfscache -p reset-system-defaults: both tunables back to 0. */
static void
test_defaults(void)
{
	arctun_arc_resize_t r;

	CHECK_INT(resize(ARCTUN_RESIZE_DEFAULTS, 5 * GIB, 5 * GIB, &r), 0);
	check_reply(&r, DEFAULT_C_MIN, DEFAULT_C_MAX);
	CHECK_U64(fake_kstat_value("zfs", 0, "tunables", "zfs_arc_min"), 0);
	CHECK_U64(fake_kstat_value("zfs", 0, "tunables", "zfs_arc_max"), 0);
	/* The C variables follow the write at the next tick. */
	arctun_arc_tick();
	CHECK_U64(zfs_arc_max, 0);
	CHECK_U64(zfs_arc_min, 0);
}

int
main(void)
{
	setup();
	test_read();
	test_write();
	test_os8638_refusals();
	test_module_refusals_are_all_or_nothing();
	test_nowait();
	test_defaults();

	arctun_arc_unregister();
	CHECK_INT(arctun_mod_busy(), 0);

	if (failures != 0)
		fake_dump_messages();
	(void) printf("ARC resize (OS-8638) test: %d checks, %d failures\n",
	    checks, failures);
	return (failures == 0 ? 0 : 1);
}
