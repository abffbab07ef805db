"""`purdah import` and `purdah feed` through the CLI: exit codes and the JSON contract."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from purdah.cli import main

DATA = Path(__file__).parents[1] / "data"


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def db(tmp_path, monkeypatch):
    monkeypatch.setenv("PURDAH_DB", str(tmp_path / "purdah.db"))
    assert run("init").exit_code == 0
    assert (
        run(
            "council",
            "add",
            "selston",
            "--name",
            "Selston Parish Council",
            "--nation",
            "ENG",
            "--kind",
            "parish",
            "--within",
            "ashfield",
        ).exit_code
        == 0
    )


def test_dry_run_json_contract(db):
    result = run(
        "import",
        str(DATA / "google_export_x_wr_timezone.ics"),
        "--council",
        "selston",
        "--dry-run",
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) >= {"elections", "skipped", "warnings", "errors"}
    poll = data["elections"][0]
    assert {k: poll[k] for k in ("uid", "poll_date", "type", "area", "title", "status")} == {
        "uid": "4k2j9f0s8d7g6h5j4k3l2@google.com",
        "poll_date": "2027-05-06",
        "type": "local",
        "area": "selston",
        "title": "Polling day - Ashfield District Council election",
        "status": "scheduled",
    }
    assert {s["summary"] for s in data["skipped"]} == {
        "Close of nominations for the election",
        "Full council meeting",
    }
    assert set(data["skipped"][0]) == {"uid", "summary", "reason"}
    assert data["errors"] == []
    listed = json.loads(run("election", "list", "--json").output)["elections"]
    assert listed == []  # a dry run changes nothing


def test_import_then_windows(db):
    result = run("import", str(DATA / "outlook_windows_tz_names.ics"), "--council", "selston")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"imported {DATA / 'outlook_windows_tz_names.ics'}: 3 new;")
    assert "warning" in result.output  # the display-name time zone guess
    windows = json.loads(run("windows", "--council", "selston", "--json").output)
    assert len(windows) == 3


def test_rejected_source_exits_1_and_changes_nothing(db):
    result = run(
        "import",
        str(DATA / "apple_export_all_day.ics"),
        str(DATA / "truncated_download.ics"),
        "--council",
        "selston",
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: {DATA / 'truncated_download.ics'}: it does not end "
        "with END:VCALENDAR, so the download looks truncated"
    )
    assert json.loads(run("election", "list", "--json").output)["elections"] == []


def test_rejected_source_with_json_reports_the_error(db):
    result = run("import", str(DATA / "garbage_line.ics"), "--json")
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["elections"] == [] and "line 9" in data["errors"][0]


@pytest.mark.parametrize(
    "args, error",
    [
        (["missing.ics"], "Error: missing.ics: no such file"),
        (["--council", "nowhere"], "Error: no council 'nowhere' in the register"),
        (["--since", "yesterday"], "Error: --since 'yesterday' is not a date"),
    ],
)
def test_bad_usage(db, args, error):
    source = [] if args[0] == "missing.ics" else [str(DATA / "bom_crlf.ics")]
    result = run("import", *source, *args)
    assert result.exit_code in (1, 2)
    assert result.stderr.startswith(error)


def test_usage_error_without_a_source_is_clicks():
    result = run("import")
    assert result.exit_code == 2 and "Missing argument 'SOURCE...'" in result.stderr


def test_feed_commands(db, tmp_path):
    path = tmp_path / "selston.ics"
    path.write_bytes((DATA / "apple_export_all_day.ics").read_bytes())
    added = run("feed", "add", str(path), "--council", "selston", "--every", "2h")
    assert added.exit_code == 0, added.output
    assert added.output.startswith("added feed selston; imported feed:selston: 1 new;")
    [feed] = json.loads(run("feed", "list", "--json").output)
    assert feed["name"] == "selston" and feed["polls"] == 1 and feed["every_seconds"] == 7200
    path.write_bytes(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")  # a broken download
    failed = run("feed", "refresh", "selston")
    assert failed.exit_code == 1
    assert "the last good data is kept" in failed.stderr
    [feed] = json.loads(run("feed", "list", "--json").output)
    assert feed["failures"] == 1 and feed["polls"] == 1
    assert run("feed", "remove", "selston").output == (
        "removed feed selston; its polls are kept (--withdraw removes them)\n"
    )


def _elections() -> list[str]:
    return [
        e["election_id"] for e in json.loads(run("election", "list", "--json").output)["elections"]
    ]


@pytest.mark.parametrize(
    ("name", "error"),
    [
        (
            "hostile_rrule_byhour_byminute_bysecond.ics",
            "line 5: event 'sub-daily': it repeats up to 86,400 times a day (BYHOUR, "
            "BYMINUTE or BYSECOND), which no election does; nothing was imported",
        ),
        (
            "hostile_rrule_byweekno_bysetpos.ics",
            "line 5: event 'poll-a-day': its recurrence gives about 3,500 occurrences "
            "between 2025-12-02 and 2036-12-01, more than the limit of 1,000 for one series "
            "(no election calendar repeats that often); nothing was imported",
        ),
        (
            "not_ical_html_page.ics",
            "this is an HTML page (a web page, a sign-in or an error page?), not an "
            "iCalendar (.ics) file; nothing was imported (check the file, or that the URL "
            "gives the calendar itself)",
        ),
        (
            "nul_line_zero_filled_block.ics",
            "line 9 is nothing but NUL bytes (512 of them), the mark of a damaged or "
            "half-written file; nothing was imported (fetch or export it again)",
        ),
    ],
)
def test_a_limit_hit_is_one_error_line_exit_1_store_unchanged(db, name, error, monkeypatch):
    # Issue 8, points 5 and 8: these grew to 19 GB, imported 3,487 polls, were "looks
    # truncated", or echoed NUL bytes to the terminal.
    from purdah.clock import LONDON

    # The import window follows the store's clock: pin it so that the message is exact.
    monkeypatch.setattr("purdah.store.real_clock", lambda: datetime(2026, 12, 2, tzinfo=LONDON))
    before = _elections()
    result = run("import", str(DATA / name), "--council", "selston")
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [f"Error: {DATA / name}: {error}"]
    assert "\x00" not in result.output
    assert _elections() == before


def test_a_control_character_in_a_title_is_escaped_on_the_terminal(db, tmp_path):
    path = tmp_path / "esc.ics"
    path.write_bytes(
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:e\r\n"
        b"DTSTART;VALUE=DATE:20270506\r\nSUMMARY:Parish election\x1b[2J\r\nEND:VEVENT\r\n"
        b"END:VCALENDAR\r\n"
    )
    result = run("import", str(path), "--council", "selston")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output
    assert "  new        local.selston.2027-05-06  Parish election\\x1b[2J" in result.output
