#!/usr/bin/env bash
# Runs a static aarch64 leafd inside a full-system arm64 VM (Debian's kernel, a busybox
# initramfs, the JetStream store on a virtual ext4 disk) with its client port forwarded to
# host loopback. Usable as a LEAFD_CMD template, so the integration suite runs against it:
#
#   BIN=$(cross/build.sh aarch64-unknown-linux-musl release)
#   LEAFD_CMD="$PWD/cross/qemu-system.sh --bin $BIN --port {port} --dir {dir}" \
#     LEAFD_TEST_TIMEOUT_SECS=30 cargo test --test tests -- pubsub::
#
#   cross/qemu-system.sh --bin BIN --port PORT --dir DIR [--] [LEAFD_ARGS...]
#   cross/qemu-system.sh --prepare      # only download and unpack what the VM needs
#
# The guest runs `leafd --listen 0.0.0.0:4222 --store /data/store LEAFD_ARGS...` and powers
# off when leafd exits (so does qemu: -no-reboot). Any LEAFD_ARG that names a file on the host
# (`--config F` or `--config=F`, as the test harness appends) is copied into the initramfs
# and the argument rewritten to the guest's copy.
#
# DIR/disk.img (ext4, 64 MiB) is made on the first launch and reused by every later launch
# with the same DIR: killing qemu (SIGKILL) and launching again is a power cut and a reboot
# with the store intact. The script ends by exec'ing qemu, so a signal to the launcher's pid
# hits qemu itself.
#
# Cached under target/qemu-system/ (prepared once, under a lock; safe to run concurrently):
#   apt/       while preparing: a private apt state for Debian's arm64 archive (no
#              dpkg --add-architecture); removed once the kernel and busybox are unpacked
#   base/      the arm64 kernel Image, its virtio/ext4 modules, busybox-static
#   qemu/      qemu-system-arm unpacked from Debian's .debs, used when qemu-system-aarch64 is
#              not on PATH. Not apt-installed: on bookworm that removes an installed
#              qemu-utils backport (qemu-utils 10 Breaks qemu-system-common << 8), even with
#              --no-install-recommends
#   initrd-<hash>.cpio  busybox + modules + /init + leafd, keyed by the binary and this script
#
# Needs: apt-get, dpkg-deb, cpio, mkfs.ext4 (e2fsprogs), flock, sha256sum.
# Environment: LEAFD_QEMU_SMP (1), LEAFD_QEMU_MEM (512, MiB), LEAFD_QEMU_CACHE (the cache dir),
# LEAFD_QEMU_DISK_MIB (64, only for a new disk).
set -euo pipefail

die() { echo "cross/qemu-system.sh: $*" >&2; exit 1; }
say() { echo "cross/qemu-system.sh: $*" >&2; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
self="$root/cross/qemu-system.sh"
cache=${LEAFD_QEMU_CACHE:-$root/target/qemu-system}
smp=${LEAFD_QEMU_SMP:-1}
mem=${LEAFD_QEMU_MEM:-512}
disk_mib=${LEAFD_QEMU_DISK_MIB:-64}
# Loaded in this order (dependencies first); crc32c_generic is ext4's soft dependency
# (metadata_csum), which no modprobe is there to resolve.
modules=(virtio_mmio virtio_blk failover net_failover virtio_net crc32c_generic crc16 mbcache jbd2 ext4)

bin='' port='' dir='' prepare_only=0
leafd_args=()
while [ $# -gt 0 ]; do
    case $1 in
        --bin) bin=${2:?--bin needs a path}; shift 2 ;;
        --port) port=${2:?--port needs a number}; shift 2 ;;
        --dir) dir=${2:?--dir needs a directory}; shift 2 ;;
        --prepare) prepare_only=1; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        --) shift; leafd_args+=("$@"); break ;;
        *) leafd_args+=("$1"); shift ;; # e.g. the harness's `--config FILE`
    esac
done

