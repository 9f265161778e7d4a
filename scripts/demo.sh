#!/usr/bin/env bash
# Liaison's main job on one machine, narrated. Builds if needed (installing Debian packages when
# missing), then in a temporary folder stands up two networks on 127.0.0.1, each with its own root
# key and broker: CASC, with the sites of Bishkek (KG), Almaty (KZ) and the CASC secretariat, and
# the Interpol adapter against a local stand-in for Interpol's NCB gateway and notices API; and
# SEAJust, with the sites of Bangkok (TH) and the SEAJust secretariat. Every site has its own key
# and certificate. The sample directory is published by the sites that own it, each in its own
# network; the two secretariats publish their peerings, and a bridge enrolled in both networks
# carries between them what the peerings allow. Then: a Bishkek prosecutor finds the Thai
# counterpart (a SEAJust record) at her CASC site, sends an urgent alert to Thailand and Interpol,
# it crosses the bridge, Bangkok receipts and a named officer acknowledges, and both answers come
# back to Bishkek; Almaty is stopped, misses updates, restarts and catches up. Every step is
# checked; exits 0 only if all happened. Stops every process it started (by PID) unless --keep,
# which leaves the networks running.
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
for b in liaison liaison-broker liaison-site liaison-bridge liaison-interpol liaison-fake-interpol; do
  if [ ! -x "$bin/$b" ]; then
    echo "Building Liaison first (scripts/setup.sh)…"
    scripts/setup.sh >/dev/null
    break
  fi
done
L="$bin/liaison"
# The system's Python (setup.sh installs it): a version manager's shim in PATH can take a second to
# start, and the checks below start Python often.
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)
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
json() { "$py" -c "import json,sys; j=json.load(sys.stdin); print($1)"; }
daemon() {  # daemon NAME PROGRAM ARGS...
  local name=$1; shift
  "$@" > "logs/$name.log" 2>&1 &
  pids+=($!)
  eval "pid_$(echo "$name" | tr - _)=$!"
}
status_json() { "$L" status --site "$work/$1" --format json; }
wait_started() { wait_for "[ -f $work/$1/api.endpoint ] && status_json $1 | json 'j[\"connected\"]' | grep -q True" 30 "$1 connects"; }

casc_sites=(kg-bishkek kz-almaty casc-sec ip-adapter)
seajust_sites=(th-bangkok seajust-sec)
network_of() { case "$1" in th-bangkok|seajust-sec|seajust-bridge) echo seajust ;; *) echo casc ;; esac; }

step "Each network's secretariat makes its root key; each broker, each site and the bridge make their own keys"
for n in casc seajust; do quiet "$L" keygen --out "$n-root"; quiet "$L" keygen --out "$n-broker"; done
for s in "${casc_sites[@]}" "${seajust_sites[@]}" bridge; do quiet "$L" keygen --out "$s"; done

step "Each secretariat enrols its own members: which countries each speaks for, and its role"
enroll() {  # enroll NETWORK SITE KEY COUNTRIES ROLE
  local root; root=$(echo "$1" | tr '[:upper:]' '[:lower:]')-root
  local countries=(); [ -n "$4" ] && countries=(--country "$4")
  printf '$ liaison enroll --root %s.key --site %s --public %s.pub %s--role %s --network %s > %s.member\n' \
    "$root" "$2" "$3" "${4:+--country $4 }" "$5" "$1" "$2"
  "$L" enroll --root "$root.key" --site "$2" --public "$3.pub" "${countries[@]}" --role "$5" --network "$1" \
    --days 365 > "$2.member"
}
enroll CASC kg-bishkek kg-bishkek KG authority
enroll CASC kz-almaty kz-almaty KZ authority
enroll CASC casc-sec casc-sec AM,AZ,GE,TJ,TM,UZ secretariat
enroll CASC ip-adapter ip-adapter KG adapter
enroll SEAJust th-bangkok th-bangkok TH authority
enroll SEAJust seajust-sec seajust-sec BN,KH,ID,LA,MY,MM,PH,VN,BD,LK,TL,NP secretariat
say "The bridge is a member of both networks, enrolled by each root: one key pair, two site ids"
enroll CASC casc-bridge bridge "" bridge
enroll SEAJust seajust-bridge bridge "" bridge

