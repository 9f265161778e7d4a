#!/usr/bin/python3
"""The desk in a real browser (DESIGN.md, "The desk"; issue 12, "Tests").

Stands up a real network on 127.0.0.1 in a temporary folder (a root key, a broker, the site
daemons of Bishkek (KG), Almaty (KZ) and the CASC secretariat, every port chosen free by the
processes themselves), publishes a few contact records and an instrument, and drives headless Chromium (Debian's chromium, chromium-driver
and python3-selenium) through the desk of Bishkek:

  sign in with a one-time link; search as you type, a Cyrillic surname finding a Latin-only record;
  the contact card (tel:/mailto: links, local time, deputy, vCard); Russian, and that the choice
  sticks; a record's text with <script> in it shown as text; the inbox refreshing itself (no reload)
  when Almaty sends an alert from the command line; acknowledging it with a name and a comment;
  the acknowledgement seen by the sender, both with `liaison alert show` and in Almaty's own desk
  (signed in beside Bishkek's in the same browser); an alert sent, updated and cancelled from
  Almaty's desk and received so at Bishkek; signing out; counterpart, notices, status; an MLA
  request sent by Almaty from the command line, listed, opened, its file downloaded and a status
  set at Bishkek's desk, in English and in Russian.

A form the desk refuses is a failed check, but the run goes on (the same form sent again by fetch())
so that one run reports everything that follows; the run still exits 1.

Saves a screenshot of every page it visits in $LIAISON_ARTIFACTS (default
build/test-artifacts/desk under the repository), prints the search page's first contentful paint
(a figure, never asserted) and fails on severe console errors (favicon aside).

Every process it starts is stopped by its PID; the temporary folder is removed unless --keep.
Exits 0 when every check passed, 1 with the failed check's message otherwise.

Usage: /usr/bin/python3 tests/desk/browser_test.py [--keep]
Environment: LIAISON_BIN (build/bin), LIAISON_SOURCE (the repository), LIAISON_ARTIFACTS.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("LIAISON_SOURCE") or os.path.normpath(os.path.join(HERE, "..", ".."))
BIN = os.environ.get("LIAISON_BIN") or os.path.join(SOURCE, "build", "bin")
ARTIFACTS = os.environ.get("LIAISON_ARTIFACTS") or os.path.join(SOURCE, "build", "test-artifacts", "desk")
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

KG, KZ, SEC = "kg-bishkek", "kz-almaty", "casc-sec"
SCRIPT_NAME = "<script>alert(1)</script>"


class Failed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failed(message)


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def wait_for(condition, seconds, what, interval=0.2):
    """Polls `condition` (returning a true value when done) until `seconds` have passed."""
    deadline = time.monotonic() + seconds
    last_error = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except Exception as e:  # a page or a daemon not ready yet
            last_error = e
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise Failed(f"{what}: not within {seconds} s{detail}")
        time.sleep(interval)


# ---- the network --------------------------------------------------------------------------------

def contact(id_, latin, **fields):
    record = {
        "kind": "contact", "id": id_, "revision": 1, "status": "active", "contactKind": "person",
        "name": {"latin": latin},
        "title": "Prosecutor", "role": "prosecutor",
        "organization": "General Prosecutor's Office of the Kyrgyz Republic",
        "country": "KG", "locality": "Bishkek", "body": "central", "networks": ["CASC"],
        "competences": ["mla", "extradition"], "topics": ["trafficking-in-persons"],
        "legalBases": ["UNTOC", "Minsk-1993"], "languages": ["ky", "ru"],
        "channels": [{"kind": "email", "value": "desk@example.kg", "preferred": True}],
        "availability": {"timezone": "Asia/Bishkek", "hours": "Mo-Fr 09:00-18:00"},
        "verification": {"verifiedAt": "2026-11-01", "verifiedBy": "CASC secretariat",
                         "reviewDue": "2027-05-01"},
    }
    record.update(fields)
    return record


KG_RECORDS = [
    contact("kg-desk-01", "Nurlan Kudaiarov",
            name={"latin": "Nurlan Kudaiarov", "honorific": "Mr."},
            title="Senior Prosecutor, International Legal Cooperation",
            unit="Department of International Legal Cooperation",
            channels=[{"kind": "email", "value": "n.kudaiarov@example.kg", "preferred": True},
                      {"kind": "phone", "value": "+996 312 000 201", "note": "office"},
                      {"kind": "mobile", "value": "+996 700 000 201", "note": "after hours"}],
            availability={"always": False, "timezone": "Asia/Bishkek", "hours": "Mo-Fr 09:00-18:00",
                          "afterHours": "+996 700 000 201", "deputyId": "kg-desk-02"},
            notes="Written requests in Russian or Kyrgyz."),
    contact("kg-desk-02", "Aigul Toktosunova",
            name={"latin": "Aigul Toktosunova", "original": "Айгуль Токтосунова", "honorific": "Ms."},
            channels=[{"kind": "email", "value": "a.toktosunova@example.kg", "preferred": True},
                      {"kind": "phone", "value": "+996 312 000 202"}]),
    contact("kg-desk-03", "Evil " + SCRIPT_NAME + " Tester",
            competences=["extradition"], topics=["cybercrime"], legalBases=["UNTOC"],
            notes="Its name tries to run a script: the desk must show it as text."),
]
# A legal instrument both countries are party to (the counterpart page lists it), published by the
# network's secretariat (only a secretariat publishes instruments).
INSTRUMENTS = [
    {"kind": "instrument", "id": "Minsk-1993", "revision": 1, "type": "regional",
     "name": "Convention on Legal Assistance and Legal Relations in Civil, Family and Criminal Cases (Minsk, 1993)",
     "parties": ["AM", "AZ", "GE", "KG", "KZ", "TJ", "TM", "UZ"], "covers": ["mla", "extradition"]},
]
KZ_RECORDS = [
    contact("kz-desk-01", "Yerlan Bekov",
            name={"latin": "Yerlan Bekov", "original": "Ерлан Беков", "honorific": "Mr."},
            role="central-authority", organization="Prosecutor General's Office of Kazakhstan",
            country="KZ", locality="Astana", languages=["kk", "ru"],
            channels=[{"kind": "email", "value": "y.bekov@example.kz", "preferred": True}],
            availability={"timezone": "Asia/Almaty", "hours": "Mo-Fr 09:00-18:00"}),
]


class Network:
    def __init__(self, work):
        self.work = work
        self.procs = []  # (name, Popen, log file)
        os.makedirs(os.path.join(work, "logs"), exist_ok=True)

    def path(self, *parts):
        return os.path.join(self.work, *parts)

    def liaison(self, *args, timeout=60, ok=True):
        cmd = [os.path.join(BIN, "liaison"), *map(str, args)]
        r = subprocess.run(cmd, cwd=self.work, capture_output=True, text=True, timeout=timeout)
        if ok and r.returncode != 0:
            raise Failed(f"`liaison {' '.join(map(str, args))}` exited {r.returncode}: {r.stderr.strip()}")
        return r

    def liaison_json(self, *args, **kw):
        r = self.liaison(*args, "--format", "json", **kw)
        return json.loads(r.stdout)

    def daemon(self, name, program, *args):
        out = open(self.path("logs", name + ".log"), "wb")
        p = subprocess.Popen([os.path.join(BIN, program), *map(str, args)], cwd=self.work,
                             stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.procs.append((name, p, out))
        log(f"started {name} (pid {p.pid})")
        return p

    def stop(self):
        for name, p, _ in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for name, p, out in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                log(f"{name} (pid {p.pid}) ignored SIGTERM for 15 s: SIGKILL")
                p.kill()
                p.wait(timeout=15)
            out.close()
        self.procs = []

    def check_alive(self):
        for name, p, _ in self.procs:
            check(p.poll() is None, f"{name} (pid {p.pid}) exited with {p.returncode}; see {self.path('logs', name + '.log')}")

    def tail_logs(self, lines=15):
        for name, _, _ in self.procs:
            try:
                with open(self.path("logs", name + ".log"), errors="replace") as f:
                    text = f.read().splitlines()[-lines:]
            except OSError:
                continue
            print(f"---- {name}.log (last {len(text)} lines)", file=sys.stderr)
            for line in text:
                print(line, file=sys.stderr)

    def status(self, site):
        return self.liaison_json("status", "--site", self.path(site))

    def build(self):
        L = self.liaison
        for name in ("root", "broker", KG, KZ, SEC):
            L("keygen", "--out", name)
        for site, country, role in ((KG, "KG", "authority"), (KZ, "KZ", "authority"), (SEC, "UZ", "secretariat")):
            cert = L("enroll", "--root", "root.key", "--site", site, "--public", site + ".pub",
                     "--country", country, "--role", role, "--network", "CASC", "--days", "365")
            with open(self.path(site + ".member"), "w") as f:
                f.write(cert.stdout)
        self.daemon("broker", "liaison-broker", "--data", "broker-data", "--root", "root.pub",
                    "--key", "broker.key", "--network", "CASC", "--listen", "tcp://127.0.0.1:*",
                    "--fanout", "tcp://127.0.0.1:*",
                    *(a for site in (KG, KZ, SEC) for a in ("--member", site + ".member")))
        endpoints = self.path("broker-data", "endpoints")
        wait_for(lambda: os.path.exists(endpoints) and "listen" in open(endpoints).read(), 30, "the broker starts")
        listen = [l.split()[1] for l in open(endpoints) if l.split() and l.split()[0] == "listen"][0]
        for site in (KG, KZ, SEC):
            L("init", "--site", self.path(site), "--id", site, "--root", "root.pub", "--key", site + ".key",
              "--member", site + ".member", "--broker", listen, "--broker-key", "broker.pub",
              "--api", "127.0.0.1:0")
            self.daemon(site, "liaison-site", "--site", self.path(site))
        for site in (KG, KZ, SEC):
            wait_for(lambda: os.path.exists(self.path(site, "api.endpoint")) and self.status(site).get("connected"),
                     30, f"{site} starts and connects to the broker")
        for site, records in ((KG, KG_RECORDS), (KZ, KZ_RECORDS), (SEC, INSTRUMENTS)):
            with open(self.path(site + ".jsonl"), "w", encoding="utf-8") as f:
                for r in records:
                    f.write(json.dumps(r, ensure_ascii=False) + "\n")
            L("publish", "--site", self.path(site), site + ".jsonl")
        total = len(KG_RECORDS) + len(KZ_RECORDS)
        for site in (KG, KZ):
            wait_for(lambda: (self.status(site)["counts"]["contacts"], self.status(site)["counts"]["instruments"])
                     == (total, len(INSTRUMENTS)), 30, f"{site} holds all {total} contacts and the instrument")
        log(f"network up in {self.work}: broker, {KG}, {KZ}, {SEC}; {total} contacts and "
            f"{len(INSTRUMENTS)} instrument replicated")

    def desk_link(self, site):
        j = self.liaison_json("desk", "--site", self.path(site))
        check(j.get("link", "").startswith("http://127.0.0.1:") and "/signin?code=" in j["link"],
              f"`liaison desk --site {site}` prints a sign-in link (got {j!r})")
        check(j.get("expiresInSeconds") == 300, f"the link lasts 300 s (got {j.get('expiresInSeconds')!r})")
        return j["link"]


# ---- the browser --------------------------------------------------------------------------------

class Desk:
    """One Chromium, driven through the desk; every page visited leaves a screenshot."""

    def __init__(self, artifacts):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
                  "--lang=en-GB", "--disable-dev-shm-usage", "--no-first-run",
                  "--disable-background-networking", "--disable-extensions"):
            options.add_argument(a)
        options.add_experimental_option("prefs", {"intl.accept_languages": "en-GB,en"})
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.service = Service(CHROMEDRIVER, log_path=os.devnull)
        self.driver = webdriver.Chrome(service=self.service, options=options)
        self.driver.set_page_load_timeout(60)
        self.driver.set_script_timeout(30)
        self.artifacts = artifacts
        self.shots = []
        self.console_errors = []
        self.failures = []  # checks that failed where the run could still go on

    def quit(self):
        # driver.quit() stops chromedriver (by its PID, through the Service) and the browser.
        try:
            self.driver.quit()
        finally:
            p = getattr(self.service, "process", None)
            if p is not None and p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()

    def wait(self, condition, what, seconds=30):
        from selenium.webdriver.support.ui import WebDriverWait
        from selenium.common.exceptions import TimeoutException
        try:
            return WebDriverWait(self.driver, seconds, poll_frequency=0.2).until(lambda d: condition(d))
        except TimeoutException:
            raise Failed(f"{what}: not within {seconds} s (page {self.driver.current_url!r})")

    def get(self, url, what):
        self.driver.get(url)
        self.wait(lambda d: d.execute_script("return document.readyState") == "complete", f"{what} loads")
        self.drain_console(what)

    def css(self, selector):
        from selenium.webdriver.common.by import By
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def one(self, selector, what):
        found = self.css(selector)
        check(found, f"{what}: no element {selector!r} on {self.driver.current_url}")
        return found[0]

    def text(self):
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.TAG_NAME, "body").text

    def click(self, selector, what):
        """Clicks the element, finding it again if the page replaced it meanwhile (results as you type)."""
        from selenium.common.exceptions import StaleElementReferenceException

        def attempt():
            try:
                self.one(selector, what).click()
                return True
            except StaleElementReferenceException:
                return False
        self.wait(lambda _: attempt(), f"{what}: click")

    def text_of(self, selector, what):
        from selenium.common.exceptions import StaleElementReferenceException

        def attempt():
            try:
                return [self.one(selector, what).text]
            except StaleElementReferenceException:
                return None
        return self.wait(lambda _: attempt(), f"{what}: read")[0]

    def type_and_wait(self, selector, text, what):
        """Types into a live search field, then waits until the page has the answer to the whole text
        (the fetch the page made for it has completed), not to a prefix of it."""
        self.one(selector, what).send_keys(text)
        wanted = "name=" + urllib.parse.quote_plus(text)
        self.wait(lambda d: d.execute_script(
            "var w = arguments[0]; return performance.getEntriesByType('resource').filter(function (e) {"
            " return e.name.indexOf('fragment=1') >= 0 && e.name.indexOf(w) >= 0 && e.responseEnd > 0; }).length",
            wanted), f"{what}: the page fetches the results for {text!r} as it is typed")

    def submit(self, form_selector, button_selector, what):
        """Submits a form by clicking its button, as a person does, and waits for the page that answers.
        When the desk refuses the POST, that is recorded as a failure and the same form is sent again
        with fetch() (which carries the page's true Origin), so that the rest of the run still checks
        what follows. Returns the path of the answering page."""
        d = self.driver
        self.fell_back = False
        page = d.current_url
        action = self.one(form_selector, what).get_attribute("action")
        # What the form sends, as typed (for the fallback below: the page is gone after the click).
        sent = d.execute_script(
            "var body = new URLSearchParams(new FormData(arguments[0]));"
            "if (arguments[1].name) body.append(arguments[1].name, arguments[1].value);"
            "return body.toString();", self.one(form_selector, what), self.one(button_selector, what))
        d.execute_script("window.__submitted = 1")
        self.one(button_selector, what).click()
        self.wait(lambda _: d.execute_script("return window.__submitted") is None
                  and d.execute_script("return document.readyState") == "complete", f"{what}: the answer loads")
        self.drain_console(what)
        path = urllib.parse.urlsplit(d.current_url).path
        if path != urllib.parse.urlsplit(action).path or not self.css(".notice.error"):
            return path
        refusal = self.one(".notice.error", "the refusal").text
        self.failures.append(
            f"{what}: the desk refused the form that Chromium posted ({refusal!r}; "
            f"see the site's log: 'desk POST {urllib.parse.urlsplit(action).path}: refused (403)'). "
            "Under `Referrer-Policy: no-referrer` Chromium posts forms with `Origin: null`, which the "
            "desk's Origin check refuses: the desk must keep sending `Referrer-Policy: same-origin`.")
        self.shot("refused-" + urllib.parse.urlsplit(action).path.strip("/").replace("/", "-"))
        log(f"FAILED CHECK (going on): {self.failures[-1]}")
        # Go on with the same form sent by fetch() from the desk's page (its Origin is the page's).
        self.get(page, what + " again")
        got = d.execute_async_script(
            "var done = arguments[2];"
            "fetch(arguments[0], {method: 'POST', body: new URLSearchParams(arguments[1]), credentials: 'same-origin'})"
            ".then(function (r) { done([r.status, r.url]); }).catch(function (e) { done([0, String(e)]); });",
            action, sent)
        check(got[0] == 200, f"{what}: the same form sent by fetch() (got {got})")
        self.fell_back = True
        if urllib.parse.urlsplit(got[1]).path == urllib.parse.urlsplit(action).path:
            return urllib.parse.urlsplit(action).path  # no redirect: its page cannot be loaded by a GET
        self.get(got[1], what + " (after fetch)")
        return urllib.parse.urlsplit(d.current_url).path

    def lang(self):
        return self.driver.execute_script("return document.documentElement.lang")

    def shot(self, name):
        path = os.path.join(self.artifacts, name + ".png")
        check(self.driver.save_screenshot(path), f"screenshot {path}")
        self.shots.append(path)

    def drain_console(self, where):
        try:
            entries = self.driver.get_log("browser")
        except Exception:
            return
        for e in entries:
            if e.get("level") != "SEVERE":
                continue
            if "favicon.ico" in e.get("message", ""):
                continue
            self.console_errors.append(f"{where}: {e.get('message')}")

    def no_dialog(self, what):
        from selenium.common.exceptions import NoAlertPresentException
        try:
            alert = self.driver.switch_to.alert
            text = alert.text
            alert.dismiss()
        except NoAlertPresentException:
            return
        raise Failed(f"{what}: a dialog opened ({text!r}): a record's text ran as script")


def origin_of(link):
    u = urllib.parse.urlsplit(link)
    return f"{u.scheme}://{u.netloc}"


def run(net, desk):
    from selenium.webdriver.common.by import By
    d = desk.driver
    start = time.monotonic()

    # ---- sign in -------------------------------------------------------------------------------
    link = net.desk_link(KG)
    kg = origin_of(link)
    log(f"Bishkek's desk at {kg}: signing in with a one-time link")
    desk.get(link, "the sign-in link")
    desk.wait(lambda _: urllib.parse.urlsplit(d.current_url).path == "/search", "the sign-in link leads to /search")
    desk.one("#f-name", "the search page's name field")
    check(desk.lang() == "en", f"the page is in English for an en-GB browser (html lang={desk.lang()!r})")
    cookies = {c["name"]: c for c in d.get_cookies()}
    kg_cookie = "liaison_session_" + urllib.parse.urlsplit(link).port.__str__()
    check(kg_cookie in cookies, f"a session cookie named for the site's port is set (cookies: {sorted(cookies)})")
    check(cookies[kg_cookie].get("httpOnly") is True, "the session cookie is HttpOnly")
    check(cookies[kg_cookie].get("sameSite") == "Strict", "the session cookie is SameSite=Strict")

    fcp = desk.wait(lambda _: d.execute_script(
        "var e = performance.getEntriesByType('paint').filter(function (p) {"
        " return p.name === 'first-contentful-paint'; }); return e.length ? e[0].startTime : null;"),
        "the search page paints", seconds=15)
    nav = d.execute_script("var n = performance.getEntriesByType('navigation')[0];"
                           " return n ? [n.responseEnd, n.domContentLoadedEventEnd] : null;")

    # ---- search as you type: Cyrillic finds the Latin-only record ------------------------------
    d.execute_script("window.__noReload = 1")
    desk.one("#f-name", "the name field").click()
    log("typing Кудаяров into the name field (not submitted): results as you type")
    desk.type_and_wait("#f-name", "Кудаяров", "the name field")
    hit_sel = '#results table.hits a[href="/contact?id=kg-desk-01"]'
    desk.wait(lambda _: desk.css(hit_sel),
              "typing the Cyrillic surname shows the Latin-only record Nurlan Kudaiarov in #results")
    hit_text = desk.text_of(hit_sel, "the hit")
    check("Nurlan Kudaiarov" in hit_text, f"the hit reads Nurlan Kudaiarov (got {hit_text!r})")
    check(d.execute_script("return window.__noReload") == 1, "results as you type came without a reload")
    check(not desk.css('#results a[href="/contact?id=kz-desk-01"]'), "the Kazakh record does not match Кудаяров")
    check("name=" in d.current_url, f"the address follows the query (got {d.current_url!r})")
    desk.shot("01-search")

    # ---- the contact card ----------------------------------------------------------------------
    desk.click(hit_sel, "the hit")
    desk.wait(lambda _: "/contact" in d.current_url and desk.css("h1"), "the card opens")
    desk.drain_console("the card")
    h1 = desk.one("h1", "the card's heading").text
    check("Nurlan Kudaiarov" in h1, f"the card is Nurlan Kudaiarov's (h1 {h1!r})")
    check(desk.css('a[href="mailto:n.kudaiarov@example.kg"]'), "the card has a mailto: link for the e-mail")
    tel = [a.get_attribute("href") for a in desk.css('a[href^="tel:"]')]
    check("tel:+996312000201" in tel, f"the card has a tel: link with the phone's digits (got {tel})")
    check("tel:+996700000201" in tel, f"the card has a tel: link for the mobile (got {tel})")
    vcard = desk.one("#vcard", "the vCard link").get_attribute("href")
    check(vcard.endswith("/contact/vcard?id=kg-desk-01"), f"the vCard link (got {vcard!r})")
    local = desk.one("#local-time", "the contact's local time").text
    check("Asia/Bishkek" in local, f"the card shows the time in Bishkek (got {local!r})")
    check(desk.css('a[href="/contact?id=kg-desk-02"]'), "the card links to the deputy")
    body = desk.text()
    for expected in ("Mo-Fr 09:00-18:00", "Kyrgyz", "Russian", "Senior Prosecutor, International Legal Cooperation"):
        check(expected in body, f"the card shows {expected!r}")
    got = d.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {credentials: 'same-origin'}).then(function (r) {"
        " return r.text().then(function (t) { done([r.status, r.headers.get('Content-Type'), t]); }); })"
        ".catch(function (e) { done([0, '', String(e)]); });", vcard)
    check(got[0] == 200 and "text/vcard" in (got[1] or ""), f"the vCard downloads (status {got[0]}, type {got[1]!r})")
    check("BEGIN:VCARD" in got[2] and "Kudaiarov" in got[2] and "+996 312 000 201" in got[2].replace("\\", ""),
          f"the vCard holds the name and the phone:\n{got[2]}")
    desk.shot("02-card")

    # ---- Russian, and that it sticks -----------------------------------------------------------
    card_url = d.current_url
    desk.one("#lang-ru", "the switch to Russian").click()
    desk.wait(lambda _: desk.lang() == "ru", "the page turns Russian (html lang=ru)")
    desk.drain_console("the card in Russian")
    check(d.current_url == card_url, f"the switch comes back to the card (at {d.current_url!r})")
    nav_text = desk.one("nav", "the navigation").text
    check("Поиск" in nav_text, f"the navigation is Russian (got {nav_text!r})")
    body = desk.text()
    for expected in ("Как связаться", "киргизский, русский", "Прокурор", "Заместитель"):
        check(expected in body, f"the card in Russian shows {expected!r}")
    desk.shot("03-card-ru")
    desk.one('nav a[href="/search"]', "the Search link").click()
    desk.wait(lambda _: urllib.parse.urlsplit(d.current_url).path == "/search" and desk.css("#f-name"),
              "the search page opens from the navigation")
    check(desk.lang() == "ru", f"Russian sticks on the next page (html lang={desk.lang()!r})")
    label = desk.one('label[for="f-name"]', "the name field's label").text
    check(label != "Name, in any script", f"the search form is in Russian (label {label!r})")

    # ---- a record's <script> is text -----------------------------------------------------------
    desk.type_and_wait("#f-name", "Tester", "the name field")
    evil_sel = '#results a[href="/contact?id=kg-desk-03"]'
    desk.wait(lambda _: desk.css(evil_sel), "typing Tester shows the record whose name holds <script>")
    evil_text = desk.text_of(evil_sel, "the <script> hit")
    check(SCRIPT_NAME in evil_text, f"the hit shows the name's <script> as text (got {evil_text!r})")
    desk.no_dialog("search results")
    desk.click(evil_sel, "the <script> hit")
    desk.wait(lambda _: "kg-desk-03" in d.current_url and desk.css("h1"), "the card of the <script> record opens")
    desk.drain_console("the <script> record's card")
    desk.no_dialog("the <script> record's card")
    check(SCRIPT_NAME in desk.one("h1", "its heading").text, "the card's heading shows <script>alert(1)</script> as text")
    scripts = d.execute_script("return Array.prototype.map.call(document.scripts, function (s) { return s.src; })")
    check(len(scripts) == 1 and urllib.parse.urlsplit(scripts[0]).path == "/static/desk.js",
          f"the page holds no script but the desk's own (got {scripts})")
    desk.shot("04-script-as-text")

    # back to English for the rest (and the English switch)
    desk.one("#lang-en", "the switch to English").click()
    desk.wait(lambda _: desk.lang() == "en", "the page turns English again")

    # ---- the inbox refreshes itself when an alert arrives ---------------------------------------
    desk.get(kg + "/alerts", "the alerts page")
    desk.one("#inbox", "the inbox")
    d.execute_script("window.__noReload = 1")
    # The page learns the inbox's version from its first poll; an alert arriving before that poll
    # would be taken for the starting state (see the report), so wait for one poll to have answered.
    desk.wait(lambda _: d.execute_script(
        "return performance.getEntriesByType('resource').filter(function (e) {"
        " return e.name.indexOf('/alerts/poll') >= 0 && e.responseEnd > 0; }).length"),
        "the alerts page polls", seconds=30)
    headline = "Two Kyrgyz nationals located in Almaty; flight to Bishkek tonight"
    sent = net.liaison_json("alert", "send", "--site", net.path(KZ), "--headline", headline,
                            "--target", "site:" + KG, "--ack-required", "--by", "Yerlan Bekov",
                            "--urgency", "immediate", "--severity", "severe", "--category", "trafficking-in-persons",
                            "--incident", "KZ-2026-0042", "--expires", "PT12H")
    alert_id = sent.get("id")
    check(alert_id and sent.get("accepted", True), f"Almaty's alert is accepted (got {sent!r})")
    log(f"Almaty sent alert {alert_id} to {KG} from the command line: waiting for Bishkek's inbox")
    row = desk.wait(lambda _: desk.css(f'#inbox tr[data-alert="{alert_id}"]'),
                    "the alert's row appears in the inbox without a reload", seconds=30)[0]
    check(d.execute_script("return window.__noReload") == 1, "the inbox refreshed itself without a reload")
    check(headline in row.text, f"the row shows the headline (got {row.text!r})")
    check("open" in (row.get_attribute("class") or ""), "the new alert is open")
    desk.wait(lambda _: desk.one("#alert-badge", "the badge").text.strip() == "1", "the badge counts one open alert")
    desk.drain_console("the inbox")
    desk.shot("05-alerts-inbox")

    # ---- acknowledge it ------------------------------------------------------------------------
    row.find_element(By.CSS_SELECTOR, f'a[href="/alerts/view?id={alert_id}"]').click()
    desk.wait(lambda _: "/alerts/view" in d.current_url and desk.css("#acknowledge"), "the alert's page opens with the answer form")
    desk.drain_console("the alert")
    check(headline in desk.one("h1", "the alert's headline").text, "the alert's page shows its headline")
    desk.shot("06-alert")
    officer = "Maj. Bakyt Osmonov"
    comment = "Border service informed; team at Manas airport."
    person = desk.one("#ack-person", "the name field")
    person.clear()
    person.send_keys(officer)
    desk.one("#ack-comment", "the comment field").send_keys(comment)
    answered = desk.submit("#answer-form", "#acknowledge", "acknowledging the alert")
    check(answered == "/alerts/view", f"acknowledging leads back to the alert's page (at {d.current_url!r})")
    check(not desk.css("#answer-form") and desk.css("#alert-state"),
          "after acknowledging, the alert's page comes back without the answer form")
    check(not desk.css(".notice.error"), f"no error after acknowledging: {desk.text()[:400]!r}")
    state = desk.one("#alert-state", "the alert's state").text
    check("Acknowledged" in state, f"the alert reads acknowledged at Bishkek (got {state!r})")
    check(officer in desk.text() and comment in desk.text(), "Bishkek's page shows who acknowledged and the comment")
    desk.shot("07-alert-acknowledged")

    # ---- the sender sees the acknowledgement -----------------------------------------------------
    def sender_sees():
        j = net.liaison_json("alert", "show", alert_id, "--site", net.path(KZ))
        t = j["custody"]["targets"][KG]
        return t if t.get("state") == "acknowledged" else None
    target = wait_for(sender_sees, 30, f"`liaison alert show {alert_id}` at Almaty shows {KG} acknowledged")
    check(target.get("by") == officer, f"Almaty's custody names {officer!r} (got {target.get('by')!r})")
    log(f"Almaty's `liaison alert show` reads {KG}: acknowledged by {target.get('by')}")

    # Almaty's own desk, on the same host (127.0.0.1) in the same browser: cookies belong to a host,
    # not a port, so each desk names its session cookie with its port, and signing in at one must
    # not sign the reader out of the other.
    kz_link = net.desk_link(KZ)
    kz = origin_of(kz_link)
    kz_cookie = "liaison_session_" + str(urllib.parse.urlsplit(kz_link).port)
    desk.get(kz_link, "Almaty's sign-in link")
    desk.wait(lambda _: urllib.parse.urlsplit(d.current_url).path == "/search", "Almaty's desk signs in")
    desk.get(f"{kz}/alerts/view?id={alert_id}", "the alert at Almaty")
    cell = desk.one(f'#custody tr[data-site="{KG}"] td.target-state', "Almaty's custody row for Bishkek").text
    check(cell == "Acknowledged", f"Almaty's desk shows {KG} Acknowledged (got {cell!r})")
    custody_row = desk.one(f'#custody tr[data-site="{KG}"]', "the custody row").text
    check(officer in custody_row, f"Almaty's custody row names the officer (got {custody_row!r})")
    sender_state = desk.one("#alert-state", "the alert's state at Almaty").text
    check("1 acknowledged" in sender_state, f"Almaty's page reads 1 acknowledged (got {sender_state!r})")
    desk.shot("08-sender-view")

    # ---- sending, updating and cancelling from the desk (Almaty → Bishkek) ------------------------
    desk.get(f"{kz}/alerts/new", "the send form at Almaty")
    sender = "Yerlan Bekov"
    field = desk.one("#a-person", "the sender's name")
    field.clear()
    field.send_keys(sender)
    desk.one("#a-headline", "the headline").send_keys("Witness hearing by video tomorrow 10:00")
    desk.one("#a-sites", "the target sites").send_keys(KG)
    desk.one("#a-deadline", "the deadline").send_keys("30")
    sent_path = desk.submit("#alert-form", "#alert-form button[type=submit]", "sending an alert from the desk")
    check(sent_path == "/alerts/view", f"sending leads to the new alert's page (at {d.current_url!r})")
    desk_alert = urllib.parse.parse_qs(urllib.parse.urlsplit(d.current_url).query).get("id", [""])[0]
    check(desk_alert and desk_alert != alert_id, f"the desk's alert has an id of its own (got {desk_alert!r})")
    check(desk.css(f'#custody tr[data-site="{KG}"]'), "the new alert's page lists Bishkek as its target")
    def received(alert):
        alerts = net.liaison_json("alert", "list", "--site", net.path(KG))
        alerts = alerts.get("alerts", alerts) if isinstance(alerts, dict) else alerts
        return [a for a in alerts if a.get("id") == alert] or None
    got = wait_for(lambda: received(desk_alert), 30, "Bishkek receives the alert sent from Almaty's desk")[0]
    check(got.get("headline") == "Witness hearing by video tomorrow 10:00", f"Bishkek has its headline (got {got!r})")
    # Update it (a new message replacing it), then cancel the update.
    title = desk.one("#u-headline", "the update's headline")
    title.clear()
    title.send_keys("Witness hearing by video moved to 14:00")
    upd_path = desk.submit("#update-form", "#update-form button[type=submit]", "updating the alert from the desk")
    check(upd_path == "/alerts/view", f"updating leads to the update's page (at {d.current_url!r})")
    update_id = urllib.parse.parse_qs(urllib.parse.urlsplit(d.current_url).query).get("id", [""])[0]
    check(update_id and update_id != desk_alert, "the update is a message of its own")
    check(desk_alert in desk.text(), "the update's page names the alert it replaces")
    desk.get(f"{kz}/alerts/view?id={desk_alert}", "the replaced alert")
    check(desk.one("#alert-state", "the replaced alert's state").text == "Updated", "the original now reads Updated")
    desk.shot("09a-updated")
    wait_for(lambda: received(update_id), 30, "Bishkek receives the update")
    desk.get(f"{kz}/alerts/view?id={update_id}", "the update")
    reason = desk.one("#x-reason", "the cancel reason")
    reason.send_keys("Hearing postponed by the court")
    desk.submit("#cancel-form", "#cancel-form button[type=submit]", "cancelling from the desk")
    desk.get(f"{kz}/alerts/view?id={update_id}", "the cancelled update")
    check(desk.one("#alert-state", "the update's state").text == "Cancelled", "the update now reads Cancelled")
    wait_for(lambda: (received(update_id) or [{}])[0].get("state") == "cancelled" or None, 30,
             "Bishkek shows the update cancelled")

    # Signing out at Almaty (a form POST too); Almaty's pages then need a new link.
    ended = desk.submit("header form[action='/signout']", "header form[action='/signout'] button", "signing out at Almaty")
    check(ended == "/signout", f"signing out answers at /signout (at {d.current_url!r})")
    if not desk.fell_back:
        check("Signed out." in desk.one("h1", "the signed-out page").text, "signing out shows 'Signed out.'")
    check(not [c for c in d.get_cookies() if c["name"] == kz_cookie], "signing out removes Almaty's session cookie")
    desk.get(f"{kg}/status", "Bishkek's desk, after signing in and out at Almaty")
    check(bool(desk.css("#status")), "Bishkek's session survived Almaty's sign-in and sign-out")
    desk.get(f"{kz}/alerts/view?id={alert_id}", "the alert at Almaty, signed out")
    check("Sign in" in desk.one("h1", "the sign-in page").text and not desk.css("#custody"),
          "signed out, Almaty's desk shows the sign-in page, not the alert")
    # (Chromium logs the 401 of that page as a console error: expected.)
    desk.console_errors = [e for e in desk.console_errors if not ("signed out" in e and "401" in e)]

    # ---- counterpart, notices, status (back at Bishkek, still signed in) ---------------------------
    desk.get(kg + "/counterpart?from=KZ&to=KG&topic=trafficking-in-persons&competence=mla&language=ru",
             "the counterpart page")
    found = [a.get_attribute("href").split("id=")[-1] for a in desk.css("#results table.hits td:first-child a")]
    check(found and found[0] == "kg-desk-01" and "kg-desk-03" not in found,
          f"counterpart KZ → KG (trafficking, MLA, Russian) lists Bishkek's focal points, Kudaiarov first, "
          f"and not the cybercrime-only record (got {found}; Bishkek's session survived Almaty's sign-in)")
    text = desk.text()
    check("Kazakhstan" in text and "Kyrgyzstan" in text, "the counterpart page names both countries")
    check("Minsk-1993" in text, "the counterpart page lists the Minsk convention both countries are party to")
    desk.shot("09-counterpart")
    desk.get(kg + "/notices", "the notices page")
    desk.one("#notices-form", "the notices form")
    desk.shot("10-notices")
    desk.get(kg + "/status", "the status page")
    status = desk.one("#status", "the status list").text
    check("connected" in status and KG in status, f"the status page shows the site connected (got {status!r})")
    desk.shot("11-status")

    # ---- an MLA request: Almaty sends one from the command line; Bishkek's desk opens and answers it --
    annex = net.path("Протокол допроса.txt")
    with open(annex, "w", encoding="utf-8") as f:
        f.write("Протокол допроса свидетеля (проект)\n")
    deadline = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 5 * 86400))
    case = "KZ-2026-0042"
    net.liaison("request", "send", "--site", net.path(KZ), "--to", KG, "--legal-basis", "Minsk-1993",
                "--measure", "hearing-of-witness", "--measure", "bank-records", "--case", case,
                "--summary", "Two Kyrgyz nationals recruited in Osh for work in Almaty; hear the driver "
                "as a witness and obtain the records of the account that paid for the tickets.",
                "--urgent", "--deadline", deadline, "--attach", annex, timeout=180)
    sent_requests = net.liaison_json("request", "list", "--site", net.path(KZ))
    sent_requests = sent_requests.get("requests", []) if isinstance(sent_requests, dict) else sent_requests
    request_id = sent_requests[0]["id"]
    wait_for(lambda: net.liaison_json("request", "show", request_id, "--site", net.path(KG))["request"]["state"]
             == "delivered", 60, f"Bishkek stores request {request_id} from Almaty (delivered)")
    log(f"Almaty sent request {request_id} to {KG} from the command line; delivered")
    desk.get(kg + "/requests", "the requests page")
    row = desk.one(f'#requests tr[data-request="{request_id}"]', "the request's row")
    check(case in row.text and "Incoming" in row.text and KZ in row.text,
          f"the row shows the case, incoming, from Almaty (got {row.text!r})")
    check("Hearing of a witness" in row.text and "due in 5 days" in row.text,
          f"the row shows the measures and the near deadline (got {row.text!r})")
    desk.shot("12-requests")
    desk.click(f'#requests tr[data-request="{request_id}"] a', "the request's link")
    desk.wait(lambda _: "/requests/view" in d.current_url and desk.css("#open-form"),
              "the request's page opens with the form to open it")
    desk.drain_console("the request")
    check("Trail checked" in desk.one("#trail-check", "the trail's check").text, "the trail checks")
    check(len(desk.css("#trail li")) == 3, "the trail so far: sent, accepted, delivered")
    desk.shot("13-request")
    opener = desk.one("#o-person", "the name of who opens it")
    opener.clear()
    opener.send_keys("Maj. Bakyt Osmonov")
    desk.submit("#open-form", "#open-request", "opening the request")
    desk.wait(lambda _: desk.css("#status-form"), "once opened, the page offers the status form")
    d.execute_script("document.getElementById('status-form').scrollIntoView()")
    desk.shot("13b-request-opened")
    link_el = desk.one("#files a", "the file's download link")
    got = d.execute_async_script(
        "var done = arguments[1]; fetch(arguments[0], {credentials: 'same-origin'}).then(function (r) {"
        " return r.text().then(function (t) { done([r.status, r.headers.get('Content-Disposition'), t]); });"
        "}).catch(function (e) { done([0, '', String(e)]); });", link_el.get_attribute("href"))
    check(got[0] == 200 and got[2] == "Протокол допроса свидетеля (проект)\n",
          f"the file downloads as it was sent (got {got[:2]!r})")
    check((got[1] or "").startswith("attachment;"), f"the file comes as an attachment (got {got[1]!r})")
    from selenium.webdriver.support.ui import Select
    Select(desk.one("#s-status", "the status list")).select_by_value("registered")
    desk.one("#s-reference", "our reference").send_keys("GPO-KG-2026-311")
    desk.submit("#status-form", "#set-status", "setting the status")
    state = desk.one("#request-state", "the request's state").text
    check(state == "Registered", f"the request reads Registered (got {state!r})")
    check(len(desk.css("#trail li")) == 5, "the trail: sent, accepted, delivered, opened, registered")
    desk.shot("14-request-answered")
    wait_for(lambda: len(net.liaison_json("request", "show", request_id, "--site", net.path(KZ))["trail"]) == 5,
             30, "Almaty's trail shows Bishkek's opening and status")
    desk.get(kg + "/lang?to=ru&back=" + urllib.parse.quote(f"/requests/view?id={request_id}", safe=""),
             "the request in Russian")
    check(desk.lang() == "ru" and "Зарегистрирован" in desk.one("#request-state", "the state").text,
          "the request's page in Russian")
    desk.shot("15-request-ru")
    desk.get(kg + "/requests", "the requests page in Russian")
    desk.shot("16-requests-ru")
    # Bishkek's alerts in Russian: the acknowledged one from Almaty's command line, the desk's
    # alert (updated), its update (cancelled) and the cancel.
    desk.get(kg + "/alerts", "the alerts page in Russian")
    heads = [th.text for th in desk.css("#inbox th")]
    check(heads[:2] == ["Состояние", "Заголовок"], f"the alert list's columns in Russian (got {heads!r})")
    rows = {r.get_attribute("data-alert"): r.text for r in desk.css("#inbox tr[data-alert]")}
    check("Подтверждено" in rows.get(alert_id, "") and "получено" in rows.get(alert_id, ""),
          f"the acknowledged alert reads Подтверждено, получено (got {rows.get(alert_id)!r})")
    check("Обновлено" in rows.get(desk_alert, ""), f"the updated alert reads Обновлено (got {rows.get(desk_alert)!r})")
    check("Немедленно" in rows.get(update_id, ""),
          f"the update from the desk kept the alert's urgency, Немедленно (got {rows.get(update_id)!r})")
    check(len(rows) == 4, f"four alerts at Bishkek (got {len(rows)})")
    desk.shot("17-alerts-ru")
    desk.get(kg + "/lang?to=en&back=%2Frequests", "back to English")
    check(desk.lang() == "en", "the desk is English again")

    # A used sign-in link does not work twice.
    desk.get(link, "the used sign-in link")
    check(desk.css("h1") and "Sign in" in desk.one("h1", "the sign-in page").text,
          "a used sign-in link shows the sign-in page")
    desk.drain_console("the used sign-in link")
    # Chromium reports the 401 of the used link as a console error: that one is expected.
    desk.console_errors = [e for e in desk.console_errors
                           if not (e.startswith("the used sign-in link") and "401" in e)]
    if desk.console_errors:
        desk.failures.append("severe console errors:\n    " + "\n    ".join(desk.console_errors))

    log(f"first contentful paint of the search page: {fcp:.0f} ms"
        + (f" (response end {nav[0]:.0f} ms, DOMContentLoaded {nav[1]:.0f} ms)" if nav else "")
        + " — a figure, not a check")
    log(f"browser part took {time.monotonic() - start:.1f} s; {len(desk.shots)} screenshots in {desk.artifacts}")
    check(not desk.failures, "\n  ".join(["checks failed (the run went on past them):"] + desk.failures))


def main():
    keep = "--keep" in sys.argv[1:]
    unknown = [a for a in sys.argv[1:] if a != "--keep"]
    if unknown:
        print("usage: browser_test.py [--keep]", file=sys.stderr)
        return 2
    missing = [p for p in (os.path.join(BIN, b) for b in ("liaison", "liaison-broker", "liaison-site"))
               if not os.access(p, os.X_OK)]
    missing += [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        print(f"browser_test: FAILED: missing {', '.join(missing)} (build, and scripts/setup.sh installs "
              "chromium, chromium-driver, python3-selenium)", file=sys.stderr)
        return 1
    try:
        import selenium  # noqa: F401
    except ImportError:
        print(f"browser_test: FAILED: no selenium for {sys.executable} (Debian's python3-selenium: run it "
              "with /usr/bin/python3)", file=sys.stderr)
        return 1
    os.makedirs(ARTIFACTS, exist_ok=True)
    for f in os.listdir(ARTIFACTS):
        if f.endswith(".png"):
            os.remove(os.path.join(ARTIFACTS, f))
    started = time.monotonic()
    work = tempfile.mkdtemp(prefix="liaison-desk-")
    net = Network(work)
    desk = None
    code = 1
    try:
        net.build()
        desk = Desk(ARTIFACTS)
        run(net, desk)
        net.check_alive()
        code = 0
    except Failed as e:
        print(f"browser_test: FAILED: {e}", file=sys.stderr)
    except Exception as e:
        import traceback
        traceback.print_exc()
        print(f"browser_test: FAILED: {type(e).__name__}: {e}", file=sys.stderr)
    finally:
        if code != 0:
            if desk is not None:
                try:
                    desk.shot("failure")
                    with open(os.path.join(ARTIFACTS, "failure.html"), "w") as f:
                        f.write(desk.driver.page_source)
                    print(f"browser_test: the page at the failure: {ARTIFACTS}/failure.png, failure.html",
                          file=sys.stderr)
                except Exception:
                    pass
            net.tail_logs()
        if desk is not None:
            try:
                desk.quit()
            except Exception as e:
                print(f"browser_test: stopping the browser: {e}", file=sys.stderr)
        net.stop()
        if keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    log(("passed" if code == 0 else "FAILED") + f" in {time.monotonic() - started:.1f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
