/*
 * This Source Code Form is subject to the terms of the Mozilla Public
 * License, v. 2.0. If a copy of the MPL was not distributed with this
 * file, You can obtain one at https://mozilla.org/MPL/2.0/.
 */

/*
 * <sys/cmn_err.h> for kernel code compiled against the DDI stand-in (vmm's
 * vmm_arc.c): cmn_err() and its levels are the stand-in's (fakekernel.h).
 */

#ifndef _FAKEKERNEL_SYS_CMN_ERR_H
#define	_FAKEKERNEL_SYS_CMN_ERR_H

#include "../../fakekernel.h"

#endif	/* _FAKEKERNEL_SYS_CMN_ERR_H */
