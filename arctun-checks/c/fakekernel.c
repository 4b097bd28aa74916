/*
 * This Source Code Form is subject to the terms of the Mozilla Public
 * License, v. 2.0. If a copy of the MPL was not distributed with this
 * file, You can obtain one at https://mozilla.org/MPL/2.0/.
 */

/*
 * The DDI stand-in: see fakekernel.h.  Misuse that the kernel would catch
 * with a panic or an ASSERT (entering a mutex twice, exiting one not held,
 * destroying a held mutex or a condition variable with waiters) aborts the
 * test here too.
 */

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakekernel.h"

#define	VERIFY(x)	do {						\
	if (!(x)) {							\
		(void) fprintf(stderr, "fakekernel: %s:%d: VERIFY(%s)\n",	\
		    __FILE__, __LINE__, #x);				\
		abort();						\
	}								\
} while (0)

/* One lock for the stand-in's own state. */
static pthread_mutex_t fk_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fk_cv = PTHREAD_COND_INITIALIZER;

/*
 * Host figures.
 */
pgcnt_t physmem;
pgcnt_t freemem;
pgcnt_t availrmem;
pgcnt_t pages_pp_maximum;
pgcnt_t lotsfree;
pgcnt_t desfree;
pgcnt_t swapfs_minfree;

static char fk_heap_arena;
vmem_t *heap_arena = (vmem_t *)&fk_heap_arena;
static uint64_t fk_heap_bytes;

void
fake_host(uint64_t physmem_bytes, pgcnt_t free_pages, uint64_t heap_bytes)
{
	physmem = physmem_bytes / 4096;
	/* swapfs_recalc(): 1/8 of memory, at least 2 MiB, at most 256 MiB. */
	swapfs_minfree = physmem / 8;
	if (swapfs_minfree < 512)
		swapfs_minfree = 512;
	if (swapfs_minfree > 65536)
		swapfs_minfree = 65536;
	/*
	 * setupclock(): lotsfree is 1/64 of memory, at least 16 MiB and at
	 * most 2 GiB (LOTSFREE_MIN_DEFAULT, LOTSFREE_MAX_DEFAULT); desfree
	 * is half of it.
	 */
	lotsfree = physmem / 64;
	if (lotsfree < 16 * 1024 * 1024 / 4096)
		lotsfree = 16 * 1024 * 1024 / 4096;
	if (lotsfree > 2048ULL * 1024 * 1024 / 4096)
		lotsfree = 2048ULL * 1024 * 1024 / 4096;
	desfree = lotsfree / 2;
	freemem = free_pages;
	/*
	 * availrmem: all but the kernel's own (a sixteenth, here);
	 * pages_pp_maximum: a tenth of it, as init_pages_pp_maximum() sets.
	 */
	availrmem = physmem - physmem / 16;
	pages_pp_maximum = availrmem / 10;
	fk_heap_bytes = heap_bytes;
}

void
fake_set_freemem(pgcnt_t pages)
{
	freemem = pages;
}

void
fake_set_desfree(pgcnt_t pages)
{
	desfree = pages;
}

size_t
vmem_size(vmem_t *vmp, int typemask)
{
	VERIFY(vmp == heap_arena);
	VERIFY(typemask == (VMEM_ALLOC | VMEM_FREE));
	return (fk_heap_bytes);
}

/*
 * The module's C half (uts/common/os/arctun.c in the patches): its wrappers
 * of kpreempt_disable() and kpreempt_enable().  Here, a per-thread depth,
 * and counts of the sections and of what the kernel would not accept: a
 * section that nests or does not pair, or a DDI call that may block (or
 * needs no section) made inside one.
 */
static __thread int fk_preempt_depth;
static uint64_t fk_preempt_sections;
static uint64_t fk_preempt_violations;

void
arctun_kpreempt_disable(void)
{
	if (fk_preempt_depth++ != 0)
		__atomic_add_fetch(&fk_preempt_violations, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&fk_preempt_sections, 1, __ATOMIC_SEQ_CST);
}

