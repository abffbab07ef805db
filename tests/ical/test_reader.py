"""The reader on real-world-shaped feeds (tests/data/, each named after its edge case)."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest

from purdah.ical.reader import FeedRejected, Limits, read_calendar

DATA = Path(__file__).parents[1] / "data"
SINCE, UNTIL = date(2026, 1, 1), date(2032, 1, 1)


def read(name: str, **kwargs):
    return read_calendar((DATA / name).read_bytes(), name, SINCE, UNTIL, **kwargs)


def dates(result) -> dict[str, date]:
    return {o.key: o.poll_date for o in result.occurrences}


def test_google_export_utc_times_become_london_dates():
    # 2027-05-05T23:00Z is 00:00 BST on 6 May: the UTC date would be a day early.
    result = read("google_export_x_wr_timezone.ics")
    assert dates(result)["4k2j9f0s8d7g6h5j4k3l2@google.com"] == date(2027, 5, 6)
    assert result.problems == []


def test_outlook_time_zone_names():
    result = read("outlook_windows_tz_names.ics")
    by_summary = {o.summary: o.poll_date for o in result.occurrences}
    assert by_summary["Nottinghamshire County Council election"] == date(2029, 5, 3)
    assert by_summary["Police and Crime Commissioner election"] == date(2028, 5, 4)
    assert by_summary["Selston Parish Council election"] == date(2027, 5, 6)
    # The display-name TZID has no definition: read as Europe/London, and said so.
    [problem] = result.problems
    assert "no usable time zone" in problem.message
    assert problem.uid == "040000008200E00074C5B7101A82E00800000000BBBB0002"
    assert problem.line is not None


def test_exchange_rrule_with_spaces_expands():
    result = read("outlook_windows_tz_names.ics")
    meetings = [o for o in result.occurrences if o.summary == "Parish council meeting"]
    # Fortnightly Mondays and Thursdays from 11 January 2027; UNTIL 18:00Z is 19:00 BST on
    # Thursday 1 July, the last occurrence (UNTIL is inclusive): 26, as dateutil counts too.
    assert len(meetings) == 26
    assert max(o.poll_date for o in meetings) == date(2027, 7, 1)
    assert {o.poll_date.weekday() for o in meetings} == {0, 3}


@pytest.mark.parametrize(
    "name",
    [
        "apple_export_all_day.ics",
        "thunderbird_export_europe_london.ics",
        "bom_crlf.ics",
        "lf_line_endings.ics",
    ],
)
def test_other_clients_and_line_endings(name):
    result = read(name)
    assert len(result.occurrences) == 1
    assert result.problems == []


def test_all_day_dtend_variants():
    assert dates(read("all_day_dtend_variants.ics")) == {
        "dtend-exclusive": date(2027, 5, 6),
        "dtend-missing": date(2028, 5, 4),
        "dtend-equal": date(2029, 5, 3),
        "duration": date(2030, 5, 2),
    }


def test_rrule_exdate_rdate_override_and_cancelled_occurrence():
    result = read("recurrence_rrule_exdate_rdate_overrides.ics")
    found = {o.key: (o.poll_date, o.cancelled) for o in result.occurrences}
    assert found == {
        "parish-polls#2027-05-06": (date(2027, 5, 6), False),
        # 2028-05-04 is excluded (EXDATE)
        "parish-polls#2029-05-03": (date(2029, 5, 10), False),  # moved by its override
        "parish-polls#2030-05-02": (date(2030, 5, 2), True),  # cancelled occurrence
        "parish-polls#2031-05-01": (date(2031, 5, 1), False),  # RDATE
    }


def test_range_thisandfuture_moves_every_later_occurrence():
    result = read("recurrence_range_thisandfuture.ics")
    assert sorted(o.poll_date for o in result.occurrences) == [
        date(2027, 5, 6),
        date(2028, 5, 7),
        date(2029, 5, 7),
        date(2030, 5, 7),
    ]
    assert len({o.key for o in result.occurrences}) == 4


def test_duplicate_uids_highest_sequence_wins():
    assert dates(read("duplicate_uids_sequence.ics")) == {"same-uid": date(2027, 5, 13)}


def test_events_without_uid_get_stable_uids():
    first, second = read("events_without_uid.ics"), read("events_without_uid.ics")
    assert dates(first) == dates(second)
    assert all(key.startswith("purdah-") for key in dates(first))


def test_several_vcalendars_in_one_stream():
    result = read("several_vcalendars_one_stream.ics")
    assert result.calendars == 2
    assert set(dates(result)) == {"cal-one", "cal-two"}


def test_bad_bytes_are_reported_with_their_line():
    result = read("bad_utf8_bytes.ics")
    [problem] = result.problems
    assert problem.line == 7 and "not UTF-8" in problem.message
    assert len(result.occurrences) == 1


def test_truncated_download_is_rejected():
    with pytest.raises(FeedRejected, match="looks truncated"):
        read("truncated_download.ics")


def test_garbage_line_is_rejected_with_its_line_number():
    with pytest.raises(FeedRejected, match=r"garbage_line.ics: line 9: cannot be read"):
        read("garbage_line.ics")


def test_empty_file_is_rejected():
    with pytest.raises(FeedRejected, match="the file is empty"):
        read_calendar(b"   \r\n", "empty.ics", SINCE, UNTIL)


def test_hostile_rrule_secondly_rejects_the_source():
    with pytest.raises(FeedRejected) as caught:
        read("hostile_rrule_secondly.ics")
    assert str(caught.value) == (
        "hostile_rrule_secondly.ics: line 5: event 'hostile': it repeats more often than "
        "daily (FREQ=SECONDLY), which no election does; nothing was imported"
    )


def test_sub_daily_expansion_through_byhour_byminute_bysecond_is_refused_before_expanding():
    # Issue 8, point 5: this 693-byte event grew to 19 GB in 300 s.
    with pytest.raises(FeedRejected) as caught:
        read("hostile_rrule_byhour_byminute_bysecond.ics")
    assert str(caught.value) == (
        "hostile_rrule_byhour_byminute_bysecond.ics: line 5: event 'sub-daily': it repeats "
        "up to 86,400 times a day (BYHOUR, BYMINUTE or BYSECOND), which no election does; "
        "nothing was imported"
    )


def test_byweekno_bysetpos_product_over_the_series_cap_is_refused():
    # Issue 8, point 5: this imported 3,487 polls, one a day.
    with pytest.raises(FeedRejected) as caught:
        read("hostile_rrule_byweekno_bysetpos.ics")
    assert str(caught.value) == (
        "hostile_rrule_byweekno_bysetpos.ics: line 5: event 'poll-a-day': its recurrence "
        "gives about 1,704 occurrences between 2026-01-01 and 2032-01-01, more than the "
        "limit of 1,000 for one series (no election calendar repeats that often); "
        "nothing was imported"
    )


def test_daily_series_without_end_is_over_the_series_cap():
    with pytest.raises(FeedRejected, match=r"line 5: event 'daily': its recurrence gives about"):
        read("series_daily_without_end.ics")
    # Over a narrower window it is well under the cap.
    result = read_calendar(
        (DATA / "series_daily_without_end.ics").read_bytes(), "d", SINCE, date(2026, 3, 1)
    )
    assert len([o for o in result.occurrences if o.uid == "daily"]) == 56


def test_source_cap_counts_every_series_together():
    body = "".join(
        f"BEGIN:VEVENT\r\nUID:weekly-{i}\r\nDTSTART;VALUE=DATE:20260105\r\n"
        "RRULE:FREQ=WEEKLY\r\nSUMMARY:Meeting\r\nEND:VEVENT\r\n"
        for i in range(20)
    )
    data = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n{body}END:VCALENDAR\r\n".encode()
    with pytest.raises(FeedRejected, match=r"together give more than 5,000 occurrences"):
        read_calendar(data, "many.ics", SINCE, UNTIL)
    # 20 weekly series for a year are 1,060 occurrences: read.
    assert len(read_calendar(data, "many.ics", SINCE, date(2026, 12, 31)).occurrences) == 1040


def test_rules_that_never_match_are_not_walked_to_the_year_9999():
    # Issue 8, point 5: 50 rules on 30 February took 64 s. Each is now read as its own
    # start date, with a warning, without expanding the rule.
    started = time.monotonic()
    result = read("hostile_rrule_never_matches_30_february.ics")
    assert time.monotonic() - started < 10
    assert len(result.occurrences) == 51
    assert len(result.problems) == 50
    assert result.problems[0].message == (
        "its RRULE gives no date between 2026-01-01 and 2032-01-01 (a day that does not "
        "exist, such as 30 February?), so it was not expanded"
    )


def test_ten_thousand_time_zone_definitions_are_refused_before_parsing():
    # Issue 8, point 5: 10,000 VTIMEZONE blocks took 24 s.
    zone = (
        "BEGIN:VTIMEZONE\r\nTZID:Zone {n}\r\nBEGIN:STANDARD\r\nDTSTART:16010101T000000\r\n"
        "TZOFFSETFROM:+0000\r\nTZOFFSETTO:+0000\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
    )
    body = "".join(zone.format(n=n) for n in range(10_000))
    data = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n{body}END:VCALENDAR\r\n".encode()
    started = time.monotonic()
    with pytest.raises(FeedRejected) as caught:
        read_calendar(data, "zones.ics", SINCE, UNTIL)
    assert time.monotonic() - started < 2
    assert str(caught.value) == (
        "zones.ics: line 804: more than 100 time zone definitions (VTIMEZONE) or 2,000 "
        "rules within them; nothing was imported"
    )


def test_memory_error_while_expanding_rejects_the_source(monkeypatch):
    # Issue 8, point 5: under a memory cap the MemoryError became a warning and exit 0.
    import recurring_ical_events

    def out_of_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(recurring_ical_events, "of", out_of_memory)
    with pytest.raises(FeedRejected) as caught:
        read("recurrence_rrule_exdate_rdate_overrides.ics")
    assert str(caught.value) == (
        "recurrence_rrule_exdate_rdate_overrides.ics: line 5: event 'parish-polls': "
        "expanding its recurrence ran out of memory; nothing was imported"
    )


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("not_ical_html_page.ics", "an HTML page (a web page, a sign-in or an error page?)"),
        (
            "not_ical_zip_archive.ics",
            "a ZIP archive (or a Word/Excel file, which are ZIP archives)",
        ),
        ("not_ical_png_image.ics", "a PNG image"),
        ("not_ical_pdf_document.ics", "a PDF document"),
        ("not_ical_utf16_bom.ics", "UTF-16 text (save it as UTF-8)"),
        ("not_ical_utf16_no_bom.ics", "UTF-16 text without a byte order mark (save it as UTF-8)"),
        ("not_ical_csv_spreadsheet.ics", "CSV (comma-separated values)"),
    ],
)
def test_a_file_that_is_not_icalendar_is_named_for_what_it_is(name, kind):
    # Issue 8, point 8: each of these was reported as "looks truncated".
    with pytest.raises(FeedRejected) as caught:
        read(name)
    assert str(caught.value) == (
        f"{name}: this is {kind}, not an iCalendar (.ics) file; nothing was imported "
        "(check the file, or that the URL gives the calendar itself)"
    )


def test_a_nul_byte_in_a_title_is_removed_and_said():
    result = read("nul_byte_in_title.ics")
    assert [o.summary for o in result.occurrences] == ["Parish election"]
    [problem] = result.problems
    assert str(problem) == (
        "line 7, 1 NUL byte removed, as no text can hold one; check the text of that event"
    )


def test_a_line_of_nul_bytes_is_refused_and_not_echoed():
    # Issue 8, point 8: a line of NUL bytes was echoed to the terminal.
    with pytest.raises(FeedRejected) as caught:
        read("nul_line_zero_filled_block.ics")
    assert str(caught.value) == (
        "nul_line_zero_filled_block.ics: line 9 is nothing but NUL bytes (512 of them), the "
        "mark of a damaged or half-written file; nothing was imported (fetch or export it "
        "again)"
    )
    assert "\x00" not in str(caught.value)


def test_a_bad_line_with_control_characters_is_shown_escaped_and_short():
    data = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n"
        + b"\x1b[2J\x07" * 100
        + b"\r\nEND:VCALENDAR\r\n"
    )
    with pytest.raises(FeedRejected) as caught:
        read_calendar(data, "junk.ics", SINCE, UNTIL)
    message = str(caught.value)
    assert "\x1b" not in message and "\x07" not in message
    assert "\\x1b[2J\\x07" in message and len(message) < 400


def test_not_starting_with_begin_vcalendar_shows_a_safe_excerpt():
    with pytest.raises(FeedRejected) as caught:
        read_calendar(b"hello\tworld\x01\r\nEND:VCALENDAR\r\n", "x.ics", SINCE, UNTIL)
    assert str(caught.value) == (
        "x.ics: it does not start with BEGIN:VCALENDAR, so it is not an iCalendar file (it "
        "starts 'hello\\tworld\\x01\\r\\nEND:VCALENDAR\\r\\n'); nothing was imported"
    )


def _big_feed(events: int, bad_at: int | None = None) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//purdah tests//EN"]
    for i in range(events):
        day = date(2027, 1, 4).toordinal() + i % 1500
        stamp = "20240230" if i == bad_at else date.fromordinal(day).strftime("%Y%m%d")
        lines += [
            "BEGIN:VEVENT",
            f"UID:event-{i}",
            f"DTSTART;VALUE=DATE:{stamp}",
            f"SUMMARY:Meeting {i}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


def test_impossible_date_late_in_a_big_file_is_a_warning_for_that_event():
    result = read_calendar(_big_feed(3000, bad_at=2990), "big.ics", SINCE, UNTIL)
    assert len(result.occurrences) == 2999
    [problem] = result.problems
    assert problem.uid == "event-2990" and "2024023" in problem.message
    assert problem.line == 5 + 5 * 2990


def test_twenty_thousand_events_are_read_in_bounded_time():
    started = time.monotonic()
    result = read_calendar(_big_feed(20_000), "20k.ics", SINCE, UNTIL)
    assert len(result.occurrences) == 20_000
    assert time.monotonic() - started < 120


def test_limits_reject_instead_of_hanging():
    with pytest.raises(FeedRejected, match="more than 100 events"):
        read_calendar(_big_feed(101), "big.ics", SINCE, UNTIL, Limits(max_events=100))
    with pytest.raises(FeedRejected, match="is more than the limit"):
        read_calendar(_big_feed(50), "big.ics", SINCE, UNTIL, Limits(max_bytes=1000))


def test_two_feeds_with_different_customized_time_zones_do_not_share_offsets():
    def feed(offset: str) -> bytes:
        return (
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VTIMEZONE\r\n"
            "TZID:Customized Time Zone\r\nBEGIN:STANDARD\r\nDTSTART:16010101T000000\r\n"
            f"TZOFFSETFROM:{offset}\r\nTZOFFSETTO:{offset}\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
            "BEGIN:VEVENT\r\nUID:e\r\nDTSTART;TZID=Customized Time Zone:20270506T020000\r\n"
            "SUMMARY:Election\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        ).encode()

    # 02:00 at +0000 is 6 May in London; 02:00 at +0500 is 21:00 BST on 5 May.
    assert read_calendar(feed("+0000"), "a", SINCE, UNTIL).occurrences[0].poll_date == date(
        2027, 5, 6
    )
    assert read_calendar(feed("+0500"), "b", SINCE, UNTIL).occurrences[0].poll_date == date(
        2027, 5, 5
    )


def _google(body: str, zone: str = "Europe/London") -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Google Inc//Google Calendar//EN\r\n"
        f"X-WR-TIMEZONE:{zone}\r\n{body}END:VCALENDAR\r\n"
    ).encode()


def test_floating_time_is_read_in_x_wr_timezone():
    body = "BEGIN:VEVENT\r\nUID:f\r\nDTSTART:20270505T233000\r\nSUMMARY:Election\r\nEND:VEVENT\r\n"
    # 23:30 in New York on 5 May is 04:30 BST on 6 May.
    result = read_calendar(_google(body, "America/New_York"), "g", SINCE, UNTIL)
    assert dates(result) == {"f": date(2027, 5, 6)} and result.problems == []


def test_google_utc_series_keeps_its_local_time_across_the_clock_change():
    # 23:00 UTC is 23:00 GMT in January; with X-WR-TIMEZONE the series stays at 23:00
    # London time, so the May occurrence is on the 5th, not 00:00 BST on the 6th.
    body = (
        "BEGIN:VEVENT\r\nUID:s\r\nDTSTART:20270105T230000Z\r\n"
        "RRULE:FREQ=MONTHLY;COUNT=5\r\nSUMMARY:Election\r\nEND:VEVENT\r\n"
    )
    result = read_calendar(_google(body), "g", SINCE, UNTIL)
    assert max(o.poll_date for o in result.occurrences) == date(2027, 5, 5)
