// The directory: a site's LMDB replica of its network's records, with the indexes that make
// `find` an index lookup and intersection, and name search across scripts and spellings.
//
// Operation: every write goes through a Batch (one LMDB write transaction). Each item is
// verified against the trust state as of the batch (the network root, member certificates and
// revocations stored here) before it is stored; a batch is all or nothing.
// Concurrency: one writer (a Batch) at a time per process; any number of readers, in this and
// other processes (the `liaison` command reads beside the site daemon). Readers see the state
// of the last commit before they started. Between finds a Directory keeps, per committed state,
// the peerings, the network of each signer met, the number of records, and where index terms'
// bitmaps and the records of recent hits lie in the map (any commit makes them stale); up to 8
// read transactions, reset, to be renewed; and each thread keeps its find's working vectors.
// Limits: 2^32 records over the life of a replica; the map size bounds the file (default 4 GiB).
//
// On disk (LMDB named databases in DIR/db):
//   meta     "root" → 32-byte root key, "next-docno" → u32, "format" → "1", "name-keys" → the
//            names::kKeyFormat the name index was built with (rebuilt on open when it differs)
//   ids      id → u32 docno (a dense number given at first sight of an id)
//   records  u32 docno (INTEGERKEY) → [u32 docno][u64 revision][u8 kind][u8 status][2 country]
//            [envelope bytes]
//   bits     term "\0" u32-BE chunk → 2048-byte bitmap over docnos (16384 per chunk)
//   names    name key → u32-BE docno (DUPSORT, DUPFIXED)
//   namedel  name key with one letter deleted → name key (DUPSORT), for tolerant matching
//   members  site id → envelope of its member certificate
//   revoked  site id → envelope of its revocation
//   peerings "0:" id → envelope of a home peering (signed by this network's root),
//            "1:" id → envelope of a peer network's own peering (signed by its root)
// Records from a peer network (DESIGN.md, "Federation") are stored like home ones and carry two
// more index terms: "n:<network>" (found by `--network`) and "o:<network>" (withdrawn with it).
// While either peering is not in force they are not served; when one is retired they are removed.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "schemas/item.h"
#include "trust/verify.h"

namespace liaison::directory {

struct Query {
  std::optional<std::string> country, role, topic, competence, language, network, legalBasis;
  std::optional<std::string> name;       // matched across scripts and spellings
  std::vector<std::string> anyOfRoles;   // OR-ed (used by counterpart)
  bool availableNow = false;
  std::optional<int> verifiedWithinDays;
  // What kind of record: "contact" (default), "notice", "instrument", or "any" (contacts and
  // notices, for name search).
  std::string kind = "contact";
  std::optional<std::string> noticeType, nationality;  // notices
  std::vector<std::string> parties;                    // instruments: all of these are parties
  size_t limit = 20;
  // Ranking: records whose first language is one of these come first, then those that accept
  // one of them; 24/7 ranks up when `urgent`; recently verified ranks up.
  std::vector<std::string> preferLanguages;
  bool urgent = false;
  // Role order for ranking (earlier = better), e.g. central-authority before prosecutor.
  std::vector<std::string> rolePreference;
};

// A record as stored: verified, with its signature.
struct StoredRecord {
  SignedItem signedItem;
  std::string network;  // the peer network it came from over a bridge; "" for the home network
  schema::Record::Reader record() const { return signedItem.item.reader().getRecord(); }
};

struct Hit {
  StoredRecord stored;
  bool stale = false;         // past verification.reviewDue
  // Known when the query filtered on it; otherwise ask availableAt() for the hits you show
  // (it needs the contact's time zone, so it is not worked out for every hit).
  std::optional<bool> availableNow;
  int score = 0;
};

struct Counts {
  uint64_t contacts = 0, instruments = 0, notices = 0, retired = 0, members = 0, revoked = 0;
  std::map<std::string, uint64_t> fromPeers;  // records by the peer network they came from
};

// How far a replica has applied its broker's log.
struct Cursor {
  uint64_t epoch = 0, seq = 0;  // epoch 0: nothing applied yet
  bool operator==(const Cursor&) const = default;
};

enum class Outcome { kApplied, kIgnored, kRefused };
struct ApplyResult {
  Outcome outcome = Outcome::kApplied;
  std::string kind, id;
  trust::Decision decision;  // why it was ignored or refused
  bool collision = false;    // applied: a home record took the id a peer network's record held
};

class Directory {
 public:
  struct Options {
    bool readOnly = false;
    size_t mapSize = size_t{4} << 30;
    bool noSync = false;
  };
  static Result<std::unique_ptr<Directory>> open(const std::string& dbDir, const Options& options);
  ~Directory();

