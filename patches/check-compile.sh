#!/bin/sh
#
# This Source Code Form is subject to the terms of the Mozilla Public
# License, v. 2.0. If a copy of the MPL was not distributed with this
# file, You can obtain one at https://mozilla.org/MPL/2.0/.
#

#
# Compiles the C files the series changes the way the illumos build would
# (the kernel's defines, each module's include path, the flags cw(1onbld)
# hands gcc for a kernel object), with the host's gcc, against an
# illumos-gate tree (gate-tree.txt names the commit):
#
#	patches/check-compile.sh TREE	(or ILLUMOS_SRC=TREE ...)
#
# Each file is compiled twice: as the tree has it, and patched (the series
# applied to a scratch copy by check-apply.sh, whose directories come first
# on the include path).  The check fails if the patched compile has an
# error, or a warning in a file the series touches that the tree's compile
# does not have (line numbers aside): the build makes every warning an
# error (CERRWARN's -errwarn=%all), and the host's gcc is not the build's,
# so the tree's own compile is the baseline.  This checks, among other
# things, that every call the patches make into <sys/arctun.h> matches its
# prototype.  It compiles to an object (-O2, as cw turns -xO3), so that
# gcc's middle-end warnings run too, and throws the object away.
#
# Then the style checks of the tree's "make check": cstyle -pP on every C
# file and header the series changes or adds, and hdrchk on the headers it
# adds (usr/src/tools/scripts, run with the host's perl and python3).
#
# Without a tree the check says so and exits 2; a missing gcc, perl or
# python3 is an error too.  CHECK_COMPILE_DEPS (below) lists the headers
# the compiles read, for gate-tree.sh.
#

set -eu

here=$(cd "$(dirname "$0")" && pwd)
tree=${1:-${ILLUMOS_SRC:-}}

if [ -z "$tree" ]; then
	echo "check-compile: no illumos tree given" \
	    "(usage: $0 TREE, or set ILLUMOS_SRC; gate-tree.sh builds one)" >&2
	exit 2
fi
for tool in gcc perl python3; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "check-compile: $tool is required" >&2
		exit 2
	}
