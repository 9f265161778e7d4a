// What a person can do with alerts at a site, shared by the local HTTP API (site/api.cpp) and the
// desk (desk/desk.cpp), so both show the same states and answer the same way. Each operation
// returns the HTTP status and the JSON body the API sends (DESIGN.md, "Alerts"); the desk renders
// the same JSON as a page.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "directory/site.h"
#include "schemas/json.h"
#include "site/alerts.h"
#include "site/service.h"
#include "trust/keys.h"

namespace liaison::site {

struct OpResult {
  int status = 200;
  json::Json body;
};

// The state a person sees for an alert at this site: in: new | acknowledged | declined |
// expired | updated | cancelled; out: "3/8 delivered, 1 acknowledged[, escalated]", sent,
// expired, updated, cancelled, or the broker's final state.
std::string alertState(const StoredAlert& a, schema::Alert::Reader alert, int64_t now);
// Still asks something of someone: in and new, or out with a target not yet answered.
bool alertOpen(const StoredAlert& a, schema::Alert::Reader alert, int64_t now);

// Signs the alert in JSON form (an update or cancel too) as this site and sends it; `person`,
// when given, is the sender's name. An update replaces the alert whole: what it leaves out
// (urgency, severity, expiry, acknowledgement and escalation, ...; not its headline and
// description) is the replaced alert's, when this site sent it. 200 {accepted, id, msgType,
// custody}, 422 refused, 400 bad input (the message names the field), 503 broker unreachable.
OpResult sendAlert(SiteService& service, const directory::SiteConfig& config,
                   const trust::KeyPair& keys, const json::Json& alert);
// One alert as the alert list shows it.
struct AlertRow {
  std::string id, msgType, sender, sent, urgency, severity, headline, state, replacedBy;
  int64_t receivedAt = 0;       // Unix seconds
  int64_t expires = INT64_MAX;  // Unix seconds (none: never)
  uint64_t digest = 0;          // of the stored record it was made from (Inbox::visitChanged)
  bool outbound = false;
  bool open = false;
};

// The alert list, newest first, kept while it cannot have changed: the inbox has had no write
// since (Inbox::version) and no alert listed has expired since. One per daemon, read by
// GET /v1/alerts, the desk's alert page and its poll (every 2 s while a page is open): with nothing
// new they read no alert. After a write it reads again only the alerts whose stored record changed
// (or whose expiry passed), one at a time. It keeps the rows (about 0.5 KB an alert; the JSON of
// the whole list too, once the API asked for it), not the envelopes and custody reports.
// Thread-safe.
class AlertListCache {
 public:
  struct Listed {
    std::string error;           // the inbox could not be read (then no row)
    std::vector<AlertRow> rows;  // newest first
    size_t openInbound = 0;      // alerts received that still ask something of this site
    int64_t builtAt = 0;         // the time the states were read for
    // Changes with anything the list shows (a hash of it, made when first asked for).
    const std::string& version() const;
    // GET /v1/alerts's body: {"alerts": [{id, direction, msgType, sender, sent, urgency, severity,
    // headline, receivedAt, state, open, replacedBy?}...]}, the open ones only when `onlyOpen`. The
    // whole list's is made when first asked for and kept with the rows.
    std::string json(bool onlyOpen) const;
    // One page of it: at most `limit` rows (from 1) following the alert `before` (empty: from the
    // newest), and "next" (the last row's id, to pass as `before`) when more follow. nullopt when
    // `before` is not in the list.
    std::optional<std::string> page(bool onlyOpen, const std::string& before, size_t limit) const;

   private:
    mutable std::once_flag made_, wrote_;
    mutable std::string version_, json_;
  };
  std::shared_ptr<const Listed> get(const Inbox& inbox, int64_t now);

 private:
  std::mutex mutex_;
  std::shared_ptr<const Listed> listed_;
  uint64_t inboxVersion_ = 0;
  int64_t until_ = 0;  // the earliest expiry ahead of the alerts listed
};
// {alert, direction, state, open, receivedAt, replacedBy?, custody, live, answers}. Asks the broker
// for the custody of an alert this site sent (at most `waitMs`).
OpResult showAlert(SiteService& service, const std::string& id, int waitMs, int64_t now);
// A person's answer: 200 accepted, 202 stored and queued, 404 no such alert, 400 bad input,
// 422 refused by the broker.
OpResult answerAlert(SiteService& service, const std::string& id, const std::string& by,
                     const std::string& comment, bool decline);

}  // namespace liaison::site