step "A stand-in for Interpol's NCB gateway and notices API starts on 127.0.0.1"
daemon fake-interpol "$bin/liaison-fake-interpol" --out interpol.urls --notices "$root_dir/config/sample/notices.json"
wait_for "[ -f interpol.urls ]" 30 "the Interpol stand-in starts"
gateway=$(awk '$1=="gateway"{print $2}' interpol.urls)
notices=$(awk '$1=="notices"{print $2}' interpol.urls)
say "gateway $gateway, notices $notices"

step "Each network's broker starts: it admits only its enrolled members (CURVE keys), sequences and routes"
start_broker() {  # start_broker NETWORK name SITES...
  local net=$1 n=$2; shift 2
  local members=()
  for s in "$@"; do members+=(--member "$s.member"); done
  printf '$ liaison-broker --data %s-broker-data --root %s-root.pub --key %s-broker.key --network %s --listen tcp://127.0.0.1:* --fanout tcp://127.0.0.1:* --member ...\n' "$n" "$n" "$n" "$net"
  daemon "$n-broker" "$bin/liaison-broker" --data "$n-broker-data" --root "$n-root.pub" --key "$n-broker.key" \
    --network "$net" --listen 'tcp://127.0.0.1:*' --fanout 'tcp://127.0.0.1:*' "${members[@]}"
}
start_broker CASC casc "${casc_sites[@]}" casc-bridge
start_broker SEAJust seajust "${seajust_sites[@]}" seajust-bridge
for n in casc seajust; do wait_for "[ -f $n-broker-data/endpoints ]" 30 "the $n broker starts"; done
listen_of() { awk '$1=="listen"{print $2}' "$1-broker-data/endpoints"; }  # where a broker listens

step "Each site makes its data directory in its own network and runs its daemon; the adapter is a site too"
init_site() {  # init_site SITE KEY
  local n; n=$(network_of "$1")
  quiet "$L" init --site "$work/$1" --id "$1" --root "$n-root.pub" --key "$2.key" --member "$1.member" \
    --broker "$(listen_of "$n")" --broker-key "$n-broker.pub" --api 127.0.0.1:0
}
for s in "${casc_sites[@]}" "${seajust_sites[@]}"; do init_site "$s" "$s"; done
sed -i 's|^\[alerts\]$|[alerts]\non_new = "cat > last-alert.json; echo new alert for Bangkok >> notified.txt"|' th-bangkok/site.toml
for s in kg-bishkek kz-almaty casc-sec th-bangkok seajust-sec; do
  daemon "$s" "$bin/liaison-site" --site "$work/$s"
done
daemon ip-adapter "$bin/liaison-interpol" --site "$work/ip-adapter" --gateway "$gateway" --notices "$notices" \
  --nationalities KG,KZ --interval 5
say '$ liaison-interpol --site ip-adapter --gateway ... --notices ... --nationalities KG,KZ'
for s in "${casc_sites[@]}" "${seajust_sites[@]}"; do wait_started "$s"; done
say "(Bangkok's site.toml has [alerts] on_new = \"...\": its operator is told of every new alert)"

step "Each authority publishes its own focal points in its own network; each secretariat the rest and its instruments"
"$py" - "$root_dir/config/sample/contacts.jsonl" "$root_dir/config/sample/instruments.json" <<'EOF'
import json, sys
own = {"KG": "kg-bishkek", "KZ": "kz-almaty", "TH": "th-bangkok"}
casc = {"AM", "AZ", "GE", "TJ", "TM", "UZ"}  # the rest of CASC; every other country here is SEAJust's
files = {}
for line in open(sys.argv[1]):
    if line.strip():
        cc = json.loads(line)["country"]
        files.setdefault(own.get(cc, "casc-sec" if cc in casc else "seajust-sec"), []).append(line)
