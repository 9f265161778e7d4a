#include "site/api.h"

// Debian's libcpp-httplib is built with these, and httplib's classes change layout without them:
// compile with `pkg-config --cflags cpp-httplib` (PkgConfig::HTTPLIB in CMake).
#if !defined(CPPHTTPLIB_OPENSSL_SUPPORT) || !defined(CPPHTTPLIB_ZLIB_SUPPORT) || \
    !defined(CPPHTTPLIB_BROTLI_SUPPORT)
#error "compile with the flags of `pkg-config --cflags cpp-httplib` (see the comment above)"
#endif
#include <fcntl.h>
#include <httplib.h>
#include <kj/exception.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/files.h"
#include "common/metrics.h"
#include "schemas/alert_json.h"
#include "schemas/json.h"
#include "site/alert_ops.h"
#include "site/alerts.h"
#include "schemas/vocab.h"
#include "site/requests.h"

namespace liaison::site {

namespace {

using json::Json;

constexpr size_t kMinTokenChars = 32;

struct ListenAddress {
  std::string bindHost;   // what to bind: "127.0.0.1" or "::1"
  std::string shownHost;  // in the endpoint: "127.0.0.1" or "[::1]"
  int port = 0;
};

// "127.0.0.1:PORT", "localhost:PORT", "[::1]:PORT" (or "::1:PORT"); nothing else.
Result<ListenAddress> parseListen(const std::string& address) {
  auto bad = [&](const std::string& why) {
    return makeError(Errc::kInvalidInput, "api listen address \"" + address + "\": " + why);
  };
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) return bad("no :PORT");
  std::string host = address.substr(0, colon);
  std::string portText = address.substr(colon + 1);
  if (portText.size() > 5 ||
      !std::all_of(portText.begin(), portText.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return bad("the port is not a number");
  }
  int port = std::stoi(portText);
  if (port > 65535) return bad("the port is above 65535");
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (host == "127.0.0.1" || host == "localhost")
    return ListenAddress{"127.0.0.1", "127.0.0.1", port};
  if (host == "[::1]" || host == "::1") return ListenAddress{"::1", "[::1]", port};
  return bad("the API listens on loopback only (127.0.0.1, localhost or [::1])");
}

// Whether a Host header names this machine's loopback ("127.0.0.1:7480", "localhost", "[::1]:80").
bool loopbackHost(std::string_view host) {
  auto name = [](std::string_view h) {
    std::string lower(h);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return lower == "127.0.0.1" || lower == "localhost" || lower == "[::1]" || lower == "::1";
  };
  if (name(host)) return true;
  auto colon = host.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == host.size()) return false;
  auto port = host.substr(colon + 1);
  return std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
         name(host.substr(0, colon));
}

bool validToken(std::string_view token) {
  return token.size() >= kMinTokenChars &&
         std::all_of(token.begin(), token.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

std::string trimmed(std::string_view text) {
  size_t b = 0, e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  return std::string(text.substr(b, e - b));
}

// A file name from a request, made safe to echo in messages and logs: at most 200 bytes, no
// control characters.
std::string cleanName(std::string_view name, size_t n) {
  if (name.empty()) return n == 0 ? "request" : "part " + std::to_string(n + 1);
  std::string out;
  for (char c : name.substr(0, 200)) out.push_back(static_cast<unsigned char>(c) < 0x20 ? '?' : c);
  return out;
}

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

std::string str(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }

void answer(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n",
                  "application/json");
}

// Where an envelope of a submission came from, to name it when the broker refuses it.
struct Origin {
  std::string file;  // empty for a retire
  size_t index = 0;  // 0-based position in `file`
  std::string id;
};

struct Submission {
  std::vector<Bytes> envelopes;
  std::vector<Origin> origins;  // parallel to envelopes
  size_t bytes = 0;
};

}  // namespace

struct ApiServer::Impl {
  Impl(const directory::SiteConfig& c, SiteService& s, const trust::KeyPair& k,
       const directory::Directory& d, std::string t, WebPages* p)
      : config(c), service(s), keys(k), dir(d), token(std::move(t)), pages(p) {}

  const directory::SiteConfig config;
  SiteService& service;
  const trust::KeyPair& keys;
  const directory::Directory& dir;
  const std::string token;
  WebPages* const pages;

  httplib::Server server;
  std::thread thread;
  std::atomic<bool> finished{false};  // listen_after_bind returned
  std::atomic<uint64_t> refused{0};
  std::string endpoint, endpointPath, endpointText;
  bool stopped = false;

  void refuse(httplib::Response& res, int status, const std::string& message) {
    refused.fetch_add(1, std::memory_order_relaxed);
    answer(res, status, Json{{"error", message}});
  }

