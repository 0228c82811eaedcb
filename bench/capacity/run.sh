#!/usr/bin/env bash
# One capacity batch on this box (scenarios.md §11, one rung of the ladder): tidewatch with
# probe.http checks N generated sites of tidewatch-fixture at a fixed interval; the fixture's
# black-box observer says whether every site was checked on time.
#
#   bench/capacity/run.sh N [interval_s=300] [window_s=interval+60] [build-dir=build]
#
# STACK=full runs the whole product instead of the probe alone: a private MariaDB
# (scripts/mariadb-private, CPU 0) holding N rows of jetpack_monitor_sites, source.mysql,
# sink.incidents with one `tidewatch verifier` on 127.0.0.2 (CPU 0) and notify.wpcom to the
# fixture's mock, sink.mysql_projection and sink.mysql_history. Replay detection is then judged
# from jetmon_events: every replay host opens an event, reaches Down and is closed after the end,
# and no other site has an event.
#
# Replay detection (§8): when the window is at least 23 minutes, GET on 25 hosts drawn with the
# seed 8675309 answers 503 from minute 3 for 20 minutes (the fixture's offset/duration). Judged
# from the failures sink.log writes: each host must fail within interval + 30 s of the start,
# must not fail after the end + 30 s, and no other host may fail at all.
#
# Pinning (BENCHMARKING.md): the fixture (HTTP + DNS) on CPU 0, tidewatch on CPU 1, both at NICE. Every 15 s
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
# NICE (default -10; 0 to disable): the measured processes outrank anything else on the box, as
# they would on a dedicated host — needs root for a negative value.
prio=${NICE:--10}
[ "$(id -u)" = 0 ] || prio=0
# Only ever called in a subshell (&, $(...)): exec keeps $! the measured process itself.
pin() { local cpu=$1; shift; exec nice -n "$prio" taskset -c "$cpu" "$@"; }
stack=${STACK:-probe}
case "$stack" in probe|full) ;; *) echo "STACK must be probe or full (got '$stack')" >&2; exit 2 ;; esac
fixture_pid="" tw_pid="" verifier_pid="" db_dir=""
cleanup() {
  [ -n "$tw_pid" ] && kill -TERM "$tw_pid" 2>/dev/null
  [ -n "$verifier_pid" ] && kill -TERM "$verifier_pid" 2>/dev/null
  [ -n "$fixture_pid" ] && kill -TERM "$fixture_pid" 2>/dev/null
  wait 2>/dev/null || true
  [ -n "$db_dir" ] && "$root/scripts/mariadb-private" stop "$db_dir" > /dev/null 2>&1
  true
}
trap cleanup EXIT

pin 0 "$fixture_bin" --fleet-count "$n" --no-https --http-port 0 --control-port 0 --wpcom-port 0 \
  --dns-port 0 --dns2-port 0 --dns-ttl "$interval" --check-interval "$interval" \
  --ready-file "$out/fixture.json" --log-level warn > "$out/fixture.log" 2>&1 &
