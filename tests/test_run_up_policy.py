"""The start policies, the run-up before the notice, and general elections' announcements
(pure: purdah.timetable). Each published case names its source."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from purdah.calendars import calendar
from purdah.clock import LONDON
from purdah.ids import Nation, parse_election_id
from purdah.timetable import (
    ANNOUNCEMENT_BASIS,
    RUN_UP_WORKING_DAYS,
    START_POLICY_TEXT,
    StartPolicy,
    WindowPolicy,
    compute_timetable,
    run_up_day,
    window,
)

RUN_UP = WindowPolicy(StartPolicy.RUN_UP)
STATUTORY = WindowPolicy(StartPolicy.STATUTORY)


def tt(election_id: str, nation: str | None = None):
    return compute_timetable(parse_election_id(election_id), Nation(nation) if nation else None)


def midnight(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)  # type: ignore[misc]


def working_days_between(earlier: date, later: date, kind) -> int:
    cal = calendar(kind)
    count, day = 0, earlier
    while day < later:
        day = date.fromordinal(day.toordinal() + 1)
        count += cal.is_working_day(day)
    return count


# (source, election, nation, actual notice published, statutory last day)
PUBLISHED = [
    (
        "uttlesford.gov.uk article 8921: Essex PFCC notice published 22 March 2024",
        "pcc.essex.2024-05-02",
        None,
        date(2024, 3, 22),
        date(2024, 3, 26),
    ),
    (
        "westmidlandspcc.info/timetable: WMCA mayor notice Thursday 21 March 2024",
        "mayor.west-midlands.2024-05-02",
        None,
        date(2024, 3, 21),
        date(2024, 3, 26),
    ),
    (
        "cardiff.gov.uk important information for candidates: notice Friday 18 March 2022",
        "local.cardiff.2022-05-05",
        "WLS",
        date(2022, 3, 18),
        date(2022, 3, 28),
    ),
    (
        "uttlesford.gov.uk local elections 2023: notice of election on 22 March",
        "local.uttlesford.2023-05-04",
        "ENG",
        date(2023, 3, 22),
        date(2023, 3, 27),
    ),
    (
        "towerhamlets.gov.uk general election 2024: notice on Friday 31 May 2024",
        "parl.2024-07-04",
        None,
        date(2024, 5, 31),
        date(2024, 6, 4),
    ),
]


@pytest.mark.parametrize(
    ("source", "election_id", "nation", "published", "last_day"),
    PUBLISHED,
    ids=[case[0].split(":")[0] for case in PUBLISHED],
)
def test_published_early_notices_fall_inside_the_run_up(
    source, election_id, nation, published, last_day
):
    timetable = tt(election_id, nation)
    assert timetable.notice_latest == last_day
    gap = working_days_between(published, last_day, timetable.calendar_kind)
    assert 1 <= gap <= 6 < RUN_UP_WORKING_DAYS
    run_up = window(timetable, RUN_UP)
    assert run_up.start <= midnight(published.year, published.month, published.day)
    old = window(timetable, STATUTORY)
    if timetable.dissolution is None:
        # The old default (notice-or-statutory) started after the notice was out, the
        # defect; it still does, but now warns from the run-up on.
        assert old.start > midnight(published.year, published.month, published.day)
        assert old.run_up_start == run_up.start
    else:  # a general election: dissolution came first; the run-up before it is warned of
        assert old.start == midnight(2024, 5, 30)
        assert old.run_up_start == run_up.start


def test_run_up_is_ten_working_days_before_the_last_day_england_2024():
    # Electoral Commission media guide 2024: last day Tue 26 Mar 2024; fifteen working
    # days before it, Good Friday (29 Mar) being after it, is Tue 5 Mar.
    win = window(tt("local.uttlesford.2024-05-02", "ENG"), RUN_UP)
    assert win.start == midnight(2024, 3, 5)
    assert win.start_basis == "run-up: 15 working days before the last day for the notice"
    assert not win.actual_notice
    assert win.run_up_start is None  # restricted in it: nothing to warn of
    assert win.notes == (
        "the notice of election may be published any day until Tue 26 Mar 2024: restricted "
        "from the run-up until its date is recorded (purdah election set-notice "
        "local.uttlesford.2024-05-02 DATE)",
    )


def test_a_recorded_or_planned_notice_ends_the_run_up_uttlesford_2024():
    # Uttlesford announced in advance that every notice for 2 May 2024 would be published
    # on 22 March 2024 (uttlesford.gov.uk article 8921).
    win = window(tt("local.uttlesford.2024-05-02", "ENG"), RUN_UP, actual_notice=date(2024, 3, 22))
    assert win.start == midnight(2024, 3, 22)
    assert win.actual_notice
    assert win.run_up_start == midnight(2024, 3, 5)
    assert win.run_up_note == (
        "notice planned for Fri 22 Mar 2024: the pre-election window for "
        "local.uttlesford.2024-05-02 starts Fri 22 Mar 2024 (last day Tue 26 Mar 2024)"
    )


def test_notice_or_statutory_warns_in_the_run_up_cardiff_2022():
    win = window(tt("local.cardiff.2022-05-05", "WLS"), STATUTORY)
    assert win.start == midnight(2022, 3, 28)
    assert win.run_up_start == midnight(2022, 3, 7)
    assert win.run_up_note == (
        "the notice of election for local.cardiff.2022-05-05 may be published any day "
        "(last day Mon 28 Mar 2022)"
    )


def test_general_election_2024_restricts_from_the_run_up_before_dissolution():
    # SALC / NALC: announced Wed 22 May 2024, dissolved Thu 30 May, notice by Tue 4 June.
    # Fifteen working days before dissolution (Spring bank holiday Mon 27 May skipped) is
    # Wed 8 May, before the announcement and the Cabinet Office start (Sat 25 May).
    timetable = tt("parl.2024-07-04")
    assert timetable.dissolution == date(2024, 5, 30)
    assert run_up_day(timetable) == date(2024, 5, 8)
    win = window(timetable, RUN_UP)
    assert win.start == midnight(2024, 5, 8)
    assert win.start_basis == "run-up: 15 working days before dissolution"


def test_general_election_2024_announced_restricts_from_the_announcement():
    announced = datetime(2024, 5, 22, 17, 0, tzinfo=LONDON)  # the Prime Minister's statement
    win = window(tt("parl.2024-07-04"), RUN_UP, announced_at=announced)
    assert win.start == announced
    assert win.start_basis == ANNOUNCEMENT_BASIS
    assert win.run_up_start is None


def test_general_election_2024_under_notice_or_statutory_warns_from_the_announcement():
    announced = datetime(2024, 5, 22, 17, 0, tzinfo=LONDON)
    win = window(tt("parl.2024-07-04"), STATUTORY, announced_at=announced)
    assert win.start == midnight(2024, 5, 30)  # dissolution
    assert win.run_up_start == announced
    assert win.run_up_note == (
        "parl.2024-07-04 was announced on Wed 22 May 2024: Parliament is dissolved on "
        "Thu 30 May 2024 (notice of election by Tue 4 Jun 2024)"
    )
    unannounced = window(tt("parl.2024-07-04"), STATUTORY)
    assert unannounced.run_up_start == midnight(2024, 5, 8)
    assert unannounced.run_up_note.startswith(
        "the general election parl.2024-07-04 may be announced any day"
    )


def test_an_announcement_after_dissolution_starts_at_dissolution():
    late = datetime(2024, 5, 31, 9, 0, tzinfo=LONDON)
    win = window(tt("parl.2024-07-04"), RUN_UP, announced_at=late)
    assert win.start == midnight(2024, 5, 30)
    assert win.start_basis == "dissolution"


def test_general_election_2017_run_up_reaches_the_announcement():
    # Announced Tue 18 Apr 2017; Cabinet Office period from 21 Apr; dissolved Wed 3 May.
    timetable = tt("parl.2017-06-08")
    assert timetable.dissolution == date(2017, 5, 3)
    assert run_up_day(timetable) == date(2017, 4, 7)  # before the announcement


def test_scotland_run_up_is_the_statutory_earliest_day():
    # EC / gov.scot: notice window Mon 14 Mar 2022 to Wed 23 Mar 2022.
    win = window(tt("local.glasgow.2022-05-05", "SCT"), RUN_UP)
    assert win.start == midnight(2022, 3, 14)
    assert win.start_basis == "statutory earliest notice of election"


def test_referendum_has_no_run_up_and_keeps_its_statutory_start():
    timetable = tt("ref.leeds.2024-05-02")
    win, statutory = window(timetable, RUN_UP), window(timetable, STATUTORY)
    assert (win.start, win.start_basis) == (statutory.start, statutory.start_basis)
    assert win.run_up_start is None and statutory.run_up_start is None


def test_old_policy_names_still_read():
    assert StartPolicy("statutory") is StartPolicy.STATUTORY
    assert StartPolicy("latest-notice") is StartPolicy.LATEST_NOTICE
    assert StartPolicy("earliest-notice") is StartPolicy.EARLIEST_NOTICE
    assert StartPolicy("dissolution") is StartPolicy.DISSOLUTION
    with pytest.raises(ValueError):
        StartPolicy("whenever")


def test_every_policy_is_described_and_offered_by_the_cli():
    from purdah.cli.register import START_POLICIES
    from purdah.cli.timetable import _START_CHOICES

    assert set(START_POLICY_TEXT) == set(StartPolicy)
    assert tuple(p.value for p in StartPolicy) == START_POLICIES
    assert _START_CHOICES == START_POLICIES


def _published_notices() -> list[dict[str, str]]:
    import csv
    from pathlib import Path

    path = Path(__file__).parent / "data" / "published_dates.csv"
    with path.open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["kind"] == "actual_notice"]
    return list({(r["election_id"], r["date"]): r for r in rows}.values())


@pytest.mark.parametrize(
    "row", _published_notices(), ids=lambda r: f"{r['election_id']}@{r['date']}"
)
def test_every_published_notice_falls_inside_the_run_up(row):
    # tests/data/published_dates.csv: each row has its URL and the quote it rests on.
    nation = None if row["nation"] == "UK" else row["nation"]
    timetable = tt(row["election_id"], nation)
    published = date.fromisoformat(row["date"])
    start = window(timetable, RUN_UP).start
    assert start <= midnight(published.year, published.month, published.day), row["url"]
    # ... and with a working week to spare beyond the widest gap found (10, Central
    # Bedfordshire 2023): the run-up starts at least five working days before it.
    assert working_days_between(start.date(), published, timetable.calendar_kind) >= 5 or (
        timetable.notice_earliest is not None and start.date() == timetable.notice_earliest
    )
