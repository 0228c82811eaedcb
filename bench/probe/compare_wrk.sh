#!/bin/bash
# Compares probe.http with wrk on the same fixture, in one run, with fresh connections:
#   plain HTTP  — wrk -H 'Connection: close' vs probe.http (DNS cached, the steady state)
#   HTTPS       — wrk (full handshakes) vs probe.http full handshakes and resumed sessions:
#                 TLS 1.2 resumption (probe.tls12_resumption: true) and, in a second
#                 process with the default (policy off), TLS 1.3 resumption
# Both rotate over the same N generated hosts (wrk through a Lua script setting Host; the
# probe resolves each name through the fixture's DNS and dials its 127.x.y.z address).
# The load generator runs on CPU 0, the fixture on CPU 1 (BENCHMARKING.md); CPU is each
# process's own utime+stime. The ratio is BENCHMARKING.md's: (checks / CPU-s of probe_load)
# ÷ (requests / CPU-s of wrk).
#
#   bench/probe/compare_wrk.sh [build-dir] [hosts] [wrk-seconds] [concurrency] [https-hosts]
# HTTPS passes use the first https-hosts hosts (default 20 000): full handshakes run at ~1/10
# of the plain rate, so 100 000 of them would take minutes on this machine.
set -euo pipefail
build=${1:-build-probe}
hosts=${2:-100000}
secs=${3:-10}
conc=${4:-64}
https_hosts=${5:-20000}
root=$(cd "$(dirname "$0")/../.." && pwd)
case "$build" in /*) ;; *) build="$root/$build" ;; esac
fixture="$build/fixture/tidewatch-fixture"
load="$build/bench/probe/tw_probe_load"
for b in "$fixture" "$load"; do [ -x "$b" ] || { echo "missing $b (build it first)" >&2; exit 1; }; done

work=$(mktemp -d /tmp/tw-compare-wrk-XXXXXX)
fixture_pid=""
cleanup() { [ -n "$fixture_pid" ] && kill "$fixture_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

taskset -c 1 "$fixture" --fleet-count "$hosts" --http-port 0 --https-port 0 --control-port 0 --wpcom-port 0 \
  --dns-port 0 --dns2-port 0 --ready-file "$work/ready.json" --ca-file "$work/ca.pem" --log-level warn \
  > "$work/fixture.log" 2>&1 &
fixture_pid=$!
for _ in $(seq 100); do [ -s "$work/ready.json" ] && break; sleep 0.1; done
[ -s "$work/ready.json" ] || { echo "fixture did not start"; cat "$work/fixture.log"; exit 1; }
read -r http_port https_port dns1 dns2 < <(python3 -c '
import json,sys; r=json.load(open(sys.argv[1]))
print(r["http"]["port"], r["https"]["port"], r["dns"][0]["port"], r["dns"][1]["port"])' "$work/ready.json")

cpu_of() {  # utime+stime seconds of a finished child, from /usr/bin/time's output file
  awk '{print $2 + $3}' "$1"
}

cat > "$work/hosts.lua" <<LUA
local n = 0
request = function()
  n = n + 1
  local host = string.format("site-%07d.fleet.test", (n % $hosts) + 1)
  return wrk.format("GET", "/", {["Host"] = host, ["Connection"] = "close"})
end
LUA

run_wrk() {  # $1 = url, $2 = label
  /usr/bin/time -f "%e %U %S" -o "$work/wrk.time" taskset -c 0 wrk -t1 -c"$conc" -d"${secs}s" \
    -H 'Connection: close' -s "$work/hosts.lua" "$1" > "$work/wrk.out" 2>&1
  local reqs cpu
  reqs=$(awk '/requests in/ {print $1}' "$work/wrk.out")
  cpu=$(cpu_of "$work/wrk.time")
  local errs
  errs=$(grep -E 'Socket errors|Non-2xx' "$work/wrk.out" | tr '\n' ' ' || true)
  python3 - "$2" "$reqs" "$secs" "$cpu" "$errs" <<'PY'
import sys
label, reqs, secs, cpu, errs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
print(f"{label}: requests={reqs} req_per_s={reqs/secs:.0f} cpu_s={cpu:.2f} cpu_us_per_req={cpu*1e6/reqs:.1f} "
      f"req_per_cpu_s={reqs/cpu:.0f} {errs}")
PY
}

cat > "$work/probe.yaml" <<YAML
pipeline:
  source: {type: source.generated, url: 'http://site-%07d.fleet.test/', count: 1}
  probe: {type: probe.http}
resolver:
  servers: ['127.0.0.1:$dns1', '127.0.0.1:$dns2']
probe:
  allow_private_targets: true
  ca_file: '$work/ca.pem'
  default_timeout_s: 10
YAML

echo "# $(date -u +%FT%TZ) hosts=$hosts concurrency=$conc wrk_seconds=$secs $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "## wrk"
run_wrk "http://127.0.0.1:$http_port/" "wrk http" | tee "$work/wrk_http.txt"
run_wrk "https://127.0.0.1:$https_port/" "wrk https (full handshake)" | tee "$work/wrk_https.txt"

echo "## probe.http (tw_probe_load, 1 I/O thread)"
u_http="http://site-%07d.fleet.test:$http_port/"
u_https="https://site-%07d.fleet.test:$https_port/"
taskset -c 0 "$load" --config "$work/probe.yaml" --hosts "$hosts" --concurrency "$conc" --threads 1 \
  --url "$u_http" --url "$u_http" | tee "$work/probe.txt"
# A fresh process: an http pass fills the DNS cache, then full handshakes (TLS 1.3), then one
# pass of full handshakes capped at TLS 1.2 (they earn the TLS 1.2 sessions), then resumptions.
# probe.tls12_resumption is off by default; this run turns it on.
sed 's/^probe:$/probe:\n  tls12_resumption: true/' "$work/probe.yaml" > "$work/probe12.yaml"
taskset -c 0 "$load" --config "$work/probe12.yaml" --hosts "$https_hosts" --concurrency "$conc" --threads 1 \
  --url "$u_http" --url "$u_https" --url "$u_https" --url "$u_https" | sed 's/^pass /https-run pass /' | tee -a "$work/probe.txt"
# The default (policy off): TLS 1.3 sessions resumed (psk_dhe_ke), for comparison.
taskset -c 0 "$load" --config "$work/probe.yaml" --hosts "$https_hosts" --concurrency "$conc" --threads 1 \
  --url "$u_http" --url "$u_https" --url "$u_https" | sed 's/^pass /tls13-run pass /' | tee -a "$work/probe.txt"

echo "## ratios (checks per CPU-second of probe_load / requests per CPU-second of wrk)"
python3 - "$work" <<'PY'
import re, sys
w = sys.argv[1]
def field(text, name):
    return float(re.search(name + r"=([0-9.]+)", text).group(1))
wrk_http = open(f"{w}/wrk_http.txt").read()
wrk_https = open(f"{w}/wrk_https.txt").read()
lines = open(f"{w}/probe.txt").read().splitlines()
passes = [l for l in lines if l.startswith("pass ")]
https_passes = [l for l in lines if l.startswith("https-run pass ")]
tls13_passes = [l for l in lines if l.startswith("tls13-run pass ")]
http_steady, https_full, https_resumed = passes[1], https_passes[1], https_passes[3]
r_http = field(http_steady, "checks_per_cpu_s") / field(wrk_http, "req_per_cpu_s")
r_https = field(https_full, "checks_per_cpu_s") / field(wrk_https, "req_per_cpu_s")
cpu_http = field(http_steady, "cpu_us_per_check")
cpu_full = field(https_full, "cpu_us_per_check")
cpu_res = field(https_resumed, "cpu_us_per_check")
cpu_capped_full = field(https_passes[2], "cpu_us_per_check")
cpu_res13 = field(tls13_passes[2], "cpu_us_per_check")
print(f"plain HTTP: probe/wrk checks-per-CPU-second = {r_http:.2f} (target >= 0.60)")
print(f"HTTPS full handshake: probe/wrk = {r_https:.2f}; probe {cpu_full:.0f} us/check")
print(f"HTTPS full handshake capped at TLS 1.2 (once per host and day): {cpu_capped_full:.0f} us/check")
print(f"HTTPS resumed (TLS 1.2 policy): {cpu_res:.0f} us/check = {cpu_res/cpu_http:.2f} x plain HTTP ({cpu_http:.0f} us) (target <= 2.0)")
print(f"HTTPS resumed (policy off, TLS 1.3): {cpu_res13:.0f} us/check = {cpu_res13/cpu_http:.2f} x plain HTTP")
PY
