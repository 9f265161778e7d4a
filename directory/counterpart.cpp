// findCounterparts (directory.h): the query behind `liaison counterpart` and the desk's page.
#include <set>

#include "directory/directory.h"

namespace liaison::directory {

namespace {
std::string str(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }
}  // namespace

Result<Counterparts> findCounterparts(const Directory& dir, const std::string& from,
                                      const std::string& to, const Query& base, int64_t now) {
  Query q = base;
  q.kind = "contact";
  q.country = to;
  q.anyOfRoles = {"central-authority", "prosecutor",      "network-contact-point",
                  "interpol-ncb",      "liaison-officer", "investigator"};
  // For formal requests the central authority comes first; for police cooperation the NCB.
  q.rolePreference = {"central-authority", "prosecutor",   "network-contact-point",
                      "liaison-officer",   "interpol-ncb", "investigator"};
  if (q.competence == "joint-investigation" || q.competence == "spontaneous-information") {
    q.rolePreference = {"prosecutor",      "investigator",      "interpol-ncb",
                        "liaison-officer", "central-authority", "network-contact-point"};
  }
  for (const auto& l : countryLanguages(from)) q.preferLanguages.push_back(l);
  q.preferLanguages.emplace_back("en");
  auto hits = dir.find(q, now);
  if (!hits) return hits.error();

  Counterparts out;
  // Legal bases: instruments both are party to, and bilateral arrangements named by the
  // counterparts.
  Query iq;
  iq.kind = "instrument";
  iq.parties = {from, to};
  iq.limit = 100;
  auto instruments = dir.find(iq, now);
  if (!instruments) return instruments.error();
  std::set<std::string> seenBases;
  for (const auto& i : *instruments) {
    auto r = i.stored.record();
    auto covers = r.getBody().getInstrument().getCovers();
    bool fits = !q.competence || covers.size() == 0;
    for (auto c : covers) fits = fits || str(c) == *q.competence;
    if (!fits) continue;
    seenBases.insert(str(r.getId()));
    out.legalBases.emplace_back(str(r.getId()), str(r.getBody().getInstrument().getName()));
  }
  std::set<std::string> languages;
  for (const auto& h : *hits) {
    auto c = h.stored.record().getBody().getContact();
    for (auto b : c.getLegalBases()) {
      std::string basis = str(b);
      if (basis == "bilateral:" + from && seenBases.insert(basis).second) {
        out.legalBases.emplace_back(
            basis, "bilateral arrangement with " + from + " named by a focal point");
      }
    }
    for (auto l : c.getLanguages()) {
      std::string p(str(l).substr(0, str(l).find('-')));
      for (const auto& want : q.preferLanguages) {
        if (p == want) languages.insert(p);
      }
    }
  }
  out.hits = std::move(hits).value();
  out.sharedLanguages.assign(languages.begin(), languages.end());
  return out;
}

}  // namespace liaison::directory
