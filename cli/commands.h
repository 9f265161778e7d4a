// The `liaison` command's subcommands. Each returns the process exit status:
// 0 success, 1 nothing matched / not found, 2 a usage or input error (one line on stderr).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "directory/directory.h"
#include "directory/site.h"

namespace liaison::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitNoMatch = 1;
inline constexpr int kExitUsage = 2;

struct Context {
  std::string siteDir;  // --site, LIAISON_SITE
  std::string format;  // table | json | vcard
  const Clock* clock = nullptr;
};

// Prints the error's one-line reason; the exit status for it (1 not found, 2 otherwise).
int failWith(const Error& e);
// The site named by --site or LIAISON_SITE.
Result<directory::SiteConfig> siteConfig(const Context& ctx);

int cmdKeygen(const std::string& prefix);
int cmdEnroll(const std::string& rootKey, const std::string& site, const std::string& publicKey,
              const std::vector<std::string>& countries, const std::string& role, int days,
              const std::string& network, const Clock& clock);
int cmdRevoke(const std::string& rootKey, const std::string& site, const std::string& reason,
              const Clock& clock);
struct PeerFlags {
  std::string rootKey, network, peer, peerRoot, offer, accept;
  int days = 365;
  uint64_t revision = 0;  // 0: the time now
  bool end = false;
  std::string until;  // YYYY-MM-DD (end of that day, UTC); empty: `days` from now
};
int cmdPeer(const PeerFlags& flags, const Clock& clock);
// `brokers`: none (standalone), one, or a broker pair's; `brokerKeys`: one, or one per broker.
int cmdInit(const Context& ctx, const std::string& id, const std::string& root,
            const std::string& key, const std::string& member, const std::vector<std::string>& brokers,
            const std::vector<std::string>& brokerKeys, const std::string& api);
int cmdPublish(const Context& ctx, const std::vector<std::string>& files);
int cmdRetire(const Context& ctx, const std::string& id);
int cmdFind(const Context& ctx, const directory::Query& query);
int cmdCounterpart(const Context& ctx, const std::string& from, const std::string& to,
                   const directory::Query& base);
int cmdShow(const Context& ctx, const std::string& id);
int cmdExport(const Context& ctx);
int cmdNotices(const Context& ctx, const directory::Query& query);
int cmdStatus(const Context& ctx);

// `liaison alert ...` (cli/alerts.cpp). The flags that make an alert's JSON form.
struct AlertFlags {
  std::string file;  // an alert in JSON form; flags given override its fields
  std::string headline, description, instruction, event, category, incident, urgency, severity,
      certainty, status, language, expires, senderPerson, ackDeadline;
  std::vector<std::string> targets, escalateTo;  // "country:TH", "role:interpol-ncb", ...
  bool ackRequired = false, forwardToInterpol = false;
};
int cmdAlertSend(const Context& ctx, const AlertFlags& flags);
int cmdAlertReplace(const Context& ctx, const std::string& msgType, const std::string& id,
                    const AlertFlags& flags);  // update | cancel
// limit 0: every alert; else a page of `limit` following the alert `before` (empty: the newest).
int cmdAlertList(const Context& ctx, bool onlyOpen, int limit, const std::string& before);
int cmdAlertShow(const Context& ctx, const std::string& id);
int cmdAlertAnswer(const Context& ctx, const std::string& id, const std::string& by,
                   const std::string& comment, bool decline);

// `liaison request ...` (cli/requests.cpp): MLA requests through the site daemon. Exit status as
// above; `send` also gives 2 when the broker refused the request.
struct RequestFlags {
  std::string to;  // a site id or a focal point's contact id
  std::string legalBasis, caseReference, summary;
  std::vector<std::string> measures;  // each may be a comma list
  bool urgent = false;
  std::string deadline;  // YYYY-MM-DD or empty
  std::string language = "en";
  std::vector<std::string> attachments;  // paths; the request names them by base name
  int waitSeconds = 30;                  // how long to wait for the broker's "accepted"
};
// Measures and hashes the files (a chunk at a time), creates the request, uploads the files
// and waits up to `waitSeconds` for the broker to accept it.
int cmdRequestSend(const Context& ctx, const RequestFlags& flags);
// `direction`: "", "incoming" or "outgoing".
int cmdRequestList(const Context& ctx, const std::string& direction, bool onlyOpen);
int cmdRequestShow(const Context& ctx, const std::string& id);
// Writes the request's files into `outDir` (made 0700 when missing), never replacing a file.
int cmdRequestOpen(const Context& ctx, const std::string& id, const std::string& by,
                   const std::string& outDir);
struct RequestStatusFlags {
  std::string set, by, reference, comment;
  std::vector<std::string> attachments;  // evidence going back with the status
};
int cmdRequestStatus(const Context& ctx, const std::string& id, const RequestStatusFlags& flags);

// liaison desk: asks the site daemon for a one-time sign-in link to the desk and prints it.
int cmdDesk(const Context& ctx);

}  // namespace liaison::cli
