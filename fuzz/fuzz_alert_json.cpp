// libFuzzer: the bodies of the site API's alert requests (POST /v1/alerts: an alert's JSON form;
// its CAP rendering) read as the API reads them, and what they make checked again as a peer's.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "schemas/alert_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto j = liaison::json::Json::parse(text, nullptr, false);
  if (j.is_discarded()) return 0;
  liaison::json::AlertDefaults defaults{"7f0c9a52-3f7e-4c1e-9d8a-2b1e5c4d7a10", "kg-bishkek", "2026-11-28T10:00:00Z"};
  auto item = liaison::json::alertFromJson(j, defaults, "fuzz");
  if (!item) return 0;
  auto alert = item->reader().getAlert();
  if (!liaison::json::checkAlert(alert)) __builtin_trap();  // what the API makes, a peer accepts
  (void)liaison::json::alertToCap(alert);
  (void)liaison::json::alertToJson(alert).dump();
  return 0;
}
