/*
 * This Source Code Form is subject to the terms of the Mozilla Public
 * License, v. 2.0. If a copy of the MPL was not distributed with this
 * file, You can obtain one at https://mozilla.org/MPL/2.0/.
 */

/*
 * vmm's side of the ARC headroom, as the series carries it: vmm_arc.c,
 * taken from patches/0003 (the test harness extracts it), compiled against
 * the module and the DDI stand-in in fakekernel.c, and driven along every
 * path vmm takes a memory segment (vmm_arc.c's theory statement names the
 * callers):
 *
 *	create	vm_alloc_memseg(): vmm_arc_seg_reserve(), then the allocation
 *	commit	vmmdev_alloc_memseg(): vm_commit_memseg() once the device
 *		node exists
 *	free	vm_free_memseg(): vmm_arc_seg_release(), then bzero()
 *	destroy	vm_destroy(): vm_cleanup() frees every segment, then
 *		vmm_arc_vm_destroy()
 *
 * After each path the ARC's ceiling and the headroom kstat must be exactly
 * what they were before the VM took the segment.
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
/* A segment's reservation: its pages, plus 120 bytes a page. */
#define	RESERVED(b)	((b) + PAGES(b) * 120)

/* uts/common/sys/errno.h: what vm_free_memseg() releases with. */
#ifndef	ECANCELED
#define	ECANCELED	47
#endif

/* The ARC, as far as the module sees it. */
static uint64_t arc_size;
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

static uint64_t
headroom(const char *stat)
{
	return (fake_kstat_value("zfs", 0, "arc_headroom", stat));
}

/* What a VM without segments leaves: the ceiling and nothing reserved. */
static uint64_t ceiling;

static void
check_restored(const char *path)
{
	if (arctun_arc_c_max() != ceiling || headroom("reserved") != 0 ||
	    headroom("pending") != 0) {
		(void) printf("after %s: c_max %" PRIu64 " (was %" PRIu64
		    "), reserved %" PRIu64 ", pending %" PRIu64 "\n", path,
		    arctun_arc_c_max(), ceiling, headroom("reserved"),
		    headroom("pending"));
	}
	CHECK_U64(arctun_arc_c_max(), ceiling);
	CHECK_U64(headroom("reserved"), 0);
	CHECK_U64(headroom("pending"), 0);
}

/* One segment slot of a struct mem_seg, as vm_free_memseg() leaves it. */
static void
seg_bzero(vmm_arc_seg_t *s)
{
	(void) memset(s, 0, sizeof (*s));
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

	fake_host(128 * GIB, 16 * GIB / 4096, 1024 * GIB);
	CHECK_INT(arctun_mod_init(), 0);
	CHECK_INT(arctun_arc_register(&ops), 0);
	CHECK_INT(vmm_arc_register(), 0);
	arc_size = 100 * GIB;
	fake_set_freemem(PAGES(100 * GIB));
	ceiling = arctun_arc_c_max();
	CHECK(ceiling > 64 * GIB);
}

/*
 * Issue 17, finding 2: vmmdev_alloc_memseg() frees a segment whose device
 * node cannot be made (vmmdev_devmem_create() fails with ERANGE), and
 * bhyve may try the same segment again.  The freed segment must give its
 * headroom back, and the retry must reserve afresh.
 */