  // Never logs the header or the token.
  bool authorize(const httplib::Request& req, httplib::Response& res) {
    bool ok = false;
    if (req.get_header_value_count("Authorization") == 1) {
      std::string value = req.get_header_value("Authorization");
      constexpr std::string_view kScheme = "bearer ";
      if (value.size() > kScheme.size()) {
        std::string scheme = value.substr(0, kScheme.size());
        std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        ok = scheme == kScheme && sameSecret(trimmed(value.substr(kScheme.size())), token);
      }
    }
    if (!ok) {
      spdlog::warn("api {} {} from {}: refused, missing or wrong API token", req.method, req.path,
                   req.remote_addr);
      res.set_header("WWW-Authenticate", "Bearer");
      refuse(res, 401,
             "this needs the site's API token (Authorization: Bearer, from DIR/api.token)");
    }
    return ok;
  }

  // Parses, checks and signs what a publish request holds, in the order the standalone path
  // applies it: certificates and revocations first, so records in the same call can rely on them.
  Result<Submission> prepare(const std::vector<std::pair<std::string, std::string_view>>& files) {
    struct Parsed {
      Origin origin;
      json::InputItem item;
    };
    std::vector<Parsed> items;
    std::map<std::string, std::string> seen;  // kind/id → file
    for (const auto& [name, text] : files) {
      auto parsed = json::parseInput(name, text);
      if (!parsed) return parsed.error();
      size_t index = 0;
      for (auto& item : *parsed) {
        const OwnedItem& owned = std::holds_alternative<OwnedItem>(item)
                                     ? std::get<OwnedItem>(item)
                                     : std::get<SignedItem>(item).item;
        auto reader = owned.reader();
        std::string id = itemId(reader);
        std::string where = name + ": item " + std::to_string(index + 1) + " (" + id + ")";
        auto [it, fresh] = seen.emplace(itemKind(reader) + "/" + id, name);
        if (!fresh) return makeError(Errc::kInvalidInput, where + ": also in " + it->second);
        if (reader.which() == schema::Item::RECORD && reader.getRecord().getBody().isContact()) {
          auto zone = reader.getRecord().getBody().getContact().getAvailability().getTimezone();
          if (zone.size() > 0 &&
              !directory::knownTimeZone(std::string_view(zone.begin(), zone.size()))) {
            return makeError(Errc::kInvalidInput, where + ": availability.timezone: \"" +
                                                      str(zone) +
                                                      "\" is not a known IANA time zone");
          }
        }
        items.push_back(Parsed{Origin{name, index, std::move(id)}, std::move(item)});
        ++index;
      }
    }
    std::stable_partition(items.begin(), items.end(), [](const Parsed& p) {
      return std::holds_alternative<SignedItem>(p.item);
    });
    Submission s;
    s.envelopes.reserve(items.size());
    s.origins.reserve(items.size());
    for (auto& p : items) {
      Bytes envelope =
          std::holds_alternative<OwnedItem>(p.item)
              ? trust::sign(std::move(std::get<OwnedItem>(p.item)), config.id, keys).encode()
              : std::get<SignedItem>(p.item).encode();
      s.bytes += envelope.size();
      s.envelopes.push_back(std::move(envelope));
      s.origins.push_back(std::move(p.origin));
    }
    return s;
  }

  // Hands a submission to the service; the status and body of the answer.
  std::pair<int, Json> submit(Submission s, const std::string& what) {
    const size_t count = s.envelopes.size();
    auto outcome = service.submit(std::move(s.envelopes), kSubmitTimeout);
    if (!outcome) {
      const Error& e = outcome.error();
      spdlog::warn("api {}: {} items not submitted: {}", what, count, e.message);
      if (e.code == Errc::kUnavailable) {
        return {503, Json{{"error", "broker unreachable: " + e.message +
                                        " (if the broker got the items they will arrive; "
                                        "publishing them again is harmless)"}}};
      }
      if (e.code == Errc::kInvalidInput) return {400, Json{{"error", e.message}}};
      return {500, Json{{"error", e.message}}};
    }
    if (outcome->accepted) {
      const bool applied = service.waitApplied(outcome->lastSeq, kApplyWait);
      spdlog::info("api {}: accepted items={} seq={}..{} ignored={} applied here={}", what, count,
                   outcome->firstSeq, outcome->lastSeq, outcome->ignored, applied);
      return {200, Json{{"accepted", true},
                        {"firstSeq", outcome->firstSeq},
                        {"lastSeq", outcome->lastSeq},
                        {"ignored", outcome->ignored},
                        {"count", count},
                        {"applied", applied}}};
    }
    Origin origin = outcome->index < s.origins.size() ? s.origins[outcome->index] : Origin{};
    spdlog::warn("api {}: refused by the broker ({}) at {} item {} ({}): {}", what,
                 outcome->refusal, origin.file, origin.index + 1, origin.id, outcome->detail);
    Json body{{"accepted", false}, {"refusal", outcome->refusal}, {"detail", outcome->detail}};
    if (!origin.file.empty()) body["file"] = origin.file;
    body["index"] = origin.index;
    body["id"] = origin.id;
    return {422, std::move(body)};
  }

