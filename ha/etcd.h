// The broker pair's view of etcd (DESIGN.md, "High availability and operations"): leases, a key
// created only when absent, writes guarded by another key's value, reads. EtcdClient speaks to
// etcd's v3 JSON gateway (POST /v3/lease/grant, /v3/lease/keepalive, /v3/lease/revoke,
// /v3/kv/txn, /v3/kv/range) with libcurl; keys and values are base64 there, 64-bit numbers are
// JSON strings. Several endpoints (a cluster's members) are tried in turn: a call fails only
// when none answered.
//
// Errors: Errc::kUnavailable when no endpoint answered (the caller retries, and a leader that
// cannot renew its lease fences itself); Errc::kInvalidInput when an answer is not what etcd
// says (a wrong server, a proxy's page).
// Concurrency: an EtcdClient is used by one thread at a time (one curl handle).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/http.h"
#include "common/result.h"

namespace liaison::ha {

struct EtcdValue {
  std::string value;
  int64_t modRevision = 0;
  int64_t lease = 0;  // 0: none
};

class Etcd {
 public:
  virtual ~Etcd() = default;
  // A new lease of `ttl`; its id.
  virtual Result<int64_t> grantLease(std::chrono::seconds ttl) = 0;
  // Renews `lease`; the seconds it has left from now, 0 when etcd no longer holds it.
  virtual Result<int64_t> keepAlive(int64_t lease) = 0;
  virtual Status revokeLease(int64_t lease) = 0;
  // Writes key = value, bound to `lease` (0: none), only if the key does not exist. False when
  // it does; then `current` (optional) receives what it holds.
  virtual Result<bool> createIfAbsent(const std::string& key, const std::string& value, int64_t lease,
                                      std::optional<EtcdValue>* current = nullptr) = 0;
  // Writes key = value (no lease) only while `guardKey` holds `guardValue`.
  virtual Result<bool> putIf(const std::string& guardKey, const std::string& guardValue, const std::string& key,
                             const std::string& value) = 0;
  virtual Result<std::optional<EtcdValue>> get(const std::string& key) = 0;
};

class EtcdClient final : public Etcd {
 public:
  // `endpoints`: "http://HOST:PORT" each (a comma-separated --etcd list, split). Timeouts: a
  // call's connect and total time per endpoint; keep them well under the lease's TTL.
  static Result<std::unique_ptr<EtcdClient>> create(std::vector<std::string> endpoints,
                                                    std::chrono::milliseconds timeout = std::chrono::milliseconds(500));
  Result<int64_t> grantLease(std::chrono::seconds ttl) override;
  Result<int64_t> keepAlive(int64_t lease) override;
  Status revokeLease(int64_t lease) override;
  Result<bool> createIfAbsent(const std::string& key, const std::string& value, int64_t lease,
                              std::optional<EtcdValue>* current = nullptr) override;
  Result<bool> putIf(const std::string& guardKey, const std::string& guardValue, const std::string& key,
                     const std::string& value) override;
  Result<std::optional<EtcdValue>> get(const std::string& key) override;

 private:
  EtcdClient(std::vector<std::string> endpoints, adapters::HttpOptions options);
  // POSTs `body` to `path` at the endpoint that answered last, then the others; the answer's body.
  Result<std::string> call(const std::string& path, const std::string& body);
  std::vector<std::string> endpoints_;
  size_t current_ = 0;  // the endpoint that answered last
  adapters::Http http_;
};

}  // namespace liaison::ha