static void
test_devmem_failure_then_retry(void)
{
	vmm_arc_seg_t seg = { VAS_NONE };
	uint64_t id;

	CHECK_INT(vmm_arc_vm_create("vm-devmem", &id), 0);

	/* vm_alloc_memseg(): reserve and wait, then allocate. */
	CHECK_INT(vmm_arc_seg_reserve(id, 0, 8 * GIB, B_TRUE, &seg), 0);
	CHECK_INT(seg.vas_state, VAS_CLAIMED);
	CHECK_U64(arctun_arc_c_max(), ceiling - RESERVED(8 * GIB));

	/* vmmdev_devmem_create() fails: vm_free_memseg(). */
	vmm_arc_seg_release(&seg, ECANCELED);
	seg_bzero(&seg);
	check_restored("a segment freed before its device node existed");

	/* bhyve retries the same segment: it reserves afresh. */
	CHECK_INT(vmm_arc_seg_reserve(id, 0, 8 * GIB, B_TRUE, &seg), 0);
	CHECK_INT(vmm_arc_seg_commit(&seg), 0);
	CHECK_INT(seg.vas_state, VAS_COMMITTED);
	CHECK_U64(arctun_arc_c_max(), ceiling - RESERVED(8 * GIB));
	CHECK_U64(headroom("pending"), 0);

	/* vm_destroy(): vm_cleanup() frees it, then the instance goes. */
	vmm_arc_seg_release(&seg, ECANCELED);
	CHECK_U64(arctun_arc_c_max(), ceiling - RESERVED(8 * GIB));
	seg_bzero(&seg);
	vmm_arc_vm_destroy(id);
	check_restored("the VM's destroy");
}

/* vm_object_mem_allocate() fails: vm_alloc_memseg() releases. */
static void
test_allocation_failure(void)
{
	vmm_arc_seg_t seg = { VAS_NONE };
	uint64_t id;

	CHECK_INT(vmm_arc_vm_create("vm-nomem", &id), 0);
	CHECK_INT(vmm_arc_seg_reserve(id, 1, GIB, B_FALSE, &seg), 0);
	vmm_arc_seg_release(&seg, ENOMEM);
	CHECK_INT(seg.vas_state, VAS_NONE);
	check_restored("a failed allocation");
	/* Nothing is left to free, commit or release twice. */
	vmm_arc_seg_release(&seg, ENOMEM);
	CHECK_INT(vmm_arc_seg_commit(&seg), 0);
	CHECK_INT(seg.vas_state, VAS_NONE);
	check_restored("a second release");
	vmm_arc_vm_destroy(id);
	check_restored("the VM's destroy");
}

/*
 * Several segments, one of them still claimed when the VM is destroyed
 * (a destroy racing a create is serialized by vmm, but vm_cleanup() frees
 * whatever it finds): every path ends with the ceiling restored.
 */
static void
test_destroy_with_segments(void)
{
	vmm_arc_seg_t segs[4];
	uint64_t id;

	(void) memset(segs, 0, sizeof (segs));
	CHECK_INT(vmm_arc_vm_create("vm-many", &id), 0);
	CHECK_INT(vmm_arc_seg_reserve(id, 0, 4 * GIB, B_TRUE, &segs[0]), 0);
	CHECK_INT(vmm_arc_seg_commit(&segs[0]), 0);
	CHECK_INT(vmm_arc_seg_reserve(id, 1, 64 * MIB, B_FALSE, &segs[1]), 0);
	CHECK_INT(vmm_arc_seg_commit(&segs[1]), 0);
	/* A committed segment id is the module's until the VM goes. */
	CHECK_INT(vmm_arc_seg_reserve(id, 0, 4 * GIB, B_TRUE, &segs[3]),
	    EEXIST);
	CHECK_INT(segs[3].vas_state, VAS_NONE);
	CHECK_INT(vmm_arc_seg_reserve(id, 2, 16 * MIB, B_FALSE, &segs[2]), 0);
	CHECK_U64(arctun_arc_c_max(), ceiling - RESERVED(4 * GIB) -
	    RESERVED(64 * MIB) - RESERVED(16 * MIB));
	/* A claimed segment cannot be reserved twice. */
	CHECK_INT(vmm_arc_seg_reserve(id, 2, 16 * MIB, B_FALSE, &segs[2]),
	    EBUSY);
	/* While one create of the VM is in flight, the module has no other. */
	CHECK_INT(vmm_arc_seg_reserve(id, 3, 16 * MIB, B_FALSE, &segs[3]),
	    EBUSY);
	CHECK_INT(segs[3].vas_state, VAS_NONE);

	/* vm_destroy(): vm_cleanup() frees each segment, then the VM. */
	for (int i = 0; i < 4; i++) {
		vmm_arc_seg_release(&segs[i], ECANCELED);
		seg_bzero(&segs[i]);
	}
	CHECK_U64(arctun_arc_c_max(), ceiling - RESERVED(4 * GIB) -
	    RESERVED(64 * MIB));
	vmm_arc_vm_destroy(id);
	check_restored("a destroy with committed and claimed segments");
}