  // The body is read here, into buffers of its exact size, and given back once it is signed:
  // a bulk upload's megabytes are not held while its submission travels to the broker.
  void publish(const httplib::Request& req, httplib::Response& res,
               const httplib::ContentReader& content) {
    std::vector<std::pair<std::string, std::string>> bodies;  // file name, text
    size_t otherParts = 0;
    bool read = false;
    if (req.is_multipart_form_data()) {
      read = content(
          [&](const httplib::MultipartFormData& part) {
            if (part.name != "file") ++otherParts;
            bodies.emplace_back(cleanName(part.filename, bodies.size()), std::string());
            return true;
          },
          [&](const char* data, size_t n) {
            bodies.back().second.append(data, n);
            return true;
          });
    } else {
      std::string body;
      const uint64_t length =
          std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10);
      body.reserve(static_cast<size_t>(std::min<uint64_t>(length, kMaxBodyBytes)));
      read = content([&](const char* data, size_t n) {
        body.append(data, n);
        return true;
      });
      bodies.emplace_back(cleanName(req.get_param_value("name"), 0), std::move(body));
    }
    if (!read) return;  // too large, or the connection broke: httplib answers with its status
    if (!authorize(req, res)) return;
    if (req.is_multipart_form_data() && (bodies.empty() || otherParts > 0)) {
      return refuse(res, 400, "a multipart publish holds only parts named \"file\", at least one");
    }
    std::vector<std::pair<std::string, std::string_view>> files;
    for (const auto& [name, text] : bodies) files.emplace_back(name, text);
    const std::string what = req.is_multipart_form_data()
                                 ? "publish files=" + std::to_string(files.size())
                                 : "publish file=" + files.front().first;
    auto prepared = prepare(files);
    files.clear();
    bodies.clear();
    if (!prepared) {
      spdlog::info("api {}: refused: {}", what, prepared.error().message);
      return refuse(res, 400, prepared.error().message);
    }
    if (prepared->envelopes.size() > kMaxSubmitItems || prepared->bytes > kMaxSubmitBytes) {
      return refuse(res, 413,
                    std::to_string(prepared->envelopes.size()) + " items (" +
                        std::to_string(prepared->bytes >> 10) +
                        " KiB signed) is more than one submission carries (" +
                        std::to_string(kMaxSubmitItems) + " items, " +
                        std::to_string(kMaxSubmitBytes >> 20) +
                        " MiB); publish them in smaller parts");
    }
    auto [status, body] = submit(std::move(prepared).value(), what);
    answer(res, status, body);
  }

  void retire(const httplib::Request& req, httplib::Response& res) {
    if (!authorize(req, res)) return;
    std::string id = req.matches[1];
    if (!vocab::isRecordId(id)) return refuse(res, 400, "\"" + id + "\" is not a record id");
    auto current = dir.get(id);
    if (!current) {
      spdlog::error("api retire id={}: {}", id, current.error().message);
      return answer(res, 500, Json{{"error", current.error().message}});
    }
    if (!*current) return answer(res, 404, Json{{"error", "no record " + id}});
    auto record = (*current)->record();
    const uint64_t revision = record.getRevision();
    if (record.getStatus() == "retired") {
      return answer(res, 200,
                    Json{{"accepted", true},
                         {"alreadyRetired", true},
                         {"id", id},
                         {"revision", revision},
                         {"firstSeq", 0},
                         {"lastSeq", 0},
                         {"ignored", 0},
                         {"count", 0},
                         {"applied", true}});
    }
    capnp::MallocMessageBuilder message;
    message.setRoot((*current)->signedItem.item.reader());
    auto builder = message.getRoot<schema::Item>().getRecord();
    builder.setRevision(revision + 1);
    builder.setStatus("retired");
    Submission s;
    s.envelopes.push_back(trust::sign(OwnedItem::fromBuilder(message), config.id, keys).encode());
    s.origins.push_back(Origin{"", 0, id});
    auto [status, body] = submit(std::move(s), "retire id=" + id);
    if (status == 200) {
      body["id"] = id;
      body["revision"] = revision + 1;
    }
    answer(res, status, body);
  }

