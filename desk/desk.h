// The desk (DESIGN.md, "The desk"): the web page people at a site use — search, counterpart,
// contact cards, alerts, MLA requests, notices, status — in English and Russian, served by
// `liaison-site` on its API address beside the local HTTP API, from the site's own replica, inbox
// and request store (nothing is fetched from outside; it works with the link down).
//
// Pages (every one needs a session except /signin, /lang and /static/*):
//   GET  /signin?code=C        exchanges a one-time code from `liaison desk` for a session
//   POST /signout              ends it
//   GET  /lang?to=ru&back=/p   switches the language (a cookie that sticks) and goes back
//   GET  /search               every filter of `find`; ?fragment=1 answers the results alone
//                              (the page asks for them as you type)
//   GET  /counterpart          from, to, topic, competence, language → ranked focal points
//   GET  /contact?id=ID        the card;  /contact/vcard?id=ID the vCard
//   GET  /alerts               inbox (open first); ?fragment=1 the list alone
//   GET  /alerts/poll          {"version", "open"}: the page refreshes itself when it changes
//   GET  /alerts/new           the form;  POST /alerts sends
//   GET  /alerts/view?id=ID    detail, every target's state and the answers
//   POST /alerts/answer        acknowledge or decline (name, comment);  /alerts/update,
//                              /alerts/cancel
//   GET  /requests             MLA requests, incoming and outgoing (?direction=incoming|outgoing,
//                              ?open=1): case, other side, measures, state, deadline and reminder
//   GET  /requests/view?id=ID  its fields, files and signed trail (and whether the trail checks);
//                              for an incoming one the recipient's forms below
//   POST /requests/open        signs "opened" with a person's name (incoming, delivered)
//   GET  /requests/file?id=ID&f=N  a file of an opened incoming request, decrypted chunk by chunk
//   POST /requests/status      one of the six statuses (name, reference, comment; a refusal's
//                              grounds required)
//   GET  /notices              Interpol Yellow and Red notices, by type and nationality
//   GET  /status               connected, lag, counts, refusals, peerings
// Security: session cookie HttpOnly, SameSite=Strict; a CSRF token in every form, checked on
// every POST (and the Origin, when the browser sends one); the Host header must be the address
// the site listens on (127.0.0.1:PORT, or localhost:PORT); Content-Security-Policy without inline
// script or style; every text from a record or an alert escaped; Cache-Control: no-store. No
// session: 401 and the sign-in page, never data.
#pragma once

#include <memory>

#include "common/clock.h"
#include "directory/directory.h"
#include "directory/site.h"
#include "site/api.h"
#include "site/service.h"
#include "trust/keys.h"

namespace liaison::desk {

// The desk for a site daemon: give it to site::ApiServer::start. Everything is borrowed and must
// outlive the desk; `clock` times sign-in codes and sessions.
std::unique_ptr<site::WebPages> makeDesk(const directory::SiteConfig& config,
                                         site::SiteService& service, const trust::KeyPair& keys,
                                         const directory::Directory& dir, const Clock& clock);

}  // namespace liaison::desk