need() { command -v "$1" >/dev/null || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ] || die "$1 not found: $2"; }
sbin() { command -v "$1" 2>/dev/null || { [ -x "/usr/sbin/$1" ] && echo "/usr/sbin/$1"; } || echo "/sbin/$1"; }

# --- preparation (cached) -------------------------------------------------------------------

# Downloads with a private apt state for arm64 into $1 (CROSS.md, "Full-system QEMU").
fetch_arm64() {
    local work=$1 s="$cache/apt" k
    mkdir -p "$s/lists/partial" "$s/archives/partial"
    touch "$s/status"
    local a=(-o "Dir::State::Lists=$s/lists" -o "Dir::State::status=$s/status"
        -o "Dir::Cache::archives=$s/archives" -o "Dir::Cache::pkgcache=$s/pkgcache.bin"
        -o "Dir::Cache::srcpkgcache=$s/srcpkgcache.bin"
        -o APT::Architecture=arm64 -o APT::Architectures::=arm64)
    say "apt-get update (private arm64 state in $s)"
    apt-get "${a[@]}" update -qq >&2 \
        || die "apt-get update for arm64 failed: check network access to the Debian mirror in /etc/apt/sources.list(.d) (deb.debian.org)"
    k=$(apt-cache "${a[@]}" depends linux-image-arm64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
    [ -n "$k" ] || die "no linux-image-*-arm64 found behind linux-image-arm64 in the arm64 index"
    say "downloading $k busybox-static (arm64)"
    (cd "$work" && apt-get -qq "${a[@]}" download "$k" busybox-static >&2 2> >(grep -v '^W: Download is performed unsandboxed' >&2)) \
        || die "apt-get download $k busybox-static (arm64) failed: check the network and apt sources"
}

# Unpacks the kernel Image, the modules we load and busybox into $1/base.
unpack_base() {
    local work=$1 out=$1/base kver m f
    mkdir -p "$out/modules" "$work/x"
    for f in "$work"/linux-image-*.deb "$work"/busybox-static_*.deb; do
        dpkg-deb -x "$f" "$work/x"
    done
    kver=$(find "$work/x/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | head -n 1)
    cp "$work/x/boot/vmlinuz-$kver" "$out/Image"
    cp "$work/x/bin/busybox" "$out/busybox"
    for m in "${modules[@]}"; do
        f=$(find "$work/x/lib/modules/$kver" -name "$m.ko" | head -n 1)
        [ -n "$f" ] || die "module $m.ko is not in the $kver package"
        cp "$f" "$out/modules/"
    done
    echo "$kver" >"$out/kver"
}

# qemu-system-aarch64 from Debian's qemu-system-arm and whatever it needs that is not
# installed, unpacked into $1/qemu; nothing is installed on the host.
unpack_qemu() {
    local work=$1 pkgs f
    pkgs=$(apt-get -s install --no-install-recommends qemu-system-arm 2>/dev/null | awk '/^Inst / { print $2 }')
    [ -n "$pkgs" ] || die "apt cannot resolve qemu-system-arm: run apt-get update, or install qemu-system-arm yourself"
    mkdir -p "$work/qdebs" "$work/qemu"
    say "downloading qemu-system-arm for this host: $(tr '\n' ' ' <<<"$pkgs")"
    # shellcheck disable=SC2086 # one word per package
    (cd "$work/qdebs" && apt-get -qq download $pkgs >&2 2> >(grep -v '^W: Download is performed unsandboxed' >&2)) \
        || die "apt-get download qemu-system-arm failed: check the network, or install qemu-system-arm"
    for f in "$work"/qdebs/*.deb; do dpkg-deb -x "$f" "$work/qemu"; done
}

host_qemu() {
    if command -v qemu-system-aarch64 >/dev/null; then
        command -v qemu-system-aarch64
    else
        echo "$cache/qemu/usr/bin/qemu-system-aarch64"
    fi
}

# Points the dynamic loader at the unpacked qemu's libraries, and qemu at its data, when the
# unpacked one is used; sets qemu_data (qemu's extra arguments).
use_host_qemu() {
    qemu=$(host_qemu)
    qemu_data=()
    if [ "$qemu" = "$cache/qemu/usr/bin/qemu-system-aarch64" ]; then
        export LD_LIBRARY_PATH="$cache/qemu/usr/lib/x86_64-linux-gnu:$cache/qemu/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
        qemu_data=(-L "$cache/qemu/usr/share/qemu")
    fi
}

prepare() {
    [ -f "$cache/base/kver" ] && [ -x "$(host_qemu)" ] && return 0
    need apt-get "this needs Debian's apt to download the arm64 kernel and busybox"
    need dpkg-deb "apt-get install dpkg"
    need flock "apt-get install util-linux"
    mkdir -p "$cache"
    exec 9>"$cache/.lock"
    flock 9
    local work t0=$SECONDS
    if [ ! -f "$cache/base/kver" ]; then
        work=$(mktemp -d "$cache/tmp.XXXXXX")
        fetch_arm64 "$work"
        unpack_base "$work"
        mv -T "$work/base" "$cache/base"
        rm -rf "$work" "$cache/apt" # the indexes are only needed for this download
        say "kernel $(cat "$cache/base/kver") and busybox ready in $cache/base ($((SECONDS - t0)) s)"
    fi
    if [ ! -x "$(host_qemu)" ]; then
        work=$(mktemp -d "$cache/tmp.XXXXXX")
        unpack_qemu "$work"
        rm -rf "$cache/qemu"
        mv -T "$work/qemu" "$cache/qemu"
        rm -rf "$work"
        (use_host_qemu && "$qemu" --version | head -n 1 >&2) || die "the unpacked qemu-system-aarch64 does not run"
    fi
    flock -u 9
    exec 9>&-
}

# Writes the guest's /init into the initramfs staging directory $1.
write_init() {
    cat >"$1/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mkdir -p /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp /data /run
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
echo "init: start $(cut -d' ' -f1 /proc/uptime)s"
for m in $(cat /lib/modules/order); do insmod "/lib/modules/$m.ko" || echo "init: insmod $m failed"; done
echo "init: modules $(cut -d' ' -f1 /proc/uptime)s"
ip link set lo up
# qemu user networking: the guest is 10.0.2.15, the host's gateway 10.0.2.2.
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
n=0
while [ ! -b /dev/vda ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
mount -t ext4 /dev/vda /data || { echo "init: cannot mount /dev/vda"; poweroff -f; }
set --
while IFS= read -r a; do set -- "$@" "$a"; done </etc/leafd.args
echo "init: up $(cut -d' ' -f1 /proc/uptime)s; leafd --listen 0.0.0.0:4222 --store /data/store $*"
/bin/leafd --listen 0.0.0.0:4222 --store /data/store "$@"
echo "init: leafd exited with $?"
sync
umount /data
poweroff -f
EOF
    chmod +x "$1/init"
}

# Prints the path of the cached initramfs for $bin, building it if needed.
base_initrd() {
    local key out stage
    key=$(cat "$bin" "$self" "$cache/base/kver" | sha256sum | cut -c1-16)
    out="$cache/initrd-$key.cpio"
    if [ ! -f "$out" ]; then
        need cpio "apt-get install cpio"
        stage=$(mktemp -d "$cache/tmp.XXXXXX")
        mkdir -p "$stage/bin" "$stage/lib/modules" "$stage/etc"
        cp "$cache/base/busybox" "$stage/bin/busybox"
        cp "$bin" "$stage/bin/leafd"
        chmod 755 "$stage/bin/leafd"
        cp "$cache"/base/modules/*.ko "$stage/lib/modules/"
        printf '%s\n' "${modules[@]}" >"$stage/lib/modules/order"
        write_init "$stage"
        (cd "$stage" && find . | cpio -o -H newc -R 0:0 --quiet) >"$stage.cpio"
        mv -f "$stage.cpio" "$out" # atomic: a concurrent builder writes the same bytes
        rm -rf "$stage"
        # Initramfs images of older binaries (a rebuild makes a new one each time), and what
        # launchers killed while building left behind.
        find "$cache" -maxdepth 1 -name 'initrd-*.cpio' -mtime +1 -delete
        find "$cache" -maxdepth 1 -name 'tmp.*' -mmin +60 -exec rm -rf {} +
    else
        touch "$out" # in use: not pruned
    fi
    echo "$out"
}

prepare
if [ "$prepare_only" = 1 ]; then
    echo "kernel: $cache/base/Image ($(cat "$cache/base/kver")); qemu: $(host_qemu)"
    exit 0
fi

if [ -z "$bin" ] || [ -z "$port" ] || [ -z "$dir" ]; then
    die "usage: cross/qemu-system.sh --bin BIN --port PORT --dir DIR [--] [LEAFD_ARGS...] (or --prepare)"
fi
[ -f "$bin" ] || die "no leafd binary at $bin (cross/build.sh aarch64-unknown-linux-musl release prints it)"
head -c 20 "$bin" | od -An -tx1 | tr -d ' \n' | grep -q '^7f454c460201010.*b700$' \
    || die "$bin is not an aarch64 ELF (build it with cross/build.sh aarch64-unknown-linux-musl)"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# The store's disk: made once per DIR, reused by every later launch (a reboot).
if [ ! -f "$dir/disk.img" ]; then
    need mkfs.ext4 "apt-get install e2fsprogs"
    truncate -s "${disk_mib}M" "$dir/disk.img.tmp"
    "$(sbin mkfs.ext4)" -F -q -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 "$dir/disk.img.tmp"
    mv "$dir/disk.img.tmp" "$dir/disk.img"
fi

# This launch's arguments and host files, as a second cpio archive appended to the cached one
# (the kernel unpacks concatenated archives in order).
stage=$(mktemp -d "$dir/launch.XXXXXX")
mkdir -p "$stage/etc" "$stage/host"
args=()
i=0
for a in "${leafd_args[@]}"; do
    i=$((i + 1))
    if [ -f "$a" ]; then
        cp "$a" "$stage/host/$i-$(basename "$a")"
        a="/host/$i-$(basename "$a")"
    elif [[ $a == --*=* ]] && [ -f "${a#*=}" ]; then
        cp "${a#*=}" "$stage/host/$i-$(basename "${a#*=}")"
        a="${a%%=*}=/host/$i-$(basename "${a#*=}")"
    fi
    args+=("$a")
done
: >"$stage/etc/leafd.args"
[ ${#args[@]} -eq 0 ] || printf '%s\n' "${args[@]}" >"$stage/etc/leafd.args"
base=$(base_initrd)
{
    cat "$base"
    (cd "$stage" && find . | cpio -o -H newc -R 0:0 --quiet)
} >"$dir/initrd.img"
rm -rf "$stage"

use_host_qemu
# Halves the kernel's boot under emulation (measured: /init at 1.1-1.7 s instead of 2.8-3.3 s):
# no crypto self-tests (0.5 s), and no zeroing of every page allocated (Debian's hardening
# default, which upstream leaves off).
fast_boot="cryptomgr.notests init_on_alloc=0"
# cache=writeback: a guest write completes once qemu has written it to disk.img (the host's
# page cache) and a guest flush becomes an fdatasync of disk.img, so a SIGKILL of qemu keeps
# exactly what a power cut keeps on a real disk: what the guest wrote and flushed, and maybe
# some of what it wrote since.
exec "$qemu" "${qemu_data[@]}" -M virt -cpu cortex-a72 -smp "$smp" -m "$mem" \
    -nographic -no-reboot \
    -kernel "$cache/base/Image" -initrd "$dir/initrd.img" \
    -append "console=ttyAMA0 rdinit=/init panic=-1 quiet $fast_boot" \
    -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:4222" -device virtio-net-device,netdev=n0 \
    -drive "file=$dir/disk.img,format=raw,if=none,id=d0,cache=writeback" \
    -device virtio-blk-device,drive=d0