  void status(const httplib::Request&, httplib::Response& res) {
    SiteStatus s = service.status();
    auto counts = dir.counts();
    if (!counts) {
      spdlog::error("api status: {}", counts.error().message);
      return answer(res, 500, Json{{"error", counts.error().message}});
    }
    Json out;
    out["site"] = s.site;
    out["network"] = s.network;
    out["broker"] = s.broker;  // the one it follows now
    if (s.brokers.size() > 1) out["brokers"] = s.brokers;
    out["connected"] = s.connected;
    out["state"] = s.state;
    out["brokerEpoch"] = hex64(s.brokerEpoch);
    out["brokerHead"] = s.brokerHead;
    out["cursorEpoch"] = hex64(s.cursorEpoch);
    out["cursorSeq"] = s.cursorSeq;
    if (s.brokerEpoch != 0 && s.brokerEpoch == s.cursorEpoch && s.brokerHead >= s.cursorSeq) {
      out["lag"] = s.brokerHead - s.cursorSeq;
    } else {
      out["lag"] = nullptr;  // unknown: no broker heard yet, or a new epoch to catch up with
    }
    if (s.lastHeardMsAgo >= 0) {
      out["lastHeardMsAgo"] = s.lastHeardMsAgo;
    } else {
      out["lastHeardMsAgo"] = nullptr;  // never
    }
    out["applied"] = s.applied;
    out["certificate"] = s.certificate.empty() ? Json() : Json(s.certificate);
    out["refused"] = Json::object();
    for (const auto& [reason, n] : s.refused) out["refused"][reason] = n;
    out["counts"] = {{"contacts", counts->contacts}, {"instruments", counts->instruments},
                     {"notices", counts->notices},   {"retired", counts->retired},
                     {"members", counts->members},   {"revoked", counts->revoked}};
    out["api"] = {{"refusedRequests", refused.load(std::memory_order_relaxed)}};
    out["alerts"] = {{"received", s.alertsReceived},
                     {"duplicates", s.alertDuplicates},
                     {"answersQueued", s.answersQueued},
                     {"answersReceived", s.answersReceived},
                     {"refused", Json::object()}};
    for (const auto& [reason, n] : s.alertsRefused) out["alerts"]["refused"][reason] = n;
    if (auto ext = service.extensionStatus(); !ext.empty()) out["extension"] = Json::parse(ext, nullptr, false);
    answer(res, 200, out);
  }

  // Prometheus' text format: what `status` says, as numbers, with the daemon's timings.
  void metrics(const httplib::Request&, httplib::Response& res) {
    SiteStatus s = service.status();
    auto counts = dir.counts();
    if (!counts) {
      spdlog::error("api metrics: {}", counts.error().message);
      return answer(res, 500, Json{{"error", counts.error().message}});
    }
    MetricsText m;
    m.gauge("liaison_site_info", "The site and its network (always 1).", 1,
            {{"site", s.site}, {"network", s.network}});
    m.gauge("liaison_site_connected", "1 when the broker was heard within the last heartbeats.", s.connected ? 1 : 0);
    for (const char* state : {"following", "fetching", "snapshot", "connecting"}) {
      m.gauge("liaison_site_state", "The replica's state (1 for the current one).", s.state == state ? 1 : 0,
              {{"state", state}});
    }
    m.gauge("liaison_site_broker_head", "The broker's last seq as last heard.", static_cast<double>(s.brokerHead));
    if (s.brokers.size() > 1) {  // a broker pair
      for (const auto& b : s.brokers) {
        m.gauge("liaison_site_broker_followed", "1 for the broker of the pair the site follows now.",
                b == s.broker ? 1 : 0, {{"broker", b}});
      }
      m.counter("liaison_site_broker_switches_total", "Moves from one broker of the pair to the other.",
                static_cast<double>(s.brokerSwitches));
    }
    m.gauge("liaison_site_cursor", "The last seq applied here.", static_cast<double>(s.cursorSeq));
    if (s.brokerEpoch != 0 && s.brokerEpoch == s.cursorEpoch && s.brokerHead >= s.cursorSeq) {
      m.gauge("liaison_site_lag", "Entries the broker holds that this replica has not applied yet.",
              static_cast<double>(s.brokerHead - s.cursorSeq));
    }
    m.gauge("liaison_site_catch_up_applied", "Entries applied since the current catch-up began (0: following).",
            static_cast<double>(s.catchUpApplied));
    if (s.lastHeardMsAgo >= 0) {
      m.gauge("liaison_site_last_heard_seconds", "Seconds since the broker was last heard.",
              static_cast<double>(s.lastHeardMsAgo) / 1000);
    }
    m.counter("liaison_site_items_applied_total", "Log entries applied since the daemon started.",
              static_cast<double>(s.applied));
    for (const auto& [reason, n] : s.refused) {
      m.counter("liaison_site_items_refused_total", "Log entries this replica refused, by reason.",
                static_cast<double>(n), {{"reason", reason}});
    }
    const std::pair<const char*, uint64_t> records[] = {
        {"contact", counts->contacts}, {"instrument", counts->instruments}, {"notice", counts->notices},
        {"retired", counts->retired},  {"member", counts->members},         {"revoked", counts->revoked}};
    for (const auto& [kind, n] : records) {
      m.gauge("liaison_site_records", "Records and certificates held, by kind.", static_cast<double>(n),
              {{"kind", kind}});
    }
    std::map<std::pair<std::string, std::string>, uint64_t> byState;
    auto read = service.inbox().visit(
        [&](const StoredAlert& a) {
          ++byState[{a.outbound ? "out" : "in", a.state}];
        },
        Inbox::Read::kState);
    if (read) {
      for (const auto& [key, n] : byState) {
        m.gauge("liaison_site_alerts", "Alerts held, by direction and state.", static_cast<double>(n),
                {{"direction", key.first}, {"state", key.second}});
      }
    }
    m.counter("liaison_site_alerts_received_total", "New alerts stored since start.",
              static_cast<double>(s.alertsReceived));
    m.counter("liaison_site_alert_duplicates_total", "Deliveries of an alert already held (receipt sent again).",
              static_cast<double>(s.alertDuplicates));
    m.counter("liaison_site_answers_received_total", "Answers to this site's alerts stored since start.",
              static_cast<double>(s.answersReceived));
    for (const auto& [reason, n] : s.alertsRefused) {
      m.counter("liaison_site_alert_deliveries_refused_total", "Alert deliveries refused, by reason.",
                static_cast<double>(n), {{"reason", reason}});
    }
    m.gauge("liaison_site_answers_queued", "This site's answers the broker has not taken yet.",
            static_cast<double>(s.answersQueued));
    m.counter("liaison_site_api_requests_refused_total", "API requests refused (bad input, no token, ...).",
              static_cast<double>(refused.load(std::memory_order_relaxed)));
    service.addMetrics(m);
    res.status = 200;
    res.set_content(m.text(), std::string(MetricsText::kContentType));
  }

