#include "desk/assets.h"

namespace liaison::desk {

const std::string_view kDeskCss = R"CSS(
:root { --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #ffffff; --accent: #0b5cad;
        --ok: #116329; --no: #82071e; --warn: #7d4e00; --soft: #f6f8fa; }
* { box-sizing: border-box; }
html { font-size: 100%; }
body { margin: 0; font-family: "DejaVu Sans", system-ui, sans-serif; color: var(--fg); background: var(--bg);
       line-height: 1.5; }
a { color: var(--accent); }
a:focus, button:focus, input:focus, select:focus, textarea:focus { outline: 3px solid #f59e0b; outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: var(--fg); color: #fff; padding: .5rem 1rem; }
.skip:focus { left: .5rem; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.5rem; padding: .6rem 1rem;
         border-bottom: 1px solid var(--line); background: var(--soft); }
.brand { font-weight: bold; font-size: 1.15rem; }
.brand .site { font-weight: normal; color: var(--muted); font-size: .9rem; }
nav ul { display: flex; flex-wrap: wrap; gap: .25rem 1rem; list-style: none; margin: 0; padding: 0; }
nav a { text-decoration: none; padding: .25rem .1rem; }
nav a[aria-current="page"] { font-weight: bold; border-bottom: 3px solid var(--accent); }
.tools { margin-left: auto; display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; }
.badge { display: inline-block; min-width: 1.4em; padding: 0 .35em; border-radius: 1em; background: var(--no);
         color: #fff; font-size: .8rem; text-align: center; }
.badge:empty { display: none; }
main { padding: 1rem; max-width: 75rem; margin: 0 auto; }
footer { padding: 1rem; color: var(--muted); font-size: .85rem; text-align: center; }
h1 { font-size: 1.6rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; }
form.filters, form#alert-form, form#answer-form, form#update-form, form#cancel-form,
form#open-form, form#status-form {
  display: flex; flex-wrap: wrap; gap: .75rem 1rem; align-items: flex-end; margin-bottom: 1rem; }
fieldset { border: 1px solid var(--line); padding: .75rem; display: flex; flex-wrap: wrap; gap: .75rem 1rem;
           width: 100%; margin: 0; }
legend { font-weight: bold; padding: 0 .25rem; }
.field { display: flex; flex-direction: column; min-width: 10rem; flex: 1 1 12rem; }
.field.wide { flex-basis: 100%; }
.field.check { flex-direction: row; align-items: center; gap: .4rem; flex: 0 1 auto; min-width: 0; }
label { font-size: .9rem; color: var(--muted); }
.check label { color: var(--fg); }
input, select, textarea, button { font: inherit; padding: .4rem .5rem; border: 1px solid #8c959f; border-radius: 4px;
                                  max-width: 100%; }
input[type="checkbox"] { width: 1.2rem; height: 1.2rem; }
button, .button { background: var(--accent); color: #fff; border: 1px solid var(--accent); cursor: pointer;
                  padding: .45rem 1rem; border-radius: 4px; text-decoration: none; display: inline-block; }
button.secondary { background: #fff; color: var(--accent); }
button.danger { background: var(--no); border-color: var(--no); }
button.link { background: none; border: none; color: var(--accent); text-decoration: underline; padding: 0; }
form.inline { display: inline; }
.actions { display: flex; gap: .5rem; flex-wrap: wrap; width: 100%; }
table { border-collapse: collapse; width: 100%; display: block; overflow-x: auto; }
caption { text-align: left; color: var(--muted); padding: .25rem 0; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { background: var(--soft); }
tr.open td:first-child { font-weight: bold; color: var(--no); }
.original { color: var(--muted); font-weight: normal; }
.yes { color: var(--ok); }
.no { color: var(--no); }
.stale, .tag { display: inline-block; font-size: .8rem; padding: 0 .4rem; border-radius: 3px; background: #fff8c5;
               color: var(--warn); border: 1px solid #d4a72c; }
.tag.red { background: #ffebe9; color: var(--no); border-color: #ff8182; }
.notice { padding: .6rem .8rem; border-radius: 4px; border: 1px solid var(--line); background: var(--soft); }
.notice.error { background: #ffebe9; border-color: #ff8182; color: var(--no); }
.notice.warn { background: #fff8c5; border-color: #d4a72c; color: var(--warn); }
.notice.ok { background: #dafbe1; border-color: #4ac26b; color: var(--ok); }
tr.overdue td { background: #fff5f5; }
tr.todo .request-state { font-weight: bold; color: var(--no); }
form.compact .field.narrow { flex: 0 1 18rem; }
form.compact .actions { width: auto; }
form#open-form .field { flex: 0 1 24rem; }
form#open-form .actions { width: auto; }
.reminder { white-space: nowrap; }
ul.files { list-style: none; margin: 0; padding: 0; }
ul.files li { padding: .15rem 0; overflow-wrap: anywhere; }
ol.trail { padding-left: 1.5rem; }
ol.trail li { padding: .35rem 0; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
code { font-size: .85em; }
.banner { background: #ddf4ff; border-bottom: 1px solid #54aeff; padding: .5rem 1rem; font-weight: bold; }
dl.card { display: grid; grid-template-columns: minmax(8rem, 14rem) 1fr; gap: .3rem 1rem; margin: 1rem 0; }
dl.card dt { color: var(--muted); }
dl.card dd { margin: 0; overflow-wrap: anywhere; }
.text { white-space: pre-wrap; }
ul.channels { list-style: none; padding: 0; }
ul.channels li { padding: .3rem 0; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
ul.channels .kind { display: inline-block; min-width: 9rem; color: var(--muted); }
.pref { font-size: .8rem; color: var(--ok); }
.note, .hint { color: var(--muted); font-size: .9rem; }
.availability { font-size: 1.05rem; }
.state { font-weight: bold; }
pre { background: var(--soft); padding: .5rem; }
@media (max-width: 40rem) {
  dl.card { grid-template-columns: 1fr; }
  dl.card dd { margin-bottom: .5rem; }
  .tools { margin-left: 0; }
  .field { flex-basis: 100%; }
}
)CSS";

const std::string_view kDeskJs = R"JS(
"use strict";
(function () {
  var lang = document.documentElement.lang || "en";
  // The reader's own locale when it is in the page's language (en-GB dates for an en-GB browser).
  var locale = lang;
  var prefs = navigator.languages || [navigator.language || ""];
  for (var p = 0; p < prefs.length; p++) {
    if (prefs[p] && prefs[p].split("-")[0].toLowerCase() === lang) { locale = prefs[p]; break; }
  }

  // Times in the reader's locale and time zone.
  function formatTimes(root) {
    var stamps = root.querySelectorAll("time[datetime]");
    for (var i = 0; i < stamps.length; i++) {
      var t = stamps[i], v = t.getAttribute("datetime");
      var d = new Date(v);
      if (isNaN(d.getTime())) continue;
      var opts = t.hasAttribute("data-date") ? { dateStyle: "medium", timeZone: "UTC" }
                                             : { dateStyle: "medium", timeStyle: "short" };
      try { t.textContent = new Intl.DateTimeFormat(locale, opts).format(d); t.title = v; } catch (e) {}
    }
  }

  // Results as you type: the form's fields go to the same URL with fragment=1; the newest answer wins.
  function liveSearch(form) {
    var target = document.getElementById(form.getAttribute("data-live"));
    var timer = null, seq = 0;
    function run() {
      var params = new URLSearchParams(new FormData(form));
      var mine = ++seq;
      history.replaceState(null, "", form.action + "?" + params.toString());
      params.set("fragment", "1");
      fetch(form.action + "?" + params.toString(), { credentials: "same-origin" }).then(function (r) {
        if (r.status === 401) { location.reload(); return null; }
        return r.text();
      }).then(function (html) {
        if (html === null || mine !== seq) return;
        target.innerHTML = html;
        formatTimes(target);
      }).catch(function () {});
    }
    function later() { clearTimeout(timer); timer = setTimeout(run, 120); }
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    form.addEventListener("submit", function (e) { e.preventDefault(); run(); });
  }

  // The alert badge, the inbox and the "new alert" banner, without a reload.
  function poll(url) {
    var badge = document.getElementById("alert-badge");
    var inbox = document.getElementById("inbox");
    var banner = document.getElementById("new-alert");
    var seen = inbox ? inbox.getAttribute("data-version") : null, stopped = false;
    function tick() {
      if (stopped) return;
      fetch(url, { credentials: "same-origin" }).then(function (r) {
        if (r.status === 401) { stopped = true; return null; }
        return r.json();
      }).then(function (s) {
        if (!s) return;
        if (badge) badge.textContent = s.open > 0 ? String(s.open) : "";
        if (seen !== null && s.version !== seen) {
          if (inbox) {
            fetch(inbox.getAttribute("data-refresh"), { credentials: "same-origin" }).then(function (r) {
              return r.ok ? r.text() : null;
            }).then(function (html) {
              if (html !== null) { inbox.innerHTML = html; formatTimes(inbox); }
            });
          } else if (banner && s.open > 0) {
            banner.hidden = false;
          }
        }
        seen = s.version;
      }).catch(function () {}).then(function () { setTimeout(tick, 2000); });
    }
    tick();
  }

  document.addEventListener("DOMContentLoaded", function () {
    formatTimes(document);
    var forms = document.querySelectorAll("form[data-live]");
    for (var i = 0; i < forms.length; i++) liveSearch(forms[i]);
    var url = document.body.getAttribute("data-poll");
    if (url) poll(url);
  });
})();
)JS";

}  // namespace liaison::desk
