#include "cli/api_client.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <variant>

#include "cli/http.h"
#include "common/files.h"
#include "directory/directory.h"
#include "schemas/vocab.h"

namespace liaison::cli {

namespace {

using json::Json;

constexpr time_t kConnectTimeoutSeconds = 2;
constexpr time_t kAnswerTimeoutSeconds = 60;
// What a multipart part adds around a file's text (boundary, headers), with room to spare.
constexpr size_t kPartOverhead = 512;

std::string trimmed(std::string_view text) {
  size_t b = 0, e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  return std::string(text.substr(b, e - b));
}

std::string str(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }

struct Loopback {
  std::string host;  // for httplib: "127.0.0.1" or "::1"
  int port = 0;
};

// "127.0.0.1:PORT", "localhost:PORT", "[::1]:PORT" or "::1:PORT"; nullopt for anything else.
std::optional<Loopback> parseLoopback(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) return std::nullopt;
  std::string host = address.substr(0, colon), port = address.substr(colon + 1);
  if (port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  int number = std::stoi(port);
  if (number > 65535) return std::nullopt;
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (host == "127.0.0.1" || host == "localhost") return Loopback{"127.0.0.1", number};
  if (host == "[::1]" || host == "::1") return Loopback{"::1", number};
  return std::nullopt;
}

struct Answer {
  int status = 0;
  Json body;
};

// A file name as a multipart filename: no quote or line break can end the header early.
std::string partName(const std::string& name) {
  std::string out = name;
  for (char& c : out) {
    if (c == '"' || c == '\r' || c == '\n' || c == '\\') c = '_';
  }
  return out;
}

Result<SubmitReply> replyFrom(const Answer& a) {
  try {
    SubmitReply r;
    const Json& j = a.body;
    r.accepted = j.value("accepted", false);
    r.firstSeq = j.value("firstSeq", uint64_t{0});
    r.lastSeq = j.value("lastSeq", uint64_t{0});
    r.ignored = j.value("ignored", uint64_t{0});
    r.count = j.value("count", uint64_t{0});
    r.refusal = j.value("refusal", std::string());
    r.detail = j.value("detail", std::string());
    r.file = j.value("file", std::string());
    r.id = j.value("id", std::string());
    r.index = j.value("index", uint64_t{0});
    r.revision = j.value("revision", uint64_t{0});
    r.alreadyRetired = j.value("alreadyRetired", false);
    r.applied = j.value("applied", true);
    return r;
  } catch (const Json::exception&) {
    return makeError(Errc::kIo, "the site daemon gave an answer this command does not understand");
  }
}

}  // namespace

std::string daemonNotRunning(const directory::SiteConfig& config) {
  return "the site daemon is not running (start liaison-site --site " + config.dir + ")";
}

Result<ApiClient> ApiClient::find(const directory::SiteConfig& config) {
  std::string address = config.api;
  const std::string endpointPath = config.dir + "/api.endpoint";
  if (fileExists(endpointPath)) {
    auto text = readFile(endpointPath, 4096);
    if (!text) return text.error();
    address = trimmed(*text);
  }
  auto loopback = parseLoopback(address);
  if (!loopback) {
    return makeError(Errc::kInvalidInput,
                     "the site daemon's address \"" + address +
                         "\" is not a loopback one (127.0.0.1, localhost or [::1]); liaison "
                         "sends the API token to loopback only");
  }
  if (loopback->port == 0) return makeError(Errc::kUnavailable, daemonNotRunning(config));
  return ApiClient(config, loopback->host, loopback->port, address);
}

namespace {

// Sends a request; the answer as it came, an error only when no answer came.
Result<http::Response> exchangeBytes(const directory::SiteConfig& config,
                                     const std::string& endpoint, const http::Request& request) {
  auto res = http::exchange(request);
  if (!res) return res.error();
  switch (res->failure) {
    case http::Response::Failure::kNone:
      break;
    case http::Response::Failure::kConnection:
      return makeError(Errc::kUnavailable, daemonNotRunning(config));
    case http::Response::Failure::kRead:
      return makeError(Errc::kUnavailable, "the site daemon at " + endpoint +
                                               " did not answer within " +
                                               std::to_string(kAnswerTimeoutSeconds) + " s");
    case http::Response::Failure::kOther:
      return makeError(Errc::kUnavailable,
                       "the site daemon at " + endpoint + ": " + res->failureText);
  }
  return res;
}

// Sends a request and reads the JSON answer; an error only when no answer came.
Result<Answer> exchange(const directory::SiteConfig& config, const std::string& endpoint,
                        const http::Request& request) {
  auto res = exchangeBytes(config, endpoint, request);
  if (!res) return res.error();
  Answer a;
  a.status = res->status;
  a.body = Json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (a.body.is_discarded() || !a.body.is_object()) {
    return makeError(Errc::kIo, "the site daemon at " + endpoint + " answered HTTP " +
                                    std::to_string(a.status) + " without JSON");
  }
  return a;
}

// An answer other than the expected ones, as an error.
Error errorFrom(const Answer& a, const directory::SiteConfig& config) {
  std::string message = "HTTP " + std::to_string(a.status);
  if (a.body.contains("error") && a.body["error"].is_string()) {
    message = a.body["error"].get<std::string>();
  }
  switch (a.status) {
    case 400:
    case 413:
      return makeError(Errc::kInvalidInput, message);
    case 401:
      return makeError(Errc::kRefused, "the site daemon refused the API token in " + config.dir +
                                           "/api.token (was the site made again?)");
    case 404:
      return makeError(Errc::kNotFound, message);
    case 503:
      return makeError(Errc::kUnavailable, message);
    default:
      return makeError(
          Errc::kIo, "the site daemon answered HTTP " + std::to_string(a.status) + ": " + message);
  }
}

}  // namespace

http::Request ApiClient::request(const std::string& method, const std::string& path,
                                 const std::string& token) const {
  http::Request r;
  r.method = method;
  r.host = host_;
  r.port = port_;
  r.path = path;
  r.bearerToken = token;
  r.connectTimeoutSeconds = kConnectTimeoutSeconds;
  r.answerTimeoutSeconds = kAnswerTimeoutSeconds;
  return r;
}

Result<std::string> ApiClient::token() const {
  const std::string path = config_.dir + "/api.token";
  auto text = readFile(path, 4096);
  if (!text) {
    return makeError(Errc::kRefused, text.error().message +
                                         " (writing to a networked site needs its API token: run "
                                         "this as the site's operator)");
  }
  std::string t = trimmed(*text);
  if (t.empty()) return makeError(Errc::kInvalidInput, path + ": empty");
  return t;
}

Result<json::Json> ApiClient::status() const {
  auto answer = exchange(config_, endpoint_, request("GET", "/v1/status"));
  if (!answer) return answer.error();
  if (answer->status != 200) return errorFrom(*answer, config_);
  const Json& body = answer->body;
  if (!body.contains("site") || !body["site"].is_string() ||
      body["site"].get<std::string>() != config_.id) {
    std::string other = body.contains("site") && body["site"].is_string()
                            ? "the daemon of site " + body["site"].get<std::string>()
                            : "something other than a site daemon";
    return makeError(Errc::kUnavailable,
                     daemonNotRunning(config_) + "; " + endpoint_ + " answers for " + other);
  }
  return answer->body;
}

Status ApiClient::checkIdentity() const {
  auto s = status();
  if (!s) return s.error();
  return {};
}

Result<SubmitReply> ApiClient::publish(const std::vector<PublishFile>& files) const {
  auto t = token();
  if (!t) return t.error();
  LIAISON_TRY(checkIdentity());
  auto req = request("POST", "/v1/publish", *t);
  req.parts.reserve(files.size());
  for (const auto& f : files) {
    req.parts.push_back(http::Part{"file", f.text, partName(f.name), "application/json"});
  }
  auto answer = exchange(config_, endpoint_, req);
  if (!answer) return answer.error();
  if (answer->status != 200 && answer->status != 422) return errorFrom(*answer, config_);
  return replyFrom(*answer);
}

Result<SubmitReply> ApiClient::retire(const std::string& id) const {
  // Record ids hold only URL-safe characters; anything else names no record.
  if (!vocab::isRecordId(id)) return makeError(Errc::kNotFound, "no record " + id);
  auto t = token();
  if (!t) return t.error();
  LIAISON_TRY(checkIdentity());
  auto req = request("POST", "/v1/retire/" + id, *t);
  req.contentType = "text/plain";
  auto answer = exchange(config_, endpoint_, req);
  if (!answer) return answer.error();
  if (answer->status != 200 && answer->status != 422) return errorFrom(*answer, config_);
  return replyFrom(*answer);
}

Result<std::pair<int, json::Json>> ApiClient::call(const std::string& method, const std::string& path,
                                                   const std::string& body) const {
  auto t = token();
  if (!t) return t.error();
  LIAISON_TRY(checkIdentity());
  auto req = request(method == "GET" ? "GET" : "POST", path, *t);
  if (req.method == "POST") {
    req.body = body;
    req.contentType = "application/json";
  }
  auto answer = exchange(config_, endpoint_, req);
  if (!answer) return answer.error();
  if (answer->status == 401) return errorFrom(*answer, config_);
  return std::pair<int, json::Json>{answer->status, std::move(answer->body)};
}

Status ApiClient::checkIdentityOnce() const {
  if (identified_) return {};
  LIAISON_TRY(checkIdentity());
  identified_ = true;
  return {};
}

Result<std::pair<int, json::Json>> ApiClient::put(const std::string& path,
                                                  std::string bytes) const {
  auto t = token();
  if (!t) return t.error();
  LIAISON_TRY(checkIdentityOnce());
  auto req = request("PUT", path, *t);
  req.body = std::move(bytes);
  req.contentType = "application/octet-stream";
  auto answer = exchange(config_, endpoint_, req);
  if (!answer) return answer.error();
  if (answer->status == 401) return errorFrom(*answer, config_);
  return std::pair<int, json::Json>{answer->status, std::move(answer->body)};
}

Result<std::pair<int, std::string>> ApiClient::getBytes(const std::string& path) const {
  auto t = token();
  if (!t) return t.error();
  LIAISON_TRY(checkIdentityOnce());
  auto res = exchangeBytes(config_, endpoint_, request("GET", path, *t));
  if (!res) return res.error();
  if (res->status == 401) {
    return errorFrom(Answer{401, Json::parse(res->body, nullptr, false)}, config_);
  }
  return std::pair<int, std::string>{res->status, std::move(res->body)};
}

Result<std::vector<PublishFile>> readPublishFiles(const std::vector<std::string>& paths) {
  std::vector<PublishFile> files;
  std::map<std::string, std::string> seen;  // kind/id → file
  size_t total = 0;
  for (const auto& path : paths) {
    auto text = readFile(path, kMaxPublishBytes);
    if (!text) return text.error();
    total += text->size() + kPartOverhead;
    if (total > kMaxPublishBytes) {
      return makeError(Errc::kInvalidInput,
                       path + ": the files given make more than the " +
                           std::to_string(kMaxPublishBytes >> 20) +
                           " MiB the site daemon takes in one publish; publish them in parts");
    }
    auto parsed = json::parseInput(path, *text);
    if (!parsed) return parsed.error();
    size_t index = 0;
    for (const auto& item : *parsed) {
      ++index;
      const OwnedItem& owned = std::holds_alternative<OwnedItem>(item)
                                   ? std::get<OwnedItem>(item)
                                   : std::get<SignedItem>(item).item;
      auto reader = owned.reader();
      std::string where = path + ": item " + std::to_string(index) + " (" + itemId(reader) + ")";
      auto [it, fresh] = seen.emplace(itemKind(reader) + "/" + itemId(reader), path);
      if (!fresh) return makeError(Errc::kInvalidInput, where + ": also in " + it->second);
      if (reader.which() == schema::Item::RECORD && reader.getRecord().getBody().isContact()) {
        auto zone = reader.getRecord().getBody().getContact().getAvailability().getTimezone();
        if (zone.size() > 0 &&
            !directory::knownTimeZone(std::string_view(zone.begin(), zone.size()))) {
          return makeError(Errc::kInvalidInput, where + ": availability.timezone: \"" + str(zone) +
                                                    "\" is not a known IANA time zone");
        }
      }
    }
    files.push_back(PublishFile{path, std::move(*text)});
  }
  return files;
}

namespace {

uint64_t number(const Json& j, const char* key) {
  return j.contains(key) && j[key].is_number_unsigned() ? j[key].get<uint64_t>() : 0;
}

std::string text(const Json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

std::string ago(const Json& ms) {
  if (!ms.is_number()) return "never";
  const int64_t v = ms.get<int64_t>();
  char buf[48];
  if (v < 1000) {
    std::snprintf(buf, sizeof buf, "%lld ms ago", static_cast<long long>(v));
  } else if (v < 120000) {
    std::snprintf(buf, sizeof buf, "%.1f s ago", static_cast<double>(v) / 1000.0);
  } else {
    std::snprintf(buf, sizeof buf, "%lld min ago", static_cast<long long>(v / 60000));
  }
  return buf;
}

}  // namespace

std::string daemonStatusLines(const json::Json& s, const std::string& endpoint) {
  const Json none;
  const Json& counts = s.contains("counts") ? s["counts"] : none;
  std::string refused;
  if (s.contains("refused") && s["refused"].is_object()) {
    for (auto it = s["refused"].begin(); it != s["refused"].end(); ++it) {
      if (!refused.empty()) refused += ", ";
      refused +=
          std::to_string(it->is_number_unsigned() ? it->get<uint64_t>() : 0) + " " + it.key();
    }
  }
  const bool connected =
      s.contains("connected") && s["connected"].is_boolean() && s["connected"].get<bool>();
  std::string lag = s.contains("lag") && s["lag"].is_number_unsigned()
                        ? std::to_string(s["lag"].get<uint64_t>())
                        : "unknown";
  std::string out;
  out += "daemon:       running on " + endpoint + ", " + text(s, "state") + "\n";
  out += "connected:    " + std::string(connected ? "yes" : "no") + " (last heard " +
         ago(s.contains("lastHeardMsAgo") ? s["lastHeardMsAgo"] : none) + ")\n";
  if (s.contains("certificate") && s["certificate"].is_string()) {
    // What the broker said of this site's certificate, presented when the daemon connected.
    out += "certificate:  " + s["certificate"].get<std::string>() + "\n";
  }
  // A site of a broker pair says which broker it follows now.
  const bool pair = s.contains("brokers") && s["brokers"].is_array() && s["brokers"].size() > 1;
  out += "broker:       " + (pair ? text(s, "broker") + ", " : std::string()) + "epoch " +
         text(s, "brokerEpoch") + ", head " + std::to_string(number(s, "brokerHead")) + "\n";
  out += "cursor:       epoch " + text(s, "cursorEpoch") + ", seq " +
         std::to_string(number(s, "cursorSeq")) + " (lag " + lag + ")\n";
  out +=
      "applied:      " + std::to_string(number(s, "applied")) + " items since the daemon started\n";
  out += "refused:      " + (refused.empty() ? std::string("none") : refused) + "\n";
  out += "records:      " + std::to_string(number(counts, "contacts")) + " contacts, " +
         std::to_string(number(counts, "instruments")) + " instruments, " +
         std::to_string(number(counts, "notices")) + " notices, " +
         std::to_string(number(counts, "retired")) + " retired\n";
  out += "members:      " + std::to_string(number(counts, "members")) + " certificates, " +
         std::to_string(number(counts, "revoked")) + " revoked\n";
  if (s.contains("alerts") && s["alerts"].is_object()) {
    const Json& a = s["alerts"];
    std::string refusedAlerts;
    if (a.contains("refused") && a["refused"].is_object()) {
      for (auto it = a["refused"].begin(); it != a["refused"].end(); ++it) {
        if (!refusedAlerts.empty()) refusedAlerts += ", ";
        refusedAlerts += it.key() + " " + std::to_string(it->is_number_unsigned() ? it->get<uint64_t>() : 0);
      }
    }
    out += "alerts:       " + std::to_string(number(a, "received")) + " received since start (" +
           std::to_string(number(a, "duplicates")) + " delivered again), " +
           std::to_string(number(a, "answersReceived")) + " answers to ours, " +
           std::to_string(number(a, "answersQueued")) + " of our answers waiting for the broker" +
           (refusedAlerts.empty() ? std::string() : "; refused: " + refusedAlerts) + "\n";
  }
  if (s.contains("extension") && s["extension"].is_object() && s["extension"].value("kind", "") == "bridge") {
    const Json& x = s["extension"];
    auto line = [&](const char* label, const Json& d, const std::string& peer) {
      std::string carriedRefused;
      if (d.contains("refused") && d["refused"].is_object()) {
        for (auto it = d["refused"].begin(); it != d["refused"].end(); ++it) {
          carriedRefused += (carriedRefused.empty() ? "" : ", ") + it.key() + " " +
                     std::to_string(it->is_number_unsigned() ? it->get<uint64_t>() : 0);
        }
      }
      std::string waiting = d.contains("waiting") && d["waiting"].is_string() ? d["waiting"].get<std::string>() : "";
      return std::string(label) + peer + ": " + std::to_string(number(d, "forwarded")) + " items carried, " +
             std::to_string(number(d, "queued")) + " waiting (lag), " + std::to_string(number(d, "ignored")) +
             " already held, " + std::to_string(number(d, "alertsForwarded")) + " alerts handed on, " +
             std::to_string(number(d, "alertsDeclined")) + " not taken, " +
             std::to_string(number(d, "answersRelayed")) + " answers relayed" +
             (carriedRefused.empty() ? std::string() : "; refused: " + carriedRefused) +
             (waiting.empty() ? std::string() : "; held: " + waiting) + "\n";
    };
    if (x.contains("outbound") && x["outbound"].is_object()) {
      out += line("bridge to    ", x["outbound"], x["outbound"].value("to", "?"));
    }
    if (x.contains("inbound") && x["inbound"].is_object()) {
      out += line("bridge from  ", x["inbound"], x["inbound"].value("from", "?"));
    }
  }
  if (s.contains("extension") && s["extension"].is_object() && s["extension"].value("kind", "") == "interpol") {
    const Json& x = s["extension"];
    auto str = [&](const Json& j, const char* key) { return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string(); };
    std::string last = str(x, "lastSuccess");
    std::string error = str(x, "lastError");
    out += "interpol:     gateway " + (str(x, "gateway").empty() ? std::string("(off)") : str(x, "gateway")) + ", queue " +
           std::to_string(number(x, "queueDepth")) + ", forwarded " + std::to_string(number(x, "forwarded")) +
           ", declined " + std::to_string(number(x, "declined")) + ", retries " + std::to_string(number(x, "retries")) +
           ", last success " + (last.empty() ? std::string("never") : last) + "\n";
    if (x.contains("notices") && x["notices"].is_object()) {
      const Json& n = x["notices"];
      out += "notices:      " + (str(n, "source").empty() ? std::string("(off)") : str(n, "source")) + ", " +
             std::to_string(number(n, "polls")) + " polls, last " + (str(n, "lastPoll").empty() ? std::string("never") : str(n, "lastPoll")) +
             ", " + std::to_string(number(n, "published")) + " published, " + std::to_string(number(n, "unchanged")) +
             " unchanged, " + std::to_string(number(n, "skipped")) + " skipped, " + std::to_string(number(n, "errors")) + " errors\n";
    }
    if (!error.empty()) out += "last error:   " + error + " (" + str(x, "lastErrorAt") + ")\n";
  }
  return out;
}

}  // namespace liaison::cli
