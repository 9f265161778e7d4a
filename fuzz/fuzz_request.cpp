// libFuzzer: what a peer sends of an MLA request: a sealed request (as a broker stores it and a
// site receives it) and a signed step of a trail, decoded as the edge decodes them; what decodes
// is opened with a fixed key (it must fail cleanly), its steps checked as a trail.
#include <cstddef>
#include <cstdint>
#include <span>

#include "requests/request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const liaison::trust::KeyPair keys = liaison::trust::generateKeyPair();
  const std::span<const uint8_t> bytes(data, size);
  if (auto sealed = liaison::requests::decodeSealed(bytes)) {
    (void)liaison::requests::open(*sealed, keys);
    (void)liaison::requests::encode(*sealed);
  }
  if (auto step = liaison::requests::decodeStep(bytes)) {
    liaison::requests::Sealed none;
    none.id = step->step.requestId;
    (void)liaison::requests::verifyTrail({*step}, none, {});
  }
  return 0;
}
