#!/usr/bin/env bash
# Runs the store benchmarks on a private MariaDB (scripts/mariadb-private) and removes it after.
#   bench/store/run.sh [tw_store_bench options, e.g. --rows 2000000 --only load]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build}
dir=$(mktemp -d /tmp/twbench.XXXXXX)
trap '"$root/scripts/mariadb-private" stop "$dir"' EXIT
sock=$("$root/scripts/mariadb-private" start "$dir")
echo "# $(date -u +%FT%TZ) $(nproc) cores; mariadbd $(mariadbd --version | awk '{print $3}'); socket $sock"
"$build/bench/store/tw_store_bench" --socket "$sock" "$@"