for site, lines in files.items():
    open(site + ".jsonl", "w").writelines(lines)
# Each instrument is published in one network only (an id published in both collides: each replica
# keeps its home copy and counts the peer's as an "id collision"); the other gets it over the bridge.
seajust = {"ASEAN-MLAT", "KG-TH-MLA-2024"}
for site, mine in (("casc-sec", False), ("seajust-sec", True)):
    items = [i for i in json.load(open(sys.argv[2])) if (i["id"] in seajust) == mine]
    json.dump(items, open(site + "-instruments.json", "w"), ensure_ascii=False, indent=1)
EOF
for s in kg-bishkek kz-almaty th-bangkok; do show "$L" publish --site "$work/$s" "$s.jsonl"; done
for s in casc-sec seajust-sec; do show "$L" publish --site "$work/$s" "$s.jsonl" "$s-instruments.json"; done
counts() { status_json "$1" | json '"%d %d" % (j["counts"]["contacts"], j["counts"]["instruments"])'; }
for s in kg-bishkek kz-almaty casc-sec; do wait_for "[ \"\$(counts $s)\" = '22 4' ]" 30 "$s holds CASC's 22 contacts"; done
for s in th-bangkok seajust-sec; do wait_for "[ \"\$(counts $s)\" = '31 2' ]" 30 "$s holds SEAJust's 31 contacts"; done
check '"$L" find --site "$work/kg-bishkek" --country TH >/dev/null 2>&1; [ $? = 1 ]' "nothing crossed yet"
say "each network's replicas hold its own records only (CASC 22 contacts, SEAJust 31), each verified"
say "against its publisher's certificate; at Bishkek, nobody in Thailand yet"

step "The two secretariats peer: each signs a peering with its own root and publishes it in its own network"
peer() {  # peer NETWORK PEER: the network's peering, signed by its root, published by its secretariat
  local n p; n=$(echo "$1" | tr '[:upper:]' '[:lower:]'); p=$(echo "$2" | tr '[:upper:]' '[:lower:]')
  printf '$ liaison peer --root %s-root.key --network %s --peer %s --peer-root %s-root.pub --days 365 > %s-%s.peering\n' \
    "$n" "$1" "$2" "$p" "$n" "$p"
  "$L" peer --root "$n-root.key" --network "$1" --peer "$2" --peer-root "$p-root.pub" --days 365 > "$n-$p.peering"
  show "$L" publish --site "$work/$n-sec" "$n-$p.peering"
}
peer CASC SEAJust
peer SEAJust CASC
say "(the default policy: kinds=contact,instrument,notice,alert, every role and country; --offer and"
say " --accept narrow it. What flows from one network to the other is what one offers and the other"
say " accepts, and nothing flows until both peerings are in force.)"

step "The bridge, enrolled in both networks, runs: one process, a site directory in each"
init_site casc-bridge bridge
init_site seajust-bridge bridge
daemon bridge "$bin/liaison-bridge" --site "$work/casc-bridge" --site "$work/seajust-bridge"
say '$ liaison-bridge --site casc-bridge --site seajust-bridge'
for s in casc-bridge seajust-bridge; do wait_started "$s"; done
for s in kg-bishkek kz-almaty casc-sec th-bangkok seajust-sec; do
  wait_for "[ \"\$(counts $s)\" = '53 6' ]" 30 "$s holds all 53 contacts and 6 instruments, from both networks"
done
say "every replica in both networks now holds the 53 contacts and 6 instruments: the bridge carried each"
say "network's records to the other untouched, and each replica verified them itself, under the peer's"
say "root that its own root's peering names"
printf '$ liaison status --site kg-bishkek | grep peering\n'
"$L" status --site "$work/kg-bishkek" | grep '^peering:'

