#!/usr/bin/env bash
# tests/deb.sh - the arm64 .deb, installed into an arm64 Debian root and checked there.
#
#   tests/deb.sh        (tests/run.sh runs it as a step, not with --quick)
#
# 1. installs cargo-deb 3.8.0 if `cargo deb` is missing (a debug build: about a minute), and
#    the apt tools below if missing; a tool that cannot be installed is a FAILURE with the
#    command to run, never a skip
# 2. builds the package: cross/deb.sh arm64 (static aarch64 musl binary, of the cargo profile
#    in LEAFD_DEB_PROFILE: release by default, tests/run.sh passes its ARM build profile)
# 3. checks the package itself: control fields (arm64, no Depends), the file list, modes,
#    the conffile
# 4. makes an arm64 Debian root: Debian's own arm64 systemd package unpacked into a fresh
#    directory (its unit files: sysinit.target, network.target, ...), a dpkg database that
#    knows arm64, then `dpkg --root=ROOT -i` of our package; dpkg --verify checks md5sums;
# 5. `systemd-analyze verify --root=ROOT leafd.service` must print nothing, and
#    `systemd-analyze security --offline` must rate the unit at most 2.0 (printed in full)
# 6. runs the packaged binary under qemu-aarch64: check-config on the packaged config, then
#    the broker itself with NOTIFY_SOCKET and JOURNAL_STREAM set as systemd would: READY=1
#    once it serves, a client gets INFO, SIGTERM gives STOPPING=1 and exit 0, and every log
#    line carries a <N> priority instead of a timestamp
# 7. starts the packaged unit under a real systemd: this machine's systemd is not PID 1, so
#    systemd-nspawn boots one (this Debian's /usr on a tmpfs root, private network) with the
#    packaged unit and config; a drop-in points ExecStart= at a native build (see there).
#    Checks: READY=1 reaches systemd, the sandbox is in force (dynamic uid, no capabilities,
#    seccomp, LimitNOFILE), JetStream writes to /var/lib/leafd, restart, stop with exit 0,
#    journal priorities. Needs root (CAP_SYS_ADMIN) and systemd-container
# 8. dpkg -r keeps the edited conffile, dpkg -P removes it
#
# Downloads (the arm64 systemd .deb, via a private apt state: the host's dpkg is untouched)
# are cached in target/deb-test/.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
START=$(date +%s)
PASSED=0

