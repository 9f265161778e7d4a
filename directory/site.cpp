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

}  // namespace

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
  c.broker = table["broker"]["endpoint"].value_or(std::string());
  c.brokerKeyPath = resolve(dir, table["broker"]["key"].value_or(std::string()));
  if (table["broker"]["key"].value_or(std::string()).empty()) c.brokerKeyPath.clear();
  c.onNewAlert = table["alerts"]["on_new"].value_or(std::string());
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
  std::string brokerKeyText;
  if (!o.broker.empty()) {
    if (o.brokerKey.empty()) return makeError(Errc::kInvalidInput, "--broker needs --broker-key");
    auto bk = trust::loadPublicKeys(o.brokerKey);
    if (!bk) return bk.error();
    brokerKeyText = trust::publicKeysText(*bk);
  }

  LIAISON_TRY(makeDirectories(o.dir, 0700));
  auto keyText = readFile(o.key, 64 * 1024);
  if (!keyText) return keyText.error();
  LIAISON_TRY(writeFileAtomic(o.dir + "/site.key", *keyText, 0600));
  LIAISON_TRY(writeFileAtomic(o.dir + "/site.pub", trust::publicKeysText(keys->pub)));
  LIAISON_TRY(writeFileAtomic(o.dir + "/site.member", *memberText));
  LIAISON_TRY(writeFileAtomic(o.dir + "/root.pub", trust::publicKeysText(*root)));
  if (!brokerKeyText.empty()) LIAISON_TRY(writeFileAtomic(o.dir + "/broker.pub", brokerKeyText));
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

  std::string config =
      "# Liaison site configuration, written by `liaison init`. Paths are relative to this "
      "folder.\n[site]\nid = " + tomlQuote(o.id) + "\nnetwork = " + tomlQuote(member.network) +
      "\nkey = \"site.key\"\nmember = \"site.member\"\nroot = \"root.pub\"\ndata = \"db\"\n"
      "# map_size_mb = 4096\n\n[api]\nlisten = " + tomlQuote(o.api) + "\n\n[broker]\nendpoint = " +
      tomlQuote(o.broker) + "\nkey = " + tomlQuote(o.broker.empty() ? "" : "broker.pub") +
      "\n\n[alerts]\n# on_new = \"/usr/local/bin/notify-duty-officer\"\n";
  return writeFileAtomic(o.dir + "/site.toml", config, 0600);
}

Result<std::unique_ptr<Directory>> openSiteDirectory(const SiteConfig& config, bool readOnly) {
  Directory::Options options;
  options.readOnly = readOnly;
  options.mapSize = config.mapSize;
  return Directory::open(config.dbPath, options);
}

}  // namespace liaison::directory
