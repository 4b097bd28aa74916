/*
 * This Source Code Form is subject to the terms of the Mozilla Public
 * License, v. 2.0. If a copy of the MPL was not distributed with this
 * file, You can obtain one at https://mozilla.org/MPL/2.0/.
 */

/*
 * <sys/errno.h> for kernel code compiled against the DDI stand-in (vmm's
 * vmm_arc.c): the host's numbers, overridden with illumos's where they
 * differ (fakekernel.h).
 */

#ifndef _FAKEKERNEL_SYS_ERRNO_H
#define	_FAKEKERNEL_SYS_ERRNO_H

#include_next <sys/errno.h>
#include "../../fakekernel.h"

#endif	/* _FAKEKERNEL_SYS_ERRNO_H */