step "A Bishkek prosecutor looks for the Thai counterpart for a trafficking MLA request, in Russian"
show "$L" counterpart --site "$work/kg-bishkek" --from KG --to TH --topic trafficking-in-persons --competence mla --language ru
cp_json() { "$L" counterpart --site "$work/kg-bishkek" --from KG --to TH --topic trafficking-in-persons --competence mla --language ru --format json; }
check '[ "$(cp_json | json "j[\"counterparts\"][0][\"id\"] + \" \" + j[\"counterparts\"][0][\"match\"][\"network\"]")" = "th-oag-ca-01 SEAJust" ]' \
  "the Thai central authority, a SEAJust record, is found first at a CASC site"
check 'cp_json | grep -q KG-TH-MLA-2024' "the KG-TH treaty, published on SEAJust, is a legal basis at Bishkek"
say "The record, published in Bangkok on SEAJust, says where it came from and who signed it:"
printf '$ liaison show --site kg-bishkek th-oag-ca-01 | tail -2\n'
"$L" show --site "$work/kg-bishkek" th-oag-ca-01 | tail -2
check '"$L" show --site "$work/kg-bishkek" th-oag-ca-01 | grep -q "network: *SEAJust (a peer network, over a bridge)"' \
  "the record says it came from SEAJust, over the bridge"

step "She sends an urgent alert to Thailand and to Interpol"
show "$L" alert send --site "$work/kg-bishkek" --headline "Three Kyrgyz nationals located in Bangkok; suspect leaving tonight" \
  --target country:TH --forward-to-interpol --urgency immediate --severity severe --certainty observed \
  --category trafficking-in-persons --incident KG-2026-0147 --by "A. Sadykov" --ack-required --ack-deadline PT30M \
  --instruction "Contact the sender before any arrest." --expires PT12H | tee alert.txt
id=$(awk '$1=="alert" && $3=="accepted"{print $2}' alert.txt)
check '[ -n "$id" ]' "the alert is accepted"
custody() { "$L" alert show --site "$work/kg-bishkek" "$id" --format json | json "j['custody']['targets']['$1'].get('$2')"; }
state() { custody "$1" state; }
wait_for '[ "$(custody th-bangkok network)" = SEAJust ] && [ "$(custody casc-bridge hop)" = True ]' 30 \
  "CASC's broker routes the Thai target, in SEAJust, through the bridge"
say "CASC's broker hands it to the bridge (a hop), which hands it to SEAJust's broker, which delivers it to Bangkok"
wait_for "[ \"\$(state th-bangkok)\" = delivered ]" 30 "Bangkok receipts the alert, across the bridge"
wait_for "[ \"\$(state ip-adapter)\" = delivered ]" 30 "the Interpol adapter forwards it and receipts"
check '"$py" -c "import urllib.request,sys; print(urllib.request.urlopen(sys.argv[1]).read().decode())" "${gateway%/alerts}/received" | grep -q "$id"' \
  "the NCB gateway received the alert"
say "Bangkok stored it and receipted automatically; the adapter posted it to the NCB gateway:"
show "$L" alert list --site "$work/th-bangkok"
wait_for '[ "$(cat th-bangkok/notified.txt 2>/dev/null | wc -l)" -ge 1 ] || [ "$(cat notified.txt 2>/dev/null | wc -l)" -ge 1 ]' 30 "Bangkok's on_new hook ran"

step "A named officer in Bangkok acknowledges; the answer travels back over the bridge"
show "$L" alert ack --site "$work/th-bangkok" "$id" --by "Pol. Col. Somchai P." --comment "Team dispatched to Suvarnabhumi"
wait_for "[ \"\$(state th-bangkok)\" = acknowledged ]" 30 "the sender sees the acknowledgement"
answers() { "$L" alert show --site "$work/kg-bishkek" "$id" --format json | json "' '.join(sorted(a['kind'] for a in j['answers'] if a['site'] == '$1'))"; }
wait_for "[ \"\$(answers th-bangkok)\" = 'acknowledged receipt' ]" 30 "Bangkok's signed receipt and acknowledgement are held at Bishkek"
show "$L" alert show --site "$work/kg-bishkek" "$id"
say "(the same alert as CAP 1.2 XML: liaison alert show $id --format cap)"

