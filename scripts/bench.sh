#!/usr/bin/env bash
# Runs Liaison's benchmarks and prints their figures, each beside the machine baseline measured
# in the same run. A Release build goes into build-release/.
#   scripts/bench.sh            full figures (100,000 records, medians of 3 runs)
#   scripts/bench.sh --quick    a one-minute smoke run (CI runs it so the benchmarks never rot)
#   scripts/bench.sh --peers    Liaison beside OpenLDAP (slapd + syncrepl) and NATS JetStream (a
#                               KV bucket + a mirror), installed from Debian when missing, in the
#                               same run: 100,000 records, medians of 3 runs (about an hour on
#                               2 cores); with --quick, 5,000 records and 1 run. --no-build (with
#                               --peers only) runs the binaries already in build-release/bin.
#                               See scripts/bench_peers.py.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
peers=0
compile=1
usage="usage: scripts/bench.sh [--quick] [--peers [--no-build]]"
for a in "$@"; do
  case "$a" in
    --quick) quick=1 ;;
    --peers) peers=1 ;;
    --no-build) compile=0 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
if [ "$compile" = 0 ] && [ "$peers" = 0 ]; then echo "$usage" >&2; exit 2; fi

if [ "$quick" = 1 ] && [ -x build/bin/liaison-bench-directory ]; then
  dir=build  # reuse the test build: the smoke run checks that it runs, not its numbers
elif [ "$compile" = 0 ]; then
  dir=build-release
else
  dir=build-release
  BUILD_DIR=$dir BUILD_TYPE=Release CMAKE_ARGS="-DLIAISON_TESTS=ON" scripts/setup.sh >/dev/null
fi

if [ "$peers" = 1 ]; then
  for b in liaison-gendir liaison-bench-directory liaison-bench-bus; do
    [ -x "$dir/bin/$b" ] || { echo "bench: $dir/bin/$b is missing" >&2; exit 1; }
  done
  scripts/peers/install.sh
  # bench_peers.py stops what it starts (on an error too). Should this script be stopped, it
  # stops bench_peers.py, then whatever it had started that is still running, each by PID.
  work=$(mktemp -d)
  pids=$work/pids
  : > "$pids"
  py=""
  # shellcheck disable=SC2317  # called by the trap below
  stop_peers() {
    local word pid
    if [ -n "$py" ] && kill -0 "$py" 2>/dev/null; then
      kill -TERM "$py" 2>/dev/null || true
      wait "$py" 2>/dev/null || true
    fi
    # bench_peers.py empties the file once it has stopped them all; a PID is stopped only while
    # it is still one of the programs it started (a PID can be reused).
    while read -r word pid; do
      [ "$word" = group ] || pid=$word
      grep -qaE 'slapd|nats-server|liaison-bench' "/proc/$pid/cmdline" 2>/dev/null || continue
      if [ "$word" = group ]; then
        kill -TERM -- "-$pid" 2>/dev/null || true
      else
        kill -TERM "$pid" 2>/dev/null || true
      fi
    done < "$pids"
    rm -rf "$work"
  }
  trap stop_peers EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  args=(--bin "$dir/bin" --pids "$pids" --tmp "$work")
  [ "$quick" = 1 ] && args+=(--quick)
  [ -n "${PEERS_JSON:-}" ] && args+=(--json "$PEERS_JSON")  # every run's figures, for a record
  /usr/bin/python3 scripts/bench_peers.py "${args[@]}" &
  py=$!
  wait "$py"
  exit
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
pair="broker pair: etcd + 2 brokers + 4 site daemons, beside 1 broker + 4 in the same run"
if [ "$quick" = 1 ]; then
  sections+=("$(repeat dir directory "$dir/bin/liaison-bench-directory" --records 5000 --queries 200 --runs 1)")
  sections+=("$(repeat bus "$bus" "$dir/bin/liaison-bench-bus" --updates 1000 --catchup 3000 --probes 20)")
  sections+=("$(repeat alerts "$alerts" "$dir/bin/liaison-bench-alerts" --probes 10 --alerts 100)")
  sections+=("$(repeat interpol "$interpol" "$dir/bin/liaison-bench-interpol" --alerts 50 --notices 500)")
  sections+=("$(repeat federation "$federation" "$dir/bin/liaison-bench-federation" --probes 20 --records 2000 --alerts 20)")
  sections+=("$(repeat desk "$desk" "$dir/bin/liaison-bench-desk" --records 2000 --queries 100)")
  sections+=("$(repeat pair "$pair" "$dir/bin/liaison-bench-pair" --failovers 1 --records 50 --bulks 1 --probes 10)")
else
  # The directory benchmark takes its own medians over 3 runs on one 100,000-record directory.
  sections+=("$(runs=1 repeat dir "directory: 100,000 records, medians of 3 runs inside" \
                 "$dir/bin/liaison-bench-directory" --records 100000 --queries 5000 --runs 3)")
  sections+=("$(repeat bus "$bus" "$dir/bin/liaison-bench-bus" --updates 10000 --catchup 100000 --probes 200)")
  sections+=("$(repeat alerts "$alerts" "$dir/bin/liaison-bench-alerts" --probes 200 --alerts 3000)")
  sections+=("$(repeat interpol "$interpol" "$dir/bin/liaison-bench-interpol" --alerts 1000 --notices 10000)")
  sections+=("$(repeat federation "$federation" "$dir/bin/liaison-bench-federation" --probes 200 --records 20000 --alerts 200)")
  sections+=("$(repeat desk "$desk, 100,000 records" "$dir/bin/liaison-bench-desk" --records 100000 --queries 2000)")
  sections+=("$(repeat pair "$pair" "$dir/bin/liaison-bench-pair" --failovers 5 --records 1000 --bulks 10 --probes 200)")
fi
echo
python3 scripts/bench_table.py "${sections[@]}"
# MLA requests: one file from `request send` to "delivered", beside a local TCP copy of the same
# bytes in the same run, and each process's peak own memory (scripts/bench_requests.py).
echo
if [ "$quick" = 1 ]; then
  python3 scripts/bench_requests.py --bin "$dir/bin" --mb 2 --runs 1
  # The same within one network and across a peering (two networks, liaison-bridge): about 10 s.
  echo
  python3 scripts/bench_requests.py --bin "$dir/bin" --mb 2 --runs 1 --federated
else
  python3 scripts/bench_requests.py --bin "$dir/bin" --mb 50 --runs 3
fi