done
tree=$(cd "$tree" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/check-compile.XXXXXX")
trap 'rm -rf "$work"' EXIT
scratch=$work/patched

"$here/check-apply.sh" --keep "$scratch" "$tree" >/dev/null

# Headers the build generates before it compiles the kernel
# (uts/common/sys/Makefile): <sys/priv_names.h> and <sys/priv_const.h>,
# from the tree's own privilege table; they go last on the include path.
gen=$work/generated
mkdir -p "$gen/sys"
privs=$tree/usr/src/uts/common/os
awk -f "$privs/privs.awk" -v pubhfile="$gen/sys/priv_names.h" \
    <"$privs/priv_defs"
awk -f "$privs/privs.awk" -v privhfile="$gen/sys/priv_const.h" \
    <"$privs/priv_defs"

# ALWAYS_DEFS_64 (uts/Makefile.uts), DEBUG_DEFS of a debug64 object,
# -D_ASM_INLINES (Makefile.intel, Makefile.i86pc).
KDEFS="-D_KERNEL -D_SYSCALL32 -D_SYSCALL32_IMPL -D_ELF64 -D_DDI_STRICT \
    -Dsun -D__sun -D__SVR4 -DDEBUG -D_ASM_INLINES"

# What cw(1onbld) gives gcc for a 64-bit kernel object: CFLAGS_uts
# (uts/Makefile.uts) and Makefile.master's pieces of it.  -xmodel=kernel is
# -ffreestanding -mno-red-zone -mcmodel=kernel; NO_SIMD is -mno-mmx
# -mno-sse; -xO3 is -O2 and cw's optim_disable(); cw always adds -fident
# -finline -fno-inline-functions -fno-builtin -fno-asm.  Left out: the
# illumos gcc's -msave-args and -fno-clone-functions, which the host's gcc
# does not have, and -fno-unit-at-a-time, which no current gcc accepts.
# -fno-pic -fno-pie: the host's gcc may default to PIE, illumos's does not.
KFLAGS="-std=gnu99 -m64 -fno-pic -fno-pie -O2 -fno-strict-aliasing \
    -fno-optimize-sibling-calls \
    -ffreestanding -mno-red-zone -mcmodel=kernel -mno-mmx -mno-sse \
    -fident -finline -fno-inline-functions -fno-builtin -fno-asm \
    -fno-inline-small-functions -fno-inline-functions-called-once \
    -fno-ipa-cp -fno-ipa-icf \
    -fno-reorder-functions -fno-reorder-blocks-and-partition \
    -fno-aggressive-loop-optimizations --param=max-inline-insns-single=450 \
    -fno-shrink-wrap -mindirect-branch=thunk-extern -mindirect-branch-register \
    -fno-asynchronous-unwind-tables -fstack-protector-strong -nostdinc"

# CERRWARN (uts/Makefile.uts): -errtags/-v are -Wall -Wextra, less what it
# switches off, and -Winline (CCWARNINLINE).  The last two below differ
# between the host's and illumos's builtin declarations and printf formats
# (%b and friends), whatever the patch.
WARN="-Wall -Wextra -Winline -Wno-missing-braces -Wno-sign-compare \
    -Wno-unknown-pragmas -Wno-unused-parameter \
    -Wno-missing-field-initializers \
    -Wno-builtin-declaration-mismatch -Wno-format"
# uts/intel/zfs/Makefile's CERRWARN additions.
ZFS_WARN="-Wno-type-limits -Wno-switch -Wno-parentheses \
    -Wno-unused-variable -Wno-unused-function -Wno-unused-label"

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

# unit FILE DEFINES WARNINGS INCDIRS...: compiles FILE (relative to the
# tree) as patched and, if the tree has it, as it is.
unit() {
	file=$1
	defs=$2
	warn=$3
	shift 3
	inc_tree=
	inc_patched=
	for d in "$@"; do
		inc_tree="$inc_tree -I$tree/$d"
		inc_patched="$inc_patched -I$scratch/$d -I$tree/$d"
	done
	inc_tree="$inc_tree -I$gen"
	inc_patched="$inc_patched -I$gen"
	if [ ! -f "$scratch/$file" ]; then
		echo "check-compile: $file is not in the patched copy" >&2
		failed=1
		return
	fi
	deps=$work/deps.$(echo "$file" | tr / _)
	# shellcheck disable=SC2086
	if ! gcc -c -o /dev/null -MD -MF "$deps.patched" $KFLAGS $KDEFS \
	    $defs $WARN $warn $inc_patched "$scratch/$file" \
	    >"$work/patched.log" 2>&1; then
		echo "check-compile: FAILED: $file does not compile patched:" >&2
		grep -E ': (fatal )?error: ' "$work/patched.log" | head -20 >&2
		failed=1
		return
	fi
	diagnostics <"$work/patched.log" >"$work/patched.diag"
	if [ -f "$tree/$file" ]; then
		# shellcheck disable=SC2086
		gcc -c -o /dev/null -MD -MF "$deps.tree" $KFLAGS $KDEFS \
		    $defs $WARN $warn $inc_tree "$tree/$file" \
		    >"$work/tree.log" 2>&1 || true
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

# INCLUDE_PATH = PRE_INC_PATH INC_PATH -I$(UTSBASE)/common, with INC_PATH
# in the order the module's Makefile includes the Makefile.files.
MISC_INC="usr/src/uts/intel usr/src/uts/common"
ZFS_INC="usr/src/uts/intel usr/src/uts/common/fs/zfs \
    usr/src/uts/common/fs/zfs/lua usr/src/common usr/src/common/zfs \
    usr/src/uts/i86pc usr/src/uts/common"
VMM_INC="usr/src/compat/bhyve usr/src/compat/bhyve/amd64 \
    usr/src/contrib/bhyve usr/src/contrib/bhyve/amd64 \
    usr/src/uts/i86pc usr/src/common usr/src/uts/i86xpv \
    usr/src/uts/common/xen usr/src/uts/intel \
    usr/src/uts/intel/io/vmm usr/src/uts/intel/io/vmm/io usr/src/uts/common"
VMM_DEFS="-Di86pc -D_MACHDEP -DVMM_KEEP_STATS"

# shellcheck disable=SC2086
{
	unit usr/src/uts/common/os/arctun.c "" "" $MISC_INC
	unit usr/src/uts/common/fs/zfs/arc.c "" "$ZFS_WARN" $ZFS_INC
	unit usr/src/uts/common/fs/zfs/dbuf.c "" "$ZFS_WARN" $ZFS_INC
	for f in $(grep '^usr/src/uts/intel/io/vmm/.*\.c$' "$touched"); do
		unit "$f" "$VMM_DEFS" "" $VMM_INC
	done
}

# The tree's style checks, on what the series changes (cstyle) and adds
# (hdrchk, for headers), as "make check" runs them.
cstyle=$tree/usr/src/tools/scripts/cstyle.pl
hdrchk=$tree/usr/src/tools/scripts/hdrchk.py
for f in $(grep -E '\.[ch]$' "$touched"); do
	[ -f "$scratch/$f" ] || continue
	if ! out=$(perl "$cstyle" -pP "$scratch/$f" 2>&1) || [ -n "$out" ]; then
		echo "check-compile: FAILED: cstyle -pP $f:" >&2
		echo "$out" | sed "s|$scratch/||" >&2
		failed=1
	else
		echo "check-compile: ok: cstyle -pP $f"
	fi
	case $f in
	*.h)
		[ -f "$tree/$f" ] && continue
		if ! out=$(cd "$tree/usr/src/tools/scripts" &&
		    python3 "$hdrchk" "$scratch/$f" 2>&1) || [ -n "$out" ]; then
			echo "check-compile: FAILED: hdrchk $f:" >&2
			echo "$out" | sed "s|$scratch/||" >&2
			failed=1
		else
			echo "check-compile: ok: hdrchk $f"
		fi
		;;
	esac
done

# With CHECK_COMPILE_DEPS=FILE, the tree's files the compiles read (their
# headers) go to FILE, one path a line: gate-tree.sh lists them.
if [ -n "${CHECK_COMPILE_DEPS:-}" ]; then
	cat "$work"/deps.* 2>/dev/null | tr ' \\' '\n\n' |
	    sed -n "s|^$tree/||p" | sort -u >"$CHECK_COMPILE_DEPS"
fi

if [ "$failed" -ne 0 ]; then
	exit 1
fi
echo "check-compile: every changed C file compiles, with no new" \
    "diagnostics; cstyle and hdrchk are clean"