void
arctun_kpreempt_enable(void)
{
	if (--fk_preempt_depth != 0)
		__atomic_add_fetch(&fk_preempt_violations, 1, __ATOMIC_SEQ_CST);
}

/* Everything below but gethrtime() and vmem_size() calls this first. */
static void
fk_preemptible(void)
{
	if (fk_preempt_depth != 0)
		__atomic_add_fetch(&fk_preempt_violations, 1, __ATOMIC_SEQ_CST);
}

int
fake_preempt_depth(void)
{
	return (fk_preempt_depth);
}

uint64_t
fake_preempt_sections(void)
{
	return (__atomic_load_n(&fk_preempt_sections, __ATOMIC_SEQ_CST));
}

uint64_t
fake_preempt_violations(void)
{
	return (__atomic_load_n(&fk_preempt_violations, __ATOMIC_SEQ_CST));
}

/*
 * Mutexes: an error-checking pthread mutex behind the kmutex_t's pointer,
 * and its owner, as an adaptive mutex's owner word is, for mutex_owned().
 */
typedef struct fk_mutex {
	pthread_mutex_t	fm_mutex;
	pthread_t	fm_owner;	/* meaningful while fm_held */
	int		fm_held;
} fk_mutex_t;

static void
fk_owner_set(fk_mutex_t *m)
{
	__atomic_store_n(&m->fm_owner, pthread_self(), __ATOMIC_RELAXED);
	__atomic_store_n(&m->fm_held, 1, __ATOMIC_RELEASE);
}

static void
fk_owner_clear(fk_mutex_t *m)
{
	__atomic_store_n(&m->fm_held, 0, __ATOMIC_RELEASE);
}

static fk_mutex_t *
fk_mutex(kmutex_t *mp)
{
	fk_mutex_t *m = mp->_opaque[0];

	VERIFY(m != NULL);
	return (m);
}

void
mutex_init(kmutex_t *mp, char *name, kmutex_type_t type, void *ibc)
{
	pthread_mutexattr_t attr;
	fk_mutex_t *m;

	(void) name;
	VERIFY(type == MUTEX_DEFAULT || type == MUTEX_DRIVER);
	VERIFY(ibc == NULL);
	VERIFY(mp->_opaque[0] == NULL);
	m = calloc(1, sizeof (*m));
	VERIFY(m != NULL);
	VERIFY(pthread_mutexattr_init(&attr) == 0);
	VERIFY(pthread_mutexattr_settype(&attr,
	    PTHREAD_MUTEX_ERRORCHECK) == 0);
	VERIFY(pthread_mutex_init(&m->fm_mutex, &attr) == 0);
	VERIFY(pthread_mutexattr_destroy(&attr) == 0);
	mp->_opaque[0] = m;
}

void
mutex_destroy(kmutex_t *mp)
{
	fk_mutex_t *m = fk_mutex(mp);

	/* EBUSY if held. */
	VERIFY(pthread_mutex_destroy(&m->fm_mutex) == 0);
	free(m);
	mp->_opaque[0] = NULL;
}

void
mutex_enter(kmutex_t *mp)
{
	fk_preemptible();
	/* EDEADLK if this thread holds it already. */
	VERIFY(pthread_mutex_lock(&fk_mutex(mp)->fm_mutex) == 0);
	fk_owner_set(fk_mutex(mp));
}

int
mutex_tryenter(kmutex_t *mp)
{
	int rv;

	fk_preemptible();
	rv = pthread_mutex_trylock(&fk_mutex(mp)->fm_mutex);

	VERIFY(rv == 0 || rv == EBUSY);
	if (rv == 0)
		fk_owner_set(fk_mutex(mp));
	return (rv == 0);
}

void
mutex_exit(kmutex_t *mp)
{
	fk_preemptible();
	/* EPERM if this thread does not hold it. */
	fk_owner_clear(fk_mutex(mp));
	VERIFY(pthread_mutex_unlock(&fk_mutex(mp)->fm_mutex) == 0);
}

