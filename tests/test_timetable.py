"""Statutory timetables and windows (RULES.md section 2), checked against published dates."""

import re
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from purdah.calendars import CalendarKind, calendar, working_days_before
from purdah.clock import LONDON
from purdah.errors import ElectionIdError, InputError, NationError, PollError
from purdah.ids import Nation, parse_election_id
from purdah.polls import check_poll_can_exist, latest_general_election
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


def tt_ref(election_id, kind):
    return compute_timetable(parse_election_id(election_id), None, None, kind)


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
    assert "WSI 2021/1459 Sch 1 r1-2" in tt("local.2027-05-06", "WLS").rule.sources


def test_post_2028_easter_is_counted():
    # Worked by hand: 25 working days before Thu 3 May 2029, skipping Easter Monday 2 April
    # and Good Friday 30 March 2029, is Tue 27 March 2029.
    assert tt("local.2029-05-03", "ENG").notice_latest == date(2029, 3, 27)


def test_city_of_london_skips_its_easter_break():
    # A poll after Easter must skip the break (Thu 17 to Tue 22 April 2025): counting
    # Saturdays but not the break is earlier than counting Saturdays through it.
    no_break = calendar(CalendarKind.EW, {})
    col = tt("local.city-of-london.2025-05-15").notice_latest
    assert col == date(2025, 4, 9)  # counted Mon-Sat, skipping 17-22 April and 5 May
    assert not tt("local.city-of-london.2025-05-15").calendar.is_working_day(date(2025, 4, 19))
    assert no_break.reason(date(2025, 4, 22)) is None  # Tuesday after Easter: only the City
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
    assert tt("parl.glasgow-east.by.2026-04-16", "SCT").calendar_kind is CalendarKind.SCT
    assert tt("parl.belfast-west.by.2026-04-16", "NIR").calendar_kind is CalendarKind.NI


def test_neighbourhood_planning_referendum_period_is_28_working_days():
    # SI 2012/2031 reg 4(1A)(b): information statement not fewer than 28 working days
    # before the poll (https://www.legislation.gov.uk/uksi/2012/2031/regulation/4); the
    # old rule started 28 calendar days before (12 February 2026), later than the law.
    result = tt_ref("ref.ashfield.2026-03-12", "neighbourhood-planning")
    assert result.rule.key == "ref-np"
    assert result.publicity_start == working_days_before(
        date(2026, 3, 12), 28, calendar(CalendarKind.EW)
    )
    assert result.publicity_start == date(2026, 2, 2)
    assert result.notice_latest is None and result.warnings == ()
    assert window(result).start == datetime(2026, 2, 2, tzinfo=LONDON)


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
    # From 2016: every kind sampled has a rule in force (older polls are refused, see
    # test_old_polls_outside_every_version_are_refused).
    poll=st.dates(min_value=date(2016, 1, 1), max_value=date(2040, 12, 31)),
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


# Issue 9: every answer under the law in force on the polling day, or refused with the reason.
# Each test names its source: the published notice or timetable, and the instrument.


def test_city_of_london_counts_saturdays_ward_elections_2025():
    # Act of Common Council of 9 April 1970 s1 (Wardmote Book Part A s4 para 6): the City's
    # timetable excludes Sundays, bank holidays and its breaks, not Saturdays. The ward
    # elections of Thu 20 March 2025 published their notice on Tue 18 February 2025
    # (City of London Corporation notice of election); counting Saturdays the latest day is
    # Wed 19 February, so the published notice is within the law (the old code: 13 Feb).
    result = tt("local.city-of-london.2025-03-20")
    assert result.rule.key == "local-col"
    assert result.notice_latest == date(2025, 2, 19)
    assert date(2025, 2, 18) <= result.notice_latest
    assert result.calendar.is_working_day(date(2025, 3, 15))  # a Saturday
    assert "Act of Common Council of 9 April 1970" in result.rule.sources[0]
    win = window(result, actual_notice=date(2025, 2, 18))
    assert win.actual_notice and win.notes == ()


def test_city_of_london_counts_saturdays_aldermanic_election_2022():
    # Aldermanic elections of Thu 7 July 2022: notice published Tue 7 June 2022 (City of
    # London Corporation notice); with Saturdays counted and 2-3 June (bank holidays)
    # skipped the latest day is Wed 8 June (the old code said 31 May).
    result = tt("local.city-of-london.2022-07-07")
    assert result.notice_latest == date(2022, 6, 8)
    assert window(result, actual_notice=date(2022, 6, 7)).actual_notice


