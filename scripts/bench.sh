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
echo "Each figure is the median of the runs; baselines are measured in the same runs."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
runs=3
[ "$quick" = 1 ] && runs=1
# repeat KEY LABEL COMMAND...: runs the benchmark $runs times, each run's JSON in $out/KEY.N.json;
# prints "LABEL=FILE,FILE,..." for bench_table.py.
repeat() {
  local key=$1 label=$2; shift 2
  local files=()
  for i in $(seq 1 "$runs"); do
    echo "  $label: run $i of $runs…" >&2
    "$@" --json > "$out/$key.$i.json"
    files+=("$out/$key.$i.json")
  done
  (IFS=,; echo "$label=${files[*]}")
}
sections=()
bus="bus: 1 broker + 4 site daemons"
alerts="alerts: 1 broker, a sending site + 8 target site daemons"
interpol="Interpol adapter: local stand-in gateway and notices API"
federation="federation: CASC + SEAJust, 2 brokers, 1 bridge, 2 site daemons each"
desk="the desk: 1 broker + 1 site daemon, searches over its local API address"
if [ "$quick" = 1 ]; then
  sections+=("$(repeat dir directory "$dir/bin/liaison-bench-directory" --records 5000 --queries 200 --runs 1)")
  sections+=("$(repeat bus "$bus" "$dir/bin/liaison-bench-bus" --updates 1000 --catchup 3000 --probes 20)")
  sections+=("$(repeat alerts "$alerts" "$dir/bin/liaison-bench-alerts" --probes 10 --alerts 100)")
  sections+=("$(repeat interpol "$interpol" "$dir/bin/liaison-bench-interpol" --alerts 50 --notices 500)")
  sections+=("$(repeat federation "$federation" "$dir/bin/liaison-bench-federation" --probes 20 --records 2000 --alerts 20)")
  sections+=("$(repeat desk "$desk" "$dir/bin/liaison-bench-desk" --records 2000 --queries 100)")
else
  # The directory benchmark takes its own medians over 3 runs on one 100,000-record directory.
  sections+=("$(runs=1 repeat dir "directory: 100,000 records, medians of 3 runs inside" \
                 "$dir/bin/liaison-bench-directory" --records 100000 --queries 5000 --runs 3)")
  sections+=("$(repeat bus "$bus" "$dir/bin/liaison-bench-bus" --updates 10000 --catchup 100000 --probes 200)")
  sections+=("$(repeat alerts "$alerts" "$dir/bin/liaison-bench-alerts" --probes 200 --alerts 3000)")
  sections+=("$(repeat interpol "$interpol" "$dir/bin/liaison-bench-interpol" --alerts 1000 --notices 10000)")
  sections+=("$(repeat federation "$federation" "$dir/bin/liaison-bench-federation" --probes 200 --records 20000 --alerts 200)")
  sections+=("$(repeat desk "$desk, 100,000 records" "$dir/bin/liaison-bench-desk" --records 100000 --queries 2000)")
fi
echo
python3 scripts/bench_table.py "${sections[@]}"