/* Whether the calling thread holds the mutex (the module's debug builds). */
int
mutex_owned(const kmutex_t *mp)
{
	fk_mutex_t *m = mp->_opaque[0];

	VERIFY(m != NULL);
	return (__atomic_load_n(&m->fm_held, __ATOMIC_ACQUIRE) &&
	    pthread_equal(__atomic_load_n(&m->fm_owner, __ATOMIC_RELAXED),
	    pthread_self()));
}

/*
 * Condition variables.  A kcondvar_t is two bytes, too small for a
 * pointer, so they live in a table keyed by address.  Each remembers the
 * mutex its waiters use, so that the clock and signals can wake them
 * without losing a wake-up: the waker takes that mutex first.
 */
#define	FK_MAX_CVS	16

typedef struct fk_cv {
	kcondvar_t	*fc_addr;
	pthread_cond_t	fc_cond;
	kmutex_t	*fc_mutex;	/* of the current waiters */
	uint64_t	fc_generation;	/* bumped by cv_broadcast() */
	int		fc_waiters;
} fk_cv_t;

static fk_cv_t fk_cvs[FK_MAX_CVS];
static hrtime_t fk_clock = 1000000000LL;
static int fk_signals;
static int fk_sleepers;

static fk_cv_t *
fk_cv_find(kcondvar_t *cvp)
{
	for (int i = 0; i < FK_MAX_CVS; i++) {
		if (fk_cvs[i].fc_addr == cvp)
			return (&fk_cvs[i]);
	}
	return (NULL);
}

void
cv_init(kcondvar_t *cvp, char *name, kcv_type_t type, void *arg)
{
	fk_cv_t *c;

	(void) name;
	VERIFY(type == CV_DEFAULT || type == CV_DRIVER);
	VERIFY(arg == NULL);
	VERIFY(pthread_mutex_lock(&fk_lock) == 0);
	VERIFY(fk_cv_find(cvp) == NULL);
	c = fk_cv_find(NULL);
	VERIFY(c != NULL);
	(void) memset(c, 0, sizeof (*c));
	c->fc_addr = cvp;
	VERIFY(pthread_cond_init(&c->fc_cond, NULL) == 0);
	VERIFY(pthread_mutex_unlock(&fk_lock) == 0);
}

void
cv_destroy(kcondvar_t *cvp)
{
	fk_cv_t *c;

	VERIFY(pthread_mutex_lock(&fk_lock) == 0);
	c = fk_cv_find(cvp);
	VERIFY(c != NULL);
	VERIFY(c->fc_waiters == 0);
	VERIFY(pthread_cond_destroy(&c->fc_cond) == 0);
	c->fc_addr = NULL;
	VERIFY(pthread_mutex_unlock(&fk_lock) == 0);
}

/* Called with the waiters' mutex held, as the kernel requires. */
void
cv_broadcast(kcondvar_t *cvp)
{
	fk_cv_t *c;

	fk_preemptible();
	VERIFY(pthread_mutex_lock(&fk_lock) == 0);
	c = fk_cv_find(cvp);
	VERIFY(c != NULL);
	VERIFY(pthread_mutex_unlock(&fk_lock) == 0);
	c->fc_generation++;
	VERIFY(pthread_cond_broadcast(&c->fc_cond) == 0);
}

hrtime_t
gethrtime(void)
{
	hrtime_t now;

	VERIFY(pthread_mutex_lock(&fk_lock) == 0);
	now = fk_clock;
	VERIFY(pthread_mutex_unlock(&fk_lock) == 0);
	return (now);
}

hrtime_t
fake_now(void)
{
	return (gethrtime());
}

/*
 * Returns 0 for a signal, -1 for a timeout, 1 for a wake-up; tim is an
 * absolute gethrtime() value or -1 for none.  The mutex is held again on
 * return, whatever the result.
 */
