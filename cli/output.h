// What the `liaison` command prints: tables for people, vCard 4.0 for address books.
#pragma once

#include <string>
#include <vector>

#include "schemas/record.capnp.h"
#include "schemas/vcard.h"

namespace liaison::cli {

// A plain-text table; cells longer than `maxWidth` characters are cut with "…".
std::string renderTable(const std::vector<std::string>& headers,
                        const std::vector<std::vector<std::string>>& rows, size_t maxWidth = 40);

// One vCard 4.0 (RFC 6350) for a contact (schemas/vcard.h).
using vcard::contactVcard;

// A readable block ("Field: value" lines) describing one record.
std::string recordDetails(schema::Record::Reader record, bool stale, bool availableNow);

// The contact's preferred channel as "kind value" (the first if none is marked preferred).
std::string preferredChannel(schema::Contact::Reader contact);

}  // namespace liaison::cli
