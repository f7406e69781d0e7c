#!/usr/bin/env bash
# Prints the command prefix that runs a binary for TARGET on this machine, taken from the
# `runner` in cross/config.toml (one source of truth); with BIN, the whole command line:
#
#   cross/qemu-cmd.sh armv7-unknown-linux-gnueabihf        # qemu-arm -L /usr/arm-linux-gnueabihf
#   $(cross/qemu-cmd.sh aarch64-unknown-linux-musl "$LEAFD_BIN") --version
#
# For `host` (or a target without a runner) the prefix is empty. Word splitting is
# intended; paths containing spaces are not supported.
set -euo pipefail

die() { echo "cross/qemu-cmd.sh: $*" >&2; exit 1; }

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: cross/qemu-cmd.sh TARGET [BIN]"
target=$1
config="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/config.toml"

runner=
if [ "$target" != host ]; then
  grep -qx "\[target\.$target\]" "$config" \
    || die "no [target.$target] in cross/config.toml"
  # The `runner = ["a", "b"]` line inside this target's table, as words.
  runner=$(awk -v t="[target.$target]" '
      $0 == t { inside = 1; next }
      /^\[/   { inside = 0 }
      inside && /^runner *=/ { sub(/^runner *= *\[/, ""); sub(/\].*$/, ""); gsub(/[",]/, " "); print; exit }
    ' "$config" | xargs)
fi

if [ -n "$runner" ]; then
  qemu=${runner%% *}
  command -v "$qemu" >/dev/null || die "$qemu not found: apt-get install qemu-user"
fi

printf '%s\n' "$runner${2:+${runner:+ }$2}"
