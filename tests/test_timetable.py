"""Statutory timetables and windows (RULES.md section 2), checked against published dates."""

import re
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from purdah.calendars import CalendarKind, calendar, working_days_before
from purdah.clock import LONDON
from purdah.errors import ElectionIdError, InputError, NationError
from purdah.ids import Nation, parse_election_id
from purdah.rules import RULES
from purdah.timetable import (
    EndPolicy,
    StartPolicy,
    WindowPolicy,
    compute_timetable,
    window,
)


def tt(election_id, nation=None, extra=None):
    return compute_timetable(
        parse_election_id(election_id), Nation(nation) if nation else None, extra
    )


# Published reference cases: the test id names the source of the expected date.
REFERENCE = [
    pytest.param(
        "local.2024-05-02",
        "ENG",
        None,
        date(2024, 3, 26),
        None,
        id="EC-media-guide-2024:local-ENG-2024-05-02",
    ),
    pytest.param(
        "gla.a.2024-05-02",
        None,
        None,
        date(2024, 3, 19),
        None,
        id="London-Elects-timetable:gla-2024-05-02",
    ),
    pytest.param(
        "mayor.london.2024-05-02",
        None,
        None,
        date(2024, 3, 19),
        None,
        id="London-Elects-timetable:mayor-london-2024-05-02",
    ),
    pytest.param(
        "parl.2024-07-04",
        None,
        None,
        date(2024, 6, 4),
        date(2024, 5, 30),
        id="SALC:parl-2024-07-04",
    ),
    pytest.param(
        "local.2022-05-05",
        "SCT",
        date(2022, 3, 14),
        date(2022, 3, 23),
        None,
        id="EC-gov.scot:local-SCT-2022-05-05",
    ),
    pytest.param(
        "local.2023-05-18", "NIR", None, date(2023, 4, 11), None, id="EC:local-NIR-2023-05-18"
    ),
]


@pytest.mark.parametrize("election_id, nation, earliest, latest, dissolution", REFERENCE)
def test_published_reference_cases(election_id, nation, earliest, latest, dissolution):
    result = tt(election_id, nation)
    assert result.notice_earliest == earliest
    assert result.notice_latest == latest
    assert result.dissolution == dissolution


def test_general_election_window_starts_at_dissolution_and_ends_at_close_of_poll():
    # SALC: Parliament dissolved Thu 30 May 2024 for the poll of 4 July 2024.
    win = window(tt("parl.2024-07-04"))
    assert win.start == datetime(2024, 5, 30, 0, 0, tzinfo=LONDON)
    assert win.end == datetime(2024, 7, 4, 22, 0, tzinfo=LONDON)
    assert win.start_basis == "dissolution"


def test_scottish_window_starts_at_the_earliest_notice():
    win = window(tt("local.2022-05-05", "SCT"))
    assert win.start == datetime(2022, 3, 14, tzinfo=LONDON)
    assert win.start_basis == "statutory earliest notice of election"


def test_scottish_parliament_2026():
    # 35th and 28th working days before 7 May 2026, skipping Good Friday 3 April and
    # Easter Monday 6 April (SCT+) and the early May holiday 4 May.
    result = tt("sp.2026-05-07")
    assert (result.notice_earliest, result.notice_latest) == (date(2026, 3, 16), date(2026, 3, 25))
    assert result.nation is Nation.SCT


def test_wales_and_england_local_elections_share_the_count():
    assert (
        tt("local.2027-05-06", "WLS").notice_latest == tt("local.2027-05-06", "ENG").notice_latest
    )
    assert tt("local.2027-05-06", "WLS").rule.key == "local-wls"
    assert "SI 2021/1459 Sch 1 r1-2" in tt("local.2027-05-06", "WLS").rule.sources


def test_post_2028_easter_is_counted():
    # Worked by hand: 25 working days before Thu 3 May 2029, skipping Easter Monday 2 April
    # and Good Friday 30 March 2029, is Tue 27 March 2029.
    assert tt("local.2029-05-03", "ENG").notice_latest == date(2029, 3, 27)


def test_city_of_london_skips_its_easter_break():
    # Poll Wed 19 March 2025 is clear of Easter; a poll after Easter must skip the break.
    plain = working_days_before(date(2025, 5, 15), 25, calendar(CalendarKind.EW))
    col = tt("local.city-of-london.2025-05-15").notice_latest
    assert col < plain
    assert tt("local.city-of-london.2025-05-15").nation is Nation.ENG


