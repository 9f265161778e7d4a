// libFuzzer: a site's configuration file (DIR/site.toml), read as the daemon and the command read it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "directory/site.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)liaison::directory::parseSiteConfig("/nonexistent", "site.toml",
                                            std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
