#include "ha/etcd.h"

#include <nlohmann/json.hpp>

#include <variant>

#include "common/encoding.h"

namespace liaison::ha {

namespace {

using Json = nlohmann::json;

std::string b64(const std::string& s) {
  return toBase64(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

// etcd writes 64-bit numbers as JSON strings (and leaves out zeros).
int64_t number(const Json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) return 0;
  const Json& v = j[key];
  if (v.is_number_integer()) return v.get<int64_t>();
  if (!v.is_string()) return 0;
  try {
    return std::stoll(v.get<std::string>());
  } catch (...) {
    return 0;
  }
}

Result<Json> parse(const std::string& body, const std::string& what) {
  auto j = Json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("header")) {
    if (j.is_object() && j.contains("error")) {
      return makeError(Errc::kInvalidInput, "etcd " + what + ": " + j.value("error", std::string("error")));
    }
    return makeError(Errc::kInvalidInput, "etcd " + what + ": not an answer of etcd's v3 gateway");
  }
  return j;
}

Result<EtcdValue> valueOf(const Json& kv) {
  auto value = fromBase64(kv.value("value", std::string()));
  if (!value) return makeError(Errc::kInvalidInput, "etcd: a value that is not base64");
  return EtcdValue{std::string(value->begin(), value->end()), number(kv, "mod_revision"), number(kv, "lease")};
}

}  // namespace

Result<std::unique_ptr<EtcdClient>> EtcdClient::create(std::vector<std::string> endpoints,
                                                       std::chrono::milliseconds timeout) {
  if (endpoints.empty()) return makeError(Errc::kInvalidInput, "--etcd: no endpoint");
  for (auto& e : endpoints) {
    while (!e.empty() && e.back() == '/') e.pop_back();
    if (!e.starts_with("http://") && !e.starts_with("https://")) {
      return makeError(Errc::kInvalidInput, "--etcd: " + e + " is not an http:// or https:// URL");
    }
  }
  adapters::HttpOptions o;
  o.connectTimeout = timeout;
  o.totalTimeout = timeout;
  o.maxBody = size_t{1} << 20;
  return std::unique_ptr<EtcdClient>(new EtcdClient(std::move(endpoints), o));
}

EtcdClient::EtcdClient(std::vector<std::string> endpoints, adapters::HttpOptions options)
    : endpoints_(std::move(endpoints)), http_(std::move(options)) {}

Result<std::string> EtcdClient::call(const std::string& path, const std::string& body) {
  std::string failures;
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    const size_t at = (current_ + i) % endpoints_.size();
    auto answer = http_.post(endpoints_[at] + path, body, {"Content-Type: application/json"});
    if (auto* e = std::get_if<adapters::HttpError>(&answer)) {
      failures += (failures.empty() ? "" : "; ") + endpoints_[at] + ": " + e->message;
      continue;
    }
    auto& a = std::get<adapters::HttpAnswer>(answer);
    if (a.status == 503 || a.status == 502) {  // a member without a leader, a proxy without etcd
      failures += (failures.empty() ? "" : "; ") + endpoints_[at] + ": HTTP " + std::to_string(a.status);
      continue;
    }
    current_ = at;
    if (a.status != 200) {
      // etcd's own refusals carry {"error": "etcdserver: ...", "code": N}.
      auto j = Json::parse(a.body, nullptr, false);
      std::string why = j.is_object() && j.contains("error") && j["error"].is_string() ? j["error"].get<std::string>()
                                                                                       : "HTTP " + std::to_string(a.status);
      return makeError(Errc::kInvalidInput, "etcd " + path + ": " + why.substr(0, 200));
    }
    return std::move(a.body);
  }
  return makeError(Errc::kUnavailable, "etcd " + path + ": no endpoint answered (" + failures + ")");
}

