/*
 * This Source Code Form is subject to the terms of the Mozilla Public
 * License, v. 2.0. If a copy of the MPL was not distributed with this
 * file, You can obtain one at https://mozilla.org/MPL/2.0/.
 */

/*
 * The illumos typedefs that sys/arctun.h and the DDI stand-in use, on top
 * of the host's own <sys/types.h>: the libfakekernel arrangement of
 * putting the test's sys/ headers first on the include path.
 */

#ifndef _FAKEKERNEL_SYS_TYPES_H
#define	_FAKEKERNEL_SYS_TYPES_H

#include_next <sys/types.h>
#include <stdint.h>

typedef unsigned char	uchar_t;
typedef unsigned short	ushort_t;
typedef unsigned int	uint_t;
typedef unsigned long	ulong_t;
typedef ulong_t		pgcnt_t;
typedef int64_t		hrtime_t;
typedef int		kid_t;
typedef enum { B_FALSE = 0, B_TRUE = 1 } boolean_t;

#endif	/* _FAKEKERNEL_SYS_TYPES_H */
