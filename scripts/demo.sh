#!/usr/bin/env bash
# Liaison's main job on one machine, narrated. Builds if needed (installing Debian packages when
# missing), then in a temporary folder stands up a network on 127.0.0.1: a root key, a broker,
# the sites of Bishkek (KG), Almaty (KZ) and Bangkok (TH) and the CASC secretariat, each with its
# own key and certificate, and the Interpol adapter against a local stand-in for Interpol's NCB
# gateway and notices API. The sample directory is published by the sites that own it. Then:
# a Bishkek prosecutor finds the Thai counterpart, sends an urgent alert to Thailand and
# Interpol, Bangkok receipts and a named officer acknowledges; Almaty is stopped, misses
# updates, restarts and catches up. Every step is checked; exits 0 only if all happened.
# Stops every process it started (by PID) unless --keep, which leaves the network running.
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir=$(pwd)

keep=0
for a in "$@"; do
  case "$a" in
    --keep) keep=1 ;;
    *) echo "usage: scripts/demo.sh [--keep]" >&2; exit 2 ;;
  esac
done

bin="$root_dir/build/bin"
for b in liaison liaison-broker liaison-site liaison-interpol liaison-fake-interpol; do
  if [ ! -x "$bin/$b" ]; then
    echo "Building Liaison first (scripts/setup.sh)…"
    scripts/setup.sh >/dev/null
    break
  fi
