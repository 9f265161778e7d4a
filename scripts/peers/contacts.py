"""The synthetic contacts the peers are loaded with, and their LDAP form.

The records are exactly those of Liaison's benchmarks: liaison-gendir from the same build, with
the directory benchmark's seed and 17 countries, one JSON line per contact (DESIGN.md's JSON
form). NATS stores each line as it is (the value of key `id`). OpenLDAP stores the same fields
as attributes of one entry; the mapping is MAPPING below, printed with the results.
"""
import json

COUNTRIES = "KG,KZ,TJ,UZ,TM,AM,AZ,GE,TH,VN,KH,LA,MM,MY,ID,PH,BN"
SEED = 7  # liaison-bench-directory's seed

# What liaison-bench-directory's structured find draws from (country + role + topic).
QUERY_ROLES = ["prosecutor", "central-authority", "investigator", "interpol-ncb", "judge"]
QUERY_TOPICS = ["trafficking-in-persons", "smuggling-of-migrants", "cybercrime", "money-laundering",
                "forced-labour"]

BASE = "dc=liaison,dc=example"
PARENT = "ou=contacts," + BASE
ADMIN = "cn=admin," + BASE
PASSWORD = "bench-only"

MAPPING = (
    "inetOrgPerson + an auxiliary class liaisonContact (kind, always contact, is the class): id→uid, name.latin→cn (+ sn, its last word, "
    "which inetOrgPerson requires), name.original→displayName, honorific→personalTitle, title→title, "
    "role→businessCategory, organization→o, unit→ou, country→c, locality→l, notes→description, "
    "email/phone/mobile/fax/post channels→mail/telephoneNumber/mobile/facsimileTelephoneNumber/"
    "postalAddress (a phone's note \"office\" is dropped); topics, languages, competences, networks, legal bases, body, status, revision, "
    "contactKind, the other channels, the preferred channel, availability and verification → "
    "liaison* attributes (preferredLanguage is single-valued, so languages are liaisonLanguage)")

# The auxiliary class and its attributes (OIDs under 32473, the example enterprise number of RFC 5612).
_STRING = "EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15"
_ATTRS = [
    ("liaisonTopic", ""), ("liaisonLanguage", ""), ("liaisonCompetence", ""), ("liaisonNetwork", ""),
    ("liaisonLegalBasis", ""), ("liaisonBody", " SINGLE-VALUE"), ("liaisonStatus", " SINGLE-VALUE"),
    ("liaisonRevision", " SINGLE-VALUE"), ("liaisonContactKind", " SINGLE-VALUE"), ("liaisonChannel", ""),
    ("liaisonPreferredChannel", " SINGLE-VALUE"), ("liaisonRequiresEncryption", " SINGLE-VALUE"),
    ("liaisonAlwaysAvailable", " SINGLE-VALUE"), ("liaisonTimezone", " SINGLE-VALUE"),
    ("liaisonHours", " SINGLE-VALUE"), ("liaisonAfterHours", " SINGLE-VALUE"),
    ("liaisonVerifiedAt", " SINGLE-VALUE"), ("liaisonVerifiedBy", " SINGLE-VALUE"),
    ("liaisonReviewDue", " SINGLE-VALUE"),
]


def schema_ldif():
    lines = ["dn: cn=liaison,cn=schema,cn=config", "objectClass: olcSchemaConfig", "cn: liaison"]
    for n, (name, extra) in enumerate(_ATTRS, 1):
        lines.append(f"olcAttributeTypes: ( 1.3.6.1.4.1.32473.1.1.{n} NAME '{name}' {_STRING}{extra} )")
    may = " $ ".join(["c", "personalTitle"] + [a for a, _ in _ATTRS])
    lines.append(f"olcObjectClasses: ( 1.3.6.1.4.1.32473.1.2.1 NAME 'liaisonContact' AUXILIARY MAY ( {may} ) )")
    return "\n".join(lines) + "\n"


def load(path, count=None):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                out.append(line)
                if count is not None and len(out) == count:
                    break
    return out


_CHANNEL_ATTR = {"email": "mail", "phone": "telephoneNumber", "mobile": "mobile",
                 "fax": "facsimileTelephoneNumber", "post": "postalAddress"}


def ldap_entry(line):
    """(dn, {attribute: [bytes, ...]}) for one JSON line."""
    r = json.loads(line)
    a = {}

    def put(attr, *values):
        vals = [v for v in values if v not in (None, "")]
        if vals:
            a.setdefault(attr, []).extend(str(v).encode() for v in vals)

    put("objectClass", "inetOrgPerson", "liaisonContact")
    put("uid", r["id"])
    name = r["name"]
    put("cn", name["latin"])
    put("sn", name["latin"].rsplit(" ", 1)[-1] if r["contactKind"] == "person" else name["latin"])
    put("displayName", name.get("original"))
    put("personalTitle", name.get("honorific"))
    put("title", r.get("title"))
    put("businessCategory", r.get("role"))
    put("o", r.get("organization"))
    put("ou", r.get("unit"))
    put("c", r.get("country"))
    put("l", r.get("locality"))
    put("liaisonBody", r.get("body"))
    put("liaisonStatus", r.get("status"))
    put("liaisonRevision", r.get("revision"))
    put("liaisonContactKind", r.get("contactKind"))
    put("liaisonNetwork", *r.get("networks", []))
    put("liaisonCompetence", *r.get("competences", []))
    put("liaisonTopic", *r.get("topics", []))
    put("liaisonLegalBasis", *r.get("legalBases", []))
    put("liaisonLanguage", *r.get("languages", []))
    for ch in r.get("channels", []):
        attr = _CHANNEL_ATTR.get(ch["kind"])
        if attr:
            put(attr, ch["value"])
        else:
            put("liaisonChannel", f"{ch['kind']} {ch['value']}")
        if ch.get("preferred"):
            put("liaisonPreferredChannel", ch["kind"])
    put("liaisonRequiresEncryption", "TRUE" if r.get("requiresEncryption") else "FALSE")
    av = r.get("availability", {})
    put("liaisonAlwaysAvailable", "TRUE" if av.get("always") else "FALSE")
    put("liaisonTimezone", av.get("timezone"))
    put("liaisonHours", av.get("hours"))
    put("liaisonAfterHours", av.get("afterHours"))
    ver = r.get("verification", {})
    put("liaisonVerifiedAt", ver.get("verifiedAt"))
    put("liaisonVerifiedBy", ver.get("verifiedBy"))
    put("liaisonReviewDue", ver.get("reviewDue"))
    put("description", r.get("notes"))
    return f"uid={r['id']},{PARENT}", a


def ldap_bytes(attrs):
    """The values' bytes of an entry (what it carries, without the protocol's framing)."""
    return sum(len(v) for vs in attrs.values() for v in vs)


def nats_key(line):
    return json.loads(line)["id"]


def revised(line, n):
    """The record as a new revision (a live change): revision bumped, notes changed."""
    r = json.loads(line)
    r["revision"] = r.get("revision", 1) + n
    r["notes"] = f"Revised by the peers benchmark, change {n}."
    return json.dumps(r, ensure_ascii=False, separators=(",", ":"))
