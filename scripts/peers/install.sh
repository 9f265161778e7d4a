#!/usr/bin/env bash
# Installs what `scripts/bench.sh --peers` runs, from Debian, when missing: slapd and ldap-utils
# (OpenLDAP), nats-server, python3-ldap (the LDAP client the benchmark drives slapd with).
# Never prompts: slapd is preseeded to make no configuration of its own (the benchmark writes
# its own cn=config in a temporary directory), and the packages' system services are kept from
# starting while they install (a temporary policy-rc.d, only when the machine has none).
set -euo pipefail

packages=(slapd ldap-utils nats-server python3-ldap)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "peers: installing ${missing[*]}" >&2
echo "slapd slapd/no_configuration boolean true" | $SUDO debconf-set-selections
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  made_policy=1
fi
cleanup() { [ "$made_policy" = 1 ] && $SUDO rm -f "$policy"; return 0; }
trap cleanup EXIT
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
