#!/usr/bin/env bash
# Detection latency at a 60 s interval, worst case by construction (each site's failure starts
# right after one of its checks was answered): failure start -> Seems Down -> Down for sites
# that time out (10 s deadline), answer 503, or refuse connections. Target (issue 6): Down
# within 60 + 30 s. About three minutes; not part of CI.
#
#   bench/incidents/latency.sh [build-dir=build-incidents] [--timeouts N] [--hard N] [--refused N]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build-incidents}
[ $# -gt 0 ] && shift
case "$build" in /*) ;; *) build="$root/$build" ;; esac
cmake --build "$build" --target tw_incidents_latency_bench tidewatch tidewatch-fixture -j2 > /dev/null
echo "# $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg) commit: $(git -C "$root" rev-parse --short HEAD)"
exec "$build/bench/incidents/tw_incidents_latency_bench" "$@"
