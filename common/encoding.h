// Text encodings used in key files, certificates and armoured items.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace liaison {

using Bytes = std::vector<uint8_t>;

std::string toHex(std::span<const uint8_t> bytes);
std::optional<Bytes> fromHex(std::string_view text);

std::string toBase64(std::span<const uint8_t> bytes);
// Accepts standard base64 with padding; whitespace is ignored. nullopt on any other byte.
std::optional<Bytes> fromBase64(std::string_view text);

// ZeroMQ's Z85 (RFC 32): input length must be a multiple of 4 bytes, text of 5 characters.
std::string toZ85(std::span<const uint8_t> bytes);
std::optional<Bytes> fromZ85(std::string_view text);

// True when `text` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
// On failure `badOffset` (if given) receives the offset of the first bad byte.
bool isValidUtf8(std::string_view text, size_t* badOffset = nullptr);

// A u64 as 8 big-endian bytes (LMDB keys that sort in numeric order), and back (a shorter
// input reads as its bytes so far).
std::string u64be(uint64_t v);
uint64_t readU64be(std::string_view s);

// "a,b,,c" → {"a", "b", "c"}: the parts between separators, empty ones dropped.
std::vector<std::string> splitList(std::string_view text, char separator = ',');

// Number of code points in valid UTF-8.
size_t utf8Length(std::string_view text);

}  // namespace liaison
