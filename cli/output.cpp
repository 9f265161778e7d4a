#include "cli/output.h"

#include <algorithm>

#include "common/clock.h"
#include "common/encoding.h"

namespace liaison::cli {

namespace {

std::string str(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }

// Cuts `s` to at most `width` code points.
std::string cut(const std::string& s, size_t width) {
  if (utf8Length(s) <= width) return s;
  std::string out;
  size_t count = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    bool start = (static_cast<uint8_t>(s[i]) & 0xc0) != 0x80;
    if (start && ++count > width - 1) break;
    out.push_back(s[i]);
  }
  return out + "…";
}

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
      case '\\': out += "\\\\"; break;
      case ',': out += "\\,"; break;
      case ';': out += "\\;"; break;
      case '\n': out += "\\n"; break;
      case '\r': break;
      default: out.push_back(c);
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

std::string renderTable(const std::vector<std::string>& headers,
                        const std::vector<std::vector<std::string>>& rows, size_t maxWidth) {
  std::vector<size_t> widths(headers.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], std::min(utf8Length(row[i]), maxWidth));
    }
  };
  measure(headers);
  for (const auto& r : rows) measure(r);
  std::string out;
  auto emit = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < widths.size(); ++i) {
      std::string cell = i < row.size() ? cut(row[i], maxWidth) : "";
      line += cell;
      if (i + 1 < widths.size()) line += std::string(widths[i] - utf8Length(cell) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  };
  emit(headers);
  for (const auto& r : rows) emit(r);
  return out;
}

std::string preferredChannel(schema::Contact::Reader contact) {
  auto channels = contact.getChannels();
  if (channels.size() == 0) return "";
  auto pick = channels[0];
  for (auto ch : channels) {
    if (ch.getPreferred()) {
      pick = ch;
      break;
    }
  }
  return str(pick.getKind()) + " " + str(pick.getValue());
}

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
      line("X-LIAISON-" + std::string(kind == "i24-7" ? "I24-7" : "SECURE-MESSAGING") + ":" + value);
    }
    if (ch.getNote().size() > 0) line("X-LIAISON-CHANNEL-NOTE:" + value + " — " + escapeText(str(ch.getNote())));
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
  if (a.getAfterHours().size() > 0) line("X-LIAISON-AFTER-HOURS:" + escapeText(str(a.getAfterHours())));
  if (a.getOutOfOfficeUntil().size() > 0) {
    line("X-LIAISON-OUT-OF-OFFICE-UNTIL:" + str(a.getOutOfOfficeUntil()));
  }
  if (a.getDeputyId().size() > 0) line("X-LIAISON-DEPUTY:" + escapeText(str(a.getDeputyId())));
  auto v = c.getVerification();
  if (v.getVerifiedBy().size() > 0) line("X-LIAISON-VERIFIED-BY:" + escapeText(str(v.getVerifiedBy())));
  if (v.getReviewDue().size() > 0) line("X-LIAISON-REVIEW-DUE:" + str(v.getReviewDue()));
  if (c.getRequiresEncryption()) line("X-LIAISON-REQUIRES-ENCRYPTION:true");
  if (c.getRequiresESignature()) line("X-LIAISON-REQUIRES-E-SIGNATURE:true");
  out += "END:VCARD\r\n";
  return out;
}

std::string recordDetails(schema::Record::Reader record, bool stale, bool availableNow) {
  std::string out;
  auto field = [&](const char* name, const std::string& value) {
    if (!value.empty()) out += std::string(name) + ": " + value + "\n";
  };
  field("id", str(record.getId()));
  field("revision", std::to_string(record.getRevision()));
  field("status", str(record.getStatus()));
  auto body = record.getBody();
  switch (body.which()) {
    case schema::Record::Body::CONTACT: {
      auto c = body.getContact();
      auto n = c.getName();
      std::string name = str(n.getHonorific());
      if (!name.empty()) name += " ";
      name += str(n.getLatin());
      if (n.getOriginal().size() > 0) name += " (" + str(n.getOriginal()) + ")";
      field("name", name);
      field("kind", str(c.getContactKind()));
      field("title", str(c.getTitle()));
      field("role", str(c.getRole()));
      field("organization", str(c.getOrganization()));
      field("unit", str(c.getUnit()));
      std::string where = str(c.getLocality());
      field("country", str(c.getCountry()) + (where.empty() ? "" : " (" + where + ")"));
      field("body", str(c.getBody()));
      field("networks", joined(c.getNetworks(), ", "));
      field("competences", joined(c.getCompetences(), ", "));
      field("topics", joined(c.getTopics(), ", "));
      field("legal bases", joined(c.getLegalBases(), ", "));
      field("languages", joined(c.getLanguages(), ", "));
      for (auto ch : c.getChannels()) {
        std::string v = str(ch.getValue());
        if (ch.getNote().size() > 0) v += " (" + str(ch.getNote()) + ")";
        if (ch.getPreferred()) v += " [preferred]";
        field(("  " + str(ch.getKind())).c_str(), v);
      }
      if (c.getRequiresEncryption()) field("requires", "encryption");
      if (c.getRequiresESignature()) field("requires", "e-signature");
      auto a = c.getAvailability();
      std::string hours = a.getAlways() ? "24/7" : str(a.getHours());
      if (a.getTimezone().size() > 0) hours += " (" + str(a.getTimezone()) + ")";
      field("hours", hours);
      field("after hours", str(a.getAfterHours()));
      if (a.getOutOfOfficeUntil().size() > 0) {
        std::string away = "until " + str(a.getOutOfOfficeUntil());
        if (a.getDeputyId().size() > 0) away += ", deputy " + str(a.getDeputyId());
        field("out of office", away);
      }
      field("available now", availableNow ? "yes" : "no");
      auto v = c.getVerification();
      std::string verified = str(v.getVerifiedAt());
      if (v.getVerifiedBy().size() > 0) verified += " by " + str(v.getVerifiedBy());
      field("verified", verified);
      field("review due", str(v.getReviewDue()) + (stale ? " (STALE: past review)" : ""));
      field("notes", str(c.getNotes()));
      break;
    }
    case schema::Record::Body::INSTRUMENT: {
      auto i = body.getInstrument();
      field("kind", "instrument");
      field("name", str(i.getName()));
      field("type", str(i.getType()));
      field("parties", joined(i.getParties(), ", "));
      field("covers", joined(i.getCovers(), ", "));
      field("notes", str(i.getNotes()));
      break;
    }
    case schema::Record::Body::NOTICE: {
      auto n = body.getNotice();
      field("kind", "notice (" + str(n.getNoticeType()) + ")");
      field("entity", str(n.getEntityId()));
      field("name", str(n.getForename()) + " " + str(n.getName()));
      field("born", str(n.getDateOfBirth()));
      field("nationalities", joined(n.getNationalities(), ", "));
      field("link", str(n.getLink()));
      break;
    }
  }
  return out;
}

}  // namespace liaison::cli
