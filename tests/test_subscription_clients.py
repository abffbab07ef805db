"""The councillor's subscription, as a councillor's calendar would take it: vdirsyncer (its
http storage) syncs the feed `purdah serve` serves on 127.0.0.1 into a folder, and khal
lists it. The period starts in GMT and ends in BST, and khal must show the local times of
both ends (and the UTC ones when told to). Cancelling the poll then reaches khal as a
cancelled event, not as a vanished one.

vdirsyncer and khal are in the dev dependencies; the test is skipped, saying so, where
they are not installed."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from purdah.clock import LONDON
from tests.services.helpers import SETUP, nottinghamshire, set_clock

BIN = Path(sys.executable).parent
LIMIT = 60  # seconds for any one client command


def tool(name: str) -> str:
    found = shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if found is None:
        pytest.skip(f"{name} is not installed: pip install '.[dev]' installs it")
    return found


def _limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def run(*args: str) -> str:
    done = subprocess.run(
        args, capture_output=True, text=True, timeout=LIMIT, stdin=subprocess.DEVNULL, check=False
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def poll_in(years: int) -> tuple[str, date]:
    """A district election in early May `years` from now (never a date already past), and
    a notice day just before the clocks go forward, so the period starts in GMT."""
    year = datetime.now(UTC).year + years
    poll = date(year, 5, 1) + timedelta(days=(3 - date(year, 5, 1).weekday()) % 7)
    march = date(year, 3, 31)
    bst = march - timedelta(days=(march.weekday() - 6) % 7)  # the last Sunday of March
    return f"local.ashfield.{poll}", bst - timedelta(days=4)


@pytest.fixture
def served(tmp_path):
    from purdah.services.elections import add_election, set_notice
    from purdah.store import migrate, open_store

    vdirsyncer, khal = tool("vdirsyncer"), tool("khal")
    db = tmp_path / "purdah.db"
    store = open_store(str(db), create=True)
    migrate(store)
    nottinghamshire(store)
    election, notice = poll_in(2)
    add_election(set_clock(store, SETUP), election, nation="ENG")
    set_notice(set_clock(store, SETUP), election, notice)
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "purdah", "serve", "--port", str(port), "--db", str(db)],
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_limit_memory,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/livez", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    said = (tmp_path / "serve.log").read_text()
                    raise AssertionError(f"purdah serve did not answer: {said}") from None
                time.sleep(0.2)
        yield store, election, notice, url, vdirsyncer, khal
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        store.close()


def configure(tmp_path: Path, url: str, zone: str) -> tuple[Path, Path]:
    calendars = tmp_path / "calendars" / "purdah"
    calendars.mkdir(parents=True, exist_ok=True)
    sync = tmp_path / "vdirsyncer.conf"
    sync.write_text(
        f"""[general]
status_path = "{tmp_path / "status"}/"

[pair purdah]
a = "purdah_feed"
b = "purdah_local"
collections = null
conflict_resolution = "a wins"

[storage purdah_feed]
type = "http"
url = "{url}/calendars/selston/jane-doe.ics"

[storage purdah_local]
type = "filesystem"
path = "{calendars}/"
fileext = ".ics"
"""
    )
    khal = tmp_path / f"khal-{zone.replace('/', '-')}.conf"
    khal.write_text(
        f"""[calendars]
[[purdah]]
path = {calendars}/
type = calendar

[sqlite]
path = {tmp_path / f"khal-{zone.replace('/', '-')}.db"}

[locale]
local_timezone = {zone}
default_timezone = {zone}
timeformat = %H:%M
dateformat = %Y-%m-%d
longdateformat = %Y-%m-%d
datetimeformat = %Y-%m-%d %H:%M
longdatetimeformat = %Y-%m-%d %H:%M
"""
    )
    return sync, khal


def listed(khal: str, conf: Path, year: int) -> list[str]:
    out = run(
        khal, "-c", str(conf), "list", "-o", "-df", "",
        "-f", "{start}|{end}|{cancelled}{title}",
        f"{year}-01-01", f"{year}-12-31",
    )  # fmt: skip
    return [line for line in out.splitlines() if line.strip()]


def test_vdirsyncer_syncs_the_feed_and_khal_lists_it_in_local_time(served, tmp_path):
    from purdah.services.elections import cancel_election

    store, election, notice, url, vdirsyncer, khal = served
    poll = date.fromisoformat(election.rsplit(".", 1)[1])
    sync, london = configure(tmp_path, url, "Europe/London")
    _, utc = configure(tmp_path, url, "UTC")
    run(vdirsyncer, "-c", str(sync), "discover", "purdah")
    run(vdirsyncer, "-c", str(sync), "sync")
    assert len(list((tmp_path / "calendars" / "purdah").glob("*.ics"))) == 1
    title = f"Pre-election period: Ashfield District Council election, {poll.day} {poll:%B %Y}"
    # Starts at midnight GMT (before the clocks go forward), ends at 22:00 BST.
    assert datetime.combine(notice, datetime.min.time(), LONDON).utcoffset() == timedelta(0)
    assert listed(khal, london, poll.year) == [f"{notice} 00:00|{poll} 22:00|{title}"]
    assert listed(khal, utc, poll.year) == [f"{notice} 00:00|{poll} 21:00|{title}"]
    # Unchanged data: the second sync changes nothing in the folder.
    files = {p.name: p.read_bytes() for p in (tmp_path / "calendars" / "purdah").glob("*.ics")}
    run(vdirsyncer, "-c", str(sync), "sync")
    assert files == {
        p.name: p.read_bytes() for p in (tmp_path / "calendars" / "purdah").glob("*.ics")
    }
    # The clerk cancels the poll before its period: the calendar shows it cancelled.
    cancel_election(set_clock(store, datetime.now(UTC)), election)
    run(vdirsyncer, "-c", str(sync), "sync")
    assert listed(khal, london, poll.year) == [
        f"{notice} 00:00|{poll} 22:00|CANCELLED Cancelled: {title}"
    ]


def test_behind_the_proxy_the_feed_names_its_public_https_address(served):
    """What the README's nginx example relies on: Host and X-Forwarded-Proto from the proxy
    (on 127.0.0.1) make the feed's SOURCE the public https:// address."""
    import icalendar

    url = served[3]
    request = urllib.request.Request(
        f"{url}/calendars/selston/jane-doe.ics",
        headers={"Host": "purdah.example.gov.uk", "X-Forwarded-Proto": "https"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        body = answer.read()
        etag = answer.headers["ETag"]
    source = str(icalendar.Calendar.from_ical(body)["SOURCE"])
    assert source == "https://purdah.example.gov.uk/calendars/selston/jane-doe.ics"
    assert etag.startswith('"') and not etag.startswith("W/")
