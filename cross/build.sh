#!/usr/bin/env bash
# Cross-builds the leafd binary and prints ONLY its absolute path on stdout (logs on stderr):
#
#   LEAFD_BIN=$(cross/build.sh aarch64-unknown-linux-musl)        # profile "release"
#   LEAFD_BIN=$(cross/build.sh armv7-unknown-linux-gnueabihf dev)  # any cargo profile
#   $(cross/qemu-cmd.sh aarch64-unknown-linux-musl) "$LEAFD_BIN" --version
#
# TARGET: aarch64-unknown-linux-musl | aarch64-unknown-linux-gnu |
#         armv7-unknown-linux-gnueabihf | host (the build machine itself, no cross config).
# PROFILE: release (default), release-z, ci, dev, ... (any profile in Cargo.toml).
# CARGO_BUILD_JOBS defaults to 2: the build machine's 2 cores are shared, so run one build at a time.
set -euo pipefail

die() { echo "cross/build.sh: $*" >&2; exit 1; }

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: cross/build.sh TARGET [PROFILE]"
target=$1
profile=${2:-release}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

case $target in
  aarch64-unknown-linux-musl | aarch64-unknown-linux-gnu)
    linker=aarch64-linux-gnu-gcc; packages="gcc-aarch64-linux-gnu libc6-dev-arm64-cross" ;;
  armv7-unknown-linux-gnueabihf)
    linker=arm-linux-gnueabihf-gcc; packages="gcc-arm-linux-gnueabihf libc6-dev-armhf-cross" ;;
  host) linker= ;;
  *) die "unsupported target '$target' (supported: aarch64-unknown-linux-musl, aarch64-unknown-linux-gnu, armv7-unknown-linux-gnueabihf, host)" ;;
esac

args=(build --bin leafd --profile "$profile" --message-format=json-render-diagnostics)
if [ -n "$linker" ]; then
  command -v "$linker" >/dev/null \
    || die "linker $linker not found: apt-get install $packages"
  if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$target"; then
    die "Rust std for $target is not installed: rustup target add $target"
  fi
  args=(--config "$root/cross/config.toml" "${args[@]}" --target "$target")
fi

echo "cross/build.sh: cargo ${args[*]}" >&2
start=$(date +%s)
# cargo prints JSON on stdout (one line per artifact) and human diagnostics on stderr.
json=$(cd "$root" && CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} cargo "${args[@]}") \
  || die "cargo build failed for $target ($profile)"
bin=$(printf '%s\n' "$json" | grep '"reason":"compiler-artifact"' \
  | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
[ -n "$bin" ] && [ -x "$bin" ] || die "cargo did not report a leafd executable"
echo "cross/build.sh: built $bin in $(( $(date +%s) - start ))s" >&2
printf '%s\n' "$bin"
