#!/usr/bin/env bash
# Liaison on one machine, narrated. Builds if needed (installing packages when missing), then
# in a temporary folder: a network root key, a secretariat site enrolled for the CASC and
# SEAJust countries, the fictitious sample directory published into its replica, and the
# searches a prosecutor makes. Exits 0 only if every step really happened; removes what it made
# unless --keep.
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

if [ ! -x build/bin/liaison ]; then
  echo "Building Liaison first (scripts/setup.sh)…"
  scripts/setup.sh >/dev/null
fi
L="$root_dir/build/bin/liaison"
work=$(mktemp -d "${TMPDIR:-/tmp}/liaison-demo-XXXXXX")
cleanup() { if [ "$keep" = 0 ]; then rm -rf "$work"; fi; }
trap cleanup EXIT
cd "$work"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }
check() { if ! eval "$1"; then echo "demo: FAILED: $2" >&2; exit 1; fi; }

step "The network secretariat makes the network's root key"
show "$L" keygen --out root

step "A secretariat site gets its own keys and a certificate signed by the root"
show "$L" keygen --out casc-sec
countries=AM,AZ,GE,KG,KZ,TJ,TM,UZ,BN,KH,ID,LA,MY,MM,PH,TH,VN,BD,LK,TL,NP
printf '$ %s\n' "liaison enroll --root root.key --site casc-sec --public casc-sec.pub --country $countries --role secretariat --network CASC > casc-sec.member"
"$L" enroll --root root.key --site casc-sec --public casc-sec.pub --country "$countries" \
  --role secretariat --network CASC --days 365 > casc-sec.member
show "$L" init --site site --id casc-sec --root root.pub --key casc-sec.key --member casc-sec.member

step "It publishes the sample directory: every record signed, verified and stored in LMDB"
show "$L" publish --site site "$root_dir/config/sample/contacts.jsonl" "$root_dir/config/sample/instruments.json"
check '[ "$("$L" status --site site --format json | grep -c "\"contacts\": 53")" = 1 ]' "53 contacts stored"

step "A Bishkek prosecutor looks for the Thai counterpart for a trafficking MLA request, in Russian"
show "$L" counterpart --site site --from KG --to TH --topic trafficking-in-persons --competence mla --language ru
check '"$L" counterpart --site site --from KG --to TH --topic trafficking-in-persons --competence mla --language ru --format json | grep -q "th-oag-ca-01"' \
  "the Thai central authority is found"

step "Names match across scripts and spellings"
show "$L" find --site site --name "Кудаяров"
check '"$L" find --site site --name Kudayarov --format json | grep -q kg-gpo-ca-01' "Kudayarov finds Кудаяров"
show "$L" find --site site --name "KUDAIAROV" --format json --limit 1 | head -5

step "Who in Thailand is reachable right now, 24/7 desks first"
"$L" find --site site --country TH --available-now --urgent || echo "(nobody is in office at this hour)"

step "A contact card for the address book (vCard 4.0)"
show "$L" show --site site th-oag-ca-01 --format vcard | head -12

step "A file with one bad record publishes nothing, and says why"
printf '%s\n' '{"kind": "contact", "id": "th-new-01", "revision": 1, "name": {"latin": "Test"}, "role": "prosecutor", "organization": "X", "country": "TH", "channels": [{"kind": "email", "value": "not-an-address"}]}' > bad.jsonl
set +e
"$L" publish --site site bad.jsonl
rc=$?
set -e
check '[ "$rc" = 2 ]' "a bad file exits 2"
check '! "$L" show --site site th-new-01 >/dev/null 2>&1' "nothing from the bad file is stored"

step "The site's state"
show "$L" status --site site

echo
echo "demo: every step happened."
if [ "$keep" = 1 ]; then
  echo "The site is kept in $work/site; try: $L find --site $work/site --country KZ"
fi
