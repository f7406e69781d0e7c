#!/usr/bin/env bash
# Builds the leafd .deb for one Debian architecture and prints ONLY its absolute path on
# stdout (logs on stderr):
#
#   DEB=$(cross/deb.sh arm64)            # static aarch64 musl binary, no Depends
#   DEB=$(cross/deb.sh armhf release-z)  # armv7 glibc binary, Depends: libc6 (>= ...)
#
# ARCH: arm64 (aarch64-unknown-linux-musl) | armhf (armv7-unknown-linux-gnueabihf).
# PROFILE: release (default) or any other cargo profile but dev (cargo-deb refuses it).
# The package metadata is [package.metadata.deb] in Cargo.toml; the unit and the default
# config are in cross/deb/. The binary comes from cross/build.sh, then
# `cargo deb --no-build` packages exactly that file.
#
# Environment:
#   LEAFD_DEB_NO_BUILD=1   do not build: package the binary already at
#                          $CARGO_TARGET_DIR/<triple>/<profile>/leafd (e.g. one that
#                          cross/release.sh built with cargo-zigbuild)
#   LEAFD_DEB_VARIANT      a [package.metadata.deb.variants.*] name (default: none for
#                          arm64, "armhf" for armhf); e.g. armhf-glibc2-28 for a zig build
#                          pinned to glibc 2.28
#   LEAFD_DEB_MAINTAINER   the Maintainer field, "Name <email>" (default from Cargo.toml)
#   CARGO_TARGET_DIR       as for cargo; the .deb goes to $CARGO_TARGET_DIR/debian/
#
# Before packaging it checks the binary against the Depends it will be shipped with: the
# arm64 one is static (no NEEDED entries, so no Depends); for an armhf one every NEEDED
# library must belong to a package in Depends whose floor covers the highest symbol version
# the binary uses (GLIBC_x.y for libc6, GCC_x.y for libgcc-s1).
#
# Needs: cargo-deb 3.8 (cargo install --locked cargo-deb --version 3.8.0), binutils
# (readelf), python3, and what cross/build.sh needs.
set -euo pipefail

die() { echo "cross/deb.sh: $*" >&2; exit 1; }

if [ $# -lt 1 ] || [ $# -gt 2 ]; then die "usage: cross/deb.sh arm64|armhf [PROFILE]"; fi
arch=$1
profile=${2:-release}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

case $arch in
  arm64) triple=aarch64-unknown-linux-musl; variant=${LEAFD_DEB_VARIANT:-} ;;
  armhf) triple=armv7-unknown-linux-gnueabihf; variant=${LEAFD_DEB_VARIANT:-armhf} ;;
  *) die "unsupported ARCH '$arch' (supported: arm64, armhf)" ;;
esac
[ "$profile" != dev ] || die "cargo-deb does not package the dev profile; use release or release-z"

cargo deb --version >/dev/null 2>&1 \
  || die "cargo-deb is not installed: cargo install --locked cargo-deb --version 3.8.0"
command -v readelf >/dev/null || die "readelf not found: apt-get install binutils"
command -v python3 >/dev/null || die "python3 not found: apt-get install python3"

target_dir=$(cd "$root" && cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
expected=$target_dir/$triple/$profile/leafd
if [ "${LEAFD_DEB_NO_BUILD:-0}" = 1 ]; then
  bin=$expected
  [ -x "$bin" ] || die "LEAFD_DEB_NO_BUILD=1 but there is no binary at $bin"
else
  bin=$("$root/cross/build.sh" "$triple" "$profile")
  # cargo-deb resolves target/release/leafd to this same path; make sure it is the one built.
  [ "$bin" -ef "$expected" ] || die "cross/build.sh built $bin, but cargo-deb would package $expected"
fi

# The Depends this variant declares, from Cargo.toml (a variant's value wins over the base).
depends=$(python3 - "$root/Cargo.toml" "$variant" <<'EOF'
import sys, tomllib
deb = tomllib.load(open(sys.argv[1], "rb"))["package"]["metadata"]["deb"]
variant = sys.argv[2]
if variant:
    if variant not in deb.get("variants", {}):
        sys.exit(f"no [package.metadata.deb.variants.{variant}] in Cargo.toml")
    deb = {**deb, **deb["variants"][variant]}
print(deb.get("depends", "$auto"))
EOF
) || die "cannot read the Depends for variant '${variant:-<base>}' from Cargo.toml"

needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u | tr '\n' ' ')
echo "cross/deb.sh: $bin: NEEDED [${needed% }]; Depends: '$depends'" >&2
case $depends in
  *"\$auto"*) die "Depends must be explicit for ${variant:-the base package} (\$auto writes libc6 >= the build host's)" ;;
esac
# Every NEEDED library must come from a package in Depends, at a version no lower than the
# highest symbol version the binary asks of it (GLIBC_2.34 -> libc6 (>= 2.34); GCC_4.3.0
# -> libgcc-s1 (>= 4.3), as Debian's symbols file for libgcc-s1 says).
highest() { # PREFIX: the highest version the binary needs among symbols PREFIXx.y[.z]
  readelf -V --wide "$bin" | { grep -o "$1[0-9][0-9.]*" || true; } | sed "s/^$1//; s/\(\.0\)*$//" \
    | sort -uV | tail -n 1
}
for lib in $needed; do
  case $lib in
    libc.so.6 | libm.so.6 | libpthread.so.0 | libdl.so.2 | librt.so.1 | ld-linux*) pkg=libc6 prefix=GLIBC_ ;;
    libgcc_s.so.1) pkg=libgcc-s1 prefix=GCC_ ;;
    *) die "$bin needs $lib: add its package to Depends and a rule for it here" ;;
  esac
  floor=$(printf '%s\n' "$depends" | sed -n "s/.*\b$pkg (>= \([0-9.]*\)).*/\1/p")
  [ -n "$floor" ] || die "$bin needs $lib, but Depends '$depends' has no '$pkg (>= X)'"
  need=$(highest "$prefix")
  if [ -n "$need" ] && [ "$(printf '%s\n%s\n' "$need" "$floor" | sort -V | tail -n 1)" != "$floor" ]; then
    die "$bin needs $prefix$need from $lib but Depends says '$pkg (>= $floor)': raise it in Cargo.toml"
  fi
  echo "cross/deb.sh: $lib: needs $prefix${need:-?}, Depends $pkg (>= $floor): ok" >&2
done

# --no-strip: every profile strips at link time (Cargo.toml's release has strip = true, and
# the others inherit it); cargo-deb sees that only for `release` and would strip the binary
# of any other profile again, so the package would not hold the binary that was built.
args=(deb --no-build --no-strip --target "$triple" --profile "$profile" --output "$target_dir/debian/")
[ -z "$variant" ] || args+=(--variant "$variant")
[ -z "${LEAFD_DEB_MAINTAINER:-}" ] || args+=(--maintainer "$LEAFD_DEB_MAINTAINER")
echo "cross/deb.sh: cargo ${args[*]}" >&2
# cargo-deb prints the path of the package it wrote as its last line on stdout.
deb=$(cd "$root" && cargo "${args[@]}" | tail -n 1) || die "cargo deb failed"
[ -f "$deb" ] || die "cargo deb did not report a .deb (got '$deb')"
deb=$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")
echo "cross/deb.sh: $deb ($(stat -c %s "$deb") bytes)" >&2
printf '%s\n' "$deb"