step "Interpol notices came in through the adapter and are searchable at every site, in both networks"
wait_for "\"$L\" notices --site \"$work/th-bangkok\" --type yellow --nationality KG --format json | grep -q Toktogulova" 30 "notices arrive"
show "$L" notices --site "$work/th-bangkok" --type yellow --nationality KG

step "Almaty's site goes down; Bishkek updates its directory meanwhile"
# shellcheck disable=SC2154  # pid_kz_almaty is set by daemon()
show kill "$pid_kz_almaty"
wait "$pid_kz_almaty" 2>/dev/null || true
for i in "${!pids[@]}"; do [ "${pids[$i]}" = "$pid_kz_almaty" ] && unset 'pids[i]'; done
"$py" - <<'EOF'
import json
lines = [json.loads(l) for l in open("kg-bishkek.jsonl") if l.strip()]
for c in lines:
    c["revision"] += 1
    c["notes"] = "Re-verified by the Bishkek focal point."
open("kg-update.jsonl", "w").writelines(json.dumps(c, ensure_ascii=False) + "\n" for c in lines)
EOF
show "$L" publish --site "$work/kg-bishkek" kg-update.jsonl
rev() { "$L" show --site "$work/$1" kg-gpo-intl-01 --format json | json 'j["revision"]'; }
wait_for "[ \"\$(rev th-bangkok)\" = 2 ]" 30 "Bangkok, in SEAJust, has the update"
check '[ "$(rev kz-almaty)" = 1 ]' "Almaty, stopped, still has the old revision"
say "Bangkok, across the bridge, has revision 2; Almaty, stopped, still holds revision 1 (and answers searches from it, offline)"

step "Almaty restarts and catches up from its cursor"
daemon kz-almaty "$bin/liaison-site" --site "$work/kz-almaty"
printf '$ liaison-site --site kz-almaty\n'
wait_started kz-almaty
wait_for "[ \"\$(rev kz-almaty)\" = 2 ]" 30 "Almaty catches up"
check '[ "$("$L" export --site "$work/kz-almaty" | md5sum)" = "$("$L" export --site "$work/kg-bishkek" | md5sum)" ]' \
  "Almaty's replica equals Bishkek's"
say "Almaty's replica is again identical to Bishkek's (full export compared, SEAJust's records included)"

step "The state of Bishkek's site, of the bridge and of the Interpol adapter"
show "$L" status --site "$work/kg-bishkek"
show "$L" status --site "$work/casc-bridge"
check '[ "$(status_json casc-bridge | json "\" \".join(str(x) for x in (j[\"extension\"][\"outbound\"][\"to\"], j[\"extension\"][\"inbound\"][\"from\"], j[\"extension\"][\"outbound\"][\"forwarded\"] > 0, j[\"extension\"][\"inbound\"][\"forwarded\"] > 0, j[\"extension\"][\"outbound\"][\"alertsForwarded\"]))")" = "SEAJust SEAJust True True 1" ]' \
  "the bridge reports both directions and the alert it handed on"
show "$L" status --site "$work/ip-adapter"

echo
echo "demo: every step happened, in $(( $(date +%s) - started )) s."
if [ "$keep" = 1 ]; then
  kg_desk=$("$L" desk --site "$work/kg-bishkek" | tail -1 | tr -d ' ')
  th_desk=$("$L" desk --site "$work/th-bangkok" | tail -1 | tr -d ' ')
  cat <<EOF

The desk (the web page) of Bishkek, in a browser on this machine (each link works once, for 5 minutes;
\`liaison desk --site DIR\` prints a new one):
  $kg_desk
The desk of Bangkok:
  $th_desk

The two networks keep running in $work (logs in $work/logs). Try:
  export LIAISON_SITE=$work/th-bangkok
  $L find --network CASC --country KG --role central-authority
  $L alert list
  $L alert send --site $work/kz-almaty --headline "Test" --target country:TH
  $L status --site $work/seajust-bridge
Stop them with: kill ${pids[*]}
EOF
fi