  class Batch {
   public:
    Batch(Batch&&) noexcept;
    ~Batch();  // aborts unless committed
    // Verifies and applies one item at time `now`. A refused or stale item changes nothing.
    // An error means the store failed; the batch must then be dropped.
    // `signatureChecked`: the item's Ed25519 signature was already checked (or made) by this
    // process, so it is not checked again; certificate, scope and revision still are.
    Result<ApplyResult> apply(const SignedItem& item, int64_t now, bool signatureChecked = false);
    // Sets the network root (only `liaison init` does this).
    Status setRoot(const SigningKey& root);
    // Records how far the broker's log is applied, in the same transaction as the items.
    Status setCursor(const Cursor& cursor);
    Status commit() &&;

   private:
    friend class Directory;
    struct State;
    explicit Batch(std::unique_ptr<State> state);
    std::unique_ptr<State> s_;
  };
  Result<Batch> begin();

  Result<std::optional<SigningKey>> root() const;
  Result<Cursor> cursor() const;
  Result<std::optional<StoredRecord>> get(std::string_view id) const;
  Result<std::vector<Hit>> find(const Query& query, int64_t now) const;
  Result<Counts> counts() const;
  Result<std::optional<trust::MemberCert>> member(std::string_view site) const;
  // Every peering stored here, home and foreign.
  Result<std::vector<trust::Peering>> peerings() const;
  // The trust decision for an item that is not stored in the directory (an alert, an answer):
  // signature (unless checked), a valid unrevoked certificate of its signer at `now`.
  Result<trust::Decision> verifyOther(const SignedItem& item, int64_t now,
                                      bool signatureChecked = false) const;
  // Calls `fn` for every stored record (retired included) in id order.
  Status forEachRecord(const std::function<void(const StoredRecord&)>& fn) const;
  // Bytes the replica's file uses.
  Result<uint64_t> diskBytes() const;

 private:
  struct Impl;
  explicit Directory(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Who to ask in `to` about a request from `from` (`liaison counterpart` and the desk): focal points
// ranked for the request (the central authority first for formal requests, the prosecutor for
// joint investigations and spontaneous information; those who work in `from`'s languages, then
// English, first), the legal bases both countries share (instruments both are party to that
// cover the competence, and bilateral arrangements with `from` a focal point names), and the
// languages of `from` the focal points accept. `base` carries topic, competence, language,
// availableNow, urgent and limit.
struct Counterparts {
  std::vector<Hit> hits;
  std::vector<std::pair<std::string, std::string>> legalBases;  // id, name
  std::vector<std::string> sharedLanguages;                     // sorted
};
Result<Counterparts> findCounterparts(const Directory& dir, const std::string& from,
                                      const std::string& to, const Query& base, int64_t now);

// The working languages of a country's authorities (BCP 47), for counterpart ranking.
std::vector<std::string> countryLanguages(std::string_view country);

// Whether a contact is reachable at `now`: 24/7, or within its office hours in its time zone,
// and not out of office. Unknown time zone or hours → false.
bool availableAt(schema::Contact::Reader contact, int64_t now);
// Past its reviewDue at `now`.
bool isStale(schema::Contact::Reader contact, int64_t now);
// Seconds east of UTC of an IANA time zone at `now`; nullopt when ICU does not know it.
std::optional<int64_t> zoneOffsetAt(std::string_view zone, int64_t now);
// Whether ICU knows this IANA time zone.
bool knownTimeZone(std::string_view zone);

}  // namespace liaison::directory