def test_general_election_2010_uses_the_17_day_timetable_then_in_force():
    # parliament.uk "General Election 2010 timetable": dissolution Mon 12 April 2010;
    # politicsresources.net: notices by Thu 15 April. RPA 1983 Sch 1 r1 before ERAA 2013
    # s14 (https://www.legislation.gov.uk/ukpga/2013/6/part/2/2013-04-02: "Valid from
    # 06/04/2014"). The old code answered with the 25-day rule: dissolution 29 March.
    result = tt("parl.2010-05-06")
    assert result.rule.key == "parl-1983"
    assert result.dissolution == date(2010, 4, 12)
    assert result.notice_latest == date(2010, 4, 15)
    assert window(result).start == datetime(2010, 4, 12, tzinfo=LONDON)


def test_general_elections_2015_to_2019_cite_the_fixed_term_parliaments_act():
    # HC Library Research Paper 15/11: dissolution Mon 30 March 2015, 25 working days
    # before 7 May 2015 (FTPA 2011 s3(1) as amended by ERAA 2013 s14(1)). Electoral
    # Commission (Wandsworth Guardian): dissolution Wed 6 November 2019, notice by 11 Nov.
    gen15, gen19 = tt("parl.2015-05-07"), tt("parl.2019-12-12")
    assert gen15.rule.key == gen19.rule.key == "parl-2014"
    assert any("Fixed-term Parliaments Act 2011" in s for s in gen15.rule.sources)
    assert not any("2022" in s for s in gen15.rule.sources)
    assert gen15.dissolution == date(2015, 3, 30)
    assert (gen19.dissolution, gen19.notice_latest) == (date(2019, 11, 6), date(2019, 11, 11))
    assert tt("parl.2024-07-04").rule.key == "parl"
    assert any("Dissolution and Calling" in s for s in tt("parl.2024-07-04").rule.sources)


def test_eastleigh_by_election_2013_notice_is_within_the_old_range():
    # Eastleigh by-election, Thu 28 February 2013: notice of election published Fri 8
    # February 2013 (Eastleigh Borough Council). Before 6 April 2014 the poll came 9-11
    # working days after nominations (ERAA 2013 explanatory notes para 54), so the notice
    # fell on the 12th-18th working day: 8 February is the 14th. The old code's 20th-26th
    # range (4 Feb ... wrong law) put it outside.
    result = tt("parl.eastleigh.by.2013-02-28", "ENG")
    assert result.rule.key == "parl-by-1983"
    assert result.notice_earliest <= date(2013, 2, 8) <= result.notice_latest
    win = window(result, actual_notice=date(2013, 2, 8))
    assert win.actual_notice and win.notes == ()


def test_old_polls_outside_every_version_are_refused():
    # Never answer an older poll with a newer rule: SSI 2015/425 Sch 2 para 1 came into force
    # on 16 December 2015; purdah knows no Scottish Parliament rule before it.
    with pytest.raises(PollError) as exc:
        tt("sp.c.2011-05-05")
    assert str(exc.value) == (
        "sp.c.2011-05-05: purdah has no Scottish Parliament rule in force on 2011-05-05 (it "
        "knows sp: polls from 2015-12-16); it will not answer an older poll with a newer "
        "rule: check the timetable of the law then in force"
    )
    with pytest.raises(PollError, match="local-eng: polls from 2007-01-02"):
        tt("local.2006-05-04", "ENG")


def test_senedd_2026_cites_the_2025_order_and_2021_the_2007_order():
    # WSI 2025/864 art 1(3)-(4) (https://www.legislation.gov.uk/wsi/2025/864/made): it
    # revokes SI 2007/236 but does not have effect for polls on or before 6 April 2026.
    old, new = tt("senedd.2021-05-06"), tt("senedd.2026-05-07")
    assert old.rule.key == "senedd" and old.rule.sources == ("SI 2007/236 Sch 5 r1",)
    assert new.rule.key == "senedd-2026" and new.rule.sources[0].startswith("WSI 2025/864")
    assert old.rule.latest_notice == new.rule.latest_notice == 25
    assert new.notice_latest == date(2026, 3, 30)
    assert tt("senedd.2026-04-06").rule.key == "senedd"
    assert tt("senedd.2026-04-07").rule.key == "senedd-2026"


def test_scottish_parliamentary_by_election_does_not_skip_easter_monday():
    # RPA 1983 Sch 1 r2 excludes bank holidays "in that part of the UK"; Easter Monday is
    # not one in Scotland (https://www.legislation.gov.uk/ukpga/1983/2/schedule/1). The old
    # code counted in SCT+ and said 31 March.
    result = tt("parl.x.by.2026-04-30", "SCT")
    assert result.notice_latest == date(2026, 4, 1)
    assert result.calendar.is_working_day(date(2026, 4, 6))
    # Scottish council and Scottish Parliament timetables still skip it (EC timetables).
    assert not tt("local.2026-04-30", "SCT").calendar.is_working_day(date(2026, 4, 6))