Result<int64_t> EtcdClient::grantLease(std::chrono::seconds ttl) {
  auto body = call("/v3/lease/grant", Json{{"TTL", ttl.count()}}.dump());
  if (!body) return body.error();
  auto j = parse(*body, "lease grant");
  if (!j) return j.error();
  const int64_t id = number(*j, "ID");
  if (id == 0) return makeError(Errc::kInvalidInput, "etcd lease grant: no lease id (" + j->value("error", std::string()) + ")");
  return id;
}

Result<int64_t> EtcdClient::keepAlive(int64_t lease) {
  auto body = call("/v3/lease/keepalive", Json{{"ID", std::to_string(lease)}}.dump());
  if (!body) return body.error();
  // A stream of one message: {"result": {"header": ..., "ID": ..., "TTL": ...}}.
  auto j = Json::parse(*body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("result") || !j["result"].is_object()) {
    return makeError(Errc::kInvalidInput, "etcd lease keepalive: not an answer of etcd's v3 gateway");
  }
  return number(j["result"], "TTL");  // left out (0) when the lease is gone
}

Status EtcdClient::revokeLease(int64_t lease) {
  auto body = call("/v3/lease/revoke", Json{{"ID", std::to_string(lease)}}.dump());
  // A lease etcd no longer holds is revoked already.
  if (!body && body.error().message.find("lease not found") != std::string::npos) return {};
  if (!body) return body.error();
  auto j = Json::parse(*body, nullptr, false);
  if (j.is_object() && j.contains("header")) return {};
  return makeError(Errc::kInvalidInput, "etcd lease revoke: not an answer of etcd's v3 gateway");
}

Result<bool> EtcdClient::createIfAbsent(const std::string& key, const std::string& value, int64_t lease,
                                        std::optional<EtcdValue>* current) {
  Json put = {{"key", b64(key)}, {"value", b64(value)}};
  if (lease != 0) put["lease"] = std::to_string(lease);
  Json txn = {{"compare", Json::array({{{"key", b64(key)}, {"result", "EQUAL"}, {"target", "CREATE"},
                                         {"create_revision", "0"}}})},
              {"success", Json::array({{{"requestPut", put}}})},
              {"failure", Json::array({{{"requestRange", {{"key", b64(key)}}}}})}};
  auto body = call("/v3/kv/txn", txn.dump());
  if (!body) return body.error();
  auto j = parse(*body, "txn");
  if (!j) return j.error();
  if (j->value("succeeded", false)) return true;
  if (current != nullptr) {
    current->reset();
    const Json& responses = (*j)["responses"];
    if (responses.is_array() && !responses.empty() && responses[0].contains("response_range")) {
      const Json& kvs = responses[0]["response_range"]["kvs"];
      if (kvs.is_array() && !kvs.empty()) {
        auto v = valueOf(kvs[0]);
        if (!v) return v.error();
        *current = std::move(*v);
      }
    }
  }
  return false;
}

Result<bool> EtcdClient::putIf(const std::string& guardKey, const std::string& guardValue, const std::string& key,
                               const std::string& value) {
  Json txn = {{"compare", Json::array({{{"key", b64(guardKey)}, {"result", "EQUAL"}, {"target", "VALUE"},
                                         {"value", b64(guardValue)}}})},
              {"success", Json::array({{{"requestPut", {{"key", b64(key)}, {"value", b64(value)}}}}})}};
  auto body = call("/v3/kv/txn", txn.dump());
  if (!body) return body.error();
  auto j = parse(*body, "txn");
  if (!j) return j.error();
  return j->value("succeeded", false);
}

Result<std::optional<EtcdValue>> EtcdClient::get(const std::string& key) {
  auto body = call("/v3/kv/range", Json{{"key", b64(key)}}.dump());
  if (!body) return body.error();
  auto j = parse(*body, "range");
  if (!j) return j.error();
  const Json& kvs = (*j)["kvs"];
  if (!kvs.is_array() || kvs.empty()) return std::optional<EtcdValue>();
  auto v = valueOf(kvs[0]);
  if (!v) return v.error();
  return std::optional<EtcdValue>(std::move(*v));
}

}  // namespace liaison::ha
