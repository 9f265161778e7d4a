// The `liaison` command's subcommands. Each returns the process exit status:
// 0 success, 1 nothing matched / not found, 2 a usage or input error (one line on stderr).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "directory/directory.h"

namespace liaison::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitNoMatch = 1;
inline constexpr int kExitUsage = 2;

struct Context {
  std::string siteDir;  // --site, LIAISON_SITE
  std::string format;  // table | json | vcard
  const Clock* clock = nullptr;
};

int cmdKeygen(const std::string& prefix);
int cmdEnroll(const std::string& rootKey, const std::string& site, const std::string& publicKey,
              const std::vector<std::string>& countries, const std::string& role, int days,
              const std::string& network, const Clock& clock);
int cmdRevoke(const std::string& rootKey, const std::string& site, const std::string& reason,
              const Clock& clock);
int cmdInit(const Context& ctx, const std::string& id, const std::string& root,
            const std::string& key, const std::string& member, const std::string& broker,
            const std::string& brokerKey, const std::string& api);
int cmdPublish(const Context& ctx, const std::vector<std::string>& files);
int cmdRetire(const Context& ctx, const std::string& id);
int cmdFind(const Context& ctx, const directory::Query& query);
int cmdCounterpart(const Context& ctx, const std::string& from, const std::string& to,
                   const directory::Query& base);
int cmdShow(const Context& ctx, const std::string& id);
int cmdExport(const Context& ctx);
int cmdNotices(const Context& ctx, const directory::Query& query);
int cmdStatus(const Context& ctx);

}  // namespace liaison::cli
