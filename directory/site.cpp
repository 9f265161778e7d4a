#include "directory/site.h"

#include <fcntl.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "common/encoding.h"
#include "common/files.h"
#include "schemas/json.h"
#include "schemas/vocab.h"

namespace liaison::directory {

namespace {

std::string resolve(const std::string& dir, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  return dir + "/" + path;
}

std::string tomlQuote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

// The strings of `one` (a string; "" means none) or of `many` (a list of strings) in [broker].
Result<std::vector<std::string>> brokerStrings(toml::node_view<toml::node> broker, const std::string& path,
                                               const std::string& one, const std::string& many) {
  std::vector<std::string> out;
  auto single = broker[one];
  auto list = broker[many];
  if (single && list) {
    return makeError(Errc::kInvalidInput, path + ": [broker] has both " + one + " and " + many + " (give one)");
  }
  if (single) {
    auto s = single.value<std::string>();
    if (!s) return makeError(Errc::kInvalidInput, path + ": [broker] " + one + " must be a string");
    if (!s->empty()) out.push_back(*s);
    return out;
  }
  if (!list) return out;
  const toml::array* array = list.as_array();
  if (array == nullptr) {
    return makeError(Errc::kInvalidInput, path + ": [broker] " + many + " must be a list of strings");
  }
  for (const auto& node : *array) {
    auto s = node.value<std::string>();
    if (!s || s->empty()) {
      return makeError(Errc::kInvalidInput, path + ": [broker] " + many + " must be a list of non-empty strings");
    }
    out.push_back(*s);
  }
  return out;
}

// [broker]: endpoint and key, or endpoints and keys (one key for all, or one per endpoint).
Result<std::vector<BrokerAddress>> parseBrokers(toml::node_view<toml::node> broker, const std::string& dir,
                                                const std::string& path) {
  auto endpoints = brokerStrings(broker, path, "endpoint", "endpoints");
  if (!endpoints) return endpoints.error();
  auto keys = brokerStrings(broker, path, "key", "keys");
  if (!keys) return keys.error();
  std::vector<BrokerAddress> out;
  if (endpoints->empty()) return out;  // standalone (a key without a broker means nothing)
  for (size_t i = 0; i < endpoints->size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if ((*endpoints)[i] == (*endpoints)[j]) {
        return makeError(Errc::kInvalidInput, path + ": [broker] names " + (*endpoints)[i] + " twice");
      }
    }
  }
  if (keys->empty()) {
    return makeError(Errc::kInvalidInput,
                     path + ": [broker] has no key (the broker's .pub file: key = \"broker.pub\")");
  }
  if (keys->size() != 1 && keys->size() != endpoints->size()) {
    return makeError(Errc::kInvalidInput,
                     path + ": [broker] has " + std::to_string(keys->size()) + " keys for " +
                         std::to_string(endpoints->size()) +
                         " endpoints (give one key shared by the brokers, or one per endpoint, in the same order)");
  }
  for (size_t i = 0; i < endpoints->size(); ++i) {
    out.push_back(BrokerAddress{(*endpoints)[i], resolve(dir, (*keys)[keys->size() == 1 ? 0 : i])});
  }
  return out;
}

std::string tomlList(const std::vector<std::string>& strings) {
  std::string out = "[";
  for (const auto& s : strings) out += (out.size() > 1 ? ", " : "") + tomlQuote(s);
  return out + "]";
}

}  // namespace

std::string SiteConfig::brokerList() const {
  std::string out;
  for (const auto& b : brokers) out += (out.empty() ? "" : ", ") + b.endpoint;
  return out;
}

Result<SiteConfig> loadSiteConfig(const std::string& dir) {
  std::string path = dir + "/site.toml";
  auto text = readFile(path, 1 << 20);
  if (!text) {
    return makeError(Errc::kNotFound, dir + ": not a Liaison site (no site.toml; run `liaison init`)");
  }
  return parseSiteConfig(dir, path, *text);
}