  void deskLink(const httplib::Request& req, httplib::Response& res) {
    if (!authorize(req, res)) return;
    if (pages == nullptr) return answer(res, 404, Json{{"error", "this site daemon serves no desk"}});
    auto code = pages->signInCode();
    if (!code) return answer(res, 500, Json{{"error", code.error().message}});
    spdlog::info("api desk: a sign-in link was made");  // never the code
    answer(res, 200, Json{{"link", "http://" + endpoint + "/signin?code=" + *code},
                          {"expiresInSeconds", pages->signInCodeLifetime().count()}});
  }

  // ---- alerts (site/alert_ops.h) -----------------------------------------------------------

  void sendAlert(const httplib::Request& req, httplib::Response& res) {
    if (!authorize(req, res)) return;
    auto body = Json::parse(req.body, nullptr, false);
    if (body.is_discarded()) return refuse(res, 400, "the alert is not JSON");
    auto r = site::sendAlert(service, config, keys, body);
    if (r.status == 400 || r.status == 413) refused.fetch_add(1, std::memory_order_relaxed);
    answer(res, r.status, r.body);
  }

  void listAlerts(const httplib::Request& req, httplib::Response& res) {
    if (!authorize(req, res)) return;
    bool onlyOpen = req.get_param_value("open") == "1" || req.get_param_value("open") == "true";
    // Paging: ?limit=N (1 to kMaxAlertPage) and ?before=ID, the "next" of the page before.
    const bool paged = req.has_param("limit") || req.has_param("before");
    size_t limit = kMaxAlertPage;
    if (req.has_param("limit")) {
      auto n = number(req.get_param_value("limit"));
      if (!n || *n < 1 || *n > kMaxAlertPage) {
        return refuse(res, 400, "limit: a number from 1 to " + std::to_string(kMaxAlertPage));
      }
      limit = *n;
    }
    const std::string before = req.get_param_value("before");
    if (req.has_param("before") && !vocab::isRecordId(before))
      return refuse(res, 400, "before: an alert id");
    auto listed = service.alertList().get(service.inbox(), std::time(nullptr));
    if (!listed->error.empty()) return answer(res, 500, Json{{"error", listed->error}});
    if (!paged) {
      res.status = 200;
      return res.set_content(listed->json(onlyOpen) + "\n", "application/json");
    }
    auto page = listed->page(onlyOpen, before, limit);
    if (!page) return refuse(res, 400, "before: no alert " + before + " at this site");
    res.status = 200;
    res.set_content(*page + "\n", "application/json");
  }

  void showAlert(const httplib::Request& req, httplib::Response& res) {
    if (!authorize(req, res)) return;
    std::string id = req.matches[1];
    if (req.get_param_value("format") == "cap") return showCap(id, res);
    auto r = site::showAlert(service, id, 3000, std::time(nullptr));
    answer(res, r.status, r.body);
  }

  // CAP 1.2: the alert, then one Ack message per person's answer.
  void showCap(const std::string& id, httplib::Response& res) {
    auto stored = service.inbox().get(id);
    if (!stored) return answer(res, 500, Json{{"error", stored.error().message}});
    if (!*stored) return answer(res, 404, Json{{"error", "no alert " + id + " at this site"}});
    auto item = SignedItem::decodeStored((*stored)->envelope);
    if (!item || item->item.reader().which() != schema::Item::ALERT) {
      return answer(res, 500, Json{{"error", "alert " + id + " is damaged in the inbox"}});
    }
    auto alert = item->item.reader().getAlert();
    auto answers = service.inbox().answers(id);
    if (!answers) return answer(res, 500, Json{{"error", answers.error().message}});
    std::string cap = json::alertToCap(alert);
    for (const auto& env : *answers) {
      auto ack = SignedItem::decodeStored(env);
      if (!ack || ack->item.reader().which() != schema::Item::ACK) continue;
      if (str(ack->item.reader().getAck().getKind()) == json::kReceipt) continue;
      cap += json::ackToCap(ack->item.reader().getAck(), alert);
    }
    answer(res, 200, Json{{"cap", cap}});
  }