def test_parliamentary_by_election_starts_at_the_26th_day_unless_notice_known():
    result = tt("parl.runcorn-and-helsby.by.2025-05-01", "ENG")
    ew = calendar(CalendarKind.EW)
    assert result.notice_earliest == working_days_before(date(2025, 5, 1), 26, ew)
    assert result.notice_latest == working_days_before(date(2025, 5, 1), 20, ew)
    win = window(result)
    assert win.start.date() == result.notice_earliest
    assert any("writ" in note for note in result.rule.notes)
    actual = window(result, actual_notice=date(2025, 3, 26))
    assert actual.start == datetime(2025, 3, 26, tzinfo=LONDON)
    assert actual.actual_notice


def test_scottish_parliamentary_by_election_counts_in_the_scottish_calendar():
    assert tt("parl.glasgow-east.by.2026-04-16", "SCT").calendar_kind is CalendarKind.SCT_PLUS
    assert tt("parl.belfast-west.by.2026-04-16", "NIR").calendar_kind is CalendarKind.NI


def test_referendum_publicity_ban_is_28_calendar_days():
    result = tt("ref.ashfield.2026-03-12")
    assert result.publicity_start == date(2026, 2, 12)
    assert result.notice_latest is None
    assert window(result).start == datetime(2026, 2, 12, tzinfo=LONDON)


def test_local_by_election_on_a_tuesday():
    result = tt("local.ashfield.kirkby-cross.by.2026-06-16", "ENG")
    assert result.notice_latest == working_days_before(
        date(2026, 6, 16), 25, calendar(CalendarKind.EW)
    )
    assert result.rule.key == "local-eng"


def test_pcc_in_wales_is_welsh_and_in_england_english():
    assert tt("pcc.gwent.2028-05-04").nation is Nation.WLS
    assert tt("pcc.nottinghamshire.2028-05-04").nation is Nation.ENG
    assert tt("pcc.2028-05-04", "WLS").nation is Nation.WLS


def test_day_of_mourning_moves_the_window():
    # Latest notice is Mon 30 March 2026; a day of mourning on Tue 31 March pushes it back
    # one working day, over the weekend, to Fri 27 March.
    assert tt("local.2026-05-07", "ENG").notice_latest == date(2026, 3, 30)
    moved = tt("local.2026-05-07", "ENG", {date(2026, 3, 31): "day of mourning"})
    assert moved.notice_latest == date(2026, 3, 27)


# Nation resolution


@pytest.mark.parametrize(
    "election_id", ["local.2026-05-07", "parl.runcorn-and-helsby.by.2025-05-01"]
)
def test_nation_is_required_where_the_id_does_not_fix_it(election_id):
    with pytest.raises(NationError, match=re.escape("give --nation ENG|WLS|SCT|NIR")):
        tt(election_id)


@pytest.mark.parametrize(
    "election_id, nation",
    [
        ("sp.2026-05-07", "ENG"),
        ("senedd.2026-05-07", "SCT"),
        ("nia.2027-05-06", "WLS"),
        ("gla.a.2024-05-02", "WLS"),
        ("pcc.2028-05-04", "SCT"),
        ("local.city-of-london.2025-03-19", "WLS"),
        ("ref.ashfield.2026-03-12", "SCT"),
    ],
)
def test_contradictory_nation_is_an_error(election_id, nation):
    with pytest.raises(NationError, match=f"--nation {nation} contradicts it"):
        tt(election_id, nation)


def test_general_election_accepts_any_nation_and_is_uk_wide():
    assert tt("parl.2029-08-16", "SCT").nation is Nation.UK
    assert tt("parl.2029-08-16").calendar_kind is CalendarKind.ANY_UK


def test_uncovered_election_type_is_refused():
    with pytest.raises(ElectionIdError, match="not covered by purdah's rules"):
        tt("europarl.2019-05-23")


# Window policy


def test_end_policies():
    result = tt("local.2026-05-07", "ENG")
    close = window(result).end
    assert close == datetime(2026, 5, 7, 22, tzinfo=LONDON)
    end_of_day = window(result, WindowPolicy(end=EndPolicy.END_OF_DAY)).end
    assert end_of_day == datetime(2026, 5, 8, 0, tzinfo=LONDON)
    declared = datetime(2026, 5, 8, 3, 15, tzinfo=LONDON)
    assert (
        window(result, WindowPolicy(end=EndPolicy.DECLARATION), declared_at=declared).end
        == declared
    )


def test_unknown_declaration_time_releases_late_and_says_so():
    win = window(tt("local.2026-05-07", "ENG"), WindowPolicy(end=EndPolicy.DECLARATION))
    assert win.end == datetime(2026, 5, 9, 0, tzinfo=LONDON)
    assert any("conservative" in note for note in win.notes)