Result<SiteConfig> parseSiteConfig(const std::string& dir, const std::string& path, std::string_view text) {
  toml::table table;
  try {
    table = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    return makeError(Errc::kInvalidInput, path + ": line " +
                                              std::to_string(e.source().begin.line) + ": " +
                                              std::string(e.description()));
  }
  SiteConfig c;
  c.dir = dir;
  c.id = table["site"]["id"].value_or(std::string());
  c.network = table["site"]["network"].value_or(std::string());
  c.keyPath = resolve(dir, table["site"]["key"].value_or(std::string("site.key")));
  c.memberPath = resolve(dir, table["site"]["member"].value_or(std::string("site.member")));
  c.rootPath = resolve(dir, table["site"]["root"].value_or(std::string("root.pub")));
  c.dbPath = resolve(dir, table["site"]["data"].value_or(std::string("db")));
  c.mapSize = static_cast<size_t>(table["site"]["map_size_mb"].value_or(int64_t{4096})) << 20;
  c.api = table["api"]["listen"].value_or(std::string("127.0.0.1:7480"));
  auto brokers = parseBrokers(table["broker"], dir, path);
  if (!brokers) return brokers.error();
  c.brokers = std::move(brokers).value();
  c.onNewAlert = table["alerts"]["on_new"].value_or(std::string());
  c.onRequestEvent = table["requests"]["on_event"].value_or(std::string());
  if (!vocab::isSiteId(c.id)) return makeError(Errc::kInvalidInput, path + ": [site] id is missing or not a site id");
  if (c.mapSize < (size_t{1} << 20)) {
    return makeError(Errc::kInvalidInput, path + ": [site] map_size_mb must be at least 1");
  }
  return c;
}

