#!/usr/bin/env bash
# A fault-injection run: 1 broker and 4 site daemons on 127.0.0.1 under a steady load of
# publishes, retirements and alerts, while a seeded schedule kills (-9) and restarts the broker
# and sites, pauses sites and fills a site's LMDB map; then every acknowledged operation is checked against a model
# (tests/tools/chaos.cpp). Builds if needed.
#   scripts/chaos.sh [--duration SECONDS] [--seed N] [--sites N]
# Prints the figures; the last line is "violations: N"; exits non-zero when N > 0. The seed is
# printed first, so that a failing run can be replayed with --seed.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x build/bin/liaison-chaos ]; then
  scripts/setup.sh >/dev/null
fi
export LIAISON_BIN="$PWD/build/bin"
exec build/bin/liaison-chaos "$@"
