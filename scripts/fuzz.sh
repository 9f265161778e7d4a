#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (into build-fuzz/, AddressSanitizer and UBSan on) and
# runs each for a while, starting from fuzz/corpus/<target>/ and adding what it finds there
# (a crash is written to fuzz/crashes/ and fails the run; turn it into a regression test).
#   scripts/fuzz.sh [--seconds N] [TARGET...]     (default 60 s for each target)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    -*) echo "usage: scripts/fuzz.sh [--seconds N] [TARGET...]" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -eq 0 ] && targets=(fuzz_bus_frame fuzz_json_forms fuzz_alert_json fuzz_notices fuzz_site_config fuzz_desk_form fuzz_request)

command -v clang++ >/dev/null || { echo "fuzz: clang++ is missing (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DLIAISON_FUZZ=ON -DLIAISON_TESTS=OFF -DLIAISON_BENCH=OFF >/dev/null
cmake --build build-fuzz --target fuzzers -j "$(nproc)"

mkdir -p fuzz/crashes
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in "${targets[@]}"; do
  corpus=fuzz/corpus/$t
  mkdir -p "$corpus" "build-fuzz/corpus/$t"
  echo "fuzz: $t for $seconds s (corpus $corpus)"
  # New inputs go to the build's corpus; the seed corpus in the repository stays small.
  build-fuzz/bin/"$t" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix=fuzz/crashes/"$t"- -print_final_stats=1 "build-fuzz/corpus/$t" "$corpus" 2>&1 |
    grep -E "^(stat::number_of_executed_units|stat::new_units_added|==|SUMMARY|.*ERROR)" || true
  if ls fuzz/crashes/"$t"-* >/dev/null 2>&1; then
    echo "fuzz: $t found a crash: $(ls fuzz/crashes/"$t"-*)" >&2
    exit 1
  fi
done
echo "fuzz: no crash"
