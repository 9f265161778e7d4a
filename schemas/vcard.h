// A contact as a vCard 4.0 (RFC 6350), for address books: `liaison find --format vcard` and the
// desk's download. Pure; no I/O.
#pragma once

#include <string>

#include "schemas/record.capnp.h"

namespace liaison::vcard {

// One vCard 4.0 for a contact: CRLF line ends, lines folded at 75 octets, text escaped. What
// vCard has no property for is carried in X-LIAISON-* properties.
std::string contactVcard(schema::Record::Reader record);

}  // namespace liaison::vcard
