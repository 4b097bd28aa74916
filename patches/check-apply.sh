#!/bin/sh
#
# This Source Code Form is subject to the terms of the Mozilla Public
# License, v. 2.0. If a copy of the MPL was not distributed with this
# file, You can obtain one at https://mozilla.org/MPL/2.0/.
#

#
# Checks that the patch series applies, in the order of `series`, to an
# illumos-gate tree at the commit gate-tree.txt names (a full checkout, or
# the sparse tree gate-tree.sh builds):
#
#	patches/check-apply.sh TREE	(or ILLUMOS_SRC=TREE patches/check-apply.sh)
#
# TREE is left untouched: the files the series modifies are copied into a
# scratch directory, and there each patch is first checked with
# `git apply --check` against the result of the patches before it, then
# applied.  With no tree the check says so and exits 2.
#
# With --keep DIR, the patched copies are left in DIR (check-compile.sh
# uses them).
#

set -eu

here=$(cd "$(dirname "$0")" && pwd)
keep=
if [ "${1:-}" = "--keep" ]; then
	keep=${2:?--keep needs a directory}
	shift 2
fi
tree=${1:-${ILLUMOS_SRC:-}}

if [ -z "$tree" ]; then
	echo "check-apply: no illumos tree given (usage: $0 [--keep DIR]" \
	    "TREE, or set ILLUMOS_SRC; gate-tree.sh builds one)" >&2
	exit 2
fi
if [ ! -d "$tree/usr/src/uts" ]; then
	echo "check-apply: $tree is not an illumos tree (no usr/src/uts)" >&2
	exit 2
fi
command -v git >/dev/null 2>&1 || {
	echo "check-apply: git is required" >&2
	exit 2
}

if [ -n "$keep" ]; then
	scratch=$keep
	rm -rf "$scratch"
	mkdir -p "$scratch"
else
	scratch=$(mktemp -d "${TMPDIR:-/tmp}/check-apply.XXXXXX")
	trap 'rm -rf "$scratch"' EXIT
fi

# git apply outside a repository patches relative to the working
# directory; keep git from finding a repository above the scratch copy.
GIT_CEILING_DIRECTORIES=$(cd "$scratch/.." && pwd)
export GIT_CEILING_DIRECTORIES

patches=$(grep -v '^[[:space:]]*#' "$here/series" | grep -v '^[[:space:]]*$')
[ -n "$patches" ] || { echo "check-apply: empty series" >&2; exit 2; }

# The files the series touches that already exist in the tree.
for p in $patches; do
	[ -f "$here/$p" ] || { echo "check-apply: $p is missing" >&2; exit 2; }
	sed -n 's|^diff --git a/\([^ ]*\) b/.*|\1|p' "$here/$p"
done | sort -u | while read -r f; do
	if [ -f "$tree/$f" ]; then
		mkdir -p "$scratch/$(dirname "$f")"
		cp "$tree/$f" "$scratch/$f"
	fi
done

if [ -d "$tree/.git" ] || git -C "$tree" rev-parse >/dev/null 2>&1; then
	echo "check-apply: tree $tree at" \
	    "$(git -C "$tree" log -1 --format='%h %s' 2>/dev/null || echo '?')"
fi

n=0
for p in $patches; do
	n=$((n + 1))
	if ! (cd "$scratch" && git apply --check "$here/$p"); then
		echo "check-apply: FAILED: $p does not apply" \
		    "(after $((n - 1)) patches)" >&2
		exit 1
	fi
	(cd "$scratch" && git apply "$here/$p")
	echo "check-apply: ok: $p"
done
echo "check-apply: all $n patches apply in order"
