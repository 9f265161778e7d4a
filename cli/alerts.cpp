// `liaison alert send|list|show|ack|decline|update|cancel`: through the site daemon's local API
// (site/api.h), since alerts travel on the bus and the inbox is the daemon's.
#include <iostream>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "common/clock.h"
#include "common/encoding.h"
#include "common/files.h"
#include "schemas/vocab.h"

namespace liaison::cli {

namespace {

using json::Json;

std::string timeOrDash(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return "-";
  if (it->is_number_integer()) return formatTimestamp(it->get<int64_t>());
  if (it->is_string()) return it->get<std::string>();
  return "-";
}

// "country:TH,role:interpol-ncb" (repeatable) → {"countries": ["TH"], "roles": [...]}.
Result<Json> targetsFrom(const std::vector<std::string>& specs, const char* option) {
  static const std::map<std::string, std::string> kKinds = {
      {"country", "countries"}, {"network", "networks"},   {"role", "roles"},
      {"focal-point", "focalPoints"}, {"site", "sites"}};
  Json out = Json::object();
  for (const auto& spec : specs) {
    for (const auto& one : splitList(spec)) {
      auto colon = one.find(':');
      auto kind = colon == std::string::npos ? kKinds.end() : kKinds.find(one.substr(0, colon));
      if (kind == kKinds.end()) {
        return makeError(Errc::kInvalidInput,
                         std::string(option) + ": \"" + one +
                             "\" is not KIND:VALUE with KIND country, network, role, focal-point or site");
      }
      out[kind->second].push_back(one.substr(colon + 1));
    }
  }
  return out;
}

Result<Json> alertJson(const AlertFlags& f, const Clock& clock) {
  Json a = Json::object();
  if (!f.file.empty()) {
    auto text = readFile(f.file, size_t{1} << 20);
    if (!text) return text.error();
    a = Json::parse(*text, nullptr, false);
    if (a.is_discarded() || !a.is_object()) {
      return makeError(Errc::kInvalidInput, f.file + ": not a JSON object (one alert in JSON form)");
    }
  }
  auto set = [&](const char* key, const std::string& v) {
    if (!v.empty()) a[key] = v;
  };
  set("headline", f.headline);
  set("description", f.description);
  set("instruction", f.instruction);
  set("event", f.event);
  set("category", f.category);
  set("incident", f.incident);
  set("urgency", f.urgency);
  set("severity", f.severity);
  set("certainty", f.certainty);
  set("status", f.status);
  set("language", f.language);
  set("senderPerson", f.senderPerson);
  set("ackDeadline", f.ackDeadline);
  if (!f.expires.empty()) {
    // A time, or a duration from now (PT6H).
    if (parseTimestamp(f.expires)) {
      a["expires"] = f.expires;
    } else if (auto d = vocab::parseDuration(f.expires); d && *d > 0) {
      a["expires"] = formatTimestamp(clock.nowSeconds() + *d);
    } else {
      return makeError(Errc::kInvalidInput, "--expires: \"" + f.expires +
                                                "\" is neither an ISO 8601 time nor a duration (PT6H)");
    }
  }
  if (!f.targets.empty()) {
    auto t = targetsFrom(f.targets, "--target");
    if (!t) return t.error();
    a["targets"] = *t;
  }
  if (!f.escalateTo.empty()) {
    auto t = targetsFrom(f.escalateTo, "--escalate-to");
    if (!t) return t.error();
    a["escalateTo"] = *t;
  }
  if (f.ackRequired || !f.ackDeadline.empty()) a["ackRequired"] = true;
  if (f.forwardToInterpol) a["forwardToInterpol"] = true;
  return a;
}

Result<ApiClient> daemonOf(const Context& ctx) {
  auto config = siteConfig(ctx);
  if (!config) return config.error();
  if (!config->networked()) {
    return makeError(Errc::kInvalidInput,
                     config->dir + " is a standalone site: alerts travel on a network's bus "
                                   "(make the site with --broker)");
  }
  return ApiClient::find(*config);
}

std::string targetLines(const Json& custody) {
  std::vector<std::vector<std::string>> rows;
  const Json targets = custody.value("targets", Json::object());
  for (const auto& [site, t] : targets.items()) {
    std::string who = t.value("by", "");
    if (t.contains("comment")) who += (who.empty() ? "" : ": ") + t.value("comment", "");
    if (t.contains("reference")) who += (who.empty() ? "" : " ") + std::string("ref ") + t.value("reference", "");
    std::string where = t.value("network", "");
    if (t.value("hop", false)) where = "bridge to " + where;
    rows.push_back({site + (t.value("escalation", false) ? " (escalation)" : ""), where.empty() ? "-" : where,
                    t.value("state", ""), timeOrDash(t, "deliveredAt"), timeOrDash(t, "answeredAt"), who});
  }
  return renderTable({"SITE", "NETWORK", "STATE", "DELIVERED", "ANSWERED", "BY"}, rows, 60);
}

int sendJson(const Context& ctx, const Json& alert) {
  auto api = daemonOf(ctx);
  if (!api) return failWith(api.error());
  auto answer = api->call("POST", "/v1/alerts", alert.dump());
  if (!answer) return failWith(answer.error());
  auto& [status, body] = *answer;
  if (status == 200) {
    if (ctx.format == "json") {
      std::cout << body.dump(2) << "\n";
      return kExitOk;
    }
    const Json custody = body.value("custody", Json::object());
    std::cout << body.value("msgType", "alert") << " " << body.value("id", "") << " accepted by the broker for "
              << custody.value("targets", Json::object()).size() << " site(s):\n"
              << targetLines(custody);
    return kExitOk;
  }
  if (status == 422) {
    std::cerr << "liaison: alert " << body.value("id", "") << " refused by the broker ("
              << body.value("refusal", "") << "): " << body.value("detail", "") << "\n";
    return kExitUsage;
  }
  std::string message = body.value("error", "HTTP " + std::to_string(status));
  return failWith(makeError(status == 404 ? Errc::kNotFound : Errc::kInvalidInput, message));
}

}  // namespace

int cmdAlertSend(const Context& ctx, const AlertFlags& flags) {
  auto alert = alertJson(flags, *ctx.clock);
  if (!alert) return failWith(alert.error());
  return sendJson(ctx, *alert);
}

int cmdAlertReplace(const Context& ctx, const std::string& msgType, const std::string& id,
                    const AlertFlags& flags) {
  auto alert = alertJson(flags, *ctx.clock);
  if (!alert) return failWith(alert.error());
  (*alert)["msgType"] = msgType;
  (*alert)["references"] = Json::array({id});
  if (!alert->contains("headline")) {
    (*alert)["headline"] = (msgType == "cancel" ? "Cancelled: alert " : "Update of alert ") + id;
  }
  return sendJson(ctx, *alert);
}

int cmdAlertList(const Context& ctx, bool onlyOpen, int limit, const std::string& before) {
  if (!before.empty() && limit == 0)
    return failWith(makeError(Errc::kInvalidInput, "--before goes with --limit"));
  if (!before.empty() && !vocab::isRecordId(before)) {
    return failWith(makeError(Errc::kInvalidInput, "--before: not an alert id: " + before));
  }
  auto api = daemonOf(ctx);
  if (!api) return failWith(api.error());
  std::string path = "/v1/alerts";
  std::string sep = "?";
  auto param = [&](const std::string& kv) {
    path += sep + kv;
    sep = "&";
  };
  if (onlyOpen) param("open=1");
  if (limit > 0) param("limit=" + std::to_string(limit));
  if (!before.empty()) param("before=" + before);
  auto answer = api->call("GET", path);
  if (!answer) return failWith(answer.error());
  auto& [status, body] = *answer;
  if (status != 200) return failWith(makeError(Errc::kIo, body.value("error", "HTTP " + std::to_string(status))));
  const Json alerts = body.value("alerts", Json::array());
  // A page with more after it says how to ask for the next (on stderr: stdout stays the list).
  const std::string next = body.value("next", "");
  auto sayNext = [&] {
    if (next.empty()) return;
    std::cerr << "liaison: more follow: liaison alert list" << (onlyOpen ? " --open" : "")
              << " --limit " << limit << " --before " << next << "\n";
  };
  if (ctx.format == "json") {
    std::cout << alerts.dump(2) << "\n";
    sayNext();
    return alerts.empty() ? kExitNoMatch : kExitOk;
  }
  if (alerts.empty()) {
    std::cerr << "liaison: no " << (onlyOpen ? "open " : "") << "alerts at this site\n";
    return kExitNoMatch;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& a : alerts) {
    std::string dir = a.value("direction", "") == "out" ? "sent" : "received";
    std::string type = a.value("msgType", "alert");
    rows.push_back({a.value("id", ""), dir + (type == "alert" ? "" : " " + type), a.value("sent", ""),
                    a.value("sender", ""), a.value("urgency", ""), a.value("state", ""),
                    a.value("headline", "")});
  }
  std::cout << renderTable({"ID", "", "SENT", "FROM", "URGENCY", "STATE", "HEADLINE"}, rows, 48);
  sayNext();
  return kExitOk;
}

int cmdAlertShow(const Context& ctx, const std::string& id) {
  auto api = daemonOf(ctx);
  if (!api) return failWith(api.error());
  if (!vocab::isRecordId(id)) return failWith(makeError(Errc::kNotFound, "no alert " + id));
  std::string path = "/v1/alerts/" + id + (ctx.format == "cap" ? "?format=cap" : "");
  auto answer = api->call("GET", path);
  if (!answer) return failWith(answer.error());
  auto& [status, body] = *answer;
  if (status == 404) return failWith(makeError(Errc::kNotFound, body.value("error", "no alert " + id)));
  if (status != 200) return failWith(makeError(Errc::kIo, body.value("error", "HTTP " + std::to_string(status))));
  if (ctx.format == "cap") {
    std::cout << body.value("cap", "");
    return kExitOk;
  }
  if (ctx.format == "json") {
    std::cout << body.dump(2) << "\n";
    return kExitOk;
  }
  const Json a = body.value("alert", Json::object());
  auto line = [](const char* label, const std::string& v) {
    if (!v.empty()) std::cout << label << v << "\n";
  };
  line("alert:        ", a.value("id", ""));
  line("type:         ", a.value("msgType", "alert") + " (" + a.value("status", "actual") + ")");
  std::string from = a.value("senderSite", "");
  if (a.contains("senderPerson")) from += " (" + a.value("senderPerson", "") + ")";
  line("from:         ", from + ", sent " + a.value("sent", ""));
  line("headline:     ", a.value("headline", ""));
  line("event:        ", a.value("event", ""));
  line("category:     ", a.value("category", ""));
  line("incident:     ", a.value("incident", ""));
  line("urgency:      ", a.value("urgency", "") + ", severity " + a.value("severity", "") + ", certainty " +
                             a.value("certainty", ""));
  line("language:     ", a.value("language", ""));
  line("expires:      ", a.value("expires", ""));
  if (a.value("ackRequired", false)) {
    line("ack:          ", "required" + (a.contains("ackDeadline") ? " within " + a.value("ackDeadline", "") : ""));
  }
  if (a.contains("references")) {
    std::string refs;
    for (const auto& r : a["references"]) refs += (refs.empty() ? "" : ", ") + r.get<std::string>();
    line("replaces:     ", refs);
  }
  line("description:  ", a.value("description", ""));
  line("instruction:  ", a.value("instruction", ""));
  line("state here:   ", body.value("state", "") + (body.value("direction", "") == "out" ? " (sent by this site)"
                                                                                       : ", received " +
                                                                                             body.value("receivedAt", "")));
  line("replaced by:  ", body.value("replacedBy", ""));
  const Json custody = body.value("custody", Json());
  if (custody.is_object()) {
    std::cout << "targets (" << (body.value("live", false) ? "now, from the broker" : "as last reported; broker not reachable")
              << (custody.value("escalated", false) ? "; escalated" : "") << "):\n"
              << targetLines(custody);
  }
  const Json answers = body.value("answers", Json::array());
  if (!answers.empty()) {
    std::cout << "answers held here:\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& x : answers) {
      rows.push_back({x.value("site", ""), x.value("kind", ""), x.value("at", ""), x.value("by", ""),
                      x.value("comment", "")});
    }
    std::cout << renderTable({"SITE", "ANSWER", "AT", "BY", "COMMENT"}, rows, 60);
  }
  return kExitOk;
}