int
cv_timedwait_sig_hrtime(kcondvar_t *cvp, kmutex_t *mp, hrtime_t tim)
{
	fk_cv_t *c;
	uint64_t generation;
	int rv;

	fk_preemptible();
	VERIFY(pthread_mutex_lock(&fk_lock) == 0);
	c = fk_cv_find(cvp);
	VERIFY(c != NULL);
	VERIFY(c->fc_mutex == NULL || c->fc_mutex == mp);
	if (fk_signals > 0) {
		fk_signals--;
		VERIFY(pthread_mutex_unlock(&fk_lock) == 0);
		return (0);
	}
	if (tim != -1 && tim <= fk_clock) {
		VERIFY(pthread_mutex_unlock(&fk_lock) == 0);
		return (-1);
	}
	c->fc_mutex = mp;
	c->fc_waiters++;
	fk_sleepers++;
	VERIFY(pthread_cond_broadcast(&fk_cv) == 0);
	VERIFY(pthread_mutex_unlock(&fk_lock) == 0);

	generation = c->fc_generation;
	fk_owner_clear(fk_mutex(mp));
	for (;;) {
		VERIFY(pthread_cond_wait(&c->fc_cond,
		    &fk_mutex(mp)->fm_mutex) == 0);
		VERIFY(pthread_mutex_lock(&fk_lock) == 0);
		if (fk_signals > 0) {
			fk_signals--;
			rv = 0;
		} else if (c->fc_generation != generation) {
			rv = 1;
		} else if (tim != -1 && tim <= fk_clock) {
			rv = -1;
		} else {
			VERIFY(pthread_mutex_unlock(&fk_lock) == 0);
			continue;
		}
		break;
	}
	fk_owner_set(fk_mutex(mp));
	c->fc_waiters--;
	if (c->fc_waiters == 0)
		c->fc_mutex = NULL;
	fk_sleepers--;
	VERIFY(pthread_mutex_unlock(&fk_lock) == 0);
	return (rv);
}

/* Wakes every sleeper, taking each one's mutex so none can miss it. */
static void
fk_wake_all(void)
{
	for (int i = 0; i < FK_MAX_CVS; i++) {
		kmutex_t *mp;

		VERIFY(pthread_mutex_lock(&fk_lock) == 0);
		mp = fk_cvs[i].fc_addr != NULL ? fk_cvs[i].fc_mutex : NULL;
		VERIFY(pthread_mutex_unlock(&fk_lock) == 0);
		if (mp == NULL)
			continue;
		VERIFY(pthread_mutex_lock(&fk_mutex(mp)->fm_mutex) == 0);
		VERIFY(pthread_cond_broadcast(&fk_cvs[i].fc_cond) == 0);
		VERIFY(pthread_mutex_unlock(&fk_mutex(mp)->fm_mutex) == 0);
	}
}

void
fake_advance(hrtime_t d)
{
	VERIFY(pthread_mutex_lock(&fk_lock) == 0);
	fk_clock += d;
	VERIFY(pthread_mutex_unlock(&fk_lock) == 0);
	fk_wake_all();
}

void
fake_post_signal(void)
{
	VERIFY(pthread_mutex_lock(&fk_lock) == 0);
	fk_signals++;
	VERIFY(pthread_mutex_unlock(&fk_lock) == 0);
	fk_wake_all();
}

int
fake_await_sleepers(int n, const int *done)
{
	int slept;

	VERIFY(pthread_mutex_lock(&fk_lock) == 0);
	while (fk_sleepers < n && !*done)
		VERIFY(pthread_cond_wait(&fk_cv, &fk_lock) == 0);
	slept = fk_sleepers >= n;
	VERIFY(pthread_mutex_unlock(&fk_lock) == 0);
	return (slept);
}

void
fake_set_done(int *done)
{
	VERIFY(pthread_mutex_lock(&fk_lock) == 0);
	*done = 1;
	VERIFY(pthread_cond_broadcast(&fk_cv) == 0);
	VERIFY(pthread_mutex_unlock(&fk_lock) == 0);
}

/*
 * cmn_err: kept, and echoed to stderr.  CE_PANIC aborts.
 */
