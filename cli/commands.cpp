#include "cli/commands.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <map>
#include <set>

#include "cli/api_client.h"
#include "cli/output.h"
#include "common/files.h"
#include "directory/site.h"
#include "schemas/json.h"
#include "schemas/vocab.h"
#include "trust/keys.h"
#include "trust/verify.h"

namespace liaison::cli {

int failWith(const Error& e) {
  std::cerr << "liaison: " << e.message << "\n";
  return e.code == Errc::kNotFound ? kExitNoMatch : kExitUsage;
}

Result<directory::SiteConfig> siteConfig(const Context& ctx) {
  if (ctx.siteDir.empty()) {
    return makeError(Errc::kInvalidInput, "no site: give --site DIR or set LIAISON_SITE");
  }
  return directory::loadSiteConfig(ctx.siteDir);
}

namespace {

std::string str(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }

int usage(const std::string& message) {
  std::cerr << "liaison: " << message << "\n";
  return kExitUsage;
}


struct OpenSite {
  directory::SiteConfig config;
  std::unique_ptr<directory::Directory> dir;
};

Result<OpenSite> openSite(const Context& ctx, bool readOnly) {
  auto config = siteConfig(ctx);
  if (!config) return config.error();
  auto dir = directory::openSiteDirectory(*config, readOnly);
  if (!dir) return dir.error();
  return OpenSite{std::move(config).value(), std::move(dir).value()};
}

template <typename List>
std::string joined(List list, const char* sep = ",") {
  std::string out;
  for (auto t : list) {
    if (!out.empty()) out += sep;
    out += str(t);
  }
  return out;
}

bool availableNow(const directory::Hit& hit, int64_t now) {
  if (hit.availableNow) return *hit.availableNow;
  return directory::availableAt(hit.stored.record().getBody().getContact(), now);
}

// The network a record came from: a peer's over a bridge, else this site's own.
std::string networkOf(const directory::StoredRecord& r, const std::string& home) {
  return r.network.empty() ? home : r.network;
}

std::vector<std::string> contactRow(const directory::Hit& hit, int64_t now, const std::string& home) {
  auto record = hit.stored.record();
  auto c = record.getBody().getContact();
  const bool available = availableNow(hit, now);
  std::string flags;
  if (c.getAvailability().getAlways()) flags += "24/7 ";
  if (available) flags += "now ";
  if (hit.stale) flags += "STALE ";
  if (c.getAvailability().getOutOfOfficeUntil().size() > 0 && !available) {
    flags += "away ";
  }
  if (!flags.empty()) flags.pop_back();
  std::string name = str(c.getName().getLatin());
  if (c.getName().getOriginal().size() > 0) name += " (" + str(c.getName().getOriginal()) + ")";
  return {str(record.getId()), name,          str(c.getRole()),
          str(c.getCountry()), str(c.getOrganization()), joined(c.getLanguages()),
          networkOf(hit.stored, home), preferredChannel(c), flags};
}

std::vector<std::string> noticeRow(const directory::Hit& hit) {
  auto record = hit.stored.record();
  auto n = record.getBody().getNotice();
  return {str(record.getId()),
          str(n.getNoticeType()),
          str(n.getForename()) + " " + str(n.getName()),
          str(n.getDateOfBirth()),
          joined(n.getNationalities()),
          str(n.getLink())};
}

const std::vector<std::string> kContactHeaders = {"ID",        "NAME",    "ROLE",    "CC", "ORGANIZATION",
                                                  "LANGUAGES", "NETWORK", "CONTACT", "FLAGS"};

void printHits(const std::vector<directory::Hit>& hits, const std::string& format, int64_t now,
               const std::string& home) {
  if (format == "json") {
    json::Json arr = json::Json::array();
    for (const auto& h : hits) {
      auto j = json::recordToJson(h.stored.record());
      if (h.stored.record().getBody().isContact()) {
        j["match"] = {{"stale", h.stale}, {"availableNow", availableNow(h, now)},
                      {"network", networkOf(h.stored, home)}};
      }
      arr.push_back(std::move(j));
    }
    std::cout << arr.dump(2) << "\n";
    return;
  }
  if (format == "vcard") {
    for (const auto& h : hits) {
      if (h.stored.record().getBody().isContact()) std::cout << contactVcard(h.stored.record());
    }
    return;
  }
  std::vector<std::vector<std::string>> contacts, notices;
  for (const auto& h : hits) {
    if (h.stored.record().getBody().isContact()) {
      contacts.push_back(contactRow(h, now, home));
    } else if (h.stored.record().getBody().isNotice()) {
      notices.push_back(noticeRow(h));
    }
  }
  if (!contacts.empty()) std::cout << renderTable(kContactHeaders, contacts, 36);
  if (!notices.empty()) {
    if (!contacts.empty()) std::cout << "\nInterpol notices:\n";
    std::cout << renderTable({"ID", "TYPE", "NAME", "BORN", "NATIONALITIES", "LINK"}, notices, 48);
  }
}

// What a publish or retire adds when the broker accepted it but this site's replica did not
// hold it yet when the daemon answered.
std::string notYetHere(const SubmitReply& reply) {
  if (reply.applied) return {};
  return "; this site's replica does not hold it yet (it is catching up): searches here show it "
         "once it does";
}

}  // namespace

int cmdKeygen(const std::string& prefix) {
  auto keys = trust::generateKeyPair();
  auto st = trust::writeKeyFiles(prefix, keys);
  if (!st) return failWith(st.error());
  std::cout << "wrote " << prefix << ".key (secret, mode 0600) and " << prefix << ".pub\n"
            << "signing key fingerprint " << trust::fingerprint(keys.pub.sign) << "\n";
  return kExitOk;
}

int cmdEnroll(const std::string& rootKey, const std::string& site, const std::string& publicKey,
              const std::vector<std::string>& countries, const std::string& role, int days,
              const std::string& network, const Clock& clock) {
  if (!vocab::isSiteId(site)) return usage("--site: \"" + site + "\" is not a site id (lowercase letters, digits, -)");
  for (const auto& c : countries) {
    if (!vocab::isCountry(c)) return usage("--country: \"" + c + "\" is not an ISO 3166-1 alpha-2 code");
  }
  if (role == "authority" && countries.empty()) return usage("--country: an authority needs at least one country");
  if (!network.empty() && !vocab::isNetwork(network)) return usage("--network: \"" + network + "\" is not a network name");
  auto root = trust::loadKeyPair(rootKey);
  if (!root) return failWith(root.error());
  auto pub = trust::loadPublicKeys(publicKey);
  if (!pub) return failWith(pub.error());
  trust::MemberCert cert;
  cert.site = site;
  cert.network = network;
  cert.role = role;
  cert.countries = countries;
  cert.signKey = pub->sign;
  cert.curveKey = pub->curve;
  cert.boxKey = pub->box;  // MLA requests to this site are sealed to it (none in a .pub made before requests)
  cert.notBefore = clock.nowSeconds() - 300;  // tolerate clocks a few minutes apart
  cert.notAfter = clock.nowSeconds() + int64_t{days} * 86400;
  randombytes_buf(&cert.serial, sizeof cert.serial);
  auto signedCert = trust::sign(trust::memberItem(cert), std::string(trust::kRootSigner), *root);
  std::cout << json::armor(signedCert);
  return kExitOk;
}

int cmdRevoke(const std::string& rootKey, const std::string& site, const std::string& reason,
              const Clock& clock) {
  if (!vocab::isSiteId(site)) return usage("--site: \"" + site + "\" is not a site id");
  auto root = trust::loadKeyPair(rootKey);
  if (!root) return failWith(root.error());
  auto item = trust::revocationItem(site, clock.nowSeconds(), reason);
  std::cout << json::armor(trust::sign(std::move(item), std::string(trust::kRootSigner), *root));
  return kExitOk;
}

int cmdPeer(const PeerFlags& f, const Clock& clock) {
  if (!vocab::isNetwork(f.network)) return usage("--network: \"" + f.network + "\" is not a network name");
  if (!vocab::isNetwork(f.peer) || f.peer == f.network) {
    return usage("--peer: \"" + f.peer + "\" is not another network's name");
  }
  auto offer = trust::parsePolicy(f.offer);
  if (!offer) return usage("--offer: " + offer.error().message);
  auto accept = trust::parsePolicy(f.accept);
  if (!accept) return usage("--accept: " + accept.error().message);
  auto root = trust::loadKeyPair(f.rootKey);
  if (!root) return failWith(root.error());
  auto peerRoot = trust::loadPublicKeys(f.peerRoot);
  if (!peerRoot) return failWith(peerRoot.error());
  if (peerRoot->sign == root->pub.sign) return usage("--peer-root: that is this network's own root");
  trust::Peering p;
  p.id = f.network + "~" + f.peer;
  p.revision = f.revision != 0 ? f.revision : static_cast<uint64_t>(clock.nowSeconds());
  p.status = f.end ? "retired" : "active";
  p.network = f.network;
  p.peer = f.peer;
  p.peerRoot = peerRoot->sign;
  p.offer = std::move(*offer);
  p.accept = std::move(*accept);
  p.validUntil = clock.nowSeconds() + int64_t{f.days} * 86400;
  if (!f.until.empty()) {
    auto day = parseDate(f.until);
    if (!day) return usage("--until: \"" + f.until + "\" is not a date (YYYY-MM-DD)");
    p.validUntil = *day * 86400 + 86399;
  }
  std::cout << json::armor(trust::sign(trust::peeringItem(p), std::string(trust::kRootSigner), *root));
  return kExitOk;
}

int cmdInit(const Context& ctx, const std::string& id, const std::string& root,
            const std::string& key, const std::string& member, const std::vector<std::string>& brokers,
            const std::vector<std::string>& brokerKeys, const std::string& api) {
  if (ctx.siteDir.empty()) return usage("init: give --site DIR (or set LIAISON_SITE)");
  directory::InitOptions o{ctx.siteDir, id, root, key, member, brokers, brokerKeys, api};
  auto st = directory::initSite(o, ctx.clock->nowSeconds());
  if (!st) return failWith(st.error());
  std::string list;
  for (const auto& b : brokers) list += (list.empty() ? "" : ", ") + b;
  std::cout << "site " << id << " initialised in " << ctx.siteDir
            << (brokers.empty()       ? " (standalone)"
                : brokers.size() == 1 ? " (broker " + list + ")"
                                      : " (brokers " + list + ")")
            << "\n";
  return kExitOk;
}

int cmdPublish(const Context& ctx, const std::vector<std::string>& files) {
  auto config = siteConfig(ctx);
  if (!config) return failWith(config.error());
  if (config->networked()) {
    // A networked site publishes through its daemon: every file is checked here first, then all
    // go in one request, which the daemon signs and submits to the broker all or nothing.
    auto inputs = readPublishFiles(files);
    if (!inputs) return failWith(inputs.error());
    auto api = ApiClient::find(*config);
    if (!api) return failWith(api.error());
    auto reply = api->publish(*inputs);
    if (!reply) return failWith(reply.error());
    if (!reply->accepted) {
      std::cerr << "liaison: " << reply->file << ": item " << reply->index + 1 << " (" << reply->id
                << "): refused (" << reply->refusal << "): " << reply->detail
                << "; nothing was published\n";
      return kExitUsage;
    }
    const uint64_t published = reply->count - std::min(reply->ignored, reply->count);
    std::cout << "published " << published;
    if (published > 0) {
      std::cout << " (accepted as seq " << reply->firstSeq << ".." << reply->lastSeq << ")";
    }
    if (reply->ignored > 0) {
      std::cout << ", ignored " << reply->ignored << " already stored at that revision or later";
    }
    std::cout << notYetHere(*reply) << "\n";
    return kExitOk;
  }
  // Parse everything first: all or nothing across every file given.
  std::vector<std::pair<std::string, json::InputItem>> items;  // (where, item)
  std::map<std::string, std::string> seen;                    // id → file
  for (const auto& file : files) {
    auto text = readFile(file, size_t{1} << 30);  // a 100,000-record file is ~100 MB
    if (!text) return failWith(text.error());
    auto parsed = json::parseInput(file, *text);
    if (!parsed) return failWith(parsed.error());
    size_t index = 0;
    for (auto& item : *parsed) {
      ++index;
      const OwnedItem& owned = std::holds_alternative<OwnedItem>(item)
                                   ? std::get<OwnedItem>(item)
                                   : std::get<SignedItem>(item).item;
      auto reader = owned.reader();
      std::string id = itemKind(reader) + "/" + itemId(reader);
      std::string where = file + ": item " + std::to_string(index) + " (" + itemId(reader) + ")";
      auto [it, fresh] = seen.emplace(id, file);
      if (!fresh) return usage(where + ": also in " + it->second);
      if (reader.which() == schema::Item::RECORD && reader.getRecord().getBody().isContact()) {
        auto zone = reader.getRecord().getBody().getContact().getAvailability().getTimezone();
        if (zone.size() > 0 && !directory::knownTimeZone(std::string_view(zone.begin(), zone.size()))) {
          return usage(where + ": availability.timezone: \"" + str(zone) + "\" is not a known IANA time zone");
        }
      }
      items.emplace_back(std::move(where), std::move(item));
    }
  }
  // Certificates and revocations first, so records in the same call can rely on them.
  std::stable_partition(items.begin(), items.end(), [](const auto& p) {
    return std::holds_alternative<SignedItem>(p.second);
  });

  auto keys = trust::loadKeyPair(config->keyPath);
  if (!keys) return failWith(keys.error());
  auto dir = directory::openSiteDirectory(*config, false);
  if (!dir) return failWith(dir.error());
  auto batch = (*dir)->begin();
  if (!batch) return failWith(batch.error());
  const int64_t now = ctx.clock->nowSeconds();
  size_t applied = 0, ignored = 0;
  std::map<std::string, size_t> appliedByKind;
  for (auto& [where, item] : items) {
    const bool signedHere = std::holds_alternative<OwnedItem>(item);
    SignedItem signedItem = signedHere
                                ? trust::sign(std::move(std::get<OwnedItem>(item)), config->id, *keys)
                                : std::move(std::get<SignedItem>(item));
    auto result = batch->apply(signedItem, now, signedHere);
    if (!result) return failWith(result.error());
    switch (result->outcome) {
      case directory::Outcome::kApplied:
        ++applied;
        ++appliedByKind[result->kind];
        break;
      case directory::Outcome::kIgnored:
        if (++ignored <= 5) {
          std::cerr << "liaison: " << where << ": ignored: " << result->decision.detail << "\n";
        }
        break;
      case directory::Outcome::kRefused:
        std::cerr << "liaison: " << where << ": refused (" << trust::refusalName(result->decision.refusal)
                  << "): " << result->decision.detail << "; nothing was published\n";
        return kExitUsage;
    }
  }
  auto st = std::move(*batch).commit();
  if (!st) return failWith(st.error());
  std::string kinds;
  for (const auto& [kind, n] : appliedByKind) {
    kinds += (kinds.empty() ? "" : ", ") + std::to_string(n) + " " + kind;
  }
  std::cout << "published " << applied << (kinds.empty() ? "" : " (" + kinds + ")");
  if (ignored > 0) std::cout << ", ignored " << ignored << " already stored at that revision or later";
  std::cout << "\n";
  return kExitOk;
}

int cmdRetire(const Context& ctx, const std::string& id) {
  auto config = siteConfig(ctx);
  if (!config) return failWith(config.error());
  if (config->networked()) {
    // A networked site retires through its daemon, which reads the record from its replica and
    // submits the tombstone (revision + 1, status "retired") to the broker.
    auto api = ApiClient::find(*config);
    if (!api) return failWith(api.error());
    auto reply = api->retire(id);
    if (!reply) return failWith(reply.error());
    if (reply->alreadyRetired) {
      std::cerr << "liaison: " << id << " is already retired\n";
      return kExitOk;
    }
    if (!reply->accepted) {
      return usage(id + ": refused (" + reply->refusal + "): " + reply->detail);
    }
    if (reply->count > 0 && reply->ignored == reply->count) {
      return usage(id + ": not retired: the network already holds revision " +
                   std::to_string(reply->revision) +
                   " or later, which this replica has not received yet; try again shortly");
    }
    std::cout << "retired " << id << " (revision " << reply->revision << ", accepted as seq "
              << reply->firstSeq << ")" << notYetHere(*reply) << "\n";
    return kExitOk;
  }
  auto site = openSite(ctx, false);
  if (!site) return failWith(site.error());
  auto current = site->dir->get(id);
  if (!current) return failWith(current.error());
  if (!*current) {
    std::cerr << "liaison: no record " << id << "\n";
    return kExitNoMatch;
  }
  auto record = (*current)->record();
  if (record.getStatus() == "retired") {
    std::cerr << "liaison: " << id << " is already retired\n";
    return kExitOk;
  }
  auto keys = trust::loadKeyPair(site->config.keyPath);
  if (!keys) return failWith(keys.error());
  capnp::MallocMessageBuilder message;
  message.setRoot((*current)->signedItem.item.reader());
  auto builder = message.getRoot<schema::Item>().getRecord();
  builder.setRevision(record.getRevision() + 1);
  builder.setStatus("retired");
  auto signedItem = trust::sign(OwnedItem::fromBuilder(message), site->config.id, *keys);
  auto batch = site->dir->begin();
  if (!batch) return failWith(batch.error());
  auto result = batch->apply(signedItem, ctx.clock->nowSeconds(), /*signedHere=*/true);
  if (!result) return failWith(result.error());
  if (result->outcome != directory::Outcome::kApplied) {
    return usage(id + ": refused (" + std::string(trust::refusalName(result->decision.refusal)) +
                 "): " + result->decision.detail);
  }
  auto st = std::move(*batch).commit();
  if (!st) return failWith(st.error());
  std::cout << "retired " << id << " (revision " << record.getRevision() + 1 << ")\n";
  return kExitOk;
}

int cmdFind(const Context& ctx, const directory::Query& query) {
  auto site = openSite(ctx, true);
  if (!site) return failWith(site.error());
  directory::Query q = query;
  if (q.name) q.kind = "any";  // names also match Interpol notices
  auto hits = site->dir->find(q, ctx.clock->nowSeconds());
  if (!hits) return failWith(hits.error());
  if (hits->empty()) {
    if (ctx.format == "json") std::cout << "[]\n";
    std::cerr << "liaison: nothing matched\n";
    return kExitNoMatch;
  }
  printHits(*hits, ctx.format, ctx.clock->nowSeconds(), site->config.network);
  return kExitOk;
}

int cmdCounterpart(const Context& ctx, const std::string& from, const std::string& to,
                   const directory::Query& base) {
  auto site = openSite(ctx, true);
  if (!site) return failWith(site.error());
  const int64_t now = ctx.clock->nowSeconds();
  auto found = directory::findCounterparts(*site->dir, from, to, base, now);
  if (!found) return failWith(found.error());
  const std::vector<directory::Hit>* hits = &found->hits;
  const auto& bases = found->legalBases;
  const auto& languages = found->sharedLanguages;
  const directory::Query& q = base;

  if (ctx.format == "json") {
    json::Json out;
    out["from"] = from;
    out["to"] = to;
    json::Json list = json::Json::array();
    for (const auto& h : *hits) {
      auto j = json::recordToJson(h.stored.record());
      j["match"] = {{"stale", h.stale}, {"availableNow", availableNow(h, now)},
                    {"network", networkOf(h.stored, site->config.network)}};
      list.push_back(std::move(j));
    }
    out["counterparts"] = std::move(list);
    json::Json lb = json::Json::array();
    for (const auto& [bid, name] : bases) lb.push_back({{"id", bid}, {"name", name}});
    out["legalBases"] = std::move(lb);
    out["sharedLanguages"] = json::Json(std::vector<std::string>(languages.begin(), languages.end()));
    std::cout << out.dump(2) << "\n";
  } else if (ctx.format == "vcard") {
    printHits(*hits, "vcard", now, site->config.network);
  } else {
    std::cout << "Counterparts in " << to << " for a request from " << from;
    if (q.topic) std::cout << " on " << *q.topic;
    if (q.competence) std::cout << " (" << *q.competence << ")";
    std::cout << ":\n";
    if (hits->empty()) {
      std::cout << "  none in the replica\n";
    } else {
      printHits(*hits, "table", now, site->config.network);
    }
    std::cout << "\nLegal bases " << from << " and " << to << " share:";
    if (bases.empty()) std::cout << " none recorded (ask the secretariat; reciprocity may apply)";
    std::cout << "\n";
    for (const auto& [bid, name] : bases) std::cout << "  " << bid << "  " << name << "\n";
    std::cout << "Languages they accept that " << from << " uses:";
    if (languages.empty()) std::cout << " none: plan for translation";
    for (const auto& l : languages) std::cout << " " << l;
    std::cout << "\n";
  }
  return hits->empty() ? kExitNoMatch : kExitOk;
}

int cmdShow(const Context& ctx, const std::string& id) {
  auto site = openSite(ctx, true);
  if (!site) return failWith(site.error());
  auto rec = site->dir->get(id);
  if (!rec) return failWith(rec.error());
  if (!*rec) {
    std::cerr << "liaison: no record " << id << "\n";
    return kExitNoMatch;
  }
  auto record = (*rec)->record();
  const int64_t now = ctx.clock->nowSeconds();
  bool stale = false, available = false;
  if (record.getBody().isContact()) {
    stale = directory::isStale(record.getBody().getContact(), now);
    available = directory::availableAt(record.getBody().getContact(), now);
  }
  if (ctx.format == "json") {
    std::cout << json::recordToJson(record).dump(2) << "\n";
  } else if (ctx.format == "vcard") {
    if (!record.getBody().isContact()) return usage(id + " is not a contact; vCard holds contacts");
    std::cout << contactVcard(record);
  } else {
    std::cout << recordDetails(record, stale, available);
    std::cout << "network: " << networkOf(**rec, site->config.network)
              << ((*rec)->network.empty() ? "" : " (a peer network, over a bridge)") << "\n";
    std::cout << "signed by: " << (*rec)->signedItem.signer << " (key "
              << trust::fingerprint((*rec)->signedItem.signerKey) << ")\n";
  }
  return kExitOk;
}

int cmdExport(const Context& ctx) {
  auto site = openSite(ctx, true);
  if (!site) return failWith(site.error());
  auto st = site->dir->forEachRecord([&](const directory::StoredRecord& r) {
    if (ctx.format == "vcard") {
      if (r.record().getBody().isContact()) std::cout << contactVcard(r.record());
    } else {
      std::cout << json::recordToJson(r.record()).dump() << "\n";
    }
  });
  if (!st) return failWith(st.error());
  return kExitOk;
}

int cmdNotices(const Context& ctx, const directory::Query& query) {
  auto site = openSite(ctx, true);
  if (!site) return failWith(site.error());
  auto hits = site->dir->find(query, ctx.clock->nowSeconds());
  if (!hits) return failWith(hits.error());
  if (hits->empty()) {
    if (ctx.format == "json") std::cout << "[]\n";
    std::cerr << "liaison: no notices matched\n";
    return kExitNoMatch;
  }
  printHits(*hits, ctx.format, ctx.clock->nowSeconds(), site->config.network);
  return kExitOk;
}

// The peerings this replica holds and what it holds of each peer network.
json::Json federationJson(const directory::Directory& dir, const directory::Counts& counts, int64_t now) {
  json::Json out = json::Json::array();
  auto peerings = dir.peerings();
  if (!peerings) return out;
  for (const auto& p : *peerings) {
    const std::string network = p.home ? p.peer : p.network;
    out.push_back({{"id", p.id},
                   {"signedBy", p.home ? "home root" : p.network + " root"},
                   {"status", p.status},
                   {"inForce", p.inForce(now)},
                   {"validUntil", formatTimestamp(p.validUntil)},
                   {"offer", p.offer.describe()},
                   {"accept", p.accept.describe()},
                   {"records", counts.fromPeers.count(network) != 0 ? counts.fromPeers.at(network) : 0}});
  }
  return out;
}

std::string federationLines(const json::Json& federation) {
  std::string out;
  for (const auto& p : federation) {
    out += "peering:      " + p["id"].get<std::string>() + " (" + p["signedBy"].get<std::string>() + "), " +
           (p["inForce"].get<bool>() ? "in force until " + p["validUntil"].get<std::string>()
                                     : p["status"].get<std::string>() == "retired" ? std::string("ended")
                                                                                    : std::string("NOT in force")) +
           "; offers " + p["offer"].get<std::string>() + "; accepts " + p["accept"].get<std::string>() + "; " +
           std::to_string(p["records"].get<uint64_t>()) + " records held\n";
  }
  return out;
}

int cmdStatus(const Context& ctx) {
  auto site = openSite(ctx, true);
  if (!site) return failWith(site.error());
  auto counts = site->dir->counts();
  if (!counts) return failWith(counts.error());
  auto bytes = site->dir->diskBytes();
  if (!bytes) return failWith(bytes.error());
  auto member = site->dir->member(site->config.id);
  if (!member) return failWith(member.error());
  std::string validity;
  if (*member) validity = formatTimestamp((*member)->notAfter);
  const json::Json federation = federationJson(*site->dir, *counts, ctx.clock->nowSeconds());
  std::string daemon;  // networked, daemon not answering: why
  const auto& brokers = site->config.brokers;
  // "broker X", or a pair's "brokers X, Y".
  const std::string named = (brokers.size() == 1 ? "broker " : "brokers ") + site->config.brokerList();
  if (site->config.networked()) {
    auto api = ApiClient::find(site->config);
    auto answer = api ? api->status() : Result<json::Json>(api.error());
    if (answer && ctx.format == "json") {
      json::Json out = std::move(*answer);
      out["mode"] = "networked";
      out["daemon"] = "running";
      out["endpoint"] = api->endpoint();
      out["certificateValidUntil"] = validity;
      out["replicaBytes"] = *bytes;
      out["federation"] = federation;
      std::cout << out.dump(2) << "\n";
      return kExitOk;
    }
    if (answer) {
      std::cout << "site:         " << site->config.id << " (network " << site->config.network
                << ")\n"
                << "mode:         networked, " << named << "\n"
                << daemonStatusLines(*answer, api->endpoint())
                << "certificate:  " << (validity.empty() ? "missing" : "valid until " + validity)
                << "\n"
                << "replica:      " << *bytes / 1024 << " KiB on disk\n"
                << federationLines(federation);
      return kExitOk;
    }
    daemon = answer.error().message;
    const std::string prefix = "the site daemon is ";
    if (daemon.starts_with(prefix)) daemon = daemon.substr(prefix.size());
  }
  if (ctx.format == "json") {
    json::Json out;
    out["site"] = site->config.id;
    out["network"] = site->config.network;
    out["mode"] = site->config.networked() ? "networked" : "standalone";
    if (brokers.size() <= 1) {
      out["broker"] = brokers.empty() ? "" : brokers[0].endpoint;
    } else {
      // Which one leads only the daemon knows.
      out["brokers"] = json::Json::array();
      for (const auto& b : brokers) out["brokers"].push_back(b.endpoint);
    }
    out["certificateValidUntil"] = validity;
    out["counts"] = {{"contacts", counts->contacts}, {"instruments", counts->instruments},
                     {"notices", counts->notices},   {"retired", counts->retired},
                     {"members", counts->members},   {"revoked", counts->revoked}};
    out["replicaBytes"] = *bytes;
    out["federation"] = federation;
    if (!daemon.empty()) out["daemon"] = daemon;
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "site:         " << site->config.id << " (network " << site->config.network << ")\n"
            << "mode:         "
            << (site->config.networked() ? "networked, " + named : std::string("standalone"))
            << "\n"
            << "certificate:  " << (validity.empty() ? "missing" : "valid until " + validity) << "\n"
            << "records:      " << counts->contacts << " contacts, " << counts->instruments
            << " instruments, " << counts->notices << " notices, " << counts->retired << " retired\n"
            << "members:      " << counts->members << " certificates, " << counts->revoked
            << " revoked\n"
            << "replica:      " << *bytes / 1024 << " KiB on disk\n"
            << federationLines(federation);
  if (!daemon.empty()) std::cout << "daemon:       " << daemon << "\n";
  return kExitOk;
}

}  // namespace liaison::cli
