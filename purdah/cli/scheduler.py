"""`purdah run`: the scheduler in the foreground."""

from __future__ import annotations

import click

from purdah.cli.options import db_option


@click.command()
@click.option(
    "--interval",
    type=click.IntRange(1, 1440),
    default=15,
    show_default=True,
    help="Minutes between periodic reconciles (besides midnight and each boundary).",
)
@db_option
def run(interval: int, db: str | None) -> None:
    """Run the scheduler in the foreground: reconcile at start-up, at every window boundary,
    just after midnight UK time and every --interval minutes. Stop with Ctrl-C or SIGTERM."""
    import logging

    from purdah.cli.options import open_db
    from purdah.scheduler import Runner

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    Runner(open_db(db), interval_minutes=interval).run_forever()
