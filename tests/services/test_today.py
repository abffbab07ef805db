"""`today` (who may not be promoted now, and until when) and when `check`'s answer next
changes, across overlapping windows and exemptions. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

from purdah.clock import LONDON
from purdah.decide import Action
from purdah.services.check import check
from purdah.services.councillors import remove_councillor
from purdah.services.elections import add_election
from purdah.services.history import exempt
from purdah.services.today import today
from tests.services.helpers import SETUP, nottinghamshire, set_clock


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


# local.ashfield.2026-05-07 restricts Ashfield and Selston from Mon 30 Mar 2026 00:00 (the
# statutory last day for the notice) to 22:00 on polling day.
START = at(2026, 3, 30)
END = at(2026, 5, 7, 22)


def test_today_lists_the_restricted_by_council_with_their_end(store):
    nottinghamshire(store)
    add_election(set_clock(store, SETUP), "local.ashfield.2026-05-07", nation="ENG")
    result = today(store, at(2026, 4, 1, 10))
    assert result.summary == "3 councillors in 1 council may not be promoted now"
    [council] = result.councils
    assert (council.slug, council.name) == ("selston", "Selston Parish Council")
    assert [s.election_id for s in council.windows] == ["local.ashfield.2026-05-07"]
    assert [r.councillor for r in council.councillors] == [
        "selston/jane-doe",
        "selston/mayor",
        "selston/sam-roe",
    ]
    assert {r.until for r in council.councillors} == {END}
    assert not any(r.may_post.allowed for r in council.councillors)
    assert result.next_restriction is None


def test_one_councillor_is_singular(store):
    nottinghamshire(store)
    add_election(set_clock(store, SETUP), "local.gedling.2026-05-07", nation="ENG")
    assert today(store, at(2026, 4, 1)).summary == (
        "1 councillor in 1 council may not be promoted now"
    )


def test_when_nobody_is_restricted_today_says_when_the_next_restriction_starts(store):
    nottinghamshire(store)
    add_election(set_clock(store, SETUP), "local.ashfield.2026-05-07", nation="ENG")
    result = today(store, at(2026, 3, 1))
    assert result.summary == "no councillor is restricted now"
    assert result.councils == ()
    upcoming = result.next_restriction
    assert upcoming is not None
    assert (upcoming.start, upcoming.election_id) == (START, "local.ashfield.2026-05-07")
    assert [slug for slug, _ in upcoming.councils] == ["ashfield", "selston"]
    answer = check(store, "selston/jane-doe", Action.PROMOTE, at(2026, 3, 1))
    assert answer.allowed and answer.next_change == START
    assert answer.sentence == (
        "Yes: no pre-election window is in force; restricted from 00:00 on Monday 30 March "
        "2026 for the Ashfield District Council election on Thursday 7 May 2026 (notice of "
        "election due by 30 March 2026)"
    )


def test_restricted_until_runs_across_overlapping_windows(store):
    """A Selston by-election whose window opens before the district poll closes: the
    answer does not change at 22:00 on 7 May, but when the by-election's window ends."""
    nottinghamshire(store)
    add_election(set_clock(store, SETUP), "local.ashfield.2026-05-07", nation="ENG")
    add_election(set_clock(store, SETUP), "local.selston.2026-06-04", nation="ENG")
    by_end = at(2026, 6, 4, 22)
    answer = check(store, "selston/jane-doe", Action.PROMOTE, at(2026, 4, 1, 10))
    assert not answer.allowed
    assert answer.next_change == by_end
    assert answer.sentence == (
        "No: the Ashfield District Council election on Thursday 7 May 2026 (notice of "
        "election due by 30 March 2026); restricted until 22:00 on Thursday 4 June 2026, when "
        "the window for the Selston Parish Council election on Thursday 4 June 2026 ends"
    )
    rows = today(store, at(2026, 5, 1)).councils
    assert {r.until for c in rows if c.slug == "selston" for r in c.councillors} == {by_end}
    assert {r.until for c in rows if c.slug == "ashfield" for r in c.councillors} <= {END}


def test_an_exemption_ends_and_starts_the_restriction(store):
    nottinghamshire(store)
    add_election(set_clock(store, SETUP), "local.ashfield.2026-05-07", nation="ENG")
    exempt(
        set_clock(store, SETUP),
        "selston/mayor",
        action=Action.PROMOTE,
        start=at(2026, 4, 10),
        end=at(2026, 4, 12),
        reason="Remembrance notice",
        granted_by="monitoring officer",
    )
    before = check(store, "selston/mayor", Action.PROMOTE, at(2026, 4, 1))
    assert (before.allowed, before.next_change) == (False, at(2026, 4, 10))
    during = check(store, "selston/mayor", Action.PROMOTE, at(2026, 4, 11))
    assert (during.allowed, during.next_change) == (True, at(2026, 4, 12))
    assert during.sentence.startswith("Yes, by exemption #")
    assert during.sentence.endswith("; restricted again from 00:00 on Sunday 12 April 2026")
    listed = today(store, at(2026, 4, 11)).councils[0].councillors
    assert "selston/mayor" not in [r.councillor for r in listed]
    assert [r.until for r in today(store, at(2026, 4, 1)).councils[0].councillors] == [
        END,
        at(2026, 4, 10),
        END,
    ]


def test_a_councillor_who_left_office_is_not_listed(store):
    nottinghamshire(store)
    add_election(set_clock(store, SETUP), "local.ashfield.2026-05-07", nation="ENG")
    remove_councillor(set_clock(store, SETUP), "selston/sam-roe", actor="clerk")
    [council] = today(store, at(2026, 4, 1)).councils
    assert [r.councillor for r in council.councillors] == ["selston/jane-doe", "selston/mayor"]


def test_today_for_one_council(store):
    nottinghamshire(store)
    add_election(set_clock(store, SETUP), "local.nottinghamshire.2029-05-03", nation="ENG")
    result = today(store, at(2029, 4, 10), "gedling")
    assert [c.slug for c in result.councils] == ["gedling"]
    assert result.summary == "1 councillor in 1 council may not be promoted now"


def test_the_sentence_names_a_poll_that_is_not_the_councils_own_by_its_kind(store):
    """The police area shares the county's slug: its poll is not the county council's."""
    nottinghamshire(store)
    add_election(set_clock(store, SETUP), "pcc.nottinghamshire.2028-05-04")
    answer = check(store, "gedling/ann-other", Action.PROMOTE, at(2028, 4, 1))
    assert answer.sentence == (
        "No: the police and crime commissioner election pcc.nottinghamshire.2028-05-04 on "
        "Thursday 4 May 2028 (notice of election due by 27 March 2028); restricted until "
        "22:00 on polling day"
    )
