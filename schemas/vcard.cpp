// vCard 4.0 for a contact (schemas/vcard.h).
#include "schemas/vcard.h"

#include <algorithm>

#include "common/clock.h"

namespace liaison::vcard {

namespace {

std::string str(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }

template <typename List>
std::string joined(List list, const char* sep = ",") {
  std::string out;
  for (auto t : list) {
    if (!out.empty()) out += sep;
    out += str(t);
  }
  return out;
}

std::string escapeText(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case ',':
        out += "\\,";
        break;
      case ';':
        out += "\\;";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// Folds a content line at 75 octets without splitting a UTF-8 sequence; adds CRLF.
std::string fold(const std::string& line) {
  std::string out;
  size_t width = 0;
  for (size_t i = 0; i < line.size();) {
    size_t len = 1;
    auto c = static_cast<uint8_t>(line[i]);
    if (c >= 0xf0) {
      len = 4;
    } else if (c >= 0xe0) {
      len = 3;
    } else if (c >= 0xc0) {
      len = 2;
    }
    if (width + len > 75) {
      out += "\r\n ";
      width = 1;
    }
    out.append(line, i, len);
    width += len;
    i += len;
  }
  return out + "\r\n";
}

}  // namespace

std::string contactVcard(schema::Record::Reader record) {
  auto c = record.getBody().getContact();
  std::string out = "BEGIN:VCARD\r\nVERSION:4.0\r\n";
  auto line = [&](const std::string& s) { out += fold(s); };
  auto name = c.getName();
  std::string latin = str(name.getLatin());
  bool person = c.getContactKind() == "person" || c.getContactKind().size() == 0;
  line("KIND:" + std::string(person ? "individual" : "org"));
  line("UID:urn:liaison:" + escapeText(str(record.getId())));
  line("FN:" + escapeText(latin));
  if (person) {
    size_t space = latin.rfind(' ');
    std::string family = space == std::string::npos ? latin : latin.substr(space + 1);
    std::string given = space == std::string::npos ? "" : latin.substr(0, space);
    line("N:" + escapeText(family) + ";" + escapeText(given) + ";;" +
         escapeText(str(name.getHonorific())) + ";");
  } else {
    line("N:;;;;");
  }
  if (name.getOriginal().size() > 0) {
    line("X-LIAISON-ORIGINAL-NAME:" + escapeText(str(name.getOriginal())));
  }
  std::string org = escapeText(str(c.getOrganization()));
  if (c.getUnit().size() > 0) org += ";" + escapeText(str(c.getUnit()));
  line("ORG:" + org);
  if (c.getTitle().size() > 0) line("TITLE:" + escapeText(str(c.getTitle())));
  line("ROLE:" + escapeText(str(c.getRole())));
  int pref = 1;
  for (auto ch : c.getChannels()) {
    std::string kind = str(ch.getKind());
    std::string value = escapeText(str(ch.getValue()));
    std::string params = ch.getPreferred() ? ";PREF=" + std::to_string(pref++) : "";
    if (kind == "email") {
      line("EMAIL;TYPE=work" + params + ":" + value);
    } else if (kind == "phone") {
      line("TEL;TYPE=work,voice" + params + ":" + value);
    } else if (kind == "mobile") {
      line("TEL;TYPE=cell" + params + ":" + value);
    } else if (kind == "fax") {
      line("TEL;TYPE=fax" + params + ":" + value);
    } else if (kind == "post") {
      line("ADR;TYPE=work;LABEL=\"" + str(ch.getValue()) + "\":;;;;;;");
    } else {
      line("X-LIAISON-" + std::string(kind == "i24-7" ? "I24-7" : "SECURE-MESSAGING") + ":" +
           value);
    }
    if (ch.getNote().size() > 0)
      line("X-LIAISON-CHANNEL-NOTE:" + value + " — " + escapeText(str(ch.getNote())));
  }
  int langPref = 1;
  for (auto l : c.getLanguages()) line("LANG;PREF=" + std::to_string(langPref++) + ":" + str(l));
  auto a = c.getAvailability();
  if (a.getTimezone().size() > 0) line("TZ:" + escapeText(str(a.getTimezone())));
  if (c.getLocality().size() > 0 || c.getCountry().size() > 0) {
    line("ADR;TYPE=work:;;;" + escapeText(str(c.getLocality())) + ";;;" + str(c.getCountry()));
  }
  if (c.getNotes().size() > 0) line("NOTE:" + escapeText(str(c.getNotes())));
  auto verifiedAt = str(c.getVerification().getVerifiedAt());
  if (auto days = parseDate(verifiedAt)) {
    std::string d = formatDate(*days);
    d.erase(std::remove(d.begin(), d.end(), '-'), d.end());
    line("REV:" + d + "T000000Z");
  }
  line("X-LIAISON-REVISION:" + std::to_string(record.getRevision()));
  line("X-LIAISON-STATUS:" + str(record.getStatus()));
  line("X-LIAISON-COUNTRY:" + str(c.getCountry()));
  if (c.getNetworks().size() > 0) line("X-LIAISON-NETWORKS:" + escapeText(joined(c.getNetworks())));
  if (c.getCompetences().size() > 0) {
    line("X-LIAISON-COMPETENCES:" + escapeText(joined(c.getCompetences())));
  }
  if (c.getTopics().size() > 0) line("X-LIAISON-TOPICS:" + escapeText(joined(c.getTopics())));
  if (c.getLegalBases().size() > 0) {
    line("X-LIAISON-LEGAL-BASES:" + escapeText(joined(c.getLegalBases())));
  }
  if (c.getBody().size() > 0) line("X-LIAISON-BODY:" + str(c.getBody()));
  if (a.getAlways()) line("X-LIAISON-24-7:true");
  if (a.getHours().size() > 0) line("X-LIAISON-HOURS:" + escapeText(str(a.getHours())));
  if (a.getAfterHours().size() > 0)
    line("X-LIAISON-AFTER-HOURS:" + escapeText(str(a.getAfterHours())));
  if (a.getOutOfOfficeUntil().size() > 0) {
    line("X-LIAISON-OUT-OF-OFFICE-UNTIL:" + str(a.getOutOfOfficeUntil()));
  }
  if (a.getDeputyId().size() > 0) line("X-LIAISON-DEPUTY:" + escapeText(str(a.getDeputyId())));
  auto v = c.getVerification();
  if (v.getVerifiedBy().size() > 0)
    line("X-LIAISON-VERIFIED-BY:" + escapeText(str(v.getVerifiedBy())));
  if (v.getReviewDue().size() > 0) line("X-LIAISON-REVIEW-DUE:" + str(v.getReviewDue()));
  if (c.getRequiresEncryption()) line("X-LIAISON-REQUIRES-ENCRYPTION:true");
  if (c.getRequiresESignature()) line("X-LIAISON-REQUIRES-E-SIGNATURE:true");
  out += "END:VCARD\r\n";
  return out;
}

}  // namespace liaison::vcard
