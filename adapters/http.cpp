#include "adapters/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <ctime>

namespace liaison::adapters {

namespace {

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct ListDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlTextDeleter {
  void operator()(char* p) const { curl_free(p); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;
using List = std::unique_ptr<curl_slist, ListDeleter>;
using Url = std::unique_ptr<CURLU, UrlDeleter>;
using CurlText = std::unique_ptr<char, CurlTextDeleter>;

struct Sink {
  std::string body;
  size_t max = 0;
  bool tooLarge = false;
  std::optional<int64_t> retryAfter;
};

size_t onBody(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t n = size * count;
  if (sink->body.size() + n > sink->max) {
    sink->tooLarge = true;
    return 0;  // makes curl stop with CURLE_WRITE_ERROR
  }
  sink->body.append(data, n);
  return n;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

size_t onHeader(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t n = size * count;
  std::string line(data, n);
  auto colon = line.find(':');
  if (colon != std::string::npos && lower(line.substr(0, colon)) == "retry-after") {
    std::string v = line.substr(colon + 1);
    v.erase(0, v.find_first_not_of(" \t"));
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.pop_back();
    if (!v.empty() && std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); })) {
      if (v.size() <= 9) sink->retryAfter = std::stoll(v);
    } else if (!v.empty()) {
      time_t when = curl_getdate(v.c_str(), nullptr);  // an HTTP date
      if (when > 0) sink->retryAfter = std::max<int64_t>(0, static_cast<int64_t>(when - std::time(nullptr)));
    }
  }
  return n;
}

}  // namespace

struct Http::Impl {
  HttpOptions options;
  Easy easy;
};

Result<std::string> resolveUrl(const std::string& base, const std::string& reference) {
  Url url(curl_url());
  if (!url) return makeError(Errc::kIo, "curl_url failed");
  if (curl_url_set(url.get(), CURLUPART_URL, base.c_str(), 0) != CURLUE_OK) {
    return makeError(Errc::kInvalidInput, "not a URL: " + base);
  }
  // Set on a handle that holds a URL, a reference is resolved against it (RFC 3986, section 5).
  if (curl_url_set(url.get(), CURLUPART_URL, reference.c_str(), 0) != CURLUE_OK) {
    return makeError(Errc::kInvalidInput, "not a URL reference");
  }
  char* text = nullptr;
  if (curl_url_get(url.get(), CURLUPART_URL, &text, 0) != CURLUE_OK || text == nullptr) {
    return makeError(Errc::kInvalidInput, "not a URL reference");
  }
  CurlText owned(text);
  return std::string(owned.get());
}

Status initHttp() {
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return makeError(Errc::kIo, "curl_global_init failed");
  return {};
}

Http::Http(HttpOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->easy.reset(curl_easy_init());  // reused: keeps connections alive between calls
}

Http::~Http() = default;

std::variant<HttpAnswer, HttpError> Http::get(const std::string& url) { return perform(url, nullptr, {}); }

std::variant<HttpAnswer, HttpError> Http::post(const std::string& url, const std::string& body,
                                               const std::vector<std::string>& headers) {
  return perform(url, &body, headers);
}

std::variant<HttpAnswer, HttpError> Http::perform(const std::string& url, const std::string* body,
                                                  const std::vector<std::string>& headers) {
  CURL* c = impl_->easy.get();
  if (c == nullptr) return HttpError{HttpFailure::kOther, "curl_easy_init failed"};
  curl_easy_reset(c);
  const HttpOptions& o = impl_->options;
  Sink sink;
  sink.max = o.maxBody;
  char errbuf[CURL_ERROR_SIZE] = {0};
  List list;
  for (const auto& h : headers) {
    curl_slist* l = curl_slist_append(list.get(), h.c_str());
    if (l == nullptr) return HttpError{HttpFailure::kOther, "out of memory"};
    (void)list.release();
    list.reset(l);
  }
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connectTimeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(o.totalTimeout.count()));
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!o.caFile.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, o.caFile.c_str());
  if (!o.clientCert.empty()) curl_easy_setopt(c, CURLOPT_SSLCERT, o.clientCert.c_str());
  if (!o.clientKey.empty()) curl_easy_setopt(c, CURLOPT_SSLKEY, o.clientKey.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &sink);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "liaison-interpol/1");
  if (list) curl_easy_setopt(c, CURLOPT_HTTPHEADER, list.get());
  if (body != nullptr) {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  }
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    std::string why = errbuf[0] != 0 ? errbuf : curl_easy_strerror(rc);
    if (sink.tooLarge) {
      return HttpError{HttpFailure::kTooLarge, "answer larger than " + std::to_string(o.maxBody) + " bytes"};
    }
    switch (rc) {
      case CURLE_COULDNT_CONNECT:
      case CURLE_COULDNT_RESOLVE_HOST:
        return HttpError{HttpFailure::kConnect, why};
      case CURLE_OPERATION_TIMEDOUT:
        return HttpError{HttpFailure::kTimeout, why};
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CERTPROBLEM:
      case CURLE_SSL_CACERT_BADFILE:
        return HttpError{HttpFailure::kTls, why};
      default:
        return HttpError{HttpFailure::kOther, why};
    }
  }
  HttpAnswer a;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
  char* type = nullptr;
  curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
  if (type != nullptr) a.contentType = type;
  a.body = std::move(sink.body);
  a.retryAfterSeconds = sink.retryAfter;
  return a;
}

}  // namespace liaison::adapters
