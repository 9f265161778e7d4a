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