/* Refusals leave nothing reserved and the segment unclaimed. */
static void
test_refusals(void)
{
	vmm_arc_seg_t seg = { VAS_NONE };
	uint64_t id;

	CHECK_INT(vmm_arc_vm_create("vm-big", &id), 0);
	/* More than the host could ever give: ENOSPC, said once. */
	CHECK_INT(vmm_arc_seg_reserve(id, 0, 512 * GIB, B_TRUE, &seg),
	    ENOSPC);
	CHECK_INT(seg.vas_state, VAS_NONE);
	/* A segment id the module does not know. */
	CHECK_INT(vmm_arc_seg_reserve(id, -1, GIB, B_TRUE, &seg), EINVAL);
	CHECK_INT(vmm_arc_seg_reserve(id + 1000, 0, GIB, B_TRUE, &seg),
	    ENOENT);
	check_restored("refused reservations");
	vmm_arc_vm_destroy(id);
	check_restored("the VM's destroy");
}

typedef struct reserver {
	pthread_t	r_thread;
	uint64_t	r_id;
	vmm_arc_seg_t	r_seg;
	int		r_result;
	int		r_done;
} reserver_t;

static void *
reserver_run(void *arg)
{
	reserver_t *r = arg;

	r->r_result = vmm_arc_seg_reserve(r->r_id, 0, 8 * GIB, B_TRUE,
	    &r->r_seg);
	fake_set_done(&r->r_done);
	return (NULL);
}

/*
 * Free memory never covers the segment: the wait in vm_alloc_memseg()
 * ends at its deadline with ETIME, and nothing stays reserved.
 */
static void
test_wait_deadline(void)
{
	reserver_t r;

	(void) memset(&r, 0, sizeof (r));
	CHECK_INT(vmm_arc_vm_create("vm-late", &r.r_id), 0);
	fake_set_freemem(PAGES(GIB));
	CHECK_INT(pthread_create(&r.r_thread, NULL, reserver_run, &r), 0);
	CHECK(fake_await_sleepers(1, &r.r_done));
	CHECK_U64(headroom("pending"), 8 * GIB);
	fake_advance(61 * SEC);
	CHECK_INT(pthread_join(r.r_thread, NULL), 0);
	CHECK_INT(r.r_result, ETIME);
	CHECK_INT(r.r_seg.vas_state, VAS_NONE);
	fake_set_freemem(PAGES(100 * GIB));
	check_restored("a wait that reached its deadline");
	vmm_arc_vm_destroy(r.r_id);
	check_restored("the VM's destroy");
}

/*
 * The VM's instance is gone before its segment is committed: the commit
 * fails, the headroom is already returned, and vmm frees the segment.
 */
static void
test_commit_after_instance_gone(void)
{
	vmm_arc_seg_t seg = { VAS_NONE };
	uint64_t id;

	CHECK_INT(vmm_arc_vm_create("vm-gone", &id), 0);
	CHECK_INT(vmm_arc_seg_reserve(id, 0, GIB, B_TRUE, &seg), 0);
	vmm_arc_vm_destroy(id);
	CHECK(vmm_arc_seg_commit(&seg) != 0);
	CHECK_INT(seg.vas_state, VAS_NONE);
	vmm_arc_seg_release(&seg, ECANCELED);
	check_restored("a commit after the instance went");
}

int
main(void)
{
	setup();
	test_devmem_failure_then_retry();
	test_allocation_failure();
	test_destroy_with_segments();
	test_refusals();
	test_wait_deadline();
	test_commit_after_instance_gone();

	vmm_arc_unregister();
	arctun_arc_unregister();
	CHECK_INT(arctun_mod_busy(), 0);

	if (failures != 0)
		fake_dump_messages();
	(void) printf("vmm ARC headroom test: %d checks, %d failures\n",
	    checks, failures);
	return (failures == 0 ? 0 : 1);
}
