"""`purdah notices`: coming polls whose notice date is not recorded."""

from __future__ import annotations

import click

from purdah.cli.options import at_option, db_option, json_option, open_db, resolve_at
from purdah.cli.render import echo_json
from purdah.words import plural


@click.command()
@at_option
@db_option
@json_option
def notices(at: str | None, db: str | None, as_json: bool) -> None:
    """Coming polls whose notice of election date is not recorded, with the run-up start,
    the statutory last day and the command that records the date."""
    from purdah.serialize import iso_date
    from purdah.services.notices import notices_due
    from purdah.timetable import long_day

    rows = notices_due(open_db(db), resolve_at(at))
    if as_json:
        echo_json(
            [
                {
                    "election_id": n.election_id,
                    "poll_date": n.poll_date.isoformat(),
                    "rule": n.rule,
                    "run_up_start": n.run_up_start.isoformat(),
                    "last_day": n.last_day.isoformat(),
                    "dissolution": iso_date(n.dissolution),
                    "general_election": n.general_election,
                    "run_up_begun": n.begun,
                    "councils": n.councils,
                    "command": n.command,
                }
                for n in rows
            ]
        )
        return
    if not rows:
        click.echo("every coming poll has its notice date recorded")
        return
    for n in rows:
        begun = "  (run-up begun)" if n.begun else ""
        anchor = (
            f"dissolution {long_day(n.dissolution)}, notice by {long_day(n.last_day)}"
            if n.general_election and n.dissolution
            else f"last day {long_day(n.last_day)}"
        )
        click.echo(
            f"{n.election_id}  poll {long_day(n.poll_date)}  run-up from "
            f"{long_day(n.run_up_start)}  {anchor}  {plural(n.councils, 'council')}{begun}"
        )
        click.echo(f"  record it: {n.command}")
