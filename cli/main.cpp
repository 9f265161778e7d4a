// liaison: the people-facing command of a Liaison site. See DESIGN.md, "The command line".
#include <CLI/CLI.hpp>
#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "common/encoding.h"
#include "schemas/vocab.h"

using liaison::cli::Context;

namespace {


struct FindFlags {
  std::string country, role, topic, competence, language, network, legalBasis, name;
  bool availableNow = false;
  int verifiedWithin = -1;
  int limit = 20;
  bool urgent = false;

  void attach(CLI::App* app, bool withCountryRole) {
    if (withCountryRole) {
      app->add_option("--country", country, "ISO 3166-1 alpha-2 country code");
      app->add_option("--role", role, "prosecutor, central-authority, investigator, ...");
      app->add_option("--network", network, "CASC, SEAJust, INTERPOL, ...");
      app->add_option("--legal-basis", legalBasis, "UNTOC, Minsk-1993, ASEAN-MLAT, bilateral:XX");
      app->add_option("--name", name, "a name in any script or spelling");
      app->add_flag("--available-now", availableNow, "only those reachable now");
      app->add_option("--verified-within", verifiedWithin, "verified within this many days");
    }
    app->add_option("--topic", topic, "crime area, e.g. trafficking-in-persons");
    app->add_option("--competence", competence, "mla, extradition, joint-investigation, ...");
    app->add_option("--language", language, "BCP 47 language they accept, e.g. ru");
    app->add_option("--limit", limit, "at most this many results")->check(CLI::Range(1, 10000));
    app->add_flag("--urgent", urgent, "rank 24/7 focal points first");
  }

  // Checks values against the vocabularies; returns a one-line reason or "".
  std::string check() const {
    using namespace liaison::vocab;
    if (!country.empty() && !isCountry(country)) return "--country: \"" + country + "\" is not an ISO 3166-1 alpha-2 code";
    if (!role.empty() && !isRole(role)) return "--role: \"" + role + "\" is not a role";
    if (!topic.empty() && !isTopic(topic)) return "--topic: \"" + topic + "\" is not a topic";
    if (!competence.empty() && !isCompetence(competence)) return "--competence: \"" + competence + "\" is not a competence";
    if (!language.empty() && !isLanguageTag(language)) return "--language: \"" + language + "\" is not a BCP 47 language tag";
    if (!network.empty() && !isNetwork(network)) return "--network: \"" + network + "\" is not a network name";
    if (!legalBasis.empty() && !isLegalBasis(legalBasis)) return "--legal-basis: \"" + legalBasis + "\" is not a legal basis";
    return {};
  }

  liaison::directory::Query query() const {
    liaison::directory::Query q;
    auto opt = [](const std::string& s) {
      return s.empty() ? std::nullopt : std::optional<std::string>(s);
    };
    q.country = opt(country);
    q.role = opt(role);
    q.topic = opt(topic);
    q.competence = opt(competence);
    q.language = opt(language);
    q.network = opt(network);
    q.legalBasis = opt(legalBasis);
    q.name = opt(name);
    if (!name.empty()) q.kind = "any";  // a name search also finds Interpol notices
    q.availableNow = availableNow;
    if (verifiedWithin >= 0) q.verifiedWithinDays = verifiedWithin;
    q.limit = static_cast<size_t>(limit);
    q.urgent = urgent;
    if (!language.empty()) q.preferLanguages.push_back(language);
    return q;
  }
};

}  // namespace