#define	FK_MAX_MESSAGES	256

typedef struct fk_message {
	int	fm_level;
	char	fm_text[512];
} fk_message_t;

static fk_message_t fk_messages[FK_MAX_MESSAGES];
static int fk_nmessages;

void
cmn_err(int level, const char *fmt, ...)
{
	static const char *names[] = { "CONT", "NOTE", "WARNING", "PANIC" };
	char text[512];
	va_list ap;

	fk_preemptible();
	va_start(ap, fmt);
	(void) vsnprintf(text, sizeof (text), fmt, ap);
	va_end(ap);
	(void) fprintf(stderr, "cmn_err %s: %s\n",
	    level >= 0 && level <= CE_PANIC ? names[level] : "?", text);
	if (level == CE_PANIC)
		abort();
	VERIFY(pthread_mutex_lock(&fk_lock) == 0);
	if (fk_nmessages < FK_MAX_MESSAGES) {
		fk_messages[fk_nmessages].fm_level = level;
		(void) strncpy(fk_messages[fk_nmessages].fm_text, text,
		    sizeof (fk_messages[0].fm_text) - 1);
		fk_nmessages++;
	}
	VERIFY(pthread_mutex_unlock(&fk_lock) == 0);
}

int
fake_messages(int level)
{
	int n = 0;

	VERIFY(pthread_mutex_lock(&fk_lock) == 0);
	for (int i = 0; i < fk_nmessages; i++) {
		if (fk_messages[i].fm_level == level)
			n++;
	}
	VERIFY(pthread_mutex_unlock(&fk_lock) == 0);
	return (n);
}

int
fake_message_seen(int level, const char *needle)
{
	int seen = 0;

	VERIFY(pthread_mutex_lock(&fk_lock) == 0);
	for (int i = 0; i < fk_nmessages && !seen; i++) {
		seen = fk_messages[i].fm_level == level &&
		    strstr(fk_messages[i].fm_text, needle) != NULL;
	}
	VERIFY(pthread_mutex_unlock(&fk_lock) == 0);
	return (seen);
}

void
fake_dump_messages(void)
{
	VERIFY(pthread_mutex_lock(&fk_lock) == 0);
	for (int i = 0; i < fk_nmessages; i++) {
		(void) fprintf(stderr, "  [%d] %s\n", fk_messages[i].fm_level,
		    fk_messages[i].fm_text);
	}
	VERIFY(pthread_mutex_unlock(&fk_lock) == 0);
}

/*
 * kstats: a list of real kstat_t's.
 */
static kstat_t *fk_kstats;
static int fk_kstat_fail;
static void (*fk_after_kstat_delete)(void);
static kid_t fk_next_kid = 1;

static int
fk_default_update(kstat_t *ksp, int rw)
{
	(void) ksp;
	return (rw == KSTAT_WRITE ? EACCES : 0);
}

static void
fk_strlcpy(char *dst, const char *src)
{
	(void) strncpy(dst, src, KSTAT_STRLEN - 1);
	dst[KSTAT_STRLEN - 1] = '\0';
}

