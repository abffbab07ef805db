"""The planner: which notices are due when, each exactly once, across a clock change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from purdah.clock import LONDON
from purdah.errors import InputError
from purdah.models import councillor_t, mail_notice_t
from purdah.notify.plan import lead_start
from purdah.notify.queue import plan_notices
from purdah.services.councillors import edit_councillor
from purdah.services.elections import cancel_election, move_election
from tests.notify.helpers import CONFIG, ELECTION, register_with_addresses
from tests.services.helpers import set_clock

SECOND = timedelta(seconds=1)
# 7 UK calendar days before 00:00 BST on 30 March 2026 is 00:00 GMT on 23 March: a naive
# 7 * 24 hours would say 23:00 GMT on the 22nd.
LEAD = datetime(2026, 3, 23, 0, 0, tzinfo=UTC)


def flat(text: str) -> str:
    """A message's words with the wrapping undone."""
    return " ".join(text.split())


def kinds(result):
    return sorted((n.kind, n.label) for n in result.notices)


def test_lead_time_is_counted_in_uk_calendar_days_across_the_clock_change():
    start = datetime(2026, 3, 30, 0, 0, tzinfo=LONDON)  # BST
    assert lead_start(start, 7) == LEAD
    autumn = datetime(2026, 10, 26, 0, 0, tzinfo=LONDON)  # GMT, a day after the change
    assert lead_start(autumn, 7) == datetime(2026, 10, 18, 23, 0, tzinfo=UTC)  # 00:00 BST
    assert lead_start(start, 0) == start


def test_starts_notice_from_the_lead_time_and_only_to_councillors_with_an_address(store):
    register_with_addresses(store)
    before = plan_notices(store, CONFIG, dry_run=True, at=LEAD - SECOND)
    assert before.notices == [] and before.unaddressed == []
    due = plan_notices(store, CONFIG, dry_run=True, at=LEAD)
    assert kinds(due) == [("starts", "selston/jane-doe"), ("starts", "selston/mayor")]
    assert due.unaddressed == ["selston/sam-roe"]  # said, not silently skipped
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(mail_notice_t)).scalar() == 0


def test_each_fact_is_planned_once(store):
    register_with_addresses(store)
    first = plan_notices(set_clock(store, LEAD + timedelta(hours=1)), CONFIG)
    assert first.recorded == 2
    for later in (timedelta(hours=1), timedelta(days=2), timedelta(days=6)):
        again = plan_notices(set_clock(store, LEAD + later), CONFIG)
        assert again.notices == [] and again.recorded == 0
    with store.read() as conn:
        keys = conn.execute(sa.select(mail_notice_t.c.key)).scalars().all()
    assert len(keys) == len(set(keys)) == 2


def test_a_moved_period_gets_one_changed_notice_with_the_old_dates(store):
    register_with_addresses(store)
    plan_notices(set_clock(store, LEAD), CONFIG)
    move_election(
        set_clock(store, LEAD + timedelta(days=1)),
        ELECTION,
        datetime(2026, 5, 14, tzinfo=UTC).date(),
    )
    changed = plan_notices(set_clock(store, LEAD + timedelta(days=1, minutes=1)), CONFIG)
    assert kinds(changed) == [("changed", "selston/jane-doe"), ("changed", "selston/mayor")]
    body = flat(next(n.body for n in changed.notices if n.label == "selston/jane-doe"))
    assert "until 22:00 on Thursday 14 May 2026 (BST)" in body
    assert "(before: from 00:00 on Monday 30 March 2026 (BST) until 22:00 on Thursday 7 May" in body
    assert plan_notices(set_clock(store, LEAD + timedelta(days=2)), CONFIG).notices == []


def test_a_cancelled_period_is_told_once_with_the_reason(store):
    register_with_addresses(store)
    plan_notices(set_clock(store, LEAD), CONFIG)
    cancel_election(set_clock(store, LEAD + timedelta(days=2)), ELECTION)
    told = plan_notices(set_clock(store, LEAD + timedelta(days=2, minutes=1)), CONFIG)
    assert kinds(told) == [("cancelled", "selston/jane-doe"), ("cancelled", "selston/mayor")]
    body = flat(told.notices[0].body)
    assert "no longer applies to you: the poll was cancelled on 25 March 2026" in body
    assert plan_notices(set_clock(store, LEAD + timedelta(days=3)), CONFIG).notices == []


def test_ended_notice_after_the_close_and_not_for_old_periods(store):
    register_with_addresses(store)
    plan_notices(set_clock(store, LEAD), CONFIG)
    close = datetime(2026, 5, 7, 22, 0, tzinfo=LONDON)
    assert plan_notices(store, CONFIG, dry_run=True, at=close - SECOND).notices == []
    ended = plan_notices(set_clock(store, close), CONFIG)
    assert kinds(ended) == [("ended", "selston/jane-doe"), ("ended", "selston/mayor")]
    assert "ended at 22:00 on Thursday 7 May 2026 (BST)" in flat(ended.notices[0].body)
    assert plan_notices(set_clock(store, close + timedelta(hours=1)), CONFIG).notices == []


