"""`purdah rules`: every rule row with its sources, links and period of application."""

from __future__ import annotations

import click

from purdah.cli.options import json_option
from purdah.cli.render import echo_json, ordinal, table


@click.command()
@json_option
def rules(as_json: bool) -> None:
    """List every statutory rule purdah applies, with the polls it applies to, its sources
    and links to the instruments, so the table can be checked without reading code."""
    from purdah.rules import RULES
    from purdah.serialize import rule_json
    from purdah.timetable import RUN_UP_WORKING_DAYS, START_POLICY_TEXT, StartPolicy

    if as_json:
        echo_json(
            {
                "rules": [rule_json(rule) for rule in RULES],
                "start_policies": [
                    {
                        "name": p.value,
                        "text": START_POLICY_TEXT[p],
                        "default": p is StartPolicy.RUN_UP,
                    }
                    for p in StartPolicy
                ],
                "run_up_working_days": RUN_UP_WORKING_DAYS,
            }
        )
        return
    for rule in RULES:
        click.echo(f"{rule.key}: {rule.title} ({rule.period})")
        table(_rows(rule))
    click.echo("start policies (a council's, before the notice date is recorded; council add):")
    table(
        [
            (p.value + (" (default of a new store)" if p is StartPolicy.RUN_UP else ""), text)
            for p, text in START_POLICY_TEXT.items()
        ]
    )


def _rows(rule: object) -> list[tuple[str, str]]:
    from purdah.calendars import CALENDAR_DESCRIPTIONS
    from purdah.rules import Rule

    assert isinstance(rule, Rule)
    rows = []
    if rule.latest_notice:
        rows.append(("latest notice", f"{ordinal(rule.latest_notice)} working day before the poll"))
    if rule.earliest_notice:
        label = "earliest notice" if rule.earliest_is_statutory else "purdah's default earliest"
        rows.append((label, f"{ordinal(rule.earliest_notice)} working day before the poll"))
    if rule.dissolution:
        rows.append(("dissolution", f"{ordinal(rule.dissolution)} working day before the poll"))
    if rule.period_working_days:
        rows.append(
            (
                "referendum period",
                f"from the {ordinal(rule.period_working_days)} working day before the poll "
                f"(--referendum {rule.referendum})",
            )
        )
    rows.append(("default start", rule.default_start.value))
    rows.append(
        (
            "calendar",
            f"{rule.calendar.value}: {CALENDAR_DESCRIPTIONS[rule.calendar]}"
            if rule.calendar
            else "the nation's (England and Wales: E&W, Scotland: SCT, Northern Ireland: NI)",
        )
    )
    rows.append(("sources", "; ".join(rule.sources)))
    rows += [("legislation", link) for link in rule.links]
    rows += [("note", note) for note in rule.notes]
    return rows
