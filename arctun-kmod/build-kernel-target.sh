#!/bin/sh
# Builds the arctun kernel module's Rust half for the illumos kernel target
# and links it into the one relocatable object the module's C glue links
# with. The one command for this: CI runs it, and so that an illumos build
# makes the same object, the module's Makefile (uts/intel/arctun/Makefile)
# can run it too, with ARCTUN_TARGET_DIR set to its object directory.
#
#   arctun-kmod/build-kernel-target.sh
#
# A POSIX sh script: the Makefile runs it with $(SH), which is ksh93 on
# illumos and may be dash elsewhere.
#
# Environment:
#   CARGO, RUSTC  the toolchain. It must be able to rebuild `core` for the
#                 target (-Zbuild-std=core: a rustc whose sysroot has the
#                 library source). Defaults: on Linux, Debian's rustc-web,
#                 cargo-web and rust-web-src (/usr/bin/cargo, /usr/bin/rustc;
#                 .ci/install-debian-rust installs them); elsewhere, the
#                 `cargo` and `rustc` on PATH.
#   LD            the linker for `ld -r`: GNU ld on Linux, the illumos link
#                 editor on illumos. Default: `ld` on PATH.
#   ARCTUN_TARGET_DIR
#                 where cargo builds and the object goes. Default:
#                 arctun-kmod/target.
#
# The script sets RUSTC_BOOTSTRAP=1 itself (the -Z flags below are
# unstable; the toolchain is a release) and its own RUSTFLAGS: they are
# part of the kernel's ABI, not a choice of the caller.
#
# Output: cargo's progress on standard error; on standard output exactly
# two lines, both absolute paths:
#   $ARCTUN_TARGET_DIR/x86_64-unknown-illumos-kernel/release/arctun.o
#   $ARCTUN_TARGET_DIR/x86_64-unknown-illumos-kernel/release/libarctun.a
# the relocatable object (the library linked with the module's entry
# points as roots), then, on the last line, the static library.
set -eu

kmod=$(cd "$(dirname "$0")" && pwd)
target=x86_64-unknown-illumos-kernel
target_dir=${ARCTUN_TARGET_DIR:-$kmod/target}
mkdir -p "$target_dir"
target_dir=$(cd "$target_dir" && pwd)

case "$(uname -s)" in
Linux)
    CARGO=${CARGO:-/usr/bin/cargo}
    RUSTC=${RUSTC:-/usr/bin/rustc}
    ;;
*)
    CARGO=${CARGO:-cargo}
    RUSTC=${RUSTC:-rustc}
    ;;
esac
LD=${LD:-ld}

for tool in "$CARGO" "$RUSTC" "$LD"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "build-kernel-target.sh: $tool not found (set CARGO, RUSTC, LD)" >&2
        exit 1
    fi
done
sysroot=$("$RUSTC" --print sysroot)
if [ ! -d "$sysroot/lib/rustlib/src/rust/library/core" ]; then
    echo "build-kernel-target.sh: $RUSTC has no library source in $sysroot/lib/rustlib/src" \
        "(-Zbuild-std=core needs it: Debian's rust-web-src, or rustup's rust-src)" >&2
    exit 1
fi

# The code generation the kernel expects of every function, besides what
# the target file fixes (kernel code model, no red zone, soft float, no
# SSE/AVX, static relocations, frame pointers):
# - retpolines: every indirect call and jump goes through the kernel's
#   __x86_indirect_thunk_<reg>, as -mindirect-branch=thunk-extern does for
#   the C code;
# - the frame set up at each function's entry (push %rbp; mov %rsp,%rbp)
#   on every path, as -fno-shrink-wrap does for the C code: DTrace's fbt
#   puts the entry probe on the first push %rbp. (Its return probes go on
#   each `ret`: a path that leaves by a tail call, `jmp` to another
#   function, fires none, as with gcc's sibling calls in the C code.)
# Frame pointers are forced by the target already (frame-pointer: always);
# the flag says it again so that no target file change can drop them.
export RUSTFLAGS="-Zretpoline-external-thunk -Cforce-frame-pointers=yes -Cllvm-args=-enable-shrink-wrap=false"
unset CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS RUSTC_WRAPPER RUSTC_WORKSPACE_WRAPPER \
    CARGO_BUILD_TARGET CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR
export RUSTC RUSTC_BOOTSTRAP=1

"$CARGO" build --release --locked \
    -Zjson-target-spec -Zbuild-std=core \
    --manifest-path "$kmod/Cargo.toml" \
    --target "$kmod/$target.json" \
    --target-dir "$target_dir" >&2

out="$target_dir/$target/release"
"$LD" -r -o "$out/arctun.o" \
    -u arctun_mod_init -u arctun_mod_busy -u arctun_mod_fini \
    "$out/libarctun.a" >&2

echo "$out/arctun.o"
echo "$out/libarctun.a"
