// libFuzzer: a file given to `liaison publish` or POST /v1/publish (JSON object, array, JSON
// lines, or armoured signed items), read as the command and the site API read it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "schemas/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto items = liaison::json::parseInput("fuzz.json", text);
  if (!items) return 0;
  for (const auto& item : *items) {
    if (const auto* owned = std::get_if<liaison::OwnedItem>(&item)) {
      auto r = owned->reader();
      if (r.which() == liaison::schema::Item::RECORD) (void)liaison::json::recordToJson(r.getRecord());
    }
  }
  return 0;
}
