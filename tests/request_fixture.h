// What the tests of MLA requests on real processes share, on one network (NetworkTest) or on two
// (FederationTest): files with a distinctive word of the case in them, the `liaison request`
// views of a site, a search of a directory's files for a word, a trail read back from
// `request show --format json` as a third party would, and the site's API.
#pragma once

#include <fcntl.h>
#include <httplib.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "requests/request.h"
#include "tests/support.h"

namespace liaison::testing {

inline constexpr const char* kCaseWord = "RUBYORCHIDQX";  // a distinctive word of the case

// `Base` has liaison(argv, timeout), site(id) and tmp.
template <class Base>
class RequestFixture : public Base {
 protected:
  using json = nlohmann::json;

  // A file of `size` bytes of noise with the case's word in it.
  std::string makeFile(const std::string& name, size_t size, unsigned seed) {
    std::string bytes(size, '\0');
    std::mt19937 rng(seed);
    for (auto& c : bytes) c = static_cast<char>(rng());
    for (size_t at = 0; at + 64 < size; at += size / 7 + 1) bytes.replace(at, std::strlen(kCaseWord), kCaseWord);
    const std::string path = this->tmp / name;
    writeText(path, bytes);
    return path;
  }

  json list(const std::string& at) {
    auto r = this->liaison({"request", "list", "--site", this->site(at), "--format", "json"}, 30);
    if (r.exitCode != 0) return json::array();
    auto j = json::parse(r.out, nullptr, false);
    if (j.is_object() && j.contains("requests")) return j["requests"];
    return j.is_array() ? j : json::array();
  }
  json show(const std::string& at, const std::string& id) {
    auto r = this->liaison({"request", "show", "--site", this->site(at), id, "--format", "json"}, 30);
    if (r.exitCode != 0) return {};
    return json::parse(r.out, nullptr, false);
  }
  std::string state(const std::string& at, const std::string& id) {
    auto s = show(at, id);
    return s.is_object() && s.contains("request") ? s["request"].value("state", "") : "";
  }
  static std::vector<std::string> kinds(const json& shown) {
    std::vector<std::string> out;
    if (!shown.is_object()) return out;
    for (const auto& s : shown["trail"]) {
      out.push_back(s["kind"] == "status" ? "status:" + s["status"].get<std::string>() : s["kind"].get<std::string>());
    }
    return out;
  }

  // Sends a request about case KG-2026-0147 (with the case's word in its summary) from `from` to
  // `to`; the new request's id ("" when the command failed).
  std::string sendRequest(const std::string& from, const std::string& to, const std::vector<std::string>& attach,
                          std::string* err = nullptr, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {"request", "send", "--site", this->site(from), "--to", to,
                                     "--legal-basis", "UNTOC", "--measure", "hearing-of-witness", "--measure",
                                     "bank-records", "--case", "KG-2026-0147", "--summary",
                                     std::string("Three victims recruited in Osh; the ") + kCaseWord + " account in Bangkok.",
                                     "--deadline", "2027-01-15"};
    for (const auto& f : attach) {
      argv.push_back("--attach");
      argv.push_back(f);
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    const auto before = list(from).size();
    auto r = this->liaison(argv, 180);
    if (err != nullptr) *err = r.err + r.out;
    if (r.exitCode != 0) return "";
    auto now = list(from);
    if (now.size() != before + 1) return "";
    return now[0]["id"];
  }

  // Every file under `dir` that holds `needle`. LMDB files can be large and sparse: only their
  // data segments are read (SEEK_DATA/SEEK_HOLE), in blocks that overlap by the needle's length.
  static std::vector<std::string> filesHolding(const std::string& dir, const std::string& needle) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
      if (e.is_regular_file() && holds(e.path(), needle)) out.push_back(e.path());
    }
    return out;
  }
  static bool holds(const std::string& path, const std::string& needle) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    std::string block(1 << 20, '\0');
    bool found = false;
    off_t at = 0;
    while (!found) {
      const off_t data = ::lseek(fd, at, SEEK_DATA);
      if (data < 0) break;
      const off_t hole = ::lseek(fd, data, SEEK_HOLE);
      for (off_t pos = data; pos < hole && !found;) {
        const ssize_t n = ::pread(fd, block.data(), block.size(), pos);
        if (n <= 0) break;
        found = std::string_view(block.data(), static_cast<size_t>(n)).find(needle) != std::string_view::npos;
        pos += n > static_cast<ssize_t>(needle.size()) ? n - static_cast<ssize_t>(needle.size()) : n;
      }
      at = hole;
    }
    ::close(fd);
    return found;
  }

  // The trail as a third party reads it from `request show --format json`: each step decoded and
  // its signature checked against the key it names (verifyTrail then checks whose keys they are).
  static std::vector<requests::SignedStep> trailOf(const json& shown) {
    std::vector<requests::SignedStep> out;
    for (const auto& s : shown["trail"]) {
      requests::SignedStep st;
      st.stepBytes = *fromBase64(s["step"].get<std::string>());
      st.signer = s["signer"];
      auto key = *fromHex(s["signerKey"].get<std::string>());
      std::copy(key.begin(), key.end(), st.signerKey.begin());
      auto sig = *fromHex(s["signature"].get<std::string>());
      std::copy(sig.begin(), sig.end(), st.signature.begin());
      auto decoded = requests::decodeStep(requests::encode(st));
      EXPECT_TRUE(decoded) << (decoded ? "" : decoded.error().message);
      if (decoded) out.push_back(*decoded);
    }
    return out;
  }

  httplib::Result api(const std::string& at, const std::string& method, const std::string& path,
                      const std::string& body, const std::string& type = "application/json") {
    std::string endpoint = readText(this->site(at) + "/api.endpoint");
    while (!endpoint.empty() && endpoint.back() == '\n') endpoint.pop_back();
    httplib::Client cli("http://" + endpoint);
    std::string token = readText(this->site(at) + "/api.token");
    while (!token.empty() && (token.back() == '\n' || token.back() == ' ')) token.pop_back();
    httplib::Headers h = {{"Authorization", "Bearer " + token}};
    if (method == "PUT") return cli.Put(path, h, body, type);
    if (method == "POST") return cli.Post(path, h, body, type);
    return cli.Get(path, h);
  }
};

}  // namespace liaison::testing
