#!/bin/sh
#
# This Source Code Form is subject to the terms of the Mozilla Public
# License, v. 2.0. If a copy of the MPL was not distributed with this
# file, You can obtain one at https://mozilla.org/MPL/2.0/.
#

#
# Builds the sparse illumos-gate tree that check-apply.sh and
# check-compile.sh run on: the files gate-tree.txt lists, at the commits it
# names, each checked against its blob hash.
#
#	patches/gate-tree.sh DEST [SOURCE]
#
# With SOURCE a git clone of illumos-gate that has the commits (any clone
# of master from 2025-02-03 on), the files come from it (git cat-file);
# with SOURCE a checkout without its history (an unpacked snapshot of the
# pinned commit), they are copied from it; without SOURCE, they come from
# GitHub's raw file service over HTTPS (curl), which needs a network that
# reaches it.  Each file is checked against its blob hash whatever its
# source.  DEST must not exist yet.  Then:
#
#	ILLUMOS_SRC=DEST cargo test -p arctun-checks --test patches -- --ignored
#
# To list the files anew from a full tree (after a change of the series or
# of the pinned commit), run check-compile.sh on that tree with
# CHECK_COMPILE_DEPS=FILE; gate-tree.txt is the files the series touches,
# FILE, and the tools named in its header, at that tree's commit.
#

set -eu

here=$(cd "$(dirname "$0")" && pwd)
list=$here/gate-tree.txt
dest=${1:?usage: $0 DEST [SOURCE]}
clone=${2:-}
checkout=

if [ -e "$dest" ]; then
	echo "gate-tree: $dest exists; give a new directory" >&2
	exit 2
fi
command -v git >/dev/null 2>&1 || {
	echo "gate-tree: git is required (to check each file's hash)" >&2
	exit 2
}
if [ -n "$clone" ]; then
	if ! git -C "$clone" rev-parse --git-dir >/dev/null 2>&1; then
		[ -d "$clone/usr/src/uts" ] || {
			echo "gate-tree: $clone is neither a git clone nor" \
			    "an illumos checkout (no usr/src/uts)" >&2
			exit 2
		}
		checkout=$clone
		clone=
	fi
elif [ -z "$checkout" ]; then
	command -v curl >/dev/null 2>&1 || {
		echo "gate-tree: without a clone, curl is required" >&2
		exit 2
	}
fi

mkdir -p "$dest"
n=0
grep -v '^#' "$list" | while read -r commit blob path; do
	mkdir -p "$dest/$(dirname "$path")"
	if [ -n "$clone" ]; then
		if ! git -C "$clone" cat-file blob "$commit:$path" \
		    >"$dest/$path" 2>/dev/null; then
			echo "gate-tree: $clone has no $path at $commit" >&2
			exit 1
		fi
	elif [ -n "$checkout" ]; then
		if ! cp "$checkout/$path" "$dest/$path" 2>/dev/null; then
			echo "gate-tree: $checkout has no $path" >&2
			exit 1
		fi
	else
		url=https://raw.githubusercontent.com/illumos/illumos-gate
		if ! curl -fsSL -o "$dest/$path" "$url/$commit/$path"; then
			echo "gate-tree: cannot fetch $path at $commit" >&2
			exit 1
		fi
	fi
	got=$(git hash-object "$dest/$path")
	if [ "$got" != "$blob" ]; then
		echo "gate-tree: $path is $got, gate-tree.txt says $blob" >&2
		exit 1
	fi
	n=$((n + 1))
	echo "$n" >"$dest/.gate-tree-count"
done
echo "gate-tree: $(cat "$dest/.gate-tree-count") files in $dest"
rm -f "$dest/.gate-tree-count"
