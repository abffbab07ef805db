"""`purdah export`: the feed on standard output or in a file, and with --url the
subscription links (webcal:// and https://) and Google's refresh delay on standard error."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from purdah.cli import main
from purdah.errors import InputError
from purdah.services.export import GOOGLE_REFRESH, feed_path, subscription_links
from purdah.services.register import add_councillor
from tests.services.helpers import SETUP, nottinghamshire, set_clock


@pytest.fixture
def db(tmp_path, monkeypatch, sqlite_store):
    nottinghamshire(sqlite_store)
    add_councillor(set_clock(sqlite_store, SETUP), "ashfield/ann-lee", name="Ann Lee")
    path = sqlite_store.sqlite_path
    monkeypatch.setenv("PURDAH_DB", str(path))
    assert run("election", "add", "local.ashfield.2027-05-06", "--nation", "ENG").exit_code == 0
    return path


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_export_with_url_prints_both_links_and_the_google_delay(db):
    result = run("export", "--council", "Selston", "--url", "https://purdah.example.gov.uk/")
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.startswith(b"BEGIN:VCALENDAR\r\n")
    import icalendar

    source = icalendar.Calendar.from_ical(result.stdout_bytes)["SOURCE"]
    assert str(source) == "https://purdah.example.gov.uk/calendars/selston.ics"
    assert result.stderr.splitlines() == [
        "subscribe (calendar app): webcal://purdah.example.gov.uk/calendars/selston.ics",
        "subscribe (Outlook on the web, Google): "
        "https://purdah.example.gov.uk/calendars/selston.ics",
        GOOGLE_REFRESH,
    ]
    assert "12 to 24 hours" in GOOGLE_REFRESH


def test_export_of_a_councillor_to_a_file(db, tmp_path):
    out = tmp_path / "ann.ics"
    result = run("export", "--councillor", "ashfield/ann-lee", "-o", str(out))
    assert result.exit_code == 0, result.output
    body = out.read_bytes()
    import icalendar

    (event,) = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert str(event["SUMMARY"]) == (
        "Pre-election period: Ashfield District Council election, 6 May 2027"
    )
    assert result.stderr.splitlines() == [
        f"wrote {out} ({len(body):,} bytes)",
        "the HTTP service serves it at /calendars/ashfield/ann-lee.ics: give --url "
        "https://HOST for the subscription links",
    ]


def test_export_refuses_a_url_with_a_path_and_writes_nothing(db, tmp_path):
    out = tmp_path / "x.ics"
    result = run("export", "--council", "selston", "--url", "purdah.example/feeds", "-o", str(out))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error: --url 'purdah.example/feeds' is not the service's public base URL: give it as "
        "https://HOST (e.g. https://purdah.example.gov.uk), without a path"
    ]
    assert not out.exists()


def test_links():
    links = subscription_links("http://127.0.0.1:8080", feed_path(ref="selston/jane-doe"))
    assert (links.https, links.webcal) == (
        "http://127.0.0.1:8080/calendars/selston/jane-doe.ics",
        "webcal://127.0.0.1:8080/calendars/selston/jane-doe.ics",
    )
    with pytest.raises(InputError):
        subscription_links("ftp://host", "/calendars/x.ics")