int main(int argc, char** argv) {
  auto logger = spdlog::stderr_color_mt("liaison");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::warn);
  spdlog::cfg::load_env_levels();

  liaison::SystemClock clock;
  Context ctx;
  ctx.clock = &clock;
  if (const char* env = std::getenv("LIAISON_SITE")) ctx.siteDir = env;

  CLI::App app{"liaison: the verified directory and alert bus of a Liaison network"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "all commands and their options");
  auto siteOption = [&](CLI::App* sub) {
    sub->add_option("--site", ctx.siteDir, "the site's data directory (or LIAISON_SITE)");
  };
  auto formatOption = [&](CLI::App* sub, std::vector<std::string> allowed) {
    sub->add_option("--format", ctx.format, "output format")->check(CLI::IsMember(allowed));
  };

  std::string prefix;
  auto* keygen = app.add_subcommand("keygen", "make a key pair: PREFIX.key (0600) and PREFIX.pub");
  keygen->add_option("--out", prefix, "file name prefix")->required();

  std::string rootKey, site, publicKey, countries, role = "authority", network, reason;
  int days = 365;
  auto* enroll = app.add_subcommand("enroll", "sign a member certificate with the network root");
  enroll->add_option("--root", rootKey, "the network root's secret key file")->required();
  enroll->add_option("--site", site, "the site id")->required();
  enroll->add_option("--public", publicKey, "the site's .pub file")->required();
  enroll->add_option("--country", countries, "countries it may publish for, e.g. KG,KZ");
  enroll->add_option("--role", role, "authority | secretariat | adapter | broker | bridge")
      ->check(CLI::IsMember({"authority", "secretariat", "adapter", "broker", "bridge"}));
  enroll->add_option("--days", days, "validity in days")->check(CLI::Range(1, 3660));
  enroll->add_option("--network", network, "network name, e.g. CASC");

  std::string peerNetwork, peerRoot, offer = "kinds=contact,instrument,notice,alert",
              accept = "kinds=contact,instrument,notice,alert";
  uint64_t peerRevision = 0;
  bool endPeering = false;
  auto* peer = app.add_subcommand("peer", "sign a peering with another network (publish it)");
  peer->add_option("--root", rootKey, "this network's root secret key file")->required();
  peer->add_option("--network", network, "this network's name, e.g. CASC")->required();
  peer->add_option("--peer", peerNetwork, "the peer network's name, e.g. SEAJust")->required();
  peer->add_option("--peer-root", peerRoot, "the peer root's .pub file")->required();
  peer->add_option("--offer", offer, "what may pass to the peer: kinds=...;roles=...;countries=...");
  peer->add_option("--accept", accept, "what is taken from the peer, in the same form");
  std::string peerUntil;
  peer->add_option("--days", days, "validity in days")->check(CLI::Range(1, 3660));
  peer->add_option("--until", peerUntil, "valid until this date (YYYY-MM-DD), instead of --days");
  peer->add_option("--revision", peerRevision, "revision (default: the time now, in seconds)");
  peer->add_flag("--end", endPeering, "end the peering (a retired revision)");

  auto* revoke = app.add_subcommand("revoke", "sign a revocation of a member (publish it)");
  revoke->add_option("--root", rootKey, "the network root's secret key file")->required();
  revoke->add_option("--site", site, "the site id")->required();
  revoke->add_option("--reason", reason, "why");

  std::string id, rootPub, key, member, api = "127.0.0.1:7480";
  std::vector<std::string> brokers, brokerKeys;
  auto* init = app.add_subcommand("init", "make a site's data directory");
  siteOption(init);
  init->add_option("--id", id, "this site's id")->required();
  init->add_option("--root", rootPub, "the network root's .pub file")->required();
  init->add_option("--key", key, "this site's .key file")->required();
  init->add_option("--member", member, "this site's member certificate")->required();
  init->add_option("--broker", brokers,
                   "the broker, e.g. tcp://broker.example:7400 (twice for a broker pair)")
      ->allow_extra_args(false);
  init->add_option("--broker-key", brokerKeys,
                   "the broker's .pub file (a pair: once if they share a key pair, else once per --broker)")
      ->allow_extra_args(false);
  init->add_option("--api", api, "local HTTP API address");

  std::vector<std::string> files;
  auto* publish = app.add_subcommand("publish", "publish records, certificates or revocations");
  siteOption(publish);
  publish->add_option("FILE", files, "JSON form files or signed items")->required();

  auto* retire = app.add_subcommand("retire", "retire a record (a tombstone with a higher revision)");
  siteOption(retire);
  retire->add_option("ID", id, "record id")->required();

  FindFlags findFlags;
  auto* find = app.add_subcommand("find", "search the local replica");
  siteOption(find);
  formatOption(find, {"table", "json", "vcard"});
  findFlags.attach(find, true);

  FindFlags cpFlags;
  std::string from, to;
  auto* counterpart = app.add_subcommand("counterpart", "best focal points in TO for a request from FROM");
  siteOption(counterpart);
  formatOption(counterpart, {"table", "json", "vcard"});
  counterpart->add_option("--from", from, "requesting country")->required();
  counterpart->add_option("--to", to, "requested country")->required();
  cpFlags.attach(counterpart, false);

  auto* show = app.add_subcommand("show", "show one record");
  siteOption(show);
  formatOption(show, {"table", "json", "vcard"});
  show->add_option("ID", id, "record id")->required();

  auto* exportCmd = app.add_subcommand("export", "write every record (JSON lines or vCard)");
  siteOption(exportCmd);
  formatOption(exportCmd, {"json", "vcard"});

  std::string noticeType, nationality;
  int noticeLimit = 100;
  auto* notices = app.add_subcommand("notices", "Interpol notices brought in by the adapter");
  siteOption(notices);
  formatOption(notices, {"table", "json"});
  notices->add_option("--type", noticeType, "yellow | red")->check(CLI::IsMember({"yellow", "red"}));
  notices->add_option("--nationality", nationality, "ISO 3166-1 alpha-2");
  notices->add_option("--limit", noticeLimit, "at most this many")->check(CLI::Range(1, 100000));

  auto* status = app.add_subcommand("status", "this site: identity, replica, counts");
  siteOption(status);
  formatOption(status, {"table", "json"});

  auto* desk = app.add_subcommand("desk", "print a one-time sign-in link to the desk (the web page)");
  siteOption(desk);
  formatOption(desk, {"text", "json"});

  // liaison alert send|list|show|ack|decline|update|cancel
  auto* alert = app.add_subcommand("alert", "urgent alerts: send, list, show, acknowledge, update, cancel");
  alert->require_subcommand(1);
  liaison::cli::AlertFlags alertFlags;
  auto alertOptions = [&](CLI::App* sub) {
    siteOption(sub);
    formatOption(sub, {"table", "json"});
    sub->add_option("--file", alertFlags.file, "an alert in JSON form (flags override its fields)");
    sub->add_option("--headline", alertFlags.headline, "one line: what happened");
    sub->add_option("--target", alertFlags.targets,
                    "who: country:TH,role:interpol-ncb,network:INTERPOL,focal-point:ID,site:ID");
    sub->add_option("--description", alertFlags.description, "the details");
    sub->add_option("--instruction", alertFlags.instruction, "what the targets should do");
    sub->add_option("--event", alertFlags.event, "the event, e.g. \"Victims located\"");
    sub->add_option("--category", alertFlags.category, "a topic, e.g. trafficking-in-persons");
    sub->add_option("--incident", alertFlags.incident, "the case reference");
    sub->add_option("--urgency", alertFlags.urgency, "immediate | expected | future | past | unknown");
    sub->add_option("--severity", alertFlags.severity, "extreme | severe | moderate | minor | unknown");
    sub->add_option("--certainty", alertFlags.certainty, "observed | likely | possible | unlikely | unknown");
    sub->add_option("--status", alertFlags.status, "actual | exercise | test");
    sub->add_option("--language", alertFlags.language, "BCP 47 language of the text");
    sub->add_option("--expires", alertFlags.expires, "an ISO 8601 time, or a duration from now (PT12H)");
    sub->add_option("--by", alertFlags.senderPerson, "the person sending");
    sub->add_flag("--ack-required", alertFlags.ackRequired, "a person at each target must acknowledge");
    sub->add_option("--ack-deadline", alertFlags.ackDeadline, "escalate if nobody acknowledged within (PT30M)");
    sub->add_option("--escalate-to", alertFlags.escalateTo, "targets added at the deadline (same form as --target)");
    sub->add_flag("--forward-to-interpol", alertFlags.forwardToInterpol, "also to the Interpol adapter");
  };
  auto* alertSend = alert->add_subcommand("send", "send an alert to its targets");
  alertOptions(alertSend);
  bool openOnly = false;
  auto* alertList = alert->add_subcommand("list", "alerts received and sent at this site");
  siteOption(alertList);
  formatOption(alertList, {"table", "json"});
  alertList->add_flag("--open", openOnly, "only those still waiting for someone");
  int alertLimit = 0;
  std::string alertBefore;
  alertList->add_option("--limit", alertLimit, "the newest N (a page; the next one is printed)")
      ->check(CLI::Range(1, 1000));
  alertList->add_option("--before", alertBefore, "the page that follows this alert (with --limit)");
  auto* alertShow = alert->add_subcommand("show", "one alert, with every target site's state");
  siteOption(alertShow);
  formatOption(alertShow, {"table", "json", "cap"});
  alertShow->add_option("ID", id, "alert id")->required();
  std::string answerBy, answerComment;
  bool decline = false;
  auto* alertAck = alert->add_subcommand("ack", "acknowledge a received alert (a named person)");
  siteOption(alertAck);
  alertAck->add_option("ID", id, "alert id")->required();
  alertAck->add_option("--by", answerBy, "who acknowledges")->required();
  alertAck->add_option("--comment", answerComment, "a note for the sender");
  alertAck->add_flag("--decline", decline, "decline it instead (say why in --comment)");
  auto* alertUpdate = alert->add_subcommand("update", "replace an alert this site sent");
  alertOptions(alertUpdate);
  alertUpdate->add_option("ID", id, "the alert it replaces")->required();
  auto* alertCancel = alert->add_subcommand("cancel", "cancel an alert this site sent");
  alertOptions(alertCancel);
  alertCancel->add_option("ID", id, "the alert it cancels")->required();

  // liaison request send|list|show|open|status
  auto* request =
      app.add_subcommand("request", "MLA requests: send, list, show, open, set their status");
  request->require_subcommand(1);
  liaison::cli::RequestFlags requestFlags;
  auto* requestSend = request->add_subcommand("send", "send a request for mutual legal assistance");
  siteOption(requestSend);
  requestSend
      ->add_option("--to", requestFlags.to, "the requested site, or a focal point's contact id")
      ->required();
  requestSend
      ->add_option("--legal-basis", requestFlags.legalBasis,
                   "an instrument both sides are party to, e.g. UNTOC")
      ->required();
  requestSend
      ->add_option("--measure", requestFlags.measures,
                   "hearing-of-witness, bank-records, ... (repeat, or a comma list)")
      ->required()
      ->allow_extra_args(false);
  requestSend
      ->add_option("--case", requestFlags.caseReference, "the case reference, e.g. KG-2026-0147")
      ->required();
  requestSend->add_option("--summary", requestFlags.summary, "what is asked, and why")->required();
  requestSend->add_flag("--urgent", requestFlags.urgent, "mark it urgent");
  requestSend->add_option("--deadline", requestFlags.deadline,
                          "answer wanted by this date (YYYY-MM-DD)");
  requestSend->add_option("--language", requestFlags.language, "BCP 47 language of the request")
      ->capture_default_str();
  requestSend->add_option("--attach", requestFlags.attachments, "a file to send with it (repeat)")
      ->allow_extra_args(false);
  requestSend
      ->add_option("--wait", requestFlags.waitSeconds,
                   "seconds to wait for the broker to accept it")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600));
  bool requestIncoming = false, requestOutgoing = false, requestOpenOnly = false;
  auto* requestList = request->add_subcommand("list", "requests received and sent at this site");
  siteOption(requestList);
  formatOption(requestList, {"table", "json"});
  auto* incomingFlag = requestList->add_flag("--incoming", requestIncoming, "only those received");
  requestList->add_flag("--outgoing", requestOutgoing, "only those sent")->excludes(incomingFlag);
  requestList->add_flag("--open", requestOpenOnly, "only those not yet answered in full");
  auto* requestShow =
      request->add_subcommand("show", "one request with its whole trail, every step signed");
  siteOption(requestShow);
  formatOption(requestShow, {"table", "json"});
  requestShow->add_option("ID", id, "request id")->required();
  std::string openBy, openOut;
  auto* requestOpen =
      request->add_subcommand("open", "write a received request's files into a folder");
  siteOption(requestOpen);
  requestOpen->add_option("ID", id, "request id")->required();
  requestOpen->add_option("--by", openBy, "who opens it (named on the trail)")->required();
  requestOpen->add_option("--out", openOut, "the folder (made, mode 0700, when missing)")
      ->required();
  liaison::cli::RequestStatusFlags statusFlags;
  auto* requestStatus = request->add_subcommand("status", "set the status of a received request");
  siteOption(requestStatus);
  requestStatus->add_option("ID", id, "request id")->required();
  requestStatus->add_option("--set", statusFlags.set, "the new status")
      ->required()
      ->check(CLI::IsMember({"registered", "in-execution", "more-information-needed", "executed",
                             "partially-executed", "refused"}));
  requestStatus->add_option("--by", statusFlags.by, "who sets it (named on the trail)")->required();
  requestStatus->add_option("--reference", statusFlags.reference,
                            "the requested side's own reference");
  requestStatus->add_option("--comment", statusFlags.comment, "a note for the requesting side");
  requestStatus->add_option("--attach", statusFlags.attachments,
                            "a file sent back with the status, e.g. the evidence (repeatable)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "liaison: " << e.what() << "\n";
    return liaison::cli::kExitUsage;
  }
  // Without --format, `export` writes JSON and the others a table.
  if (ctx.format.empty()) ctx.format = exportCmd->parsed() ? "json" : "table";

  using namespace liaison::cli;
  if (keygen->parsed()) return cmdKeygen(prefix);
  if (enroll->parsed()) {
    return cmdEnroll(rootKey, site, publicKey, liaison::splitList(countries), role, days, network, clock);
  }
  if (revoke->parsed()) return cmdRevoke(rootKey, site, reason, clock);
  if (peer->parsed()) {
    return cmdPeer(PeerFlags{rootKey, network, peerNetwork, peerRoot, offer, accept, days, peerRevision,
                             endPeering, peerUntil},
                   clock);
  }
  if (init->parsed()) return cmdInit(ctx, id, rootPub, key, member, brokers, brokerKeys, api);
  if (publish->parsed()) return cmdPublish(ctx, files);
  if (retire->parsed()) return cmdRetire(ctx, id);
  if (find->parsed()) {
    if (auto bad = findFlags.check(); !bad.empty()) {
      std::cerr << "liaison: " << bad << "\n";
      return kExitUsage;
    }
    return cmdFind(ctx, findFlags.query());
  }
  if (counterpart->parsed()) {
    if (auto bad = cpFlags.check(); !bad.empty()) {
      std::cerr << "liaison: " << bad << "\n";
      return kExitUsage;
    }
    for (const auto* c : {&from, &to}) {
      if (!liaison::vocab::isCountry(*c)) {
        std::cerr << "liaison: \"" << *c << "\" is not an ISO 3166-1 alpha-2 country code\n";
        return kExitUsage;
      }
    }
    return cmdCounterpart(ctx, from, to, cpFlags.query());
  }
  if (show->parsed()) return cmdShow(ctx, id);
  if (exportCmd->parsed()) return cmdExport(ctx);
  if (notices->parsed()) {
    liaison::directory::Query q;
    q.kind = "notice";
    if (!noticeType.empty()) q.noticeType = noticeType;
    if (!nationality.empty()) {
      if (!liaison::vocab::isCountry(nationality)) {
        std::cerr << "liaison: --nationality: \"" << nationality << "\" is not an ISO 3166-1 alpha-2 code\n";
        return kExitUsage;
      }
      q.nationality = nationality;
    }
    q.limit = static_cast<size_t>(noticeLimit);
    return cmdNotices(ctx, q);
  }
  if (status->parsed()) return cmdStatus(ctx);
  if (desk->parsed()) return cmdDesk(ctx);
  if (alertSend->parsed()) return cmdAlertSend(ctx, alertFlags);
  if (alertList->parsed()) return cmdAlertList(ctx, openOnly, alertLimit, alertBefore);
  if (alertShow->parsed()) return cmdAlertShow(ctx, id);
  if (alertAck->parsed()) return cmdAlertAnswer(ctx, id, answerBy, answerComment, decline);
  if (alertUpdate->parsed()) return cmdAlertReplace(ctx, "update", id, alertFlags);
  if (alertCancel->parsed()) return cmdAlertReplace(ctx, "cancel", id, alertFlags);
  if (requestSend->parsed()) return cmdRequestSend(ctx, requestFlags);
  if (requestList->parsed()) {
    return cmdRequestList(ctx,
                          requestIncoming   ? "incoming"
                          : requestOutgoing ? "outgoing"
                                            : "",
                          requestOpenOnly);
  }
  if (requestShow->parsed()) return cmdRequestShow(ctx, id);
  if (requestOpen->parsed()) return cmdRequestOpen(ctx, id, openBy, openOut);
  if (requestStatus->parsed()) return cmdRequestStatus(ctx, id, statusFlags);
  return kExitUsage;
}