  // MLA requests (site/requests.h): errors map to 400 (bad input), 404, 409 (not now).
  void answerRequest(httplib::Response& res, const Result<Json>& r) {
    if (r) return answer(res, 200, *r);
    const int status = r.error().code == Errc::kInvalidInput ? 400
                       : r.error().code == Errc::kNotFound   ? 404
                       : r.error().code == Errc::kConflict   ? 409
                                                             : 500;
    refuse(res, status, r.error().message);
  }
  RequestDesk* requestDesk(httplib::Response& res) {
    RequestDesk* desk = service.requests();
    if (desk == nullptr) refuse(res, 404, "this site keeps no MLA requests");
    return desk;
  }
  static Result<uint32_t> number(const std::string& text) {
    uint32_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size()) return makeError(Errc::kInvalidInput, "not a number: " + text);
    return n;
  }
  // The file and chunk numbers of a chunk's path (…/files/F/chunks/I); nullopt, answered 400,
  // when either is not a number.
  std::optional<std::pair<uint32_t, uint32_t>> chunkAt(const httplib::Request& req, httplib::Response& res) {
    auto file = number(req.matches[2]);
    auto index = number(req.matches[3]);
    if (!file || !index) {
      refuse(res, 400, "file and chunk are numbers");
      return std::nullopt;
    }
    return std::pair{*file, *index};
  }

  void createRequest(const httplib::Request& req, httplib::Response& res) {
    if (!authorize(req, res)) return;
    auto* desk = requestDesk(res);
    if (desk == nullptr) return;
    auto body = Json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return refuse(res, 400, "the request is not a JSON object");
    auto r = desk->create(body);
    if (r) return answer(res, 201, *r);
    answerRequest(res, r);
  }

  void uploadChunk(const httplib::Request& req, httplib::Response& res) {
    if (!authorize(req, res)) return;
    auto* desk = requestDesk(res);
    if (desk == nullptr) return;
    auto at = chunkAt(req, res);
    if (!at) return;
    answerRequest(res, desk->upload(req.matches[1], at->first, at->second, req.body));
  }

  void listRequests(const httplib::Request& req, httplib::Response& res) {
    if (!authorize(req, res)) return;
    auto* desk = requestDesk(res);
    if (desk == nullptr) return;
    const std::string direction = req.get_param_value("direction");
    if (!direction.empty() && direction != "incoming" && direction != "outgoing") {
      return refuse(res, 400, "direction: incoming or outgoing");
    }
    const bool onlyOpen = req.get_param_value("open") == "1" || req.get_param_value("open") == "true";
    answerRequest(res, desk->list(direction, onlyOpen));
  }

  void showRequest(const httplib::Request& req, httplib::Response& res) {
    if (!authorize(req, res)) return;
    auto* desk = requestDesk(res);
    if (desk == nullptr) return;
    answerRequest(res, desk->show(req.matches[1]));
  }

  void openRequest(const httplib::Request& req, httplib::Response& res) {
    if (!authorize(req, res)) return;
    auto* desk = requestDesk(res);
    if (desk == nullptr) return;
    auto body = Json::parse(req.body.empty() ? std::string("{}") : req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return refuse(res, 400, "the body is not a JSON object");
    const std::string by = body.value("by", Json("")).is_string() ? body.value("by", "") : "";
    answerRequest(res, desk->openFiles(req.matches[1], by));
  }

  void requestChunk(const httplib::Request& req, httplib::Response& res) {
    if (!authorize(req, res)) return;
    auto* desk = requestDesk(res);
    if (desk == nullptr) return;
    auto at = chunkAt(req, res);
    if (!at) return;
    auto plain = desk->plainChunk(req.matches[1], at->first, at->second);
    if (!plain) return answerRequest(res, plain.error());
    res.status = 200;
    res.set_header("Cache-Control", "no-store");
    res.set_content(std::move(plain).value(), "application/octet-stream");
  }

  void requestStatus(const httplib::Request& req, httplib::Response& res) {
    if (!authorize(req, res)) return;
    auto* desk = requestDesk(res);
    if (desk == nullptr) return;
    auto body = Json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return refuse(res, 400, "the status is not a JSON object");
    auto text = [&](const char* key) { return body.value(key, Json("")).is_string() ? body.value(key, "") : ""; };
    answerRequest(res, desk->setStatus(req.matches[1], text("set"), text("by"), text("reference"), text("comment"),
                                       body.value("files", Json::array())));
  }

  void answerAlert(const httplib::Request& req, httplib::Response& res) {
    if (!authorize(req, res)) return;
    std::string id = req.matches[1];
    auto body = Json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return refuse(res, 400, "the answer is not a JSON object");
    for (const auto& [key, v] : body.items()) {
      if (key != "by" && key != "comment" && key != "decline") return refuse(res, 400, key + ": unknown key");
    }
    if (!body.value("by", Json()).is_string()) return refuse(res, 400, "by: names nobody (a person's name)");
    std::string by = body["by"].get<std::string>();
    std::string comment = body.value("comment", Json("")).is_string() ? body.value("comment", "") : "";
    bool decline = body.value("decline", Json(false)).is_boolean() && body.value("decline", false);
    auto r = site::answerAlert(service, id, by, comment, decline);
    if (r.body.contains("error")) refused.fetch_add(1, std::memory_order_relaxed);
    answer(res, r.status, r.body);
  }

  // Runs a handler; an exception (a bug, or a KJ exception from a malformed stored item)
  // becomes a 500 and a log line, never a crash of the daemon.
  void guard(const char* name, httplib::Response& res, const std::function<void()>& handler) {
    try {
      handler();
    } catch (const std::exception& e) {
      spdlog::error("api {}: {}", name, e.what());
      answer(res, 500, Json{{"error", "internal error (logged by the site daemon)"}});
    } catch (const kj::Exception& e) {
      spdlog::error("api {}: {}", name, e.getDescription().cStr());
      answer(res, 500, Json{{"error", "internal error (logged by the site daemon)"}});
    }
  }
  template <typename Fn>
  httplib::Server::Handler guarded(const char* name, Fn fn) {
    return [this, name, fn](const httplib::Request& req, httplib::Response& res) {
      guard(name, res, [&] { (this->*fn)(req, res); });
    };
  }
  // The same for a handler that reads the request's body itself.
  template <typename Fn>
  httplib::Server::HandlerWithContentReader guardedReading(const char* name, Fn fn) {
    return [this, name, fn](const httplib::Request& req, httplib::Response& res,
                            const httplib::ContentReader& content) {
      guard(name, res, [&] { (this->*fn)(req, res, content); });
    };
  }

  void configure() {
    server.new_task_queue = [] { return new httplib::ThreadPool(kWorkers); };
    // httplib's default also sets SO_REUSEPORT, which lets a second daemon bind the same port
    // silently; SO_REUSEADDR alone still allows a quick restart.
    server.set_socket_options([](socket_t sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    // Answers are written in parts (headers, body): without this, Nagle's algorithm and the
    // client's delayed ACK hold every answer on a kept-alive connection for ~40 ms.
    server.set_tcp_nodelay(true);
    server.set_payload_max_length(kMaxBodyBytes);
    server.set_read_timeout(kIoTimeout);
    server.set_write_timeout(kIoTimeout);
    server.set_keep_alive_timeout(2);  // stop() waits for idle keep-alive connections

    server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (req.has_header("Host") && !loopbackHost(req.get_header_value("Host"))) {
        spdlog::warn("api {} {}: refused, Host is not a loopback name", req.method, req.path);
        refuse(res, 403,
               "this API answers requests addressed to 127.0.0.1, localhost or [::1] only");
        return httplib::Server::HandlerResponse::Handled;
      }
      std::string allow;
      if (req.path == "/v1/publish" || req.path.starts_with("/v1/retire/")) allow = "POST";
      if (req.path == "/v1/status" || req.path == "/metrics") allow = "GET";
      if (req.path == "/v1/desk/link") allow = "POST";
      if (req.path == "/v1/alerts") allow = req.method == "GET" || req.method == "HEAD" ? "GET" : "POST";
      if (req.path.starts_with("/v1/alerts/")) allow = req.path.ends_with("/answer") ? "POST" : "GET";
      if (!allow.empty() && req.method != allow && !(allow == "GET" && req.method == "HEAD")) {
        res.set_header("Allow", allow == "GET" ? "GET, HEAD" : allow);
        refuse(res, 405, req.path + " takes " + allow + ", not " + req.method);
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    server.Post("/v1/publish", guardedReading("publish", &Impl::publish));
    server.Post(R"(/v1/retire/(.+))", guarded("retire", &Impl::retire));
    server.Get("/v1/status", guarded("status", &Impl::status));
    server.Get("/metrics", guarded("metrics", &Impl::metrics));
    server.Post("/v1/desk/link", guarded("desk link", &Impl::deskLink));
    server.Post("/v1/alerts", guarded("alert send", &Impl::sendAlert));
    server.Get("/v1/alerts", guarded("alert list", &Impl::listAlerts));
    server.Get(R"(/v1/alerts/([A-Za-z0-9._-]{1,128}))", guarded("alert show", &Impl::showAlert));
    server.Post(R"(/v1/alerts/([A-Za-z0-9._-]{1,128})/answer)", guarded("alert answer", &Impl::answerAlert));
    server.Post("/v1/requests", guarded("request send", &Impl::createRequest));
    server.Get("/v1/requests", guarded("request list", &Impl::listRequests));
    server.Get(R"(/v1/requests/([A-Za-z0-9-]{1,64}))", guarded("request show", &Impl::showRequest));
    server.Put(R"(/v1/requests/([A-Za-z0-9-]{1,64})/files/([0-9]{1,6})/chunks/([0-9]{1,6}))",
               guarded("request upload", &Impl::uploadChunk));
    server.Get(R"(/v1/requests/([A-Za-z0-9-]{1,64})/files/([0-9]{1,6})/chunks/([0-9]{1,6}))",
               guarded("request file", &Impl::requestChunk));
    server.Post(R"(/v1/requests/([A-Za-z0-9-]{1,64})/open)", guarded("request open", &Impl::openRequest));
    server.Post(R"(/v1/requests/([A-Za-z0-9-]{1,64})/status)", guarded("request status", &Impl::requestStatus));

    // Errors httplib answers itself (no route, a body over the limit, a malformed request) get a
    // JSON body too; answers our handlers made already have one.
    httplib::Server::HandlerWithResponse onError = [this](const httplib::Request& req,
                                                          httplib::Response& res) {
      if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
      if (pages != nullptr && !req.path.starts_with("/v1/") && req.path != "/v1") {
        refused.fetch_add(1, std::memory_order_relaxed);
        pages->errorPage(req, res);
        return httplib::Server::HandlerResponse::Handled;
      }
      std::string message;
      switch (res.status) {
        case 404:
          message = "no such endpoint (try /v1/status)";
          break;
        case 413:
          message = "request body larger than " + std::to_string(kMaxBodyBytes >> 20) + " MiB";
          break;
        default:
          message = "malformed request (HTTP " + std::to_string(res.status) + ")";
          break;
      }
      refuse(res, res.status, message);
      return httplib::Server::HandlerResponse::Handled;
    };
    server.set_error_handler(onError);
    server.set_exception_handler(
        [](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
          spdlog::error("api {} {}: unexpected exception", req.method, req.path);
          answer(res, 500, Json{{"error", "internal error (logged by the site daemon)"}});
        });
  }
};

ApiServer::ApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ApiServer::~ApiServer() { stop(); }

Result<std::unique_ptr<ApiServer>> ApiServer::start(const directory::SiteConfig& config,
                                                    SiteService& service,
                                                    const trust::KeyPair& keys,
                                                    const directory::Directory& dir,
                                                    std::string token, WebPages* pages) {
  auto listen = parseListen(config.api);
  if (!listen) return listen.error();
  if (!validToken(token)) {
    return makeError(Errc::kInvalidInput, "the API token must be at least " +
                                              std::to_string(kMinTokenChars) +
                                              " printable characters without spaces");
  }
  auto impl = std::make_unique<Impl>(config, service, keys, dir, std::move(token), pages);
  impl->configure();
  int port = listen->port;
  errno = 0;
  if (port == 0) {
    port = impl->server.bind_to_any_port(listen->bindHost);
  } else if (!impl->server.bind_to_port(listen->bindHost, port)) {
    port = -1;
  }
  if (port <= 0) {
    int err = errno;
    return makeError(Errc::kUnavailable,
                     "api: cannot listen on " + config.api +
                         (err != 0 ? std::string(": ") + std::strerror(err) : std::string()));
  }
  impl->endpoint = listen->shownHost + ":" + std::to_string(port);
  impl->endpointPath = config.dir + "/api.endpoint";
  impl->endpointText = impl->endpoint + "\n";
  if (pages != nullptr) pages->mount(impl->server, impl->endpoint);
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] {
    raw->server.listen_after_bind();
    raw->finished = true;
  });
  // Server::stop() does nothing until the accept loop runs, so wait for it before anyone can
  // call stop().
  while (!raw->server.is_running() && !raw->finished) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  auto server = std::unique_ptr<ApiServer>(new ApiServer(std::move(impl)));
  auto written = writeFileAtomic(raw->endpointPath, raw->endpointText, 0644);
  if (!written) return written.error();  // ~ApiServer stops serving
  spdlog::info("api listening on {} ({} workers)", raw->endpoint, kWorkers);
  return server;
}

void ApiServer::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  // Remove the endpoint only if it is still ours (not rewritten by a daemon started since).
  auto text = readFile(impl_->endpointPath, 4096);
  if (text && *text == impl_->endpointText) ::unlink(impl_->endpointPath.c_str());
  spdlog::info("api stopped on {}", impl_->endpoint);
}

const std::string& ApiServer::endpoint() const { return impl_->endpoint; }

uint64_t ApiServer::refusedRequests() const {
  return impl_->refused.load(std::memory_order_relaxed);
}

Result<std::string> loadOrCreateApiToken(const std::string& siteDir) {
  const std::string path = siteDir + "/api.token";
  if (!fileExists(path)) {
    auto made = randomHexToken(32);  // as `liaison init` makes it
    if (!made) return made.error();
    std::string token = *made;
    LIAISON_TRY(writeFileAtomic(path, token + "\n", 0600));
    spdlog::info("api: made a new API token in {}", path);  // where, never what
    return token;
  }
  auto text = readFile(path, 4096);
  if (!text) return text.error();
  std::string token = trimmed(*text);
  if (!validToken(token)) {
    return makeError(Errc::kInvalidInput, path + ": not an API token (at least " +
                                              std::to_string(kMinTokenChars) +
                                              " printable characters without spaces)");
  }
  return token;
}

}  // namespace liaison::site
