#!/usr/bin/env python3
"""The first contentful paint of the desk's search page in headless Chromium (liaison-bench-desk
runs this; it prints {"p50": ms, "p90": ms, "baseline": ms, "loads": n} as JSON on stdout).

usage: desk_paint.py SIGN_IN_LINK NAME [LOADS]
Signs in with the one-time link, then loads /search?name=NAME LOADS times (default 15) and reads
performance's first-contentful-paint entry after each load; the baseline is the same browser
painting a one-line page that loads nothing else, measured in the same run. Needs chromium, chromium-driver and
python3-selenium (scripts/setup.sh installs them); exits 2 without them.
"""
import json
import statistics
import sys
import urllib.parse

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    print("desk_paint: python3-selenium is not installed", file=sys.stderr)
    sys.exit(2)


def main() -> int:
    if len(sys.argv) < 3 or "/signin?code=" not in sys.argv[1]:
        print(__doc__, file=sys.stderr)
        return 2
    link, name = sys.argv[1], sys.argv[2]
    loads = int(sys.argv[3]) if len(sys.argv) > 3 else 15
    base = link.split("/signin")[0]
    options = Options()
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=1280,900"):
        options.add_argument(a)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.set_page_load_timeout(60)
        driver.get(link)
        paints = []
        url = base + "/search?name=" + urllib.parse.quote(name)
        for _ in range(loads):
            driver.get(url)
            fcp = WebDriverWait(driver, 30).until(lambda d: d.execute_script(
                "var e = performance.getEntriesByName('first-contentful-paint');"
                "return e.length ? e[0].startTime : null;"))
            paints.append(float(fcp))
        # The baseline: the same browser painting a one-line page that needs nothing else.
        blank = []
        for _ in range(loads):
            driver.get("data:text/html,<!DOCTYPE html><html><body><p>Liaison</p></body></html>")
            fcp = WebDriverWait(driver, 30).until(lambda d: d.execute_script(
                "var e = performance.getEntriesByName('first-contentful-paint');"
                "return e.length ? e[0].startTime : null;"))
            blank.append(float(fcp))
        paints.sort()
        print(json.dumps({"p50": statistics.median(paints), "baseline": statistics.median(blank),
                          "p90": paints[min(len(paints) - 1, int(0.9 * (len(paints) - 1) + 0.5))],
                          "loads": len(paints)}))
    finally:
        driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