Status initSite(const InitOptions& o, int64_t now) {
  if (!vocab::isSiteId(o.id)) {
    return makeError(Errc::kInvalidInput,
                     "--id: \"" + o.id + "\" is not a site id (lowercase letters, digits, -)");
  }
  if (fileExists(o.dir + "/site.toml")) {
    return makeError(Errc::kConflict, o.dir + ": already holds a site");
  }
  auto root = trust::loadPublicKeys(o.rootPub);
  if (!root) return root.error();
  auto keys = trust::loadKeyPair(o.key);
  if (!keys) return keys.error();
  auto memberText = readFile(o.member, 1 << 20);
  if (!memberText) return memberText.error();
  auto members = json::dearmor(o.member, *memberText);
  if (!members) return members.error();
  const SignedItem& cert = members->front();
  if (cert.item.reader().which() != schema::Item::MEMBER) {
    return makeError(Errc::kInvalidInput, o.member + ": not a member certificate");
  }
  auto member = trust::memberFromReader(cert.item.reader().getMember());
  if (cert.signer != trust::kRootSigner || cert.signerKey != root->sign ||
      !trust::signatureValid(cert)) {
    return makeError(Errc::kRefused, o.member + ": not signed by the root key in " + o.rootPub);
  }
  if (member.site != o.id) {
    return makeError(Errc::kInvalidInput,
                     o.member + ": certificate is for site " + member.site + ", not " + o.id);
  }
  if (member.signKey != keys->pub.sign || member.curveKey != keys->pub.curve) {
    return makeError(Errc::kInvalidInput, o.member + ": certificate is for other keys than " + o.key);
  }
  if (now > member.notAfter) return makeError(Errc::kRefused, o.member + ": certificate expired");
  // The broker's keys (or a pair's: one file for both, or one each), as they are written here.
  std::vector<std::pair<std::string, std::string>> brokerKeyFiles;  // name in DIR, text
  if (o.brokers.empty() && !o.brokerKeys.empty()) {
    return makeError(Errc::kInvalidInput, "--broker-key needs --broker");
  }
  for (size_t i = 0; i < o.brokers.size(); ++i) {
    if (o.brokers[i].empty()) return makeError(Errc::kInvalidInput, "--broker: an empty address");
    for (size_t j = 0; j < i; ++j) {
      if (o.brokers[i] == o.brokers[j]) {
        return makeError(Errc::kInvalidInput, "--broker " + o.brokers[i] + " is given twice");
      }
    }
  }
  if (!o.brokers.empty()) {
    if (o.brokerKeys.empty()) return makeError(Errc::kInvalidInput, "--broker needs --broker-key");
    if (o.brokerKeys.size() != 1 && o.brokerKeys.size() != o.brokers.size()) {
      return makeError(Errc::kInvalidInput,
                       "--broker-key is given " + std::to_string(o.brokerKeys.size()) + " times for " +
                           std::to_string(o.brokers.size()) +
                           " --broker: give it once (the brokers share a key pair) or once per --broker, "
                           "in the same order");
    }
    for (size_t i = 0; i < o.brokerKeys.size(); ++i) {
      auto bk = trust::loadPublicKeys(o.brokerKeys[i]);
      if (!bk) return bk.error();
      std::string name = o.brokerKeys.size() == 1 ? "broker.pub" : "broker-" + std::to_string(i + 1) + ".pub";
      brokerKeyFiles.emplace_back(std::move(name), trust::publicKeysText(*bk));
    }
  }

  LIAISON_TRY(makeDirectories(o.dir, 0700));
  auto keyText = readFile(o.key, 64 * 1024);
  if (!keyText) return keyText.error();
  LIAISON_TRY(writeFileAtomic(o.dir + "/site.key", *keyText, 0600));
  LIAISON_TRY(writeFileAtomic(o.dir + "/site.pub", trust::publicKeysText(keys->pub)));
  LIAISON_TRY(writeFileAtomic(o.dir + "/site.member", *memberText));
  LIAISON_TRY(writeFileAtomic(o.dir + "/root.pub", trust::publicKeysText(*root)));
  for (const auto& [name, text] : brokerKeyFiles) LIAISON_TRY(writeFileAtomic(o.dir + "/" + name, text));
  // DIR/api.token: whoever can read it may publish through the site daemon's HTTP API.
  auto token = randomHexToken(32);
  if (!token) return token.error();
  LIAISON_TRY(writeFileAtomic(o.dir + "/api.token", *token + "\n", 0600));

  auto dir = Directory::open(o.dir + "/db", Directory::Options{});
  if (!dir) return dir.error();
  auto batch = (*dir)->begin();
  if (!batch) return batch.error();
  LIAISON_TRY(batch->setRoot(root->sign));
  auto applied = batch->apply(cert, now);
  if (!applied) return applied.error();
  if (applied->outcome == Outcome::kRefused) {
    return makeError(Errc::kRefused, o.member + ": " + applied->decision.detail);
  }
  LIAISON_TRY(std::move(*batch).commit());

  std::string broker;  // [broker]: one broker as it always was written, a pair with lists
  if (o.brokers.size() <= 1) {
    broker = "endpoint = " + tomlQuote(o.brokers.empty() ? "" : o.brokers[0]) +
             "\nkey = " + tomlQuote(o.brokers.empty() ? "" : "broker.pub");
  } else {
    std::vector<std::string> names;
    for (const auto& [name, text] : brokerKeyFiles) names.push_back(name);
    broker = "# The brokers of a pair: the daemon follows whichever leads.\nendpoints = " +
             tomlList(o.brokers) + "\nkeys = " + tomlList(names);
  }
  std::string config =
      "# Liaison site configuration, written by `liaison init`. Paths are relative to this "
      "folder.\n[site]\nid = " + tomlQuote(o.id) + "\nnetwork = " + tomlQuote(member.network) +
      "\nkey = \"site.key\"\nmember = \"site.member\"\nroot = \"root.pub\"\ndata = \"db\"\n"
      "# map_size_mb = 4096\n\n[api]\nlisten = " + tomlQuote(o.api) + "\n\n[broker]\n" + broker +
      "\n\n[alerts]\n# on_new = \"/usr/local/bin/notify-duty-officer\"\n"
      "\n[requests]\n# on_event = \"/usr/local/bin/notify-central-authority\"\n";
  return writeFileAtomic(o.dir + "/site.toml", config, 0600);
}

Result<std::unique_ptr<Directory>> openSiteDirectory(const SiteConfig& config, bool readOnly) {
  Directory::Options options;
  options.readOnly = readOnly;
  options.mapSize = config.mapSize;
  return Directory::open(config.dbPath, options);
}

}  // namespace liaison::directory