int cmdAlertAnswer(const Context& ctx, const std::string& id, const std::string& by,
                   const std::string& comment, bool decline) {
  auto api = daemonOf(ctx);
  if (!api) return failWith(api.error());
  if (!vocab::isRecordId(id)) return failWith(makeError(Errc::kNotFound, "no alert " + id));
  Json body{{"by", by}};
  if (!comment.empty()) body["comment"] = comment;
  if (decline) body["decline"] = true;
  auto answer = api->call("POST", "/v1/alerts/" + id + "/answer", body.dump());
  if (!answer) return failWith(answer.error());
  auto& [status, reply] = *answer;
  const char* what = decline ? "declined" : "acknowledged";
  if (status == 200) {
    std::cout << "alert " << id << " " << what << " by " << by << "; the broker has it and the sender's site will see it\n";
    return kExitOk;
  }
  if (status == 202) {
    std::cout << "alert " << id << " " << what << " by " << by << "; " << reply.value("detail", "") << "\n";
    return kExitOk;
  }
  if (status == 422) {
    std::cerr << "liaison: the broker refused the answer: " << reply.value("detail", "") << "\n";
    return kExitUsage;
  }
  std::string message = reply.value("error", "HTTP " + std::to_string(status));
  return failWith(makeError(status == 404 ? Errc::kNotFound : Errc::kInvalidInput, message));
}

int cmdDesk(const Context& ctx) {
  auto config = siteConfig(ctx);
  if (!config) return failWith(config.error());
  auto api = ApiClient::find(*config);
  if (!api) return failWith(api.error());
  auto answer = api->call("POST", "/v1/desk/link");
  if (!answer) return failWith(answer.error());
  auto& [status, body] = *answer;
  if (status != 200) return failWith(makeError(Errc::kIo, body.value("error", "HTTP " + std::to_string(status))));
  if (ctx.format == "json") {
    std::cout << body.dump(2) << "\n";
    return kExitOk;
  }
  const int64_t minutes = body.value("expiresInSeconds", 300) / 60;
  std::cout << "Open this link in a browser on this machine to sign in to the desk (it works once, for "
            << minutes << " minutes):\n  " << body.value("link", "") << "\n";
  return kExitOk;
}

}  // namespace liaison::cli
