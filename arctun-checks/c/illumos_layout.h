/*
 * This Source Code Form is subject to the terms of the Mozilla Public
 * License, v. 2.0. If a copy of the MPL was not distributed with this
 * file, You can obtain one at https://mozilla.org/MPL/2.0/.
 */

/*
 * The sizes, offsets and constants that illumos-ddi asserts in Rust,
 * asserted again against the real illumos headers (included before this
 * file, with _KERNEL defined; see arctun-checks/tests/bindings.rs).
 */

#ifndef _ILLUMOS_LAYOUT_H
#define	_ILLUMOS_LAYOUT_H

#include <sys/errno.h>

#define	OFF(t, f)	__builtin_offsetof(t, f)

_Static_assert(sizeof (kmutex_t) == 8, "kmutex_t");
_Static_assert(sizeof (kcondvar_t) == 2, "kcondvar_t");
_Static_assert(sizeof (kstat_named_t) == 48, "kstat_named_t");
_Static_assert(_Alignof(kstat_named_t) == 8, "kstat_named_t align");
_Static_assert(OFF(kstat_named_t, data_type) == 31, "data_type");
_Static_assert(OFF(kstat_named_t, value) == 32, "value");
_Static_assert(sizeof (((kstat_named_t *)0)->value) == 16, "value size");
_Static_assert(sizeof (kstat_t) == 184, "kstat_t");
_Static_assert(OFF(kstat_t, ks_crtime) == 0, "ks_crtime");
_Static_assert(OFF(kstat_t, ks_next) == 8, "ks_next");
_Static_assert(OFF(kstat_t, ks_kid) == 16, "ks_kid");
_Static_assert(OFF(kstat_t, ks_module) == 20, "ks_module");
_Static_assert(OFF(kstat_t, ks_resv) == 51, "ks_resv");
_Static_assert(OFF(kstat_t, ks_instance) == 52, "ks_instance");
_Static_assert(OFF(kstat_t, ks_name) == 56, "ks_name");
_Static_assert(OFF(kstat_t, ks_type) == 87, "ks_type");
_Static_assert(OFF(kstat_t, ks_class) == 88, "ks_class");
_Static_assert(OFF(kstat_t, ks_flags) == 119, "ks_flags");
_Static_assert(OFF(kstat_t, ks_data) == 120, "ks_data");
_Static_assert(OFF(kstat_t, ks_ndata) == 128, "ks_ndata");
_Static_assert(OFF(kstat_t, ks_data_size) == 136, "ks_data_size");
_Static_assert(OFF(kstat_t, ks_snaptime) == 144, "ks_snaptime");
_Static_assert(OFF(kstat_t, ks_update) == 152, "ks_update");
_Static_assert(OFF(kstat_t, ks_private) == 160, "ks_private");
_Static_assert(OFF(kstat_t, ks_snapshot) == 168, "ks_snapshot");
_Static_assert(OFF(kstat_t, ks_lock) == 176, "ks_lock");

_Static_assert(MUTEX_DEFAULT == 6 && MUTEX_DRIVER == 4, "kmutex_type_t");
_Static_assert(CV_DEFAULT == 0 && CV_DRIVER == 1, "kcv_type_t");
_Static_assert(VMEM_ALLOC == 1 && VMEM_FREE == 2, "VMEM_*");
_Static_assert(KSTAT_STRLEN == 31, "KSTAT_STRLEN");
_Static_assert(KSTAT_TYPE_NAMED == 1, "KSTAT_TYPE_NAMED");
_Static_assert(KSTAT_FLAG_VIRTUAL == 1 && KSTAT_FLAG_VAR_SIZE == 2 &&
    KSTAT_FLAG_WRITABLE == 4 && KSTAT_FLAG_PERSISTENT == 8, "KSTAT_FLAG_*");
_Static_assert(KSTAT_READ == 0 && KSTAT_WRITE == 1, "KSTAT_READ/WRITE");
_Static_assert(KSTAT_DATA_CHAR == 0 && KSTAT_DATA_INT32 == 1 &&
    KSTAT_DATA_UINT32 == 2 && KSTAT_DATA_INT64 == 3 &&
    KSTAT_DATA_UINT64 == 4 && KSTAT_DATA_STRING == 9, "KSTAT_DATA_*");
_Static_assert(CE_CONT == 0 && CE_NOTE == 1 && CE_WARN == 2 &&
    CE_PANIC == 3 && CE_IGNORE == 4, "CE_*");
_Static_assert(EPERM == 1 && ENOENT == 2 && EINTR == 4 && EIO == 5 &&
    ENXIO == 6 && EAGAIN == 11 && ENOMEM == 12 && EACCES == 13 &&
    EFAULT == 14 && EBUSY == 16 && EEXIST == 17 && EINVAL == 22 &&
    ENOSPC == 28 && ERANGE == 34 && ENOTSUP == 48 && ETIME == 62 &&
    ENAMETOOLONG == 78 && EOVERFLOW == 79 && EALREADY == 149, "errno");

#endif	/* _ILLUMOS_LAYOUT_H */