say() { echo "deb.sh: $*"; }
fail() { echo "deb.sh: FAIL: $*" >&2; exit 1; }
ok() { PASSED=$((PASSED + 1)); echo "  ok  $*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# --- 1. tools ------------------------------------------------------------------------------
# command -> Debian package that provides it
declare -A PKG=([dpkg]=dpkg [dpkg-deb]=dpkg [dpkg-query]=dpkg [systemd-analyze]=systemd
    [qemu-aarch64]=qemu-user [python3]=python3 [readelf]=binutils [apt-get]=apt
    [aarch64-linux-gnu-gcc]=gcc-aarch64-linux-gnu [systemd-nspawn]=systemd-container)
missing=()
for tool in "${!PKG[@]}"; do command -v "$tool" >/dev/null || missing+=("${PKG[$tool]}"); done
if [ ${#missing[@]} -gt 0 ]; then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    say "installing ${missing[*]}"
    if ! { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}"; }; then
        fail "could not install ${missing[*]}: apt-get install --no-install-recommends ${missing[*]}"
    fi
    for tool in "${!PKG[@]}"; do
        command -v "$tool" >/dev/null || fail "$tool still missing: apt-get install ${PKG[$tool]}"
    done
fi
if ! cargo deb --version >/dev/null 2>&1; then
    # A debug build: it compiles in under a minute instead of about 4 (on 2 cores), and packs
    # a .deb in about 4 s instead of 1; the package is the same.
    say "installing cargo-deb 3.8.0 (a debug build, compiles for about a minute)"
    t=$(date +%s)
    cargo install --debug --locked cargo-deb --version 3.8.0 ||
        fail "cargo-deb did not install: cargo install --debug --locked cargo-deb --version 3.8.0"
    say "cargo-deb installed in $(($(date +%s) - t))s"
fi
ok "tools: $(cargo deb --version), $(systemd-analyze --version | head -n 1), $(qemu-aarch64 --version | head -n 1)"

# --- 2. the package ------------------------------------------------------------------------
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
CACHE=$TARGET_DIR/deb-test
DEB_PROFILE=${LEAFD_DEB_PROFILE:-release}
DEB=$(cross/deb.sh arm64 "$DEB_PROFILE") || fail "cross/deb.sh arm64 $DEB_PROFILE failed (output above)"
say "package: $DEB ($(stat -c %s "$DEB") bytes)"

# --- 3. what it says and holds -------------------------------------------------------------
field() { dpkg-deb -f "$DEB" "$1"; }
[ "$(field Package)" = leafd ] || fail "Package is '$(field Package)', not leafd"
[ "$(field Architecture)" = arm64 ] || fail "Architecture is '$(field Architecture)', not arm64"
[ -z "$(field Depends)" ] || fail "a static binary needs no Depends, got '$(field Depends)'"
for f in Version Maintainer Section Priority Description; do
    [ -n "$(field "$f")" ] || fail "control field $f is empty"
done
ok "control: $(field Package) $(field Version) $(field Architecture), section $(field Section), no Depends"

dpkg-deb -c "$DEB" | awk '{ print $1, $2, $6 }' >"$WORK/contents"
for want in "-rwxr-xr-x 0/0 ./usr/bin/leafd" \
    "-rw-r--r-- 0/0 ./lib/systemd/system/leafd.service" \
    "-rw-r--r-- 0/0 ./etc/leafd/leafd.toml" \
    "-rw-r--r-- 0/0 ./usr/share/doc/leafd/README.md" \
    "-rw-r--r-- 0/0 ./usr/share/doc/leafd/copyright"; do
    grep -qxF -- "$want" "$WORK/contents" || { cat "$WORK/contents"; fail "package lacks: $want"; }
done
ok "contents: $(grep -c '^-' "$WORK/contents") files, binary 0755, unit, config, docs"

dpkg-deb -e "$DEB" "$WORK/control"
[ "$(cat "$WORK/control/conffiles")" = /etc/leafd/leafd.toml ] ||
    fail "conffiles should be exactly /etc/leafd/leafd.toml, got: $(cat "$WORK/control/conffiles")"
for script in preinst postinst prerm postrm; do
    [ ! -e "$WORK/control/$script" ] || fail "unexpected maintainer script $script"
done
ok "conffiles: /etc/leafd/leafd.toml; no maintainer scripts"

# --- 4. an arm64 Debian root, and dpkg installing into it ----------------------------------
newest_systemd_deb() { find "$CACHE" -maxdepth 1 -name 'systemd_*_arm64.deb' | sort -V | tail -n 1; }
SYSTEMD_DEB=$(newest_systemd_deb 2>/dev/null || true)
if [ -z "$SYSTEMD_DEB" ]; then
    say "downloading Debian's arm64 systemd package (once; cached in $CACHE)"
    apt=$CACHE/apt
    mkdir -p "$apt/lists/partial" "$apt/archives/partial"
    touch "$apt/status"
    A=(-o "Dir::State::Lists=$apt/lists" -o "Dir::State::status=$apt/status"
        -o "Dir::Cache::archives=$apt/archives" -o "Dir::Cache::pkgcache=$apt/pkgcache.bin"
        -o "Dir::Cache::srcpkgcache=$apt/srcpkgcache.bin"
        -o APT::Architecture=arm64 -o APT::Architectures::=arm64)
    apt-get "${A[@]}" -qq update ||
        fail "apt-get update for arm64 failed (network? the host's sources.list is used)"
    (cd "$CACHE" && apt-get "${A[@]}" -qq download systemd:arm64) ||
        fail "could not download systemd:arm64 (apt-get download systemd:arm64)"
    SYSTEMD_DEB=$(newest_systemd_deb)
fi
ROOT=$WORK/root
mkdir -p "$ROOT/var/lib/dpkg/info" "$ROOT/var/lib/dpkg/updates" "$ROOT/var/lib/dpkg/triggers"
touch "$ROOT/var/lib/dpkg/status" "$ROOT/var/lib/dpkg/available"
dpkg-deb -x "$SYSTEMD_DEB" "$ROOT"
[ -f "$ROOT/lib/systemd/system/multi-user.target" ] || fail "$SYSTEMD_DEB has no multi-user.target"
# The root's dpkg is arm64 (as on a Pi); the host's own database is not touched.
dpkg --root="$ROOT" --add-architecture arm64
ok "arm64 root: $(basename "$SYSTEMD_DEB") unpacked, dpkg database with arm64"

DPKG=(dpkg --root="$ROOT")
"${DPKG[@]}" -i "$DEB" >"$WORK/dpkg.log" 2>&1 || { cat "$WORK/dpkg.log"; fail "dpkg -i into the root failed"; }
status=$(dpkg-query --root="$ROOT" -W -f='${Status} ${Architecture}' leafd)
[ "$status" = "install ok installed arm64" ] || fail "dpkg says '$status'"
"${DPKG[@]}" --verify leafd || fail "dpkg --verify found files that differ from md5sums"
dpkg-query --root="$ROOT" -W -f='${Conffiles}\n' leafd | grep -q '^ /etc/leafd/leafd.toml [0-9a-f]\{32\}$' ||
    fail "dpkg did not register /etc/leafd/leafd.toml as a conffile"
[ -x "$ROOT/usr/bin/leafd" ] || fail "$ROOT/usr/bin/leafd is not executable"
# The installed files are the ones this tree built (cargo-deb writes no DEBIAN/md5sums;
# dpkg computes them at unpack, which is what --verify checked).
cmp -s "$ROOT/usr/bin/leafd" "$TARGET_DIR/aarch64-unknown-linux-musl/$DEB_PROFILE/leafd" ||
    fail "/usr/bin/leafd differs from the aarch64-unknown-linux-musl $DEB_PROFILE build"
cmp -s "$ROOT/lib/systemd/system/leafd.service" cross/deb/leafd.service || fail "the unit differs from cross/deb/leafd.service"
cmp -s "$ROOT/etc/leafd/leafd.toml" cross/deb/leafd.toml || fail "the config differs from cross/deb/leafd.toml"
ok "dpkg -i: installed as arm64, dpkg --verify clean, conffile registered, files identical to the tree's"

# --- 5. systemd-analyze --------------------------------------------------------------------
# --root makes it read units (and check ExecStart=) inside ROOT, not on this machine.
(cd / && systemd-analyze verify --root="$ROOT" leafd.service) >"$WORK/verify.log" 2>&1 ||
    { cat "$WORK/verify.log"; fail "systemd-analyze verify failed"; }
[ ! -s "$WORK/verify.log" ] || { cat "$WORK/verify.log"; fail "systemd-analyze verify printed warnings"; }
ok "systemd-analyze verify --root=ROOT leafd.service: clean"

(cd / && systemd-analyze security --offline=true --root="$ROOT" --threshold=20 \
    --no-pager leafd.service) >"$WORK/security.log" 2>&1 || rc=$?
grep "^✗" "$WORK/security.log" || true
exposure=$(sed -n 's/.*Overall exposure level for leafd.service: \([0-9.]*\).*/\1/p' "$WORK/security.log")
[ -n "$exposure" ] || { cat "$WORK/security.log"; fail "systemd-analyze security gave no score"; }
[ "${rc:-0}" -eq 0 ] || { cat "$WORK/security.log"; fail "exposure $exposure is above 2.0"; }
ok "systemd-analyze security: exposure $exposure (at most 2.0; the ✗ lines above are what remains)"

# A unit whose ExecStart= is missing must fail verify, or the check above proves nothing.
mv "$ROOT/usr/bin/leafd" "$WORK/leafd.moved"
if (cd / && systemd-analyze verify --root="$ROOT" leafd.service) >/dev/null 2>&1; then
    fail "systemd-analyze verify passed without /usr/bin/leafd in the root"
fi
mv "$WORK/leafd.moved" "$ROOT/usr/bin/leafd"
ok "systemd-analyze verify fails when ExecStart= is missing (the check has teeth)"

# --- 6. the packaged binary under qemu-aarch64 ---------------------------------------------
qemu-aarch64 "$ROOT/usr/bin/leafd" check-config --config "$ROOT/etc/leafd/leafd.toml" \
    >"$WORK/effective.toml" || fail "check-config rejected the packaged /etc/leafd/leafd.toml"
for want in 'board = "rpi4"' 'listen = "127.0.0.1:4222"' 'dir = "/var/lib/leafd"'; do
    grep -qxF "$want" "$WORK/effective.toml" || fail "effective config lacks: $want"
done
ok "qemu-aarch64 leafd check-config --config /etc/leafd/leafd.toml: board rpi4, 127.0.0.1:4222, /var/lib/leafd"

# The broker as systemd starts it: NOTIFY_SOCKET and JOURNAL_STREAM (stderr's dev:inode).
# Port 0 and a scratch store replace the packaged ones (4222 may be taken, /var/lib/leafd
# is not ours here).
python3 - "$ROOT" "$WORK" <<'EOF' || fail "the packaged broker did not behave as a Type=notify service (above)"
import os, signal, socket, subprocess, sys, time
root, work = sys.argv[1], sys.argv[2]
def die(msg):
    print("  " + msg, file=sys.stderr)
    sys.exit(1)
path = os.path.join(work, "notify.sock")
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
sock.settimeout(60)  # qemu-user start-up plus opening the store
log_path = os.path.join(work, "journal.log")
log = open(log_path, "wb")
st = os.fstat(log.fileno())
env = dict(os.environ, NOTIFY_SOCKET=path, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
env.pop("RUST_LOG", None)
proc = subprocess.Popen(["qemu-aarch64", f"{root}/usr/bin/leafd", "--config",
                         f"{root}/etc/leafd/leafd.toml", "--listen", "127.0.0.1:0",
                         "--store", os.path.join(work, "store")],
                        env=env, stdout=log, stderr=log)
try:
    ready = sock.recv(256).decode()
    lines = ready.split("\n")
    if lines[0] != "READY=1" or not lines[1].startswith("STATUS=serving clients on 127.0.0.1:"):
        die(f"expected READY=1 and STATUS=serving clients on ..., got {ready!r}")
    port = int(lines[1].rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as c:
        info = c.recv(4096)
        if not info.startswith(b"INFO {"):
            die(f"expected INFO from the broker after READY=1, got {info[:60]!r}")
    proc.send_signal(signal.SIGTERM)
    stopping = sock.recv(256).decode()
    if stopping != "STOPPING=1":
        die(f"expected STOPPING=1 after SIGTERM, got {stopping!r}")
    rc = proc.wait(timeout=60)
    if rc != 0:
        die(f"leafd exited {rc} after SIGTERM")
finally:
    if proc.poll() is None:
        proc.kill()
text = open(log_path).read()
bad = [l for l in text.splitlines() if not (l[:3] in ("<3>", "<4>", "<6>", "<7>") and l[3:4].isalpha())]
if bad or "<6>INFO  leafd" not in text:
    die("log lines without a <N> priority (or a timestamp first):\n" + text)
print(f"  READY=1 on 127.0.0.1:{port}, INFO served, STOPPING=1, exit 0; journal lines:")
for l in text.splitlines()[:3]:
    print("    " + l)
EOF
ok "qemu-aarch64 leafd under NOTIFY_SOCKET/JOURNAL_STREAM: READY=1, STOPPING=1, <N> log priorities"

# --- 7. the unit under a real systemd ------------------------------------------------------
# systemd is not PID 1 here, so boot one in a container: systemd-nspawn --volatile=yes runs
# this machine's own Debian /usr (systemd 252) on an empty tmpfs root, with its own network
# namespace (so port 4222 is its own). The packaged unit and config go in as they are; only
# ExecStart= is pointed (by a drop-in) at a native build of this tree, because the arm64
# binary could only run under qemu-user, whose JIT MemoryDenyWriteExecute= forbids. A probe
# unit starts leafd, talks NATS to it, restarts and stops it, and reports to $WORK/out.
NATIVE=$TARGET_DIR/debug/leafd
say "building native leafd for the systemd run (cargo build --bin leafd)"
cargo build -q --bin leafd || fail "cargo build --bin leafd failed"
C=$WORK/container
mkdir -p "$C/system/leafd.service.d" "$C/etc-leafd" "$C/opt" "$C/out"
cp "$ROOT/lib/systemd/system/leafd.service" "$C/system/"
cp "$ROOT/etc/leafd/leafd.toml" "$C/etc-leafd/"
cp "$NATIVE" "$C/opt/leafd"
printf '[Service]\nExecStart=\nExecStart=/opt/leafd --config /etc/leafd/leafd.toml\n' \
    >"$C/system/leafd.service.d/native-binary.conf"
printf '[Service]\nType=oneshot\nExecStart=/opt/probe.sh\n' >"$C/system/probe.service"
cat >"$C/opt/probe.sh" <<'PROBE'
#!/bin/bash
# Inside the container: one KEY=VALUE (or raw) line per fact, into /out/facts.
exec >/out/facts 2>/out/probe.err
systemctl start leafd.service && echo start=ok
systemctl show leafd -p Type -p ActiveState -p StatusText
pid=$(systemctl show -P MainPID leafd)
# No awk: the container's /etc (where /usr/bin/awk's alternatives link points) is empty.
sed -n 's/^\(Uid\|CapEff\|NoNewPrivs\|Seccomp\):[[:space:]]*\([^[:space:]]*\).*/proc_\1=\2/p' "/proc/$pid/status"
sed -n 's/^Max open files *\([0-9]*\).*/nofile=\1/p' "/proc/$pid/limits"
exec 3<>/dev/tcp/127.0.0.1/4222
body='{"name":"T","subjects":["t.>"]}'
printf 'CONNECT {"verbose":false}\r\nSUB _INBOX.p 1\r\nPUB $JS.API.STREAM.CREATE.T _INBOX.p %d\r\n%s\r\n' "${#body}" "$body" >&3
sleep 1
for _ in 1 2 3; do printf 'PUB t.a _INBOX.p 5\r\nhello\r\n' >&3; done
printf 'PING\r\n' >&3
sleep 1
timeout 2 cat <&3 | tr -d '\r' | grep -o '^{"stream":"T","seq":[0-9]*}' | sed 's/^/puback=/'
exec 3>&-
stat -c 'segment=%A %U' /var/lib/leafd/streams/T/*.seg
systemctl restart leafd.service && echo restart=ok
systemctl stop leafd.service && echo stop=ok
systemctl show leafd -p Result -p ExecMainStatus
journalctl -u leafd -o json --no-pager | python3 -c '
import json, sys
for line in sys.stdin:
    j = json.loads(line)
    if j.get("SYSLOG_IDENTIFIER") == "leafd":
        print("journal=" + j["PRIORITY"] + " " + j["MESSAGE"])'
systemd-analyze security --no-pager leafd.service | sed -n 's/.*exposure level for leafd.service: /exposure=/p'
systemctl poweroff
PROBE
chmod +x "$C/opt/probe.sh"
(cd / && timeout 300 systemd-nspawn -q --register=no --keep-unit --machine=leafd-deb-test \
    --volatile=yes -D / --private-network --console=pipe \
    --bind-ro="$C/system:/etc/systemd/system" --bind-ro="$C/etc-leafd:/etc/leafd" \
    --bind-ro="$C/opt:/opt" --bind="$C/out:/out" -b systemd.unit=probe.service) \
    >"$WORK/nspawn.log" 2>&1 || { cat "$WORK/nspawn.log"; fail "systemd-nspawn could not boot a container (root and CAP_SYS_ADMIN are needed)"; }
F=$C/out/facts
[ -s "$F" ] || { cat "$WORK/nspawn.log" "$C/out/probe.err" 2>/dev/null; fail "the probe inside the container reported nothing"; }
fact() { grep -qxF -- "$1" "$F" || { cat "$F" "$C/out/probe.err"; fail "under systemd: expected '$1'"; }; }
fact start=ok
fact Type=notify
fact ActiveState=active
fact "StatusText=serving clients on 127.0.0.1:4222"
fact proc_CapEff=0000000000000000
fact proc_NoNewPrivs=1
fact proc_Seccomp=2
fact nofile=8192
grep -q '^proc_Uid=[1-9]' "$F" || fail "leafd runs as root under the unit: $(grep proc_Uid "$F")"
for seq in 1 2 3; do fact "puback={\"stream\":\"T\",\"seq\":$seq}"; done
grep -q '^segment=-rw------- [^r]' "$F" || fail "segment file mode/owner: $(grep segment= "$F")"
fact restart=ok
fact stop=ok
fact Result=success
fact ExecMainStatus=0
fact "journal=6 INFO  leafd::server: jetstream: 1 stream(s) restored"
! grep -q '^journal=[0-9] [0-9]\{4\}-' "$F" || fail "journal messages still start with a timestamp"
ok "under systemd $(systemd-analyze --version | awk 'NR == 1 { print $2 }'): Type=notify active, uid $(sed -n 's/^proc_Uid=//p' "$F"), no caps, seccomp, 3 acked publishes in /var/lib/leafd, restart restores the stream, stop exit 0, journal priorities ($(grep -c '^journal=' "$F") lines), $(grep exposure= "$F")"

# --- 8. remove and purge: the conffile stays until purge -----------------------------------
echo "port = 1 # local edit" >>"$ROOT/etc/leafd/leafd.toml"
"${DPKG[@]}" -r leafd >"$WORK/dpkg.log" 2>&1 || { cat "$WORK/dpkg.log"; fail "dpkg -r failed"; }
[ ! -e "$ROOT/usr/bin/leafd" ] || fail "dpkg -r left /usr/bin/leafd"
grep -q 'local edit' "$ROOT/etc/leafd/leafd.toml" || fail "dpkg -r did not keep the edited conffile"
"${DPKG[@]}" -P leafd >"$WORK/dpkg.log" 2>&1 || { cat "$WORK/dpkg.log"; fail "dpkg -P failed"; }
[ ! -e "$ROOT/etc/leafd/leafd.toml" ] || fail "dpkg -P left /etc/leafd/leafd.toml"
ok "dpkg -r keeps the edited /etc/leafd/leafd.toml, dpkg -P removes it"

say "all green in $(($(date +%s) - START))s"
echo "$PASSED passed, 0 failed"