def test_declaration_before_close_of_poll_is_corrected():
    win = window(
        tt("local.2026-05-07", "ENG"),
        WindowPolicy(end=EndPolicy.DECLARATION),
        declared_at=datetime(2026, 5, 7, 12, tzinfo=LONDON),
    )
    assert win.end == datetime(2026, 5, 7, 22, tzinfo=LONDON)
    assert win.notes


def test_naive_declaration_time_is_refused():
    with pytest.raises(InputError, match="has no time zone"):
        window(
            tt("local.2026-05-07", "ENG"),
            WindowPolicy(end=EndPolicy.DECLARATION),
            declared_at=datetime(2026, 5, 8, 3),  # noqa: DTZ001 (naive on purpose)
        )


def test_start_policies_for_scotland():
    result = tt("local.2027-05-06", "SCT")
    latest = window(result, WindowPolicy(start=StartPolicy.LATEST_NOTICE))
    earliest = window(result, WindowPolicy(start=StartPolicy.EARLIEST_NOTICE))
    assert latest.start.date() == result.notice_latest
    assert earliest.start.date() == result.notice_earliest


def test_start_policy_that_does_not_apply_falls_back_and_says_so():
    result = tt("local.2027-05-06", "ENG")
    win = window(result, WindowPolicy(start=StartPolicy.DISSOLUTION))
    assert win.start.date() == result.notice_latest
    assert any("does not apply" in note for note in win.notes)


def test_general_election_never_starts_after_dissolution():
    result = tt("parl.2024-07-04")
    win = window(result, WindowPolicy(start=StartPolicy.LATEST_NOTICE))
    assert win.start.date() == date(2024, 5, 30)
    with_notice = window(result, actual_notice=date(2024, 6, 3))
    assert with_notice.start.date() == date(2024, 5, 30)
    assert with_notice.start_basis == "dissolution"


def test_actual_notice_is_the_start():
    win = window(tt("local.2026-05-07", "ENG"), actual_notice=date(2026, 3, 20))
    assert win.start == datetime(2026, 3, 20, tzinfo=LONDON)
    assert win.actual_notice and win.start_basis == "actual notice of election"


def test_actual_notice_after_the_statutory_latest_is_corrected_conservatively():
    result = tt("local.2026-05-07", "ENG")
    win = window(result, actual_notice=result.notice_latest + timedelta(days=2))
    assert win.start.date() == result.notice_latest
    assert not win.actual_notice
    assert any("after the statutory latest" in note for note in win.notes)


def test_actual_notice_on_or_after_polling_day_is_refused():
    with pytest.raises(InputError, match="is not before polling day"):
        window(tt("local.2026-05-07", "ENG"), actual_notice=date(2026, 5, 7))


def test_window_start_is_midnight_london_across_the_clock_change():
    # 26 March 2024 is before the change to BST (31 March); the end is after it.
    win = window(tt("local.2024-05-02", "ENG"))
    assert win.start.utcoffset() == timedelta(0)
    assert win.end.utcoffset() == timedelta(hours=1)
    assert win.contains(datetime(2024, 5, 2, 20, 59, 59, tzinfo=LONDON) - timedelta(hours=-1))
    assert not win.contains(win.end)
    assert win.contains(win.start)
    assert not win.contains(win.start - timedelta(seconds=1))


# Properties

_NATIONED = [("local", n) for n in ("ENG", "WLS", "SCT", "NIR")] + [
    ("parl", None),
    ("pcc", None),
    ("mayor", None),
    ("gla.a", None),
    ("senedd", None),
    ("sp.c", None),
    ("nia", None),
    ("local.city-of-london", None),
    ("ref.ashfield", None),
]


@given(
    poll=st.dates(min_value=date(2010, 3, 1), max_value=date(2040, 12, 31)),
    kind=st.sampled_from(_NATIONED),
)
def test_property_latest_notice_is_exactly_n_working_days_before(poll, kind):
    prefix, nation = kind
    result = tt(f"{prefix}.{poll.isoformat()}", nation)
    win = window(result)
    assert win.start < win.end
    if result.notice_latest is None:
        return
    cal = result.calendar
    assert cal is not None and cal.is_working_day(result.notice_latest)
    days = (poll - result.notice_latest).days
    counted = sum(cal.is_working_day(result.notice_latest + timedelta(days=i)) for i in range(days))
    assert counted == result.rule.latest_notice


def test_every_rule_names_a_legal_source():
    for rule in RULES:
        assert rule.sources, rule.key
