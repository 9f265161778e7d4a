#!/usr/bin/env bash
# Builds Liaison from scratch (warnings as errors) and runs the whole test suite, then builds
# and runs it again under AddressSanitizer + UndefinedBehaviorSanitizer. Exits non-zero on any
# failure. SKIP_SANITIZERS=1 skips the second pass.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=build CMAKE_ARGS="-DLIAISON_WERROR=ON -DLIAISON_LINE_TABLES=ON" scripts/setup.sh
# The kill -9 transfer test moves 200 MB here (four 50 MB files, as the issue asks; 40 MB under
# the sanitizers below).
LIAISON_REQUEST_TEST_MB=200 ctest --test-dir build --output-on-failure -j 2 --timeout 600
scripts/bench.sh --quick   # the benchmarks must keep running; their numbers are not checked here
# The demo checks every step it narrates; it must keep working too.
demo_log=$(mktemp)
if ! scripts/demo.sh > "$demo_log" 2>&1; then cat "$demo_log"; rm -f "$demo_log"; exit 1; fi
rm -f "$demo_log"
echo "test: the demo ran, every step checked"
# Every fuzz target for a few seconds from its seed corpus (scripts/fuzz.sh --seconds N for long runs).
scripts/fuzz.sh --seconds "${FUZZ_SECONDS:-5}"

if [ "${SKIP_SANITIZERS:-0}" != 1 ]; then
  BUILD_DIR=build-asan BUILD_TYPE=RelWithDebInfo \
    CMAKE_ARGS="-DLIAISON_WERROR=ON -DLIAISON_SANITIZE=ON -DLIAISON_BENCH=OFF -DLIAISON_LINE_TABLES=ON" \
    scripts/setup.sh
  # The two fault-injection runs and the 100,000-record directory ran in the plain pass; under the
  # sanitizers they would repeat the same code paths (covered by the network tests) at 3x the time.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j 2 --timeout 900 \
    -E '^(ChaosShortRun|ChaosPairShortRun|CliTest.HundredThousandRecordDirectory)$'
fi
