/*
 * This Source Code Form is subject to the terms of the Mozilla Public
 * License, v. 2.0. If a copy of the MPL was not distributed with this
 * file, You can obtain one at https://mozilla.org/MPL/2.0/.
 */

/*
 * The module computes the ARC's default limits with the formula of the
 * trees the series is for, today's arc_init():
 *
 *	c_min = MIN(MAX(allmem / 64, 64 MiB), 1 GiB)
 *	c_max = MAX(allmem * 3 / 4, allmem - 1 GiB)
 *
 * On a 16 GiB host that is c_min = 252 MiB, where the retired 2021 tree's
 * formula (allmem / 32, raised to arc_meta_limit / 2, clamped to 1 GiB)
 * gave 1 GiB; on the 128 GiB host of the other tests both give 1 GiB, so
 * this host is the one that tells them apart.  A process of its own: the
 * module is loaded once per process, as in the kernel.
 *
 * Prints one line per failed check and a summary; exits non-zero if any
 * check failed.
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
#define	PAGES(b)	((b) / 4096)

/* The fake host: 16 GiB, swapfs_minfree at its 256 MiB cap. */
#define	HOST_BYTES	(16 * GIB)
#define	ALLMEM		(HOST_BYTES - 256 * MIB)

/* The ARC, as far as the module sees it. */
static uint64_t arc_size = 4 * GIB;
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
}

static const arctun_var_t arc_vars[] = {
	{ "zfs_arc_max", &zfs_arc_max },
	{ "zfs_arc_min", &zfs_arc_min },
};

int
main(void)
{
	arctun_arc_ops_t ops = {
		.aao_version = ARCTUN_ARC_OPS_VERSION,
		.aao_size = arc_size_cb,
		.aao_evict = arc_evict_cb,
		.aao_vars = arc_vars,
		.aao_nvars = sizeof (arc_vars) / sizeof (arc_vars[0]),
	};
	arctun_arc_resize_t r;

	fake_host(HOST_BYTES, PAGES(12 * GIB), 1024 * GIB);
	CHECK_INT(arctun_mod_init(), 0);
	CHECK_INT(arctun_arc_register(&ops), 0);

	CHECK_U64(arctun_arc_c_min(), ALLMEM / 64);
	CHECK_U64(arctun_arc_meta_min(), ALLMEM / 128);
	CHECK_U64(arctun_arc_c_max(), ALLMEM - GIB);
	CHECK_U64(arctun_arc_meta_limit(), (ALLMEM - GIB) / 4);

	/* zfscache(8) reads the same defaults through OS-8638's ioctl. */
	(void) memset(&r, 0, sizeof (r));
	CHECK_INT(arctun_arc_resize(&r, ARCTUN_RESIZE_READ), 0);
	CHECK_U64(r.aar_c_min, ALLMEM / 64);
	CHECK_U64(r.aar_default_c_min, ALLMEM / 64);
	CHECK_U64(r.aar_default_c_max, ALLMEM - GIB);
	CHECK_U64(r.aar_allmem, ALLMEM);

	arctun_arc_unregister();
	CHECK_INT(arctun_mod_busy(), 0);
	arctun_mod_fini();

	if (failures != 0)
		fake_dump_messages();
	(void) printf("arc_init() formula test: %d checks, %d failures\n",
	    checks, failures);
	return (failures == 0 ? 0 : 1);
}
