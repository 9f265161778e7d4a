// The JSON forms of DESIGN.md ("JSON forms"): parsing with validation of every field a user
// controls, and printing records back in the same form (so an export can be published again).
//
// Errors are one line naming the file, the record (by position and id) and the field:
//   "contacts.json: record 3 (kg-x): channels[0].value: not an e-mail address"
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"
#include "schemas/item.h"

namespace liaison::json {

using Json = nlohmann::ordered_json;

// Limits on what one input may hold.
inline constexpr size_t kMaxItemsPerFile = 1'000'000;
inline constexpr size_t kMaxShortText = 256;   // names, titles, values
inline constexpr size_t kMaxLongText = 4000;   // notes, descriptions
inline constexpr size_t kMaxListItems = 32;

// What a publish file can hold: records in their JSON form (not yet signed), or items already
// signed elsewhere (member certificates and revocations, in their armoured text form).
using InputItem = std::variant<OwnedItem, SignedItem>;

// Parses one file: a JSON object, a JSON array of objects, JSON lines, or armoured signed items.
// All or nothing: the first bad record makes the whole file an error. Duplicate ids in one file
// are an error.
Result<std::vector<InputItem>> parseInput(const std::string& fileName, std::string_view text);

// Parses one JSON value holding a record (contact, instrument or notice) into an Item.
// `where` prefixes error messages.
Result<OwnedItem> recordFromJson(const Json& value, const std::string& where);

// The JSON form of a record (keys in DESIGN.md's order; empty fields left out).
Json recordToJson(schema::Record::Reader record);

// Armour: a signed item as text that survives e-mail and copy-paste.
//   -----BEGIN LIAISON SIGNED ITEM-----
//   kind: member
//   id: kg-bishkek
//
//   <base64 of the Envelope, 64 columns>
//   -----END LIAISON SIGNED ITEM-----
std::string armor(const SignedItem& item);
Result<std::vector<SignedItem>> dearmor(const std::string& fileName, std::string_view text);

}  // namespace liaison::json
