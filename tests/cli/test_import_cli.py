"""`purdah import` and `purdah feed` through the CLI: exit codes and the JSON contract."""

from __future__ import annotations

import json
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
    listed = json.loads(run("election", "list", "--json").output)
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
    assert json.loads(run("election", "list", "--json").output) == []


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
