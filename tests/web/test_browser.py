"""The clerk's page in a real headless browser (Debian's Chromium): what a person sees.

`purdah serve` runs as its own process on 127.0.0.1; Chromium loads the page, and we read
the text it rendered and take a screenshot. (The page has no script at all: test_app.py
checks that; --dump-dom itself needs script, so it stays enabled here.)
Skipped, with the reason, where Chromium is not installed (.ci/run installs it).
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from html import unescape
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium; .ci/run does)"
)
CALENDARS = Path(__file__).parents[2] / "calendars"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path):
    db = str(tmp_path / "page.db")
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
        [purdah, "serve", "--db", db, "--port", str(port)], stderr=subprocess.PIPE
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
    yield url.replace("http://", f"http://browser:{token}@")
    proc.terminate()
    proc.wait(timeout=10)


def chromium(*args: str, profile: Path) -> str:
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120).stdout


def test_a_person_sees_the_page(served, tmp_path):
    dom = chromium("--dump-dom", served, profile=tmp_path / "profile")
    text = unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom)))
    assert "Pre-election periods" in text
    # Today (21 November 2026 or later): the sections a clerk reads, in words.
    for heading in ("Today", "The coming year", "Subscribe", "Election feeds"):
        assert heading in text, heading
    assert "Selston Parish Council" in text and "Jane Doe" in text
    assert "uk-scheduled" in text and "example-nottinghamshire" in text
    assert re.search(r"href=\"webcal://127\.0\.0\.1:\d+/calendars/selston\.ics\"", dom)
    assert re.search(r"href=\"http://127\.0\.0\.1:\d+/calendars/selston/jane-doe\.ics\"", dom)
    shot = tmp_path / "page.png"
    chromium(
        f"--screenshot={shot}", "--window-size=1280,2000", served, profile=tmp_path / "profile2"
    )
    assert shot.stat().st_size > 10_000
