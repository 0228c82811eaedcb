#!/usr/bin/env bash
# DNS fixture capacity: a stand-alone tw_dns_server_bench pinned to core 0 answers UDP A queries
# for 100 000 distinct fleet names sent by tw_dns_load pinned to core 1. The server's CPU comes
# from /proc/PID/stat (utime+stime), so the figure is the server process alone.
#
#   bench/fixture_dns/run.sh [BUILD_DIR] [REPETITIONS]
#   env: DURATION=10 (s per run)  WINDOW=256 (queries in flight)  NAMES=100000
#        FAILURE='<json>' (activate a failure in the server, e.g. one that matches nothing, to
#        price the registry lookup)  SERVER_CORE=0  CLIENT_CORE=1
set -euo pipefail
BUILD=${1:-build}
REPS=${2:-3}
DURATION=${DURATION:-10}
WINDOW=${WINDOW:-256}
NAMES=${NAMES:-100000}
SERVER_CORE=${SERVER_CORE:-0}
CLIENT_CORE=${CLIENT_CORE:-1}
SERVER=$BUILD/bench/fixture_dns/tw_dns_server_bench
LOAD=$BUILD/bench/fixture_dns/tw_dns_load
for bin in "$SERVER" "$LOAD"; do
  [[ -x $bin ]] || { echo "missing $bin (build targets tw_dns_server_bench tw_dns_load)" >&2; exit 1; }
done

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -r) cores=$(nproc) load=$(cut -d' ' -f1-3 /proc/loadavg)"
echo "# names=$NAMES window=$WINDOW duration=${DURATION}s server_core=$SERVER_CORE client_core=$CLIENT_CORE failure=${FAILURE:-none}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
qps_all=()
for ((i = 1; i <= REPS; i++)); do
  args=(--count "$NAMES")
  [[ -n ${FAILURE:-} ]] && args+=(--failure "$FAILURE")
  taskset -c "$SERVER_CORE" "$SERVER" "${args[@]}" >"$tmp/port" 2>"$tmp/server.err" &
  pid=$!
  for _ in $(seq 50); do [[ -s $tmp/port ]] && break; sleep 0.1; done
  port=$(awk '{print $2}' "$tmp/port")
  taskset -c "$CLIENT_CORE" "$LOAD" --port "$port" --pid "$pid" --names "$NAMES" \
    --duration "$DURATION" --window "$WINDOW" >"$tmp/load.out" || true
  kill "$pid"
  wait "$pid" || true
  echo "## run $i"
  cat "$tmp/load.out"
  qps_all+=("$(awk '/^qps/ {print $2}' "$tmp/load.out")")
done
printf '%s\n' "${qps_all[@]}" | sort -n | awk '{a[NR]=$1} END {print "median_qps " a[int((NR+1)/2)]}'
