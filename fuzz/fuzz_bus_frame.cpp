// libFuzzer: a frame a peer sends on the bus (the broker's request socket, a site's answers and
// fan-out), decoded as the broker and the sites decode it, then every envelope in it decoded
// and, for alerts and answers, checked field by field as at the edge.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bus/protocol.h"
#include "schemas/alert_json.h"
#include "schemas/item.h"

namespace {
void envelope(const liaison::Bytes& bytes) {
  auto item = liaison::SignedItem::decode(bytes);
  if (!item) return;
  auto r = item->item.reader();
  if (r.which() == liaison::schema::Item::ALERT) (void)liaison::json::checkAlert(r.getAlert());
  if (r.which() == liaison::schema::Item::ACK) (void)liaison::json::checkAck(r.getAck());
  (void)liaison::itemKind(r);
  (void)liaison::itemId(r);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto message = liaison::bus::decode(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!message) return 0;
  if (auto* submit = std::get_if<liaison::bus::SubmitRequest>(&*message)) {
    for (const auto& e : submit->envelopes) envelope(e);
  } else if (auto* items = std::get_if<liaison::bus::Items>(&*message)) {
    for (const auto& e : items->entries) envelope(e.envelope);
  } else if (auto* entry = std::get_if<liaison::bus::Entry>(&*message)) {
    envelope(entry->envelope);
  } else if (auto* alert = std::get_if<liaison::bus::AlertRequest>(&*message)) {
    envelope(alert->envelope);
  } else if (auto* delivery = std::get_if<liaison::bus::Delivery>(&*message)) {
    envelope(delivery->envelope);
  } else if (auto* chunk = std::get_if<liaison::bus::SnapshotChunk>(&*message)) {
    for (const auto& e : chunk->entries) envelope(e.envelope);
  }
  // What decodes encodes again.
  (void)liaison::bus::encode(*message);
  return 0;
}