kstat_t *
kstat_create(const char *module, int instance, const char *name,
    const char *class, uchar_t type, uint_t ndata, uchar_t flags)
{
	kstat_t *ksp;

	fk_preemptible();
	VERIFY(pthread_mutex_lock(&fk_lock) == 0);
	if (fk_kstat_fail) {
		fk_kstat_fail = 0;
		VERIFY(pthread_mutex_unlock(&fk_lock) == 0);
		return (NULL);
	}
	VERIFY(pthread_mutex_unlock(&fk_lock) == 0);
	/*
	 * As kstat_create(): a duplicate, an unknown type, a persistent
	 * virtual kstat or a variable-size physical one fails.
	 */
	if (fake_kstat_lookup(module, instance, name) != NULL ||
	    type != KSTAT_TYPE_NAMED ||
	    ((flags & KSTAT_FLAG_PERSISTENT) && (flags & KSTAT_FLAG_VIRTUAL)) ||
	    ((flags & KSTAT_FLAG_VAR_SIZE) && !(flags & KSTAT_FLAG_VIRTUAL)))
		return (NULL);
	ksp = calloc(1, sizeof (*ksp));
	VERIFY(ksp != NULL);
	fk_strlcpy(ksp->ks_module, module);
	fk_strlcpy(ksp->ks_name, name);
	fk_strlcpy(ksp->ks_class, class);
	ksp->ks_instance = instance;
	ksp->ks_type = type;
	ksp->ks_flags = flags | KSTAT_FLAG_INVALID;
	ksp->ks_ndata = ndata;
	ksp->ks_data_size = (size_t)ndata * sizeof (kstat_named_t);
	if (!(flags & KSTAT_FLAG_VIRTUAL)) {
		ksp->ks_data = calloc(ndata, sizeof (kstat_named_t));
		VERIFY(ksp->ks_data != NULL || ndata == 0);
	}
	ksp->ks_update = fk_default_update;
	ksp->ks_crtime = gethrtime();
	VERIFY(pthread_mutex_lock(&fk_lock) == 0);
	ksp->ks_kid = fk_next_kid++;
	ksp->ks_next = fk_kstats;
	fk_kstats = ksp;
	VERIFY(pthread_mutex_unlock(&fk_lock) == 0);
	return (ksp);
}

void
kstat_install(kstat_t *ksp)
{
	fk_preemptible();
	VERIFY(ksp->ks_flags & KSTAT_FLAG_INVALID);
	if (ksp->ks_flags & KSTAT_FLAG_VIRTUAL)
		VERIFY(ksp->ks_data != NULL);
	/* kstat_install() panics on a variable-size kstat without a lock. */
	if (ksp->ks_flags & KSTAT_FLAG_VAR_SIZE)
		VERIFY(ksp->ks_lock != NULL);
	ksp->ks_flags &= ~KSTAT_FLAG_INVALID;
}

void
kstat_delete(kstat_t *ksp)
{
	kstat_t **pp;
	void (*after)(void);

	fk_preemptible();
	if (ksp == NULL)
		return;
	VERIFY(pthread_mutex_lock(&fk_lock) == 0);
	for (pp = &fk_kstats; *pp != NULL && *pp != ksp; pp = &(*pp)->ks_next)
		;
	VERIFY(*pp == ksp);
	*pp = ksp->ks_next;
	VERIFY(pthread_mutex_unlock(&fk_lock) == 0);
	/* Deleting a kstat with its ks_lock held deadlocks the kernel. */
	if (ksp->ks_lock != NULL) {
		VERIFY(mutex_tryenter(ksp->ks_lock));
		mutex_exit(ksp->ks_lock);
	}
	if (!(ksp->ks_flags & KSTAT_FLAG_VIRTUAL))
		free(ksp->ks_data);
	free(ksp);

	VERIFY(pthread_mutex_lock(&fk_lock) == 0);
	after = fk_after_kstat_delete;
	fk_after_kstat_delete = NULL;
	VERIFY(pthread_mutex_unlock(&fk_lock) == 0);
	if (after != NULL)
		after();
}

void
kstat_named_init(kstat_named_t *knp, const char *name, uchar_t type)
{
	(void) memset(knp, 0, sizeof (*knp));
	fk_strlcpy(knp->name, name);
	knp->data_type = type;
}

void
fake_kstat_fail_next(void)
{
	VERIFY(pthread_mutex_lock(&fk_lock) == 0);
	fk_kstat_fail = 1;
	VERIFY(pthread_mutex_unlock(&fk_lock) == 0);
}

void
fake_after_next_kstat_delete(void (*fn)(void))
{
	VERIFY(pthread_mutex_lock(&fk_lock) == 0);
	fk_after_kstat_delete = fn;
	VERIFY(pthread_mutex_unlock(&fk_lock) == 0);
}