done
L="$bin/liaison"
work=$(mktemp -d "${TMPDIR:-/tmp}/liaison-demo-XXXXXX")
pids=()
cleanup() {
  if [ "$keep" = 0 ]; then
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
  fi
}
trap cleanup EXIT
cd "$work"
mkdir -p logs
started=$(date +%s)

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say() { printf '%s\n' "$*"; }
show() { printf '$ %s\n' "$(echo "$*" | sed "s|$bin/||g; s|$work/||g")"; "$@"; }
quiet() { printf '$ %s\n' "$(echo "$*" | sed "s|$bin/||g; s|$work/||g")"; "$@" >/dev/null; }
fail() { echo "demo: FAILED: $1" >&2; for f in logs/*.log; do echo "---- $f" >&2; tail -5 "$f" >&2; done; exit 1; }
check() { eval "$1" || fail "$2"; }
# wait_for CONDITION SECONDS WHAT
wait_for() {
  local until=$(( $(date +%s) + $2 ))
  while ! eval "$1" >/dev/null 2>&1; do
    [ "$(date +%s)" -ge "$until" ] && fail "$3 (waited $2 s)"
    sleep 0.2
  done
}
# json EXPRESSION: evaluates a Python expression over the JSON on stdin, bound to `j`.
json() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }
daemon() {  # daemon NAME PROGRAM ARGS...
  local name=$1; shift
  "$@" > "logs/$name.log" 2>&1 &
  pids+=($!)
  eval "pid_$(echo "$name" | tr - _)=$!"
}
wait_started() { wait_for "[ -f $1/api.endpoint ] && $L status --site $1 --format json | json 'j[\"connected\"]' | grep -q True" 15 "$1 connects"; }

step "The network secretariat makes the root key; the broker and every site make their own keys"
quiet "$L" keygen --out root
quiet "$L" keygen --out broker
for s in kg-bishkek kz-almaty th-bangkok casc-sec ip-adapter; do quiet "$L" keygen --out "$s"; done

step "The secretariat enrols each member: which countries it speaks for, and its role"
enroll() { printf '$ liaison enroll --root root.key --site %s --public %s.pub --country %s --role %s > %s.member\n' "$1" "$1" "$2" "$3" "$1";
           "$L" enroll --root root.key --site "$1" --public "$1.pub" --country "$2" --role "$3" --network CASC --days 365 > "$1.member"; }
enroll kg-bishkek KG authority
enroll kz-almaty KZ authority
enroll th-bangkok TH authority
enroll casc-sec AM,AZ,GE,TJ,TM,UZ,BN,KH,ID,LA,MY,MM,PH,VN,BD,LK,TL,NP secretariat
enroll ip-adapter KG adapter

step "A stand-in for Interpol's NCB gateway and notices API starts on 127.0.0.1"
daemon fake-interpol "$bin/liaison-fake-interpol" --out interpol.urls --notices "$root_dir/config/sample/notices.json"
wait_for "[ -f interpol.urls ]" 10 "the Interpol stand-in starts"
gateway=$(awk '$1=="gateway"{print $2}' interpol.urls)
notices=$(awk '$1=="notices"{print $2}' interpol.urls)
say "gateway $gateway, notices $notices"

step "The broker starts: it admits only enrolled members (CURVE keys), sequences and routes"
members=()
for s in kg-bishkek kz-almaty th-bangkok casc-sec ip-adapter; do members+=(--member "$s.member"); done
printf '$ liaison-broker --data broker-data --root root.pub --key broker.key --network CASC --listen tcp://127.0.0.1:* --fanout tcp://127.0.0.1:* --member ...\n'
daemon broker "$bin/liaison-broker" --data broker-data --root root.pub --key broker.key --network CASC \
  --listen 'tcp://127.0.0.1:*' --fanout 'tcp://127.0.0.1:*' "${members[@]}"
wait_for "[ -f broker-data/endpoints ]" 10 "the broker starts"
listen=$(awk '$1=="listen"{print $2}' broker-data/endpoints)

step "Each site makes its data directory and runs its daemon; the adapter is a site too"
for s in kg-bishkek kz-almaty th-bangkok casc-sec ip-adapter; do
  quiet "$L" init --site "$work/$s" --id "$s" --root root.pub --key "$s.key" --member "$s.member" \
    --broker "$listen" --broker-key broker.pub --api 127.0.0.1:0
done
sed -i 's|^\[alerts\]$|[alerts]\non_new = "cat > last-alert.json; echo new alert for Bangkok >> notified.txt"|' th-bangkok/site.toml
for s in kg-bishkek kz-almaty th-bangkok casc-sec; do
  daemon "$s" "$bin/liaison-site" --site "$work/$s"
done
daemon ip-adapter "$bin/liaison-interpol" --site "$work/ip-adapter" --gateway "$gateway" --notices "$notices" \
  --nationalities KG,KZ --interval 5
say '$ liaison-interpol --site ip-adapter --gateway ... --notices ... --nationalities KG,KZ'
for s in kg-bishkek kz-almaty th-bangkok casc-sec ip-adapter; do wait_started "$work/$s"; done
say "(Bangkok's site.toml has [alerts] on_new = \"...\": its operator is told of every new alert)"

step "Each authority publishes its own focal points; the secretariat the rest and the instruments"
python3 - "$root_dir/config/sample/contacts.jsonl" <<'EOF'
import json, sys
own = {"KG": "kg-bishkek", "KZ": "kz-almaty", "TH": "th-bangkok"}
files = {}
for line in open(sys.argv[1]):
    if line.strip():
        files.setdefault(own.get(json.loads(line)["country"], "casc-sec"), []).append(line)
for site, lines in files.items():
    open(site + ".jsonl", "w").writelines(lines)
EOF
for s in kg-bishkek kz-almaty th-bangkok; do show "$L" publish --site "$work/$s" "$s.jsonl"; done
show "$L" publish --site "$work/casc-sec" casc-sec.jsonl "$root_dir/config/sample/instruments.json"
contacts() { "$L" status --site "$work/$1" --format json | json 'j["counts"]["contacts"]'; }
for s in kg-bishkek kz-almaty th-bangkok; do wait_for "[ \"\$(contacts $s)\" = 53 ]" 15 "$s holds all 53 contacts"; done
say "every replica holds the 53 contacts, each verified against its publisher's certificate"

step "A Bishkek prosecutor looks for the Thai counterpart for a trafficking MLA request, in Russian"
show "$L" counterpart --site "$work/kg-bishkek" --from KG --to TH --topic trafficking-in-persons --competence mla --language ru
check '"$L" counterpart --site "$work/kg-bishkek" --from KG --to TH --topic trafficking-in-persons --competence mla --language ru --format json | grep -q th-oag-ca-01' \
  "the Thai central authority is found"

step "She sends an urgent alert to Thailand and to Interpol"
show "$L" alert send --site "$work/kg-bishkek" --headline "Three Kyrgyz nationals located in Bangkok; suspect leaving tonight" \
  --target country:TH --forward-to-interpol --urgency immediate --severity severe --certainty observed \
  --category trafficking-in-persons --incident KG-2026-0147 --by "A. Sadykov" --ack-required --ack-deadline PT30M \
  --instruction "Contact the sender before any arrest." --expires PT12H | tee alert.txt
id=$(awk '$1=="alert" && $3=="accepted"{print $2}' alert.txt)
check '[ -n "$id" ]' "the alert is accepted"
state() { "$L" alert show --site "$work/kg-bishkek" "$id" --format json | json "j['custody']['targets']['$1']['state']"; }
wait_for "[ \"\$(state th-bangkok)\" = delivered ]" 15 "Bangkok receipts the alert"
wait_for "[ \"\$(state ip-adapter)\" = delivered ]" 15 "the Interpol adapter forwards it and receipts"
check 'python3 -c "import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1]).read().decode())" "${gateway%/alerts}/received" | grep -q "$id"' \
  "the NCB gateway received the alert"
say "Bangkok stored it and receipted automatically; the adapter posted it to the NCB gateway:"
show "$L" alert list --site "$work/th-bangkok"
check '[ "$(cat th-bangkok/notified.txt 2>/dev/null | wc -l)" -ge 1 ] || [ "$(cat notified.txt 2>/dev/null | wc -l)" -ge 1 ]' "Bangkok's on_new hook ran"

step "A named officer in Bangkok acknowledges"
show "$L" alert ack --site "$work/th-bangkok" "$id" --by "Pol. Col. Somchai P." --comment "Team dispatched to Suvarnabhumi"
wait_for "[ \"\$(state th-bangkok)\" = acknowledged ]" 10 "the sender sees the acknowledgement"
show "$L" alert show --site "$work/kg-bishkek" "$id"
say "(the same alert as CAP 1.2 XML: liaison alert show $id --format cap)"

step "Interpol notices came in through the adapter and are searchable at every site"
wait_for "\"$L\" notices --site \"$work/kg-bishkek\" --type yellow --nationality KG --format json | grep -q Toktogulova" 20 "notices arrive"
show "$L" notices --site "$work/kg-bishkek" --type yellow --nationality KG

step "Almaty's site goes down; Bishkek updates its directory meanwhile"
show kill "$pid_kz_almaty"
wait "$pid_kz_almaty" 2>/dev/null || true
python3 - <<'EOF'
import json
lines = [json.loads(l) for l in open("kg-bishkek.jsonl") if l.strip()]
for c in lines:
    c["revision"] += 1
    c["notes"] = "Re-verified by the Bishkek focal point."
open("kg-update.jsonl", "w").writelines(json.dumps(c, ensure_ascii=False) + "\n" for c in lines)
EOF
show "$L" publish --site "$work/kg-bishkek" kg-update.jsonl
rev() { "$L" show --site "$work/$1" kg-gpo-intl-01 --format json | json 'j["revision"]'; }
wait_for "[ \"\$(rev th-bangkok)\" = 2 ]" 10 "Bangkok has the update"
check '[ "$(rev kz-almaty)" = 1 ]' "Almaty, stopped, still has the old revision"
say "Almaty, stopped, still holds revision 1 (and answers searches from it, offline)"

step "Almaty restarts and catches up from its cursor"
daemon kz-almaty "$bin/liaison-site" --site "$work/kz-almaty"
printf '$ liaison-site --site kz-almaty\n'
wait_started "$work/kz-almaty"
wait_for "[ \"\$(rev kz-almaty)\" = 2 ]" 15 "Almaty catches up"
check '[ "$("$L" export --site "$work/kz-almaty" | md5sum)" = "$("$L" export --site "$work/kg-bishkek" | md5sum)" ]' \
  "Almaty's replica equals Bishkek's"
say "Almaty's replica is again identical to Bishkek's (full export compared)"

step "The state of Bishkek's site and of the Interpol adapter"
show "$L" status --site "$work/kg-bishkek"
show "$L" status --site "$work/ip-adapter"

echo
echo "demo: every step happened, in $(( $(date +%s) - started )) s."
if [ "$keep" = 1 ]; then
  cat <<EOF

The network keeps running in $work (logs in $work/logs). Try:
  export LIAISON_SITE=$work/th-bangkok
  $L find --country KG --role central-authority
  $L alert list
  $L alert send --site $work/kz-almaty --headline "Test" --target country:KG
Stop it with: kill ${pids[*]}
EOF
fi
