#!/usr/bin/env bash
# A fault-injection run on 127.0.0.1 (tests/tools/chaos.cpp). By default two federated networks:
# CASC (its broker, sites s1, s2 for KG and KZ) and SEAJust (its broker, sites s3, s4 for TH and
# VN), each peered with the other, and liaison-bridge between them; --networks 1 runs one broker
# and its sites, as before federation. Under a steady load of publishes, retirements and alerts
# (within a network and across the bridge, by site or by country), a seeded schedule kills (-9)
# and restarts either broker, the bridge and sites, pauses sites and the bridge, and fills a
# site's LMDB map; then every acknowledged operation is checked against a model, in both
# networks. --pair runs one network whose broker is a pair (two liaison-broker processes, a
# 3-member etcd cluster on 127.0.0.1; needs /usr/bin/etcd): the faults also kill (-9) the leader,
# the standby or both, pause the leader past its lease, and kill an etcd member; the checks add
# that no seq is acknowledged for two items, that every replica keeps the run's epoch, and that
# both brokers' logs end identical. Builds if needed.
#   scripts/chaos.sh [--duration SECONDS] [--seed N] [--sites N] [--networks 1|2] [--pair] [--keep-logs DIR]
# e.g. the 30-minute runs: scripts/chaos.sh --duration 1800, and scripts/chaos.sh --pair --duration 1800
# Prints the figures; the last line is "violations: N"; exits non-zero when N > 0. The seed is
# printed first, so that a failing run can be replayed with --seed; the processes' logs and the
# journal of faults are kept (in --keep-logs DIR, or under $TMPDIR when there were violations).
set -euo pipefail
cd "$(dirname "$0")/.."
for b in liaison liaison-broker liaison-site liaison-bridge liaison-chaos; do
  if [ ! -x "build/bin/$b" ]; then
    scripts/setup.sh >/dev/null
    break
  fi
done
export LIAISON_BIN="$PWD/build/bin"
exec build/bin/liaison-chaos "$@"
