// The JSON form of an alert (DESIGN.md, "JSON forms"), and its CAP 1.2 XML form.
//
// Checks every field a sender controls: CAP's words for status, msgType, urgency, severity and
// certainty; targets that name real countries, roles, networks, record ids and site ids; an
// ISO 8601 `expires` and `sent`; an ISO 8601 duration for `ackDeadline`; references for an
// update or cancel (and none for an alert); text lengths (headline 256, description and
// instruction 8,000 characters). Errors name the field, as the record forms do.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "schemas/json.h"

namespace liaison::json {

inline constexpr size_t kMaxAlertText = 8000;

// What the sender does not write but the sending site fills in.
struct AlertDefaults {
  std::string id;          // used when the JSON has no "id" (a UUID made by the caller)
  std::string senderSite;  // the sending site's id
  std::string sent;        // ISO 8601 time of sending
};

// Parses one alert object into an Item (alert). `where` prefixes error messages.
Result<OwnedItem> alertFromJson(const Json& value, const AlertDefaults& defaults,
                                const std::string& where);
Json alertToJson(schema::Alert::Reader alert);

// A CAP 1.2 <alert> (urn:oasis:names:tc:emergency:cap:1.2) for the alert.
std::string alertToCap(schema::Alert::Reader alert);

// Checks an alert a peer sent, field by field, as alertFromJson checks the JSON form (the broker
// and a receiving site call this at the edge). Errors name the field.
Status checkAlert(schema::Alert::Reader alert);

// Answers to an alert (schema Ack): an automatic receipt, or a person's acknowledgement or
// refusal. `at` is ISO 8601.
inline constexpr std::string_view kReceipt = "receipt";
inline constexpr std::string_view kAcknowledged = "acknowledged";
inline constexpr std::string_view kDeclined = "declined";
inline constexpr size_t kMaxAckComment = 2000;
bool isAnswerKind(std::string_view kind);
OwnedItem ackItem(const std::string& alertId, const std::string& site, std::string_view kind,
                  const std::string& by, const std::string& comment, const std::string& at,
                  const std::string& reference = {});
// Checks an answer a peer sent: kind, a person for acknowledged/declined, lengths, the time.
Status checkAck(schema::Ack::Reader ack);
Json ackToJson(schema::Ack::Reader ack);
// A CAP 1.2 message of msgType "Ack" referring to `alert`.
std::string ackToCap(schema::Ack::Reader ack, schema::Alert::Reader alert);

// A random RFC 4122 version 4 UUID.
std::string newUuid();

}  // namespace liaison::json
