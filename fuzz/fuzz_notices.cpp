// libFuzzer: an answer of the notices API as the Interpol adapter reads it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "adapters/notices.h"
#include "schemas/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto page = liaison::adapters::parseNoticePage(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!page) return 0;
  for (const auto& n : page->notices) {
    auto j = liaison::adapters::noticeJson("yellow", n, 1, "2026-11-28T10:00:00Z");
    (void)liaison::json::recordFromJson(j, "fuzz");
  }
  return 0;
}
