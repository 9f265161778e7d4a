// File helpers that return errors as values with the path in the message.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace liaison {

// Reads a whole file; refuses files larger than `maxBytes`.
Result<std::string> readFile(const std::string& path, size_t maxBytes = 64u << 20);

// Writes `data` to `path` through a temporary file and rename, so readers never see half a file.
// `mode` is applied before any byte is written (0600 for keys).
Status writeFileAtomic(const std::string& path, std::string_view data, unsigned mode = 0644);

// Creates a directory (and parents) with `mode`; succeeds if it exists.
Status makeDirectories(const std::string& path, unsigned mode = 0755);

bool fileExists(const std::string& path);

// `bytes` random bytes from the kernel's CSPRNG (/dev/urandom), in hex: for API tokens.
Result<std::string> randomHexToken(size_t bytes = 32);

// Compares a presented secret (a token, a session id) with the expected one in time that depends
// only on their lengths (the length of a token is no secret).
bool sameSecret(std::string_view presented, std::string_view expected);

}  // namespace liaison
