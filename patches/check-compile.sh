#!/bin/sh
#
# This Source Code Form is subject to the terms of the Mozilla Public
# License, v. 2.0. If a copy of the MPL was not distributed with this
# file, You can obtain one at https://mozilla.org/MPL/2.0/.
#

#
# Compiles the C files the series changes the way the illumos build would
# see them (kernel defines, each module's include path), with the host's
# gcc and -fsyntax-only, against an illumos tree:
#
#	patches/check-compile.sh TREE	(or ILLUMOS_SRC=TREE ...)
#
# Each file is compiled twice: as the tree has it, and patched (the series
# applied to a scratch copy by check-apply.sh, whose directories come first
# on the include path).  The check fails if the patched compile has an
# error, or a warning in a file the series touches that the tree's compile
# does not have (line numbers aside).  This checks, among other things,
# that every call the patches make into <sys/arctun.h> matches its
# prototype.  It does not link, and gcc on Linux is not the illumos
# compiler; see README.md for what that leaves unverified.
#
# Without a tree, or without gcc, the check is skipped, and says so.
#

set -eu

here=$(cd "$(dirname "$0")" && pwd)
tree=${1:-${ILLUMOS_SRC:-}}

if [ -z "$tree" ]; then
	echo "check-compile: SKIPPED: no illumos tree given" \
	    "(usage: $0 TREE, or set ILLUMOS_SRC)"
	exit 0
fi
if ! command -v gcc >/dev/null 2>&1; then
	echo "check-compile: SKIPPED: gcc is not installed"
	exit 0
fi
tree=$(cd "$tree" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/check-compile.XXXXXX")
trap 'rm -rf "$work"' EXIT
scratch=$work/patched

"$here/check-apply.sh" --keep "$scratch" "$tree" >/dev/null

# What the uts Makefiles pass every 64-bit kernel object (Makefile.uts).
KDEFS="-D_KERNEL -D_SYSCALL32 -D_SYSCALL32_IMPL -D_ELF64 -D_DDI_STRICT \
    -Dsun -D__sun -D__SVR4"
# Warnings: what the kernel's CERRWARN leaves on (Makefile.uts turns every
# warning into an error and switches off missing-braces, sign-compare,
# unknown-pragmas, unused-parameter and missing-field-initializers); the
# last two below differ between Linux's and illumos's headers.
WARN="-Wall -Wextra -Wno-missing-braces -Wno-sign-compare \
    -Wno-unknown-pragmas -Wno-unused-parameter \
    -Wno-missing-field-initializers \
    -Wno-builtin-declaration-mismatch -Wno-format"

# The files the series touches, relative to the tree.
touched=$work/touched
grep -v '^[[:space:]]*#' "$here/series" | grep -v '^[[:space:]]*$' |
    while read -r p; do
	sed -n 's|^diff --git a/\([^ ]*\) b/.*|\1|p' "$here/$p"
    done | sort -u >"$touched"

# Warnings and errors of one compile that fall in touched files, without
# line numbers: "path: kind: message".
diagnostics() {
	sed -nE -f "$here/gcc-diagnostics.sed" |
	    sed -e "s|^$scratch/||" -e "s|^$tree/||" |
	    while read -r path kind msg; do
		if grep -qx "$path" "$touched"; then
			echo "$path: $kind: $msg"
		fi
	    done | sort
}

failed=0

# unit FILE DEFINES INCDIRS...: compiles FILE (relative to the tree) as
# patched and, if the tree has it, as it is.
unit() {
	file=$1
	defs=$2
	shift 2
	inc_tree=
	inc_patched=
	for d in "$@"; do
		inc_tree="$inc_tree -I$tree/$d"
		inc_patched="$inc_patched -I$scratch/$d -I$tree/$d"
	done
	if [ ! -f "$scratch/$file" ]; then
		echo "check-compile: $file is not in the patched copy" >&2
		failed=1
		return
	fi
	# shellcheck disable=SC2086
	if ! gcc -std=gnu99 -fsyntax-only -nostdinc $KDEFS $defs $WARN \
	    $inc_patched "$scratch/$file" >"$work/patched.log" 2>&1; then
		echo "check-compile: FAILED: $file does not compile patched:" >&2
		grep -E ': (fatal )?error: ' "$work/patched.log" | head -20 >&2
		failed=1
		return
	fi
	diagnostics <"$work/patched.log" >"$work/patched.diag"
	if [ -f "$tree/$file" ]; then
		# shellcheck disable=SC2086
		gcc -std=gnu99 -fsyntax-only -nostdinc $KDEFS $defs $WARN \
		    $inc_tree "$tree/$file" >"$work/tree.log" 2>&1 || true
		diagnostics <"$work/tree.log" >"$work/tree.diag"
	else
		: >"$work/tree.diag"
	fi
	new=$(comm -13 "$work/tree.diag" "$work/patched.diag")
	if [ -n "$new" ]; then
		echo "check-compile: FAILED: $file: new diagnostics:" >&2
		echo "$new" >&2
		failed=1
		return
	fi
	echo "check-compile: ok: $file"
}

ZFS_INC="usr/src/uts/common/fs/zfs usr/src/uts/common/fs/zfs/lua \
    usr/src/common/zfs usr/src/common usr/src/uts/i86pc usr/src/uts/intel \
    usr/src/uts/common"
VMM_INC="usr/src/compat/bhyve usr/src/compat/bhyve/amd64 \
    usr/src/contrib/bhyve usr/src/contrib/bhyve/amd64 \
    usr/src/uts/i86pc/io/vmm usr/src/uts/i86pc/io/vmm/io usr/src/uts/i86pc \
    usr/src/uts/intel usr/src/uts/common"
VMM_DEFS="-Di86pc -D_MACHDEP -DVMM_KEEP_STATS"

# shellcheck disable=SC2086
{
	unit usr/src/uts/common/os/arctun.c "" usr/src/uts/intel usr/src/uts/common
	unit usr/src/uts/common/fs/zfs/arc.c "" $ZFS_INC
	unit usr/src/uts/common/fs/zfs/dbuf.c "" $ZFS_INC
	for f in $(grep '^usr/src/uts/i86pc/io/vmm/.*\.c$' "$touched"); do
		unit "$f" "$VMM_DEFS" $VMM_INC
	done
}

if [ "$failed" -ne 0 ]; then
	exit 1
fi
echo "check-compile: every changed C file compiles, with no new diagnostics"
