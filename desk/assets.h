// The desk's stylesheet and script, built into the binary (nothing is fetched from outside).
#pragma once

#include <string_view>

namespace liaison::desk {

extern const std::string_view kDeskCss;
// Plain JavaScript, no inline script anywhere (the Content-Security-Policy forbids it):
// times shown in the reader's locale and time zone, search results as you type, and the alert
// badge and inbox refreshed without a reload.
extern const std::string_view kDeskJs;

}  // namespace liaison::desk
