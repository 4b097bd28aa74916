/*
 * This Source Code Form is subject to the terms of the Mozilla Public
 * License, v. 2.0. If a copy of the MPL was not distributed with this
 * file, You can obtain one at https://mozilla.org/MPL/2.0/.
 */

/*
 * The C tests' checks, one copy for all of them: each CHECK counts, and
 * one that fails prints its file, line and what it saw.  A test prints
 * its summary from `checks` and `failures` and exits non-zero if any
 * check failed.  Each test is a program of its own, so the counters are
 * per test.
 */

#ifndef	_ARCTUN_CHECKS_H
#define	_ARCTUN_CHECKS_H

#include <inttypes.h>
#include <stdio.h>

static int checks;
static int failures;

#define	CHECK(cond)	check((cond) != 0, #cond, __FILE__, __LINE__)
#define	CHECK_U64(a, b)	check_u64((a), (b), #a, __FILE__, __LINE__)
#define	CHECK_INT(a, b)	check_int((a), (b), #a, __FILE__, __LINE__)

static inline void
check(int ok, const char *what, const char *file, int line)
{
	checks++;
	if (!ok) {
		failures++;
		(void) printf("FAILED %s:%d: %s\n", file, line, what);
	}
}

static inline void
check_u64(uint64_t got, uint64_t want, const char *what, const char *file,
    int line)
{
	checks++;
	if (got != want) {
		failures++;
		(void) printf("FAILED %s:%d: %s is %" PRIu64 " (%#" PRIx64
		    "), want %" PRIu64 " (%#" PRIx64 ")\n", file, line, what,
		    got, got, want, want);
	}
}

static inline void
check_int(int got, int want, const char *what, const char *file, int line)
{
	checks++;
	if (got != want) {
		failures++;
		(void) printf("FAILED %s:%d: %s is %d, want %d\n", file, line,
		    what, got, want);
	}
}

#endif	/* _ARCTUN_CHECKS_H */
