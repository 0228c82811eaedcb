#!/usr/bin/env bash
# One capacity batch on this box (scenarios.md §11, one rung of the ladder): tidewatch with
# probe.http checks N generated sites of tidewatch-fixture at a fixed interval; the fixture's
# black-box observer says whether every site was checked on time.
#
#   bench/capacity/run.sh N [interval_s=300] [window_s=interval+60] [build-dir=build]
#
# Pinning (BENCHMARKING.md): the fixture (HTTP + DNS) on CPU 0, tidewatch on CPU 1. Every 15 s
# the CPU (utime+stime from /proc/PID/stat), RSS and open FDs of both are sampled. At the end:
# the observer summary (coverage, never-seen, stale, last-seen age percentiles, expected request
# ratio), tidewatch's /status, and a verdict against the §7.3 gates that apply here.
# Output: a report directory under out/capacity/ (printed at the end). Not part of CI.
set -euo pipefail
n=${1:?usage: run.sh N [interval_s] [window_s] [build-dir]}
interval=${2:-300}
window=${3:-$((interval + 60))}
build=${4:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
case "$build" in /*) ;; *) build="$root/$build" ;; esac
fixture_bin="$build/fixture/tidewatch-fixture"
tw_bin="$build/app/tidewatch"
for b in "$fixture_bin" "$tw_bin"; do [ -x "$b" ] || { echo "missing $b: build first (scripts/build)" >&2; exit 1; }; done

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$root/out/capacity/${stamp}-${window}s-n${n}-i${interval}"
mkdir -p "$out"
fixture_pid="" tw_pid=""
cleanup() {
  [ -n "$tw_pid" ] && kill -TERM "$tw_pid" 2>/dev/null
  [ -n "$fixture_pid" ] && kill -TERM "$fixture_pid" 2>/dev/null
  wait 2>/dev/null || true
}
trap cleanup EXIT

taskset -c 0 "$fixture_bin" --fleet-count "$n" --no-https --http-port 0 --control-port 0 --wpcom-port 0 \
  --dns-port 0 --dns2-port 0 --dns-ttl "$interval" --check-interval "$interval" \
  --ready-file "$out/fixture.json" --log-level warn > "$out/fixture.log" 2>&1 &
fixture_pid=$!
for _ in $(seq 300); do [ -s "$out/fixture.json" ] && break; sleep 0.1; done
[ -s "$out/fixture.json" ] || { echo "fixture did not start" >&2; cat "$out/fixture.log" >&2; exit 1; }
read -r http_port control_port dns1 dns2 < <(python3 -c '
import json,sys; r=json.load(open(sys.argv[1]))
print(r["http"]["port"], r["control"]["port"], r["dns"][0]["port"], r["dns"][1]["port"])' "$out/fixture.json")
control="http://127.0.0.1:$control_port"
admin_port=$((20000 + RANDOM % 20000))

cat > "$out/tidewatch.yaml" <<YAML
pipeline:
  source: {type: source.generated, url: "http://site-%07d.fleet.test:${http_port}/", count: ${n}, interval_s: ${interval}}
  probe: {type: probe.http}
  sink: {type: sink.null}
probe: {allow_private_targets: true, default_timeout_s: 10}
resolver: {servers: ["127.0.0.1:${dns1}", "127.0.0.1:${dns2}"], cache_min_ttl_s: ${interval}, cache_max_ttl_s: $((interval * 3))}
admin: {listen: "127.0.0.1:${admin_port}"}
scheduler: {summary_interval_s: 60}
YAML

curl -sf "$control/observer/reset" -d "{\"check_interval_seconds\":${interval},\"active_count\":${n}}" > /dev/null
start=$(date +%s)
taskset -c 1 "$tw_bin" run --config "$out/tidewatch.yaml" > "$out/tidewatch.log" 2>&1 &
tw_pid=$!

sample() {  # pid -> "cpu_seconds rss_mb fds"
  local pid=$1 ticks
  ticks=$(getconf CLK_TCK)
  awk -v t="$ticks" '{print ($14 + $15) / t}' "/proc/$pid/stat" | tr '\n' ' '
  awk '/VmRSS/ {printf "%.1f ", $2 / 1024}' "/proc/$pid/status"
  ls "/proc/$pid/fd" | wc -l
}
echo "t_s tw_cpu_s tw_rss_mb tw_fds fx_cpu_s fx_rss_mb fx_fds" > "$out/resources.txt"
while [ $(( $(date +%s) - start )) -lt "$window" ]; do
  kill -0 "$tw_pid" 2>/dev/null || { echo "tidewatch exited early" >&2; tail -20 "$out/tidewatch.log" >&2; exit 1; }
  echo "$(( $(date +%s) - start )) $(sample "$tw_pid") $(sample "$fixture_pid")" >> "$out/resources.txt"
  sleep 15
done
echo "$(( $(date +%s) - start )) $(sample "$tw_pid") $(sample "$fixture_pid")" >> "$out/resources.txt"

curl -sf "$control/observer/summary" > "$out/observer.json"
curl -sf "http://127.0.0.1:${admin_port}/status" > "$out/tidewatch-status.json"
kill -TERM "$tw_pid"; wait "$tw_pid" || true; tw_pid=""

python3 - "$out" "$n" "$interval" <<'PY'
import json, sys
out, n, interval = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
obs = json.load(open(f"{out}/observer.json"))
st = json.load(open(f"{out}/tidewatch-status.json"))
rows = [l.split() for l in open(f"{out}/resources.txt").read().splitlines()[1:] if l.strip()]
t0, t1 = rows[0], rows[-1]
wall = float(t1[0]) - float(t0[0]) or 1.0
tw_core = (float(t1[1]) - float(t0[1])) / wall
fx_core = (float(t1[4]) - float(t0[4])) / wall
tw_rss = max(float(r[2]) for r in rows)
ratio = obs.get("expected_request_ratio")
gates = {
    "never_seen == 0": obs["never_seen_sites"] == 0,
    "stale == 0": obs["stale_sites"] == 0,
    "coverage == 100%": obs["coverage_percent"] >= 100.0,
    "0.80 <= ratio <= 1.25": ratio is not None and 0.80 <= ratio <= 1.25,
}
report = {
    "sites": n, "interval_s": interval,
    "observer": {k: obs.get(k) for k in ("expected_sites", "observed_sites", "never_seen_sites", "stale_sites",
                                          "coverage_percent", "total_requests", "requests_per_second",
                                          "expected_request_ratio", "last_seen_age_seconds")},
    "tidewatch": {"cpu_cores_avg": round(tw_core, 3), "rss_mb_max": tw_rss,
                  "rss_bytes_per_site": round(tw_rss * 1048576 / n, 1),
                  "checks_per_s": st.get("checks_per_s"), "max_lag_ms": st.get("max_lag_ms"),
                  "failures": st.get("failures"), "tokens": st.get("tokens")},
    "fixture": {"cpu_cores_avg": round(fx_core, 3)},
    "gates": gates, "pass": all(gates.values()),
}
json.dump(report, open(f"{out}/capacity.json", "w"), indent=2)
print(json.dumps(report, indent=2))
PY
echo "report: $out"