def test_by_election_earliest_is_labelled_purdahs_default_not_statutory():
    result = tt("parl.runcorn-and-helsby.by.2025-05-01", "ENG")
    assert not result.rule.earliest_is_statutory
    assert window(result).start_basis == (
        "earliest notice the writ allows (purdah's conservative default)"
    )
    assert tt("local.2026-05-07", "SCT").rule.earliest_is_statutory
    assert window(tt("local.2026-05-07", "SCT")).start_basis == (
        "statutory earliest notice of election"
    )


REFERENDUMS = [
    # kind, rule key, start for a poll on Thu 12 March 2026, source
    ("neighbourhood-planning", "ref-np", date(2026, 2, 2), "SI 2012/2031 reg 4(1A)(b)"),
    ("business-neighbourhood-planning", "ref-np-business", date(2025, 12, 18), "reg 4(1A)(a)"),
    ("council-tax", "ref-council-tax", date(2026, 2, 2), "SI 2012/444 reg 4(2)"),
    ("governance", "ref-governance", date(2026, 2, 2), "SI 2012/323 reg 4 and reg 5"),
]


@pytest.mark.parametrize("kind, key, start, source", REFERENDUMS)
def test_each_referendum_kind_has_its_instrument_and_period(kind, key, start, source):
    result = tt_ref("ref.ashfield.2026-03-12", kind)
    assert result.rule.key == key and result.rule.referendum == kind
    assert source in result.rule.sources[0]
    assert result.publicity_start == start
    assert window(result).start == datetime.combine(start, datetime.min.time(), LONDON)
    assert all(link.startswith("https://www.legislation.gov.uk/") for link in result.rule.links)


def test_referendum_without_a_kind_uses_the_earliest_and_warns():
    result = tt("ref.ashfield.2026-03-12")
    assert result.rule.key == "ref-np-business"
    assert result.publicity_start == date(2025, 12, 18)
    [warning] = result.warnings
    assert warning.startswith(
        "ref.ashfield.2026-03-12 does not say which kind of referendum it is: purdah used the "
        "kind whose period starts earliest, business-neighbourhood-planning"
    )


def test_unknown_referendum_kind_is_refused():
    with pytest.raises(PollError, match="referendum kind 'parish-poll' is not one purdah"):
        tt_ref("ref.ashfield.2026-03-12", "parish-poll")
    with pytest.raises(ElectionIdError, match="--referendum council-tax is for referendums"):
        tt_ref("local.ashfield.2026-05-07", "council-tax")


def test_ni_assembly_cites_its_conduct_rules():
    rule = tt("nia.2027-05-06").rule
    assert rule.sources[0].startswith("SI 2001/2599 Sch 1")
    assert "https://www.legislation.gov.uk/uksi/2001/2599/schedule/1" in rule.links


