/*
 * This Source Code Form is subject to the terms of the Mozilla Public
 * License, v. 2.0. If a copy of the MPL was not distributed with this
 * file, You can obtain one at https://mozilla.org/MPL/2.0/.
 */

#ifndef _FAKEKERNEL_H
#define	_FAKEKERNEL_H

/*
 * A userland stand-in for the part of the illumos DDI that the arctun
 * module imports, in the manner of illumos's libfakekernel: the same
 * symbol names and prototypes, implemented on pthreads.  Unlike
 * libfakekernel's, this kstat_create() returns a real kstat, and the test
 * reads and writes it the way the kstat driver does, so exported values
 * can be asserted.  The clock only moves when the test moves it.
 *
 * The types below have illumos's LP64 layout (asserted at the end), so
 * the module's Rust bindings and this C see the same structures.
 */

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#ifdef	__cplusplus
extern "C" {
#endif

/*
 * uts/common/sys/errno.h: the module returns illumos's numbers, which the
 * host's do not all match (ENOTSUP is 48 on illumos, 95 on Linux), so the
 * test compares with these.
 */
#undef	EPERM
#define	EPERM		1
#undef	ENOENT
#define	ENOENT		2
#undef	EINTR
#define	EINTR		4
#undef	EIO
#define	EIO		5
#undef	ENXIO
#define	ENXIO		6
#undef	EAGAIN
#define	EAGAIN		11
#undef	ENOMEM
#define	ENOMEM		12
#undef	EACCES
#define	EACCES		13
#undef	EBUSY
#define	EBUSY		16
#undef	EEXIST
#define	EEXIST		17
#undef	EINVAL
#define	EINVAL		22
#undef	ENOSPC
#define	ENOSPC		28
#undef	ERANGE
#define	ERANGE		34
#undef	ENOTSUP
#define	ENOTSUP		48
#undef	ETIME
#define	ETIME		62
#undef	ENAMETOOLONG
#define	ENAMETOOLONG	78
#undef	EOVERFLOW
#define	EOVERFLOW	79
#undef	EALREADY
#define	EALREADY	149

/* uts/common/sys/mutex.h */
typedef enum {
	MUTEX_ADAPTIVE = 0,
	MUTEX_SPIN = 1,
	MUTEX_DRIVER = 4,
	MUTEX_DEFAULT = 6
} kmutex_type_t;

typedef struct mutex {
	void	*_opaque[1];
} kmutex_t;

extern void mutex_init(kmutex_t *, char *, kmutex_type_t, void *);
extern void mutex_destroy(kmutex_t *);
extern void mutex_enter(kmutex_t *);
extern int mutex_tryenter(kmutex_t *);
extern void mutex_exit(kmutex_t *);
extern int mutex_owned(const kmutex_t *);

/* uts/common/sys/condvar.h */
typedef struct _kcondvar {
	ushort_t	_opaque;
} kcondvar_t;

typedef enum {
	CV_DEFAULT,
	CV_DRIVER
} kcv_type_t;

extern void cv_init(kcondvar_t *, char *, kcv_type_t, void *);
extern void cv_destroy(kcondvar_t *);
extern int cv_timedwait_sig_hrtime(kcondvar_t *, kmutex_t *, hrtime_t);
extern void cv_broadcast(kcondvar_t *);

/* uts/common/sys/time.h */
extern hrtime_t gethrtime(void);

/* uts/common/sys/systm.h, vmsystm.h, vm/page.h, fs/swapnode.h */
extern pgcnt_t physmem;
extern pgcnt_t freemem;
extern pgcnt_t availrmem;
extern pgcnt_t pages_pp_maximum;
extern pgcnt_t lotsfree;
extern pgcnt_t desfree;
extern pgcnt_t swapfs_minfree;

/* uts/common/sys/vmem.h, vm/seg_kmem.h */
typedef struct vmem vmem_t;
#define	VMEM_ALLOC	0x01
#define	VMEM_FREE	0x02
extern size_t vmem_size(vmem_t *, int);
extern vmem_t *heap_arena;

/* uts/common/sys/cmn_err.h */
#define	CE_CONT		0
#define	CE_NOTE		1
#define	CE_WARN		2
#define	CE_PANIC	3
#define	CE_IGNORE	4
extern void cmn_err(int, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* uts/common/sys/kstat.h */
#define	KSTAT_STRLEN	31

typedef struct kstat {
	hrtime_t	ks_crtime;
	struct kstat	*ks_next;
	kid_t		ks_kid;
	char		ks_module[KSTAT_STRLEN];
	uchar_t		ks_resv;
	int		ks_instance;
	char		ks_name[KSTAT_STRLEN];
	uchar_t		ks_type;
	char		ks_class[KSTAT_STRLEN];
	uchar_t		ks_flags;
	void		*ks_data;
	uint_t		ks_ndata;
	size_t		ks_data_size;
	hrtime_t	ks_snaptime;
	int		(*ks_update)(struct kstat *, int);
	void		*ks_private;
	int		(*ks_snapshot)(struct kstat *, void *, int);
	void		*ks_lock;
} kstat_t;

typedef struct kstat_named {
	char	name[KSTAT_STRLEN];
	uchar_t	data_type;
	union {
		char		c[16];
		int32_t		i32;
		uint32_t	ui32;
		struct {
			union {
				char	*ptr;
				char	__pad[8];
			} addr;
			uint32_t	len;
		} str;
		int64_t		i64;
		uint64_t	ui64;
		long		l;
		ulong_t		ul;
	} value;
} kstat_named_t;

#define	KSTAT_TYPE_RAW		0
#define	KSTAT_TYPE_NAMED	1
#define	KSTAT_FLAG_VIRTUAL	0x01
#define	KSTAT_FLAG_VAR_SIZE	0x02
#define	KSTAT_FLAG_WRITABLE	0x04
#define	KSTAT_FLAG_PERSISTENT	0x08
#define	KSTAT_FLAG_INVALID	0x20
#define	KSTAT_READ		0
#define	KSTAT_WRITE		1
#define	KSTAT_DATA_CHAR		0
#define	KSTAT_DATA_INT32	1
#define	KSTAT_DATA_UINT32	2
#define	KSTAT_DATA_INT64	3
#define	KSTAT_DATA_UINT64	4
#define	KSTAT_DATA_STRING	9

extern kstat_t *kstat_create(const char *, int, const char *, const char *,
    uchar_t, uint_t, uchar_t);
extern void kstat_install(kstat_t *);
extern void kstat_delete(kstat_t *);
extern void kstat_named_init(kstat_named_t *, const char *, uchar_t);

_Static_assert(sizeof (kmutex_t) == 8, "kmutex_t");
_Static_assert(sizeof (kcondvar_t) == 2, "kcondvar_t");
_Static_assert(sizeof (kstat_named_t) == 48, "kstat_named_t");
_Static_assert(offsetof(kstat_named_t, value) == 32, "kstat_named_t.value");
_Static_assert(sizeof (kstat_t) == 184, "kstat_t");
_Static_assert(offsetof(kstat_t, ks_data) == 120, "kstat_t.ks_data");
_Static_assert(offsetof(kstat_t, ks_ndata) == 128, "kstat_t.ks_ndata");
_Static_assert(offsetof(kstat_t, ks_update) == 152, "kstat_t.ks_update");
_Static_assert(offsetof(kstat_t, ks_lock) == 176, "kstat_t.ks_lock");

/*
 * The stand-in's controls, for the test program.
 */

/* Resets the fake host: physmem bytes, freemem pages, heap bytes. */
extern void fake_host(uint64_t, pgcnt_t, uint64_t);
extern void fake_set_freemem(pgcnt_t);
extern void fake_set_desfree(pgcnt_t);

/* The clock: gethrtime() returns fake_now(); fake_advance() moves it and
 * wakes every sleeper so it can see its deadline. */
extern hrtime_t fake_now(void);
extern void fake_advance(hrtime_t);

/* Posts a signal: the thread in (or next entering)
 * cv_timedwait_sig_hrtime() returns 0. */
extern void fake_post_signal(void);

/*
 * Blocks until n threads sleep in cv_timedwait_sig_hrtime() (returns 1),
 * or until *done is set with fake_set_done() (returns 0): a thread that
 * was expected to sleep but returned ends the wait instead of hanging it.
 */
extern int fake_await_sleepers(int, const int *);
extern void fake_set_done(int *);

/* Messages: how many at a level, and whether one contains a string. */
extern int fake_messages(int);
extern int fake_message_seen(int, const char *);
extern void fake_dump_messages(void);

/*
 * The module's C half: its kpreempt_disable()/kpreempt_enable() wrappers
 * (module-private in the kernel).  The stand-in keeps a per-thread depth:
 * the current thread's, how many sections opened in all, and how many
 * violations (a nested or unpaired section, or a mutex, condition variable,
 * kstat or cmn_err() call inside one) it saw.
 */
extern void arctun_kpreempt_disable(void);
extern void arctun_kpreempt_enable(void);
extern int fake_preempt_depth(void);
extern uint64_t fake_preempt_sections(void);
extern uint64_t fake_preempt_violations(void);

/* Makes the next kstat_create() fail (return NULL). */
extern void fake_kstat_fail_next(void);

/*
 * Runs fn once, at the end of the next kstat_delete(), with no lock of the
 * stand-in held: what another thread could do while the caller of
 * kstat_delete() is between that call and its next step.
 */
extern void fake_after_next_kstat_delete(void (*)(void));

/* Live (installed or not) kstats, and one by name (NULL if none). */
extern int fake_kstat_count(void);
extern kstat_t *fake_kstat_lookup(const char *, int, const char *);

/* Reads or writes a named kstat as the kstat driver does: ks_lock held,
 * ks_update(KSTAT_READ), then the data copied out (ENOMEM if the buffer,
 * of the given capacity, is too small); or, for a write,
 * WRITABLE checked, ks_update(KSTAT_READ), the buffer's shape checked,
 * the buffer copied over ks_data, ks_update(KSTAT_WRITE).  Returns an
 * errno. */
extern int fake_kstat_read(kstat_t *, kstat_named_t *, uint_t);
extern int fake_kstat_write(kstat_t *, const kstat_named_t *, uint_t);

/* One statistic's value after a read; UINT64_MAX if it does not exist. */
extern uint64_t fake_kstat_value(const char *, int, const char *,
    const char *);

#ifdef	__cplusplus
}
#endif

#endif	/* _FAKEKERNEL_H */
