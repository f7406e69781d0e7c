#!/usr/bin/env bash
# Builds leafd's release artifacts for Raspberry Pi class boards, checks each one, and
# writes them with SHA-256 sums to target/dist/ (path printed last on stdout):
#
#   cross/release.sh               # every target below, plus the .debs if cross/deb.sh exists
#   cross/release.sh --no-armv6    # skip the ARMv6 build (it needs -Zbuild-std, ~4 min more)
#
# | artifact                               | boards                                   | how |
# |----------------------------------------|------------------------------------------|-----|
# | leafd-VERSION-aarch64-linux-musl       | Pi 3/4/5, Zero 2 W, 64-bit OS (any distro) | cargo + Debian cross gcc, static |
# | leafd-VERSION-armv7-linux-gnueabihf    | Pi 2/3/4, 32-bit Raspberry Pi OS, glibc >= 2.28 (buster on) | cargo-zigbuild, glibc pinned to 2.28 |
# | leafd-VERSION-armv6-linux-musleabihf   | Pi Zero/1 (and every 32-bit Pi), static  | cargo-zigbuild -Zbuild-std (RUSTC_BOOTSTRAP) |
#
# Checks: aarch64 is static; armv7 needs no GLIBC symbol above 2.28; armv6 has only ARMv6
# code (readelf -A) and runs under `qemu-arm -cpu arm1176` (the Pi Zero/1 CPU, where ARMv7
# code dies with SIGILL); every binary runs `--version` and `check-config --board` under qemu.
# Needs: the cross gcc packages and rustup targets of cross/build.sh, qemu-user, python3
# (zig and cargo-zigbuild come from PyPI into target/zig-venv), rust-src for -Zbuild-std.
set -euo pipefail

die() { echo "cross/release.sh: $*" >&2; exit 1; }
say() { echo "cross/release.sh: $*" >&2; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
armv6=1
for arg in "$@"; do
  case $arg in
    --no-armv6) armv6=0 ;;
    *) die "usage: cross/release.sh [--no-armv6]" ;;
  esac
done

version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n 1)
dist="$root/target/dist"
zigdir="$root/target/zig"
venv="$root/target/zig-venv"
rm -rf "$dist"
mkdir -p "$dist"

# --- tools --------------------------------------------------------------------------
zig_tools() {
  if [ ! -x "$venv/bin/cargo-zigbuild" ]; then
    say "installing ziglang and cargo-zigbuild into $venv"
    python3 -m venv "$venv" || die "python3 -m venv failed: apt-get install python3-venv"
    "$venv/bin/pip" install --quiet ziglang cargo-zigbuild \
      || die "pip install ziglang cargo-zigbuild failed (PyPI reachable?)"
  fi
  export PATH="$venv/bin:$PATH"
}

# Smoke test under qemu: the binary starts and reads a board profile.
smoke() { # QEMU-PREFIX... BIN
  local bin=${*: -1}
  "$@" --version >/dev/null || die "$bin does not run: $* --version"
  "$@" check-config --board rpi-zero-2w >/dev/null || die "$bin: check-config failed"
}

put() { # BIN NAME
  cp "$1" "$dist/$2"
  chmod 0755 "$dist/$2"
  say "$2: $(stat -c %s "$dist/$2") bytes"
}

# --- aarch64, static musl -----------------------------------------------------------
bin=$("$root/cross/build.sh" aarch64-unknown-linux-musl release)
file -b "$bin" | grep -q "statically linked" || die "$bin is not static: $(file -b "$bin")"
smoke qemu-aarch64 "$bin"
put "$bin" "leafd-$version-aarch64-linux-musl"

# --- armv7, glibc pinned to 2.28 ----------------------------------------------------
zig_tools
say "cargo zigbuild --release --target armv7-unknown-linux-gnueabihf.2.28"
(cd "$root" && CARGO_TARGET_DIR="$zigdir" CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} \
  cargo zigbuild --quiet --release --bin leafd --target armv7-unknown-linux-gnueabihf.2.28) \
  || die "armv7 zigbuild failed"
bin="$zigdir/armv7-unknown-linux-gnueabihf/release/leafd"
newest=$(arm-linux-gnueabihf-readelf -V "$bin" | grep -o 'GLIBC_2\.[0-9]*' | cut -d. -f2 | sort -n | tail -n 1)
[ -n "$newest" ] && [ "$newest" -le 28 ] || die "$bin needs GLIBC_2.$newest, more than the 2.28 it was pinned to"
say "armv7: newest glibc symbol GLIBC_2.$newest"
smoke qemu-arm -L /usr/arm-linux-gnueabihf "$bin"
put "$bin" "leafd-$version-armv7-linux-gnueabihf"

# --- armv6, static musl (Pi Zero/1) -------------------------------------------------
if [ "$armv6" = 1 ]; then
  if ! rustup component list --installed 2>/dev/null | grep -qx 'rust-src'; then
    say "rustup component add rust-src (for -Zbuild-std)"
    rustup component add rust-src >&2 || die "rustup component add rust-src failed"
  fi
  say "cargo zigbuild -Zbuild-std --release --target arm-unknown-linux-musleabihf"
  (cd "$root" && CARGO_TARGET_DIR="$zigdir" CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} \
    RUSTC_BOOTSTRAP=1 RUSTFLAGS="-C link-self-contained=no" \
    cargo zigbuild --quiet -Zbuild-std=std,panic_abort --release --bin leafd \
    --target arm-unknown-linux-musleabihf) \
    || die "ARMv6 build failed (it relies on RUSTC_BOOTSTRAP=1 -Zbuild-std and rust-src; see shared/CROSS.md)"
  bin="$zigdir/arm-unknown-linux-musleabihf/release/leafd"
  arch=$(arm-linux-gnueabihf-readelf -A "$bin" | sed -n 's/.*Tag_CPU_arch: //p' | head -n 1)
  [ "$arch" = "v6" ] || die "$bin is built for '$arch', not v6"
  smoke qemu-arm -cpu arm1176 "$bin"
  put "$bin" "leafd-$version-armv6-linux-musleabihf"
fi

# --- packages -----------------------------------------------------------------------
# arm64: the static binary above. armhf: the glibc-2.28 zig build above, not a gcc one.
if [ -x "$root/cross/deb.sh" ]; then
  deb=$("$root/cross/deb.sh" arm64) || die "cross/deb.sh arm64 failed"
  cp "$deb" "$dist/"
  say "$(basename "$deb"): $(stat -c %s "$deb") bytes"
  deb=$(CARGO_TARGET_DIR="$zigdir" LEAFD_DEB_NO_BUILD=1 LEAFD_DEB_VARIANT=armhf-glibc2-28     "$root/cross/deb.sh" armhf) || die "cross/deb.sh armhf failed"
  cp "$deb" "$dist/"
  say "$(basename "$deb"): $(stat -c %s "$deb") bytes"
fi

(cd "$dist" && sha256sum -- * > SHA256SUMS)
say "artifacts in $dist:"
(cd "$dist" && ls -l >&2)
echo "$dist"
