"""The clerk's page in a real headless browser (Debian's Chromium): what a person sees.

`purdah serve` runs as its own process on 127.0.0.1 over the example register; Chromium,
driven over its DevTools pipe (tests/web/browser.py), loads the page at a desktop's 1280
and a phone's 390 CSS pixels, measures the layout from outside the page (the page has no
script: that is checked too) and takes a screenshot of each. The screenshots go to the
test's tmp dir, and also to $PURDAH_SCREENSHOTS when set (docs/screenshots/ holds the
copies the README shows).

The register is the example's, read `?at=` fixed times so that nothing depends on today:
20 April 2027 (the Ashfield and Selston windows in force, overlapping in Selston) and
10 January 2027 (nothing in force; the next restriction starts on 8 March 2027).
Skipped, with the reason, where Chromium is not installed (.ci/run installs it).
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.web.browser import Browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium; .ci/run does)"
)
CALENDARS = Path(__file__).parents[2] / "calendars"
IN_FORCE = "2027-04-20"
QUIET = "2027-01-10"
WIDTHS = pytest.mark.parametrize(("width", "mobile"), [(1280, False), (390, True)])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(base URL, Authorization header) of `purdah serve` over the example register."""
    tmp = tmp_path_factory.mktemp("served")
    db = str(tmp / "page.db")
    purdah = str(Path(sys.executable).with_name("purdah"))
    subprocess.run([purdah, "init", "--db", db], check=True, capture_output=True)
    subprocess.run(
        ["bash", str(CALENDARS / "example" / "load"), purdah, db], check=True, capture_output=True
    )
    added = subprocess.run(
        [purdah, "token", "add", "browser", "--db", db], check=True, capture_output=True, text=True
    )
    token = added.stdout.splitlines()[-1]
    port = free_port()
    proc = subprocess.Popen(
        [purdah, "serve", "--db", db, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "livez", timeout=2)
            break
        except OSError:
            time.sleep(0.2)
    # The page is private: a browser signs in with any user name and the token as password.
    auth = "Basic " + base64.b64encode(f"browser:{token}".encode()).decode()
    yield url, {"Authorization": auth}
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def browser(tmp_path):
    assert CHROMIUM is not None
    found = Browser(CHROMIUM, tmp_path / "profile")
    yield found
    found.close()


def visit(browser: Browser, served: Any, query: str, width: int, mobile: bool) -> int:
    url, headers = served
    browser.open(width, 900, mobile=mobile, headers=headers)
    return browser.load(url + query)


# Measured by DevTools in the loaded page: the boxes of what a person reads.
BOXES = """JSON.stringify(Array.from(%s).map(e => {
  const r = e.getBoundingClientRect(), s = getComputedStyle(e);
  return {text: e.innerText.trim(), left: r.left, right: r.right, top: r.top,
          bottom: r.bottom, shown: s.display !== "none" && s.visibility !== "hidden"
          && r.width > 0 && r.height > 0, font: parseFloat(s.fontSize)};
}))"""


SELSTON = (
    "Array.from(document.querySelectorAll('#timeline .council'))"
    ".find(c => c.querySelector('h3').textContent.includes('(selston)'))"
)
TODAY = "document.querySelector('#today')"


def boxes(browser: Browser, selector: str, council: str | None = None) -> list[dict[str, Any]]:
    """The boxes of `selector`'s elements, in the page or in one council's timeline."""
    where = "document"
    if council:
        where = (
            "Array.from(document.querySelectorAll('#timeline .council'))"
            f".find(c => c.querySelector('h3').textContent.includes('({council})'))"
        )
    return list(json.loads(browser.evaluate(BOXES % f"{where}.querySelectorAll({selector!r})")))


@WIDTHS
def test_the_page_fits_the_screen_without_sideways_scrolling(
    served, browser, tmp_path, width, mobile
):
    assert visit(browser, served, f"?at={IN_FORCE}", width, mobile) == 200
    assert browser.evaluate("document.scripts.length") == 0  # readable without script
    assert browser.evaluate("window.innerWidth") == width
    assert browser.evaluate("document.documentElement.scrollWidth") == width
    # Every "Why" is on the screen: in the table at 1280, on each card at 390.
    why = boxes(browser, '#today td[data-label="Why"]')
    assert len(why) == 6  # 2 at Ashfield, 4 at Selston
    for cell in why:
        assert cell["shown"] and cell["left"] >= 0 and cell["right"] <= width, cell
        assert "election window (local." in cell["text"]
    label = "getComputedStyle(document.querySelector('#today td'), '::before').content"
    # Cards on a phone: each value after its column's name; a table on a desktop.
    assert browser.evaluate(label) == ('"Councillor: "' if mobile else "none")
    shot = tmp_path / f"page-{width}.png"
    browser.screenshot(shot, width, mobile=mobile)
    assert shot.stat().st_size > 10_000
    keep = os.environ.get("PURDAH_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        # Today's answer, and Selston's timeline (two windows overlapping, the line for today).
        for part, block, height in (("today", TODAY, 1100), ("timeline", SELSTON, 700)):
            top = int(browser.evaluate(f"{block}.getBoundingClientRect().top + scrollY"))
            name = Path(keep) / f"page-{width}-{part}.png"
            browser.screenshot(name, width, mobile=mobile, max_height=height, top=max(top - 8, 0))


@WIDTHS
def test_month_labels_name_their_year_and_do_not_overlap(served, browser, width, mobile):
    visit(browser, served, f"?at={IN_FORCE}", width, mobile)
    labels = [box for box in boxes(browser, ".axis .month", "selston") if box["shown"]]
    # Thirteen months on a desktop; the quarters on a phone.
    expected = ["Apr 2027", "May 2027", "Jun 2027"] if not mobile else ["Apr 2027", "Jul 2027"]
    assert [box["text"] for box in labels][: len(expected)] == expected
    assert len(labels) == (13 if not mobile else 4)
    axis = boxes(browser, ".axis", "selston")[0]
    for a, b in itertools.pairwise(labels):
        assert a["right"] <= b["left"], (a, b)  # side by side, not on top of each other
    for box in labels:
        assert re.fullmatch(r"[A-Z][a-z]{2} 20\d\d", box["text"])
        assert box["font"] >= 12 and axis["left"] <= box["left"], box
        assert box["right"] <= axis["right"], box  # not cut off at the edge


@WIDTHS
def test_the_timeline_marks_today_and_labels_each_bar(served, browser, width, mobile):
    visit(browser, served, f"?at={IN_FORCE}", width, mobile)
    text = browser.evaluate("document.body.innerText")
    assert "as at Tue 20 Apr 2027 00:00 BST" in text  # ?at= honoured and said
    bars, nows = boxes(browser, "#timeline .bar"), boxes(browser, "#timeline .now")
    captions, tracks = boxes(browser, "#timeline .caption"), boxes(browser, "#timeline .track")
    assert len(bars) == len(nows) == len(captions) == len(tracks) > 0
    for bar, now, caption, track in zip(bars, nows, captions, tracks, strict=True):
        assert bar["shown"] and track["left"] <= bar["left"] < bar["right"] <= track["right"]
        # The line for the time shown: inside April 2027, the first of thirteen months.
        span = track["right"] - track["left"]
        assert now["shown"] and 0 < now["left"] - track["left"] < span / 13
        # Each bar's label right under it: the election in words and its dates.
        assert 0 <= caption["top"] - bar["bottom"] < 20, (bar, caption)
        assert re.search(r"election: \w{3} \d+ \w{3} 20\d\d 00:00 GMT to", caption["text"])
    # Selston's two windows cover the same days: two bars, one above the other, both seen.
    live = boxes(browser, ".bar.live", "selston")
    assert len(live) == 2
    (a, b) = live
    assert a["left"] < b["right"] and b["left"] < a["right"]  # the same months
    assert a["bottom"] <= b["top"]  # each in its own lane, one above the other
    assert "overlaps local.selston.2027-05-06" in text
    assert "overlaps local.ashfield.2027-05-06" in text


def test_a_quiet_day_says_when_the_next_restriction_starts(served, browser):
    assert visit(browser, served, f"?at={QUIET}", 390, True) == 200
    text = browser.evaluate("document.body.innerText")
    assert "No councillor is restricted at that time" in text
    assert (
        "The next restriction starts Mon 8 Mar 2027 00:00 GMT: the Ashfield District Council "
        "election (local.ashfield.2027-05-06)" in text
    )
    assert browser.evaluate("document.documentElement.scrollWidth") == 390


def test_an_unknown_council_is_a_page_with_the_error(served, browser):
    assert visit(browser, served, "?council=nowhere", 390, True) == 404
    assert browser.evaluate("document.contentType") == "text/html"
    text = browser.evaluate("document.body.innerText")
    assert "no council 'nowhere' in the register: see 'purdah council list'" in text
    assert "{" not in text
    assert browser.evaluate("document.documentElement.scrollWidth") == 390
    assert visit(browser, served, "?at=soon", 1280, False) == 422
    assert "at 'soon' is not an ISO 8601 date" in browser.evaluate("document.body.innerText")
