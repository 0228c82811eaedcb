#!/bin/sh
# Builds the HTTP parser fuzzer with clang in its own small CMake tree and runs it.
#   tests/fuzz/run_fuzz.sh [seconds] [work-dir]
# ctest runs it for 30 s (label "fuzz"); crashes leave crash-* files in the work dir.
set -eu
seconds=${1:-30}
here=$(cd "$(dirname "$0")" && pwd)
work=${2:-${TMPDIR:-/tmp}/tidewatch-fuzz-http-parser}
mkdir -p "$work/corpus"
cp -n "$here"/corpus/http_parser/* "$work/corpus/" 2>/dev/null || true
CXX=${FUZZ_CXX:-clang++} cmake -S "$here/standalone" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$work/build" -j1 >/dev/null
cd "$work"
exec "$work/build/tw_fuzz_http_parser" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 "$work/corpus"
