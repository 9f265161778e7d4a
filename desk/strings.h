// Every word of the desk in English and Russian: labels, messages, errors, and the vocabularies
// (roles, topics, competences, channel kinds, alert words, states). Country and language names
// come from ICU's locale data in the reader's language.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "desk/core.h"

namespace liaison::desk {

// The text in `lang`; the key is the English text. A key with no Russian is shown in English and
// counted (missingTranslations(); tests render every page in Russian and expect 0).
std::string_view tr(Lang lang, std::string_view english);
// `text` with each "{}" replaced by the next argument, in order.
std::string subst(std::string_view text, std::initializer_list<std::string_view> args);
// A vocabulary word: `vocabulary` is role, competence, topic, channel, urgency, severity,
// certainty, status (actual/exercise/test), msgType, state (an alert's or a target's), notice,
// kind (person/desk/authority), body; for MLA requests: measure, request (a request's state, its
// statuses among them), step (a step of its trail), direction (incoming/outgoing). Unknown values
// are shown as they are.
std::string word(Lang lang, std::string_view vocabulary, std::string_view value);
// "Kyrgyzstan" / "Киргизия" for "KG" (the code itself when ICU has no name).
std::string countryName(Lang lang, std::string_view code);
// "Russian" / "русский" for "ru" (the tag itself when ICU has no name).
std::string languageName(Lang lang, std::string_view tag);
size_t missingTranslations();

// The vocabularies' words the pages offer in lists, in order.
std::span<const std::string_view> knownTopics();
std::span<const std::string_view> regionCountries();
// Every (English, Russian) pair, for the tests.
size_t translationCount();
std::string_view translationAt(size_t i, Lang lang);

}  // namespace liaison::desk
