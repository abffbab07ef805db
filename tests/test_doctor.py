"""`purdah doctor` and the diagnosis behind /healthz: every fault by name."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner

from purdah.cli import main
from purdah.clock import LONDON
from purdah.scheduler import Runner
from purdah.services.doctor import diagnose
from purdah.services.elections import add_election
from purdah.services.reconcile import reconcile
from tests.services.helpers import SETUP, nottinghamshire, set_clock, use_clock

START = datetime(2026, 3, 30, tzinfo=LONDON)  # local.selston.2026-05-07's window opens


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def selston(store):
    nottinghamshire(store)
    add_election(set_clock(store, SETUP), "local.selston.2026-05-07", nation="ENG")
    return store


def running(store, now):
    """What `purdah run` leaves in the store at `now`: a reconcile and a heartbeat."""
    runner = Runner(use_clock(store, Clock(now)), clock=store.clock)
    runner.tick("start-up")
    runner.heartbeat()
    return runner


def names(d):
    return [f.name for f in d.faults]


def test_a_kept_store_has_no_fault(selston):
    now = START + timedelta(days=1)
    running(selston, now)
    d = diagnose(selston, now + timedelta(seconds=30))
    assert d.ok and names(d) == [] and d.councillors == 4 and d.flags_differ == []


def test_a_reconcile_dated_in_the_future_is_a_fault(selston):
    """Observation: after `reconcile --at 2028-...`, /healthz said reconcile_fresh: true."""
    now = START - timedelta(days=1)
    running(selston, now)
    reconcile(
        set_clock(selston, START + timedelta(days=1))
    )  # the flags switched for a future instant
    d = diagnose(selston, now + timedelta(seconds=30))
    assert names(d) == ["reconcile_in_future", "flags_differ"]
    assert d.faults[0].message.startswith("the last reconcile is dated 2026-03-31T00:00:00+01:00")
    assert d.faults[1].message == (
        "3 councillors' stored flags differ from the decision now "
        "(selston/jane-doe, selston/mayor, selston/sam-roe): run 'purdah reconcile'"
    )


def test_a_stale_reconcile_and_a_frozen_scheduler_are_faults(selston):
    """Observation: /healthz said ok with the scheduler frozen."""
    now = START - timedelta(days=1)
    running(selston, now)
    d = diagnose(selston, now + timedelta(minutes=31))  # two 15-minute intervals and more
    assert names(d) == ["reconcile_stale", "heartbeat_stale"]


def test_a_boundary_passed_without_a_reconcile_is_a_fault(selston):
    running(selston, START - timedelta(minutes=5))
    d = diagnose(selston, START + timedelta(minutes=2))
    assert names(d) == ["boundary_missed", "heartbeat_stale", "flags_differ"]
    assert d.last_boundary_at == START
    # within the grace minute, a boundary being switched is not yet a fault
    assert "boundary_missed" not in names(diagnose(selston, START + timedelta(seconds=30)))


def test_no_heartbeat_and_no_reconcile(store):
    d = diagnose(store, START)
    assert names(d) == ["reconcile_missing", "heartbeat_missing"]


def test_failing_reconciles_are_reported_from_the_heartbeat(selston):
    now = START - timedelta(days=1)
    runner = running(selston, now)
    runner.failures = 3
    runner.heartbeat()
    d = diagnose(selston, now)
    assert names(d) == ["reconcile_failing"]
    assert d.heartbeat.failing_reconciles == 3


def test_failing_and_stale_feeds_are_faults(selston, tmp_path):
    from purdah.services.feeds import add_feed
    from purdah.services.importer import ImportOptions

    now = START - timedelta(days=1)
    missing = tmp_path / "gone.ics"
    missing.write_text("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    add_feed(set_clock(selston, now), str(missing), name="gone", options=ImportOptions())
    missing.unlink()
    from purdah.services.feeds import refresh_feed

    refresh_feed(set_clock(selston, now), "gone")
    running(selston, now)
    d = diagnose(selston, now)
    assert names(d) == ["feed_failing"]
    assert d.faults[0].message.startswith("feed gone: the last 1 refreshes failed (")
    later = now + timedelta(hours=14)  # two 6-hour intervals (and the clocks went forward)
    running(selston, later)
    assert names(diagnose(selston, later)) == ["feed_failing", "feed_stale"]


def test_doctor_command_exit_codes_and_lines(tmp_path):
    db = str(tmp_path / "p.db")
    runner = CliRunner()
    assert runner.invoke(main, ["init", "--db", db]).exit_code == 0
    result = runner.invoke(main, ["doctor", "--db", db])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("FAULT: 2 faults at ")
    assert lines[1] == "  reconcile_missing: no reconcile has ever run: run 'purdah run'"
    assert lines[2] == (
        "  heartbeat_missing: no scheduler heartbeat in the store: 'purdah run' has never run on it"
    )
    from purdah.store import open_store

    store = open_store(db)
    Runner(store).tick()
    Runner(store).heartbeat()
    result = runner.invoke(main, ["doctor", "--db", db])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].startswith("ok: 0 faults at ")
    reconcile(set_clock(store, datetime.now(LONDON) + timedelta(days=400)))
    result = runner.invoke(main, ["doctor", "--db", db, "--json"])
    assert result.exit_code == 1
    body = json.loads(result.output)
    assert body["ok"] is False and body["reconcile_fresh"] is False
    assert [f["name"] for f in body["faults"]] == ["reconcile_in_future"]


def test_doctor_on_a_missing_store_exits_2(tmp_path):
    result = CliRunner().invoke(main, ["doctor", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1].startswith("Error: no purdah store at ")


def test_the_cheap_flags_check_agrees_with_status(selston, monkeypatch):
    """flags_differing decides only the councillors whose flags could be wrong; whatever
    instant the flags were last switched for, it finds exactly what `status` finds."""
    from purdah.decide import Action
    from purdah.services import doctor
    from purdah.services.history import exempt
    from purdah.services.status import status

    exempt(
        set_clock(selston, SETUP),
        "selston/mayor",
        action=Action.PROMOTE,
        start=START + timedelta(days=2),
        end=START + timedelta(days=4),
        reason="civic duty",
        granted_by="clerk",
    )
    instants = [START - timedelta(days=1), START + timedelta(days=1), START + timedelta(days=3)]
    instants.append(datetime(2026, 5, 8, tzinfo=LONDON))  # after the poll
    for switched in instants:
        reconcile(set_clock(selston, switched))
        for now in instants:
            expected = [r.councillor for r in status(selston, now) if r.mismatch]
            assert doctor.flags_differing(selston, now) == (4, expected), (switched, now)
            monkeypatch.setattr(doctor, "MAX_CANDIDATES", 0)  # the everyone-at-once path
            assert doctor.flags_differing(selston, now) == (4, expected), (switched, now)
            monkeypatch.undo()


def test_a_run_up_begun_without_a_notice_date_is_a_warning_not_a_fault(selston):
    """Issue 15: doctor warns when a run-up has begun and no notice date is recorded."""
    now = datetime(2026, 3, 20, 12, tzinfo=LONDON)  # in the run-up of local.selston.2026-05-07
    running(selston, now)
    d = diagnose(selston, now)
    assert d.ok and names(d) == []
    assert [w.name for w in d.warnings] == ["notice_not_recorded"]
    message = d.warnings[0].message
    assert message.startswith("the run-up of local.selston.2026-05-07 began on 2026-03-")
    assert "purdah election set-notice local.selston.2026-05-07" in message
    before = datetime(2026, 2, 2, 12, tzinfo=LONDON)  # months ahead: no run-up yet
    running(selston, before)
    assert diagnose(selston, before).warnings == []
