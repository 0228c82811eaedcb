#!/usr/bin/env bash
# Capacity harness (scenarios.md §11): one rung, or a ladder of rungs, of tidewatch checking a
# generated fleet on this box, measured the way an operator runs it (documented defaults, no
# pinning, realistic DNS TTLs), with wrk calibrated against the same fleet in the same run.
#
#   bench/capacity/run.sh N [interval_s=300] [window_s=interval+60] [build-dir=build]
#   bench/capacity/run.sh --ladder 500000,1000000,2000000 [interval_s] [window_s] [build-dir]
#   bench/capacity/run.sh --report out/capacity/<run>      (re-render a finished run)
#
# Environment (all optional; docs/benchmarks.md "How to run the capacity harness" has them all):
#   STACK=probe|full   FIXTURE=tidewatch|nginx   HTTPS=0|1|mix (HTTPS_PERCENT=80)
#   DNS_TTL=300|<s>|mix (DNS_TTL_MIX=60:5,120:5,300:60,600:10,1800:10,3600:10)
#   PIN=1 NICE=-10 (labelled opt-ins)   MODE=none|stall|starve (STALL_AT/STALL_S/STALL_RSS_CAP_MB,
#   STARVE_AT/STARVE_S/STARVE_QUOTA)   WRK_S=15 WRK_CONNECTIONS=64   REPLAY_OFFSET/REPLAY_DURATION
#   SAMPLE_S=15 COOLDOWN_S=60 LADDER_CONTINUE=0 OUT=out/capacity KEEP_WORK=0
# Output: a report folder under out/capacity/ with capacity.md, capacity.json and plots/*.svg.
# Exit status 0 when every rung passed its gates. Not part of CI.
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
exec python3 "$(dirname "$0")/capacity.py" "$@"