CANNOT_EXIST = [
    pytest.param(
        "local.x.by.2026-05-09",
        "ENG",
        "local.x.by.2026-05-09: polling day Sat 09 May 2026 is a Saturday, a day the timetable "
        "disregards and on which no proceedings up to the completion of the poll may be taken "
        "(SI 2006/3304 Sch 2 and 3 r2; SI 2006/3305 Sch 2 r2): check the date",
        id="SI-2006-3304-Sch3-r2:saturday",
    ),
    pytest.param(
        "local.x.by.2026-05-04",
        "ENG",
        "local.x.by.2026-05-04: polling day Mon 04 May 2026 is May Day, a day the timetable "
        "disregards and on which no proceedings up to the completion of the poll may be taken "
        "(SI 2006/3304 Sch 2 and 3 r2; SI 2006/3305 Sch 2 r2): check the date",
        id="SI-2006-3304-Sch3-r2:bank-holiday",
    ),
    pytest.param(
        "local.x.by.2026-12-24",
        "ENG",
        "local.x.by.2026-12-24: polling day Thu 24 Dec 2026 is Christmas Eve, a day the "
        "timetable disregards and on which no proceedings up to the completion of the poll "
        "may be taken (SI 2006/3304 Sch 2 and 3 r2; SI 2006/3305 Sch 2 r2): check the date",
        id="SI-2006-3304-Sch3-r2:christmas-eve",
    ),
    pytest.param(
        "parl.2026-12-25",
        None,
        "parl.2026-12-25: polling day Fri 25 Dec 2026 is Christmas Day, a day the timetable "
        "disregards and on which no proceedings up to the completion of the poll may be taken "
        "(RPA 1983 Sch 1 r2): check the date",
        id="RPA-1983-Sch1-r2:christmas-day",
    ),
    pytest.param(
        "local.x.by.2027-01-01",
        "SCT",
        "local.x.by.2027-01-01: polling day Fri 01 Jan 2027 is New Year's Day, a day the "
        "timetable disregards and on which no proceedings up to the completion of the poll "
        "may be taken (SSI 2011/399 Sch 1 r2): check the date",
        id="SSI-2011-399-Sch1-r2:new-years-day",
    ),
    pytest.param(
        "parl.2029-08-16",
        None,
        "parl.2029-08-16: a general election cannot be held after Wed 15 Aug 2029: the "
        "Parliament that first met on 9 July 2024 dissolves automatically at the start of the "
        "fifth anniversary of that day, 9 July 2029 (Dissolution and Calling of Parliament Act "
        "2022 s4) and polling day is the 25th working day after (RPA 1983 Sch 1 r1); if an "
        "earlier general election has been held since, purdah's table of Parliaments needs "
        "updating",
        id="DCPA-2022-s4+HoC-Library:after-15-Aug-2029",
    ),
    pytest.param(
        "nia.belfast-north.by.2027-01-07",
        None,
        "nia.belfast-north.by.2027-01-07: there are no Northern Ireland Assembly by-elections; "
        "a vacant seat is filled by the nominating officer of the member's party or from the "
        "substitutes list (Northern Ireland Act 1998 s35; SI 2001/2599): no poll, no window",
        id="NI-Act-1998-s35:nia-by-election",
    ),
    pytest.param(
        "senedd.x.by.2026-10-08",
        None,
        "senedd.x.by.2026-10-08: from the 2026 Senedd there are no by-elections; a vacancy is "
        "filled from the party's closed list (Senedd Cymru (Members and Elections) Act 2024, "
        "Government of Wales Act 2006 s11 as substituted): no poll, no window",
        id="Senedd-Cymru-Members-and-Elections-Act-2024:senedd-by-election",
    ),
]


@pytest.mark.parametrize("election_id, nation, message", CANNOT_EXIST)
def test_polls_that_cannot_exist_are_refused_with_the_law(election_id, nation, message):
    with pytest.raises(PollError) as exc:
        check_poll_can_exist(tt(election_id, nation))
    assert str(exc.value) == message


@pytest.mark.parametrize(
    "area, first",
    [
        ("greater-manchester", "2016-05-05"),
        ("west-yorkshire", "2021-05-06"),
        ("south-yorkshire", "2024-05-02"),
        ("north-yorkshire", "2024-05-02"),
        ("metropolitan", "2012-11-15"),
    ],
)
def test_no_pcc_election_where_the_mayor_holds_the_functions(area, first):
    # The project's data README: Greater Manchester (2017), West Yorkshire (2021), York and
    # North Yorkshire and South Yorkshire (2024), London (MOPAC).
    with pytest.raises(PollError, match=f"no police and crime commissioner election in {area}"):
        check_poll_can_exist(tt(f"pcc.{area}.{first}"))
    check_poll_can_exist(tt("pcc.nottinghamshire.2028-05-04"))  # an ordinary PCC area
    if area in ("south-yorkshire", "north-yorkshire"):
        check_poll_can_exist(tt(f"pcc.{area}.2021-05-06"))  # they still had one in 2021


def test_the_last_possible_general_election_is_accepted():
    # HoC Library: "The 25th working day after the 9 July is Wednesday 15 August 2029".
    assert latest_general_election() == date(2029, 8, 15)
    check_poll_can_exist(tt("parl.2029-08-15"))
    assert tt("parl.2029-08-15").dissolution == date(2029, 7, 9)


def test_city_of_london_poll_on_a_saturday_is_not_refused_for_being_saturday():
    check_poll_can_exist(tt("local.city-of-london.2026-03-21"))
    with pytest.raises(PollError, match="is a Sunday"):
        check_poll_can_exist(tt("local.city-of-london.2026-03-22"))


def test_scottish_parliament_by_election_is_answered_with_a_warning():
    # A vacancy timetable may differ from SSI 2015/425 Sch 2 r1's general-election counts;
    # purdah says so rather than answer in silence.
    result = tt("sp.c.hamilton-larkhall-and-stonehouse.by.2025-06-05")
    [warning] = result.warnings
    assert "constituency by-election" in warning and "--notice" in warning
    assert tt("sp.c.2026-05-07").warnings == ()
