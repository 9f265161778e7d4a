#!/usr/bin/env bash
# Runs Liaison's benchmarks and prints their figures, each beside the machine baseline measured
# in the same run. A Release build goes into build-release/.
#   scripts/bench.sh            full figures (100,000 records, medians of 3 runs)
#   scripts/bench.sh --quick    a one-minute smoke run (CI runs it so the benchmarks never rot)
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
for a in "$@"; do
  case "$a" in
    --quick) quick=1 ;;
    *) echo "usage: scripts/bench.sh [--quick]" >&2; exit 2 ;;
  esac
done

if [ "$quick" = 1 ] && [ -x build/bin/liaison-bench-directory ]; then
  dir=build  # reuse the test build: the smoke run checks that it runs, not its numbers
else
  dir=build-release
  BUILD_DIR=$dir BUILD_TYPE=Release CMAKE_ARGS="-DLIAISON_TESTS=ON" scripts/setup.sh >/dev/null
fi

echo "Liaison benchmarks — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo
echo "== directory"
if [ "$quick" = 1 ]; then
  "$dir/bin/liaison-bench-directory" --records 5000 --queries 200 --runs 1
else
  "$dir/bin/liaison-bench-directory" --records 100000 --queries 5000 --runs 3
fi
echo
echo "== bus (1 broker and 4 site daemons on 127.0.0.1)"
if [ "$quick" = 1 ]; then
  "$dir/bin/liaison-bench-bus" --updates 1000 --catchup 3000 --probes 20
else
  "$dir/bin/liaison-bench-bus" --updates 20000 --catchup 100000 --probes 300
fi
echo
echo "== alerts (1 broker, a sending site and 8 target site daemons on 127.0.0.1)"
if [ "$quick" = 1 ]; then
  "$dir/bin/liaison-bench-alerts" --probes 10 --alerts 100
else
  "$dir/bin/liaison-bench-alerts" --probes 300 --alerts 5000
fi
echo
echo "== Interpol adapter (a broker, a sending site, liaison-interpol; a local stand-in gateway and notices API)"
if [ "$quick" = 1 ]; then
  "$dir/bin/liaison-bench-interpol" --alerts 50 --notices 500
else
  "$dir/bin/liaison-bench-interpol" --alerts 1000 --notices 10000
fi