int
fake_kstat_count(void)
{
	int n = 0;

	VERIFY(pthread_mutex_lock(&fk_lock) == 0);
	for (kstat_t *k = fk_kstats; k != NULL; k = k->ks_next)
		n++;
	VERIFY(pthread_mutex_unlock(&fk_lock) == 0);
	return (n);
}

kstat_t *
fake_kstat_lookup(const char *module, int instance, const char *name)
{
	kstat_t *found = NULL;

	VERIFY(pthread_mutex_lock(&fk_lock) == 0);
	for (kstat_t *k = fk_kstats; k != NULL && found == NULL;
	    k = k->ks_next) {
		if (strcmp(k->ks_module, module) == 0 &&
		    k->ks_instance == instance &&
		    strcmp(k->ks_name, name) == 0)
			found = k;
	}
	VERIFY(pthread_mutex_unlock(&fk_lock) == 0);
	return (found);
}

static void
fk_kstat_enter(kstat_t *ksp)
{
	if (ksp->ks_lock != NULL)
		mutex_enter(ksp->ks_lock);
}

static void
fk_kstat_exit(kstat_t *ksp)
{
	if (ksp->ks_lock != NULL)
		mutex_exit(ksp->ks_lock);
}

/*
 * read_kstat_data() in uts/common/io/kstat.c, for named kstats: the update
 * runs first (a variable-size kstat sets its size there), then a buffer
 * too small for the data is ENOMEM.  n is the buffer's capacity.
 */
int
fake_kstat_read(kstat_t *ksp, kstat_named_t *buf, uint_t n)
{
	int rv;

	if (ksp->ks_flags & KSTAT_FLAG_INVALID)
		return (EAGAIN);
	fk_kstat_enter(ksp);
	rv = ksp->ks_update(ksp, KSTAT_READ);
	if (rv == 0) {
		VERIFY(ksp->ks_data_size ==
		    ksp->ks_ndata * sizeof (kstat_named_t));
		if (ksp->ks_ndata > n) {
			rv = ENOMEM;
		} else {
			(void) memcpy(buf, ksp->ks_data, ksp->ks_data_size);
			ksp->ks_snaptime = gethrtime();
		}
	}
	fk_kstat_exit(ksp);
	return (rv);
}

/* write_kstat_data() in uts/common/io/kstat.c, for named kstats. */
int
fake_kstat_write(kstat_t *ksp, const kstat_named_t *buf, uint_t n)
{
	const kstat_named_t *cur;
	int rv;

	if (!(ksp->ks_flags & KSTAT_FLAG_WRITABLE))
		return (EACCES);
	fk_kstat_enter(ksp);
	rv = ksp->ks_update(ksp, KSTAT_READ);
	if (rv != 0)
		goto out;
	if (n != ksp->ks_ndata) {
		rv = EINVAL;
		goto out;
	}
	cur = ksp->ks_data;
	for (uint_t i = 0; i < n; i++) {
		if (cur[i].data_type != buf[i].data_type) {
			rv = EINVAL;
			goto out;
		}
	}
	/* default_kstat_snapshot(KSTAT_WRITE): the buffer lands first. */
	(void) memcpy(ksp->ks_data, buf, ksp->ks_data_size);
	rv = ksp->ks_update(ksp, KSTAT_WRITE);
out:
	fk_kstat_exit(ksp);
	return (rv);
}

uint64_t
fake_kstat_value(const char *module, int instance, const char *name,
    const char *stat)
{
	kstat_t *ksp = fake_kstat_lookup(module, instance, name);
	kstat_named_t *buf;
	uint64_t v = UINT64_MAX;

	if (ksp == NULL)
		return (UINT64_MAX);
	buf = calloc(64, sizeof (kstat_named_t));
	VERIFY(buf != NULL);
	if (fake_kstat_read(ksp, buf, 64) == 0) {
		for (uint_t i = 0; i < ksp->ks_ndata; i++) {
			if (strcmp(buf[i].name, stat) == 0)
				v = buf[i].value.ui64;
		}
	}
	free(buf);
	return (v);
}