def test_a_store_turned_on_late_says_nothing_of_periods_long_over(store):
    register_with_addresses(store)
    late = datetime(2026, 6, 1, 9, 0, tzinfo=LONDON)
    assert plan_notices(store, CONFIG, dry_run=True, at=late).notices == []


def test_a_councillor_given_an_address_in_the_period_is_told_it_is_in_force(store):
    register_with_addresses(store)
    in_force = datetime(2026, 4, 10, 12, 0, tzinfo=LONDON)
    edit_councillor(
        set_clock(store, in_force), "selston/sam-roe", email="sam@example.org", actor="t"
    )
    due = plan_notices(store, CONFIG, dry_run=True, at=in_force)
    sam = next(n for n in due.notices if n.label == "selston/sam-roe")
    assert sam.kind == "starts" and sam.subject.startswith("Pre-election period in force")
    assert sam.address == "sam@example.org"


def test_the_clerk_digest_once_a_day_from_its_hour(store):
    register_with_addresses(store, clerk=True)
    morning = datetime(2026, 3, 23, 7, 59, tzinfo=LONDON)
    early = plan_notices(set_clock(store, morning), CONFIG)
    assert [n.kind for n in early.notices] == ["starts", "starts"]  # no digest before 08:00
    assert {n.reply_to for n in early.notices} == {"clerk@selston.example.gov.uk"}
    first = plan_notices(set_clock(store, morning + timedelta(minutes=1)), CONFIG)
    assert kinds(first) == [("digest", "selston")]
    digest = first.notices[0]
    text = flat(digest.body)
    assert digest.address == "clerk@selston.example.gov.uk"
    assert "- coming: Ashfield District Council election, from 00:00 on Monday 30 March" in text
    assert "Jane Doe (jane@example.org): starts" in text
    assert "who are told nothing (1): selston/sam-roe" in text
    assert plan_notices(set_clock(store, morning + timedelta(hours=8)), CONFIG).notices == []
    next_day = plan_notices(set_clock(store, morning + timedelta(days=1, hours=1)), CONFIG)
    assert kinds(next_day) == [("digest", "selston")]
    assert "No notices to councillors since the last digest." in next_day.notices[0].body


def test_the_notice_says_what_the_councillor_receives(store):
    register_with_addresses(store)
    jane = next(
        n
        for n in plan_notices(store, CONFIG, dry_run=True, at=LEAD).notices
        if n.label == "selston/jane-doe"
    )
    assert jane.subject == (
        "Pre-election period starts 30 March: Ashfield District Council election"
    )
    assert "from 00:00 on Monday 30 March 2026 (BST)\nuntil 22:00 on Thursday 7 May 2026" in (
        jane.body
    )
    assert "webcal://purdah.example.gov.uk/calendars/selston/jane-doe.ics" in jane.body
    assert "https://purdah.example.gov.uk/calendars/selston/jane-doe.ics" in jane.body
    assert "you may not post on Selston Parish Council's social media accounts" in flat(jane.body)
    assert max(len(line) for line in jane.body.splitlines() if "://" not in line) <= 72
    assert jane.message_id.endswith("@example.gov.uk>")


@pytest.mark.parametrize(
    "bad",
    ["jane", "jane@localhost", "Jane <jane@example.org>", "a b@example.org", "x@y.org\r\nBcc: z"],
)
def test_a_bad_address_is_refused_and_nothing_changes(store, bad):
    register_with_addresses(store)
    with pytest.raises(InputError, match="not a plain e-mail address"):
        edit_councillor(store, "selston/sam-roe", email=bad, actor="test")
    with store.read() as conn:
        email = conn.execute(
            sa.select(councillor_t.c.email).where(councillor_t.c.slug == "sam-roe")
        ).scalar()
    assert email is None


def test_an_empty_address_clears_it(store):
    register_with_addresses(store)
    edit_councillor(store, "selston/jane-doe", email="", actor="test")
    due = plan_notices(store, CONFIG, dry_run=True, at=LEAD)
    assert kinds(due) == [("starts", "selston/mayor")]
    assert "selston/jane-doe" in due.unaddressed


def test_a_write_records_at_most_its_limit_and_the_rest_follow_once(store):
    register_with_addresses(store)
    first = plan_notices(set_clock(store, LEAD), CONFIG, limit=1)
    assert (first.recorded, first.deferred) == (1, 1)
    second = plan_notices(set_clock(store, LEAD + SECOND), CONFIG, limit=1)
    assert (second.recorded, second.deferred) == (1, 0)
    assert {first.notices[0].label, second.notices[0].label} == {
        "selston/jane-doe",
        "selston/mayor",
    }
    assert plan_notices(set_clock(store, LEAD + 2 * SECOND), CONFIG, limit=1).recorded == 0
