"""`purdah areas ...`: the shipped area register, and a clerk's newer parish lookup."""

from __future__ import annotations

from pathlib import Path

import click

from purdah.cli.options import db_option, json_option, open_db
from purdah.cli.render import echo_json


@click.group()
def areas() -> None:
    """The area register: councils, combined authorities, police areas, parishes."""


@areas.command("info")
@db_option
@json_option
def areas_info(db: str | None, as_json: bool) -> None:
    """What the area register holds and how old its data is."""
    from purdah.services.area_find import register_summary

    summary = register_summary(open_db(db))
    if as_json:
        echo_json(summary)
        return
    click.echo(summary["vintage"])
    for kind, count in summary["counts"].items():
        click.echo(f"  {count:>6}  {kind}")


@areas.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@db_option
def areas_import(file: Path, db: str | None) -> None:
    """Load a newer ONS parish-to-district lookup FILE (CSV with PARyyCD, PARyyNM, LADyyCD
    columns, any year) over the shipped one, all or nothing; it replaces any earlier one."""
    from purdah.services.areas import import_parish_lookup

    result = import_parish_lookup(open_db(db), file)
    click.echo(
        f"imported {result.rows} parishes from {result.vintage}: {result.new} new, "
        f"{result.changed} changed since the shipped lookup"
    )
