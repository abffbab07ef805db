"""`purdah timetable ELECTION_ID`."""

from __future__ import annotations

import click

from purdah.choices import END_POLICIES, START_POLICIES
from purdah.cli.options import json_option, nation_option, referendum_option
from purdah.cli.render import day, echo_json, instant, ordinal, table

_START_CHOICES = START_POLICIES
_END_CHOICES = END_POLICIES


@click.command()
@click.argument("election_id")
@nation_option
@click.option("--notice", metavar="DATE", help="Actual notice of election date, if published.")
@click.option(
    "--start",
    "start_policy",
    type=click.Choice(_START_CHOICES),
    default="notice-or-statutory",
    show_default=True,
    help="Where the window starts before the notice date is known (see the README's "
    "'Start policies').",
)
@click.option(
    "--end",
    "end_policy",
    type=click.Choice(_END_CHOICES),
    default="close-of-poll",
    show_default=True,
    help="Where the window ends: 22:00, 24:00 on polling day, or the declaration.",
)
@click.option("--declared-at", metavar="WHEN", help="Declaration time (with --end declaration).")
@click.option(
    "--non-working-day",
    "extra_days",
    multiple=True,
    metavar="DATE[=REASON]",
    help="An extra day not to count, e.g. a day of mourning (repeatable).",
)
@referendum_option
@json_option
def timetable(
    election_id: str,
    nation: str | None,
    notice: str | None,
    start_policy: str,
    end_policy: str,
    declared_at: str | None,
    extra_days: tuple[str, ...],
    referendum: str | None,
    as_json: bool,
) -> None:
    """Statutory dates and pre-election window of ELECTION_ID (a Democracy Club id),
    under the version of the law in force on its polling day.

    A poll that cannot be held (a weekend or bank holiday, a general election after the
    legal maximum, an election that does not exist there) is refused with the reason."""
    from purdah.calendars import parse_extra_days
    from purdah.clock import parse_date, parse_when
    from purdah.ids import Nation
    from purdah.serialize import timetable_json
    from purdah.services.timetable import describe
    from purdah.timetable import EndPolicy, StartPolicy, WindowPolicy

    answer = describe(
        election_id,
        Nation(nation.upper()) if nation else None,
        policy=WindowPolicy(StartPolicy(start_policy), EndPolicy(end_policy)),
        actual_notice=parse_date(notice, "--notice") if notice else None,
        declared_at=parse_when(declared_at, "--declared-at") if declared_at else None,
        extra_non_working=parse_extra_days(extra_days),
        referendum=referendum,
    )
    data = timetable_json(answer.timetable, answer.window, answer.holiday_data)
    if as_json:
        echo_json(data)
        return
    _render(data, answer)


def _render(data: dict[str, object], answer: object) -> None:
    from purdah.services.timetable import TimetableAnswer

    assert isinstance(answer, TimetableAnswer)
    tt, win = answer.timetable, answer.window
    rule = tt.rule
    for warning in tt.warnings:
        click.echo(f"Warning: {warning}")
    click.echo(f"{tt.election.text}: {rule.title} ({tt.nation.value})")
    notice = f"latest {day(tt.notice_latest)}"
    if rule.latest_notice:
        notice += f" ({ordinal(rule.latest_notice)} working day before the poll)"
    if tt.notice_earliest and rule.earliest_notice:
        label = "earliest" if rule.earliest_is_statutory else "purdah's default earliest"
        notice = (
            f"{label} {day(tt.notice_earliest)} ({ordinal(rule.earliest_notice)} working day), "
            + notice
        )
    rows = [("poll", day(tt.poll_date))]
    if rule.latest_notice or rule.earliest_notice:
        rows.append(("notice of election", notice))
    if tt.dissolution and rule.dissolution:
        rows.append(
            ("dissolution", f"{day(tt.dissolution)} ({ordinal(rule.dissolution)} working day)")
        )
    if tt.publicity_start:
        count = (
            f"{rule.publicity_days} days before"
            if rule.publicity_days
            else f"{ordinal(rule.period_working_days or 0)} working day before the poll"
        )
        rows.append(("referendum period from", f"{day(tt.publicity_start)} ({count})"))
    rows += [
        ("window", f"{instant(win.start)}  ->  {instant(win.end)}"),
        ("starts at", win.start_basis),
        ("ends at", win.end_basis),
        *(
            [("warning from", f"{instant(win.run_up_start)}: {win.run_up_note}")]
            if win.run_up_start
            else []
        ),
        (
            "calendar",
            f"{data['calendar']}: {data['calendar_description']}"
            if data["calendar"]
            else "calendar days",
        ),
        ("rule", f"{rule.key}, the version for {rule.period} (see 'purdah rules')"),
        ("sources", "; ".join(rule.sources)),
        ("legislation", " ".join(rule.links)),
        ("holiday data", answer.holiday_data),
    ]
    rows += [("note", note) for note in [*rule.notes, *win.notes]]
    table(rows)
