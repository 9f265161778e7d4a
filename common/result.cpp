#include "common/result.h"

namespace liaison {

const char* errcName(Errc code) {
  switch (code) {
    case Errc::kInvalidInput: return "invalid input";
    case Errc::kNotFound: return "not found";
    case Errc::kRefused: return "refused";
    case Errc::kIo: return "i/o error";
    case Errc::kConflict: return "conflict";
    case Errc::kUnavailable: return "unavailable";
  }
  return "error";
}

void assertionFailed(const char* file, int line, const char* expr, const std::string& detail) {
  std::fprintf(stderr, "%s:%d: invariant broken: %s (%s)\n", file, line, expr, detail.c_str());
  std::abort();
}

}  // namespace liaison
