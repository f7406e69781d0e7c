#!/usr/bin/env bash
# Builds leafd for every Pi target and prints a markdown table of stripped binary sizes
# (for the README). Builds run one after another (shared cores); each takes minutes cold.
#
#   cross/sizes.sh                  # profile release
#   cross/sizes.sh release release-z
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
profiles=("${@:-release}")
targets=(aarch64-unknown-linux-musl aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf)

strip_for() {
  case $1 in
    aarch64-*) echo aarch64-linux-gnu-strip ;;
    armv7-*) echo arm-linux-gnueabihf-strip ;;
  esac
}

rows=()
for profile in "${profiles[@]}"; do
  for target in "${targets[@]}"; do
    bin=$("$here/build.sh" "$target" "$profile")
    # Measure a stripped copy: profiles without `strip = true` would otherwise count symbols.
    tmp=$(mktemp)
    cp "$bin" "$tmp"
    "$(strip_for "$target")" "$tmp" 2>/dev/null || echo "sizes.sh: could not strip $bin" >&2
    bytes=$(stat -c %s "$tmp")
    rm -f "$tmp"
    mib=$(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 1048576 }')
    grouped=$(echo "$bytes" | sed ":a;s/\B[0-9]\{3\}\>/,&/;ta")
    rows+=("| $target | $profile | $grouped | $mib |")
  done
done

echo "| target | profile | stripped bytes | MiB |"
echo "|---|---|---|---|"
printf '%s\n' "${rows[@]}"