fixture_pid=$!
for _ in $(seq 300); do [ -s "$out/fixture.json" ] && break; sleep 0.1; done
[ -s "$out/fixture.json" ] || { echo "fixture did not start" >&2; cat "$out/fixture.log" >&2; exit 1; }
read -r http_port control_port dns1 dns2 wpcom_port < <(python3 -c '
import json,sys; r=json.load(open(sys.argv[1]))
print(r["http"]["port"], r["control"]["port"], r["dns"][0]["port"], r["dns"][1]["port"], r["wpcom"]["port"])' "$out/fixture.json")
control="http://127.0.0.1:$control_port"
admin_port=$((20000 + RANDOM % 20000))
resolver_yaml="resolver: {servers: [\"127.0.0.1:${dns1}\", \"127.0.0.1:${dns2}\"], cache_min_ttl_s: ${interval}, cache_max_ttl_s: $((interval * 3))}"

if [ "$stack" = probe ]; then
  cat > "$out/tidewatch.yaml" <<YAML
pipeline:
  source: {type: source.generated, url: "http://site-%07d.fleet.test:${http_port}/", count: ${n}, interval_s: ${interval}}
  probe: {type: probe.http}
  sink: [{type: sink.null}, {type: sink.log, only_failures: true}]
YAML
else
  db_dir=$(mktemp -d /tmp/twcap.XXXXXX)
  sock=$(pin 0 "$root/scripts/mariadb-private" start "$db_dir")
  sql() { mariadb --no-defaults -S "$sock" -uroot -N -B "$@"; }
  sql -e "CREATE DATABASE tidewatch"
  cat > "$out/tidewatch.yaml" <<YAML
database: {socket: "$sock", user: root, name: tidewatch}
YAML
  "$tw_bin" migrate --config "$out/tidewatch.yaml" > "$out/migrate.log" 2>&1
  seed_start=$(date +%s.%N)
  sql tidewatch -e "INSERT INTO jetpack_monitor_sites (jetpack_monitor_site_id, blog_id, bucket_no, monitor_url, check_interval)
    SELECT seq, seq, seq % 1000, CONCAT('http://site-', LPAD(seq, 7, '0'), '.fleet.test:${http_port}/'), $((interval / 60))
    FROM seq_1_to_${n}"
  echo "seeded $n rows in $(python3 -c "import time,sys; print(round(time.time() - float(sys.argv[1]), 1))" "$seed_start") s" > "$out/seed.txt"
  verifier_port=$((40000 + RANDOM % 20000)) token=capacity-$RANDOM$RANDOM
  cat > "$out/verifier.yaml" <<YAML
verifier: {listen: "127.0.0.2:${verifier_port}", auth_token: "${token}", vantage_id: capacity-v1, region: loop}
probe: {allow_private_targets: true, default_timeout_s: 10, source_address: 127.0.0.2}
${resolver_yaml}
admin: {listen: ""}
YAML
  pin 0 "$tw_bin" verifier --config "$out/verifier.yaml" > "$out/verifier.log" 2>&1 &
  verifier_pid=$!
  cat >> "$out/tidewatch.yaml" <<YAML
pipeline:
  source: {type: source.mysql}
  probe: {type: probe.http}
  sink:
    - {type: sink.incidents}
    - {type: sink.mysql_projection}
    - {type: sink.mysql_history}
    - {type: sink.log, only_failures: true}
  notify:
    - {type: notify.wpcom, mode: modern, auth_token: capacity, endpoint: "http://127.0.0.1:${wpcom_port}/wpcom/v2/jetpack-monitor/status-change"}
verifiers:
  - {name: v1, host: 127.0.0.2, port: ${verifier_port}, auth_token: "${token}"}
YAML
fi
cat >> "$out/tidewatch.yaml" <<YAML
probe: {allow_private_targets: true, default_timeout_s: 10}
${resolver_yaml}
admin: {listen: "127.0.0.1:${admin_port}"}
scheduler: {summary_interval_s: 60}
YAML

curl -sf "$control/observer/reset" -d "{\"check_interval_seconds\":${interval},\"active_count\":${n}}" > /dev/null
replay_offset=${REPLAY_OFFSET:-180} replay_duration=${REPLAY_DURATION:-1200}  # env: shorter replays for a smoke run
if [ "$window" -ge $((replay_offset + replay_duration + 1)) ]; then
  python3 - "$n" > "$out/replay-hosts.txt" <<'PY'
import random, sys
for i in sorted(random.Random(8675309).sample(range(1, int(sys.argv[1]) + 1), 25)):
    print(f"site-{i:07d}.fleet.test")
PY
  python3 - "$out/replay-hosts.txt" "$replay_offset" "$replay_duration" > "$out/replay-failures.json" <<'PY'
import json, sys
hosts = open(sys.argv[1]).read().split()
print(json.dumps({"failures": [{"type": "http_method_status", "host": h, "method": "GET", "status_code": 503,
                                "offset": int(sys.argv[2]), "duration": int(sys.argv[3])} for h in hosts]}))
PY
fi
udp_errors() { awk '/^Udp:/ && $2 ~ /^[0-9]+$/ {print $6}' /proc/net/snmp; }
udp_before=$(udp_errors)
start=$(date +%s)
pin 1 "$tw_bin" run --config "$out/tidewatch.yaml" > "$out/tidewatch.log" 2>&1 &
tw_pid=$!
if [ -s "$out/replay-failures.json" 2>/dev/null ]; then
  curl -sf "$control/failures" -d @"$out/replay-failures.json" > /dev/null
  date -u +%s > "$out/replay-start.txt"
fi

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
echo $(( $(udp_errors) - udp_before )) > "$out/udp-rcvbuf-errors.txt"
if [ "$stack" = full ]; then
  # Every event with its Down time: blog, started, first severity-4 transition, ended, reason.
  sql tidewatch -e "SELECT e.blog_id, UNIX_TIMESTAMP(e.started_at), COALESCE(UNIX_TIMESTAMP(MIN(t.changed_at)), 0),
      COALESCE(UNIX_TIMESTAMP(e.ended_at), 0), COALESCE(e.resolution_reason, ''), e.check_type
    FROM jetmon_events e LEFT JOIN jetmon_event_transitions t ON t.event_id = e.id AND t.severity_after = 4
    GROUP BY e.id" > "$out/events.tsv"
  sql tidewatch -e "SELECT COUNT(*) FROM jetpack_monitor_sites WHERE last_checked_at IS NOT NULL" > "$out/projected.txt"
fi

python3 - "$out" "$n" "$interval" "$replay_offset" "$replay_duration" "$stack" <<'PY'
import json, os, sys
from datetime import datetime, timezone
out, n, interval = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
replay_offset, replay_duration, stack = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
obs = json.load(open(f"{out}/observer.json"))
st = json.load(open(f"{out}/tidewatch-status.json"))
rows = [l.split() for l in open(f"{out}/resources.txt").read().splitlines()[1:] if l.strip()]
t0, t1 = rows[0], rows[-1]
wall = float(t1[0]) - float(t0[0]) or 1.0
tw_core = (float(t1[1]) - float(t0[1])) / wall
fx_core = (float(t1[4]) - float(t0[4])) / wall
tw_rss = max(float(r[2]) for r in rows)
ratio = obs.get("expected_request_ratio")
# Failed checks by kind (sink.log writes one line per failure) and by minute since start.
import collections, re
failures, per_minute = collections.Counter(), collections.Counter()
replay_hosts = set(open(f"{out}/replay-hosts.txt").read().split()) if os.path.exists(f"{out}/replay-hosts.txt") else set()
replay_fails, other_fails = collections.defaultdict(list), 0
for line in open(f"{out}/tidewatch.log", errors="replace"):
    if " FAIL " not in line: continue
    host = re.search(r"url=https?://([^:/]+)", line)
    when = re.match(r"\[(\d+-\d+-\d+ \d+:\d+:\d+\.\d+)\]", line)
    if host and host.group(1) in replay_hosts and when:
        t = datetime.strptime(when.group(1), "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp()
        replay_fails[host.group(1)].append(t)
    else:
        other_fails += 1
    m = re.search(r"(error=\d+\(\w+\))( dns=\w+)?", line)
    d = re.search(r'detail="([^"]*)"', line)
    failures[(m.group(1) + (m.group(2) or "") if m else "?") + (" " + d.group(1) if d else "")] += 1
    ts = re.match(r"\[(\d+-\d+-\d+ \d+:\d+):", line)
    if ts: per_minute[ts.group(1)] += 1
replay = None
if replay_hosts:
    start = int(open(f"{out}/replay-start.txt").read()) + replay_offset
    end = start + replay_duration
    detect = {h: (min(replay_fails[h]) - start) if replay_fails[h] else None for h in replay_hosts}
    late_fail = {h: max(replay_fails[h]) - end for h in replay_hosts if replay_fails[h] and max(replay_fails[h]) > end + 30}
    delays = sorted(d for d in detect.values() if d is not None)
    replay = {"hosts": len(replay_hosts), "detected": len(delays),
              "detected_in_time": sum(1 for d in delays if -30 <= d <= interval + 30),
              "detection_delay_s": {"min": round(delays[0], 1), "max": round(delays[-1], 1)} if delays else None,
              "failed_after_end": len(late_fail), "failures_on_other_hosts": other_fails}
events = None
if stack == "full":
    rows = [l.split("\t") for l in open(f"{out}/events.tsv").read().splitlines() if l.strip()]
    replay_ids = {int(h[5:12]) for h in replay_hosts}
    ev = {"events": len(rows), "events_on_other_sites": sum(1 for r in rows if int(r[0]) not in replay_ids),
          "sites_with_last_checked_at": int(open(f"{out}/projected.txt").read())}
    if replay_hosts:
        mine = [r for r in rows if int(r[0]) in replay_ids]
        opened = [float(r[1]) - start for r in mine]
        down = [float(r[2]) - start for r in mine if float(r[2]) > 0]
        closed = [float(r[3]) - end for r in mine if float(r[3]) > 0]
        ev.update({"replay_sites_with_event": len({int(r[0]) for r in mine}),
                   "replay_sites_down": len({int(r[0]) for r in mine if float(r[2]) > 0}),
                   "replay_sites_closed_after_end": len({int(r[0]) for r in mine if float(r[3]) >= end - 1}),
                   "replay_events": len(mine),
                   "open_s_after_start": [round(min(opened), 1), round(max(opened), 1)] if opened else None,
                   "down_s_after_start": [round(min(down), 1), round(max(down), 1)] if down else None,
                   "closed_s_after_end": [round(min(closed), 1), round(max(closed), 1)] if closed else None,
                   "resolutions": dict(collections.Counter(r[4] for r in mine))})
    events = ev
gates = {
    "never_seen == 0": obs["never_seen_sites"] == 0,
    "stale == 0": obs["stale_sites"] == 0,
    "coverage == 100%": obs["coverage_percent"] >= 100.0,
    "0.80 <= ratio <= 1.25": ratio is not None and 0.80 <= ratio <= 1.25,
}
if events is not None:
    gates["no events on healthy sites"] = events["events_on_other_sites"] == 0
    if replay is not None:
        gates["replay events: 25 Down, 25 closed after the end, one event each, Down in time"] = (
            events["replay_sites_down"] == 25 and events["replay_sites_closed_after_end"] == 25
            and events["replay_events"] == 25 and events["down_s_after_start"] is not None
            and events["down_s_after_start"][1] <= interval + 60)
if replay is not None:
    gates["replay: 25/25 detected in time, 25/25 recovered, no noise"] = (
        replay["detected_in_time"] == replay["hosts"] and replay["failed_after_end"] == 0
        and replay["failures_on_other_hosts"] == 0)
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
    "udp_rcvbuf_errors_machine_wide": int(open(f"{out}/udp-rcvbuf-errors.txt").read()),
    "failures_by_kind": failures.most_common(10),
    "failures_by_minute": sorted(per_minute.items()),
    "replay": replay,
    "events": events,
    "stack": stack,
    "gates": gates, "pass": all(gates.values()),
}
json.dump(report, open(f"{out}/capacity.json", "w"), indent=2)
print(json.dumps(report, indent=2))
PY
echo "report: $out"
