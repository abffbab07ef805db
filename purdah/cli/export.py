"""`purdah export` and `purdah serve`."""

from __future__ import annotations

from pathlib import Path

import click

from purdah.cli.options import db_option, open_db


@click.command()
@click.option("--council", "council_slug", default=None, help="Every period of this council.")
@click.option(
    "--councillor",
    "ref",
    default=None,
    metavar="COUNCIL/SLUG",
    help="The periods that restrict this councillor.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write to FILE instead of standard output.",
)
@db_option
def export(council_slug: str | None, ref: str | None, output: Path | None, db: str | None) -> None:
    """Write the restricted periods as an .ics calendar to subscribe to."""
    from purdah.errors import InputError
    from purdah.services.export import council_feed, councillor_feed

    if (council_slug is None) == (ref is None):
        raise InputError("give exactly one of --council SLUG or --councillor COUNCIL/SLUG")
    store = open_db(db)
    feed = council_feed(store, council_slug) if council_slug else councillor_feed(store, ref or "")
    if output is None:
        click.echo(feed.body.decode("utf-8"), nl=False)
        return
    output.write_bytes(feed.body)
    click.echo(f"wrote {output} ({len(feed.body):,} bytes)", err=True)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@db_option
def serve(host: str, port: int, db: str | None) -> None:
    """The HTTP service: the clerk's page, .ics feeds, /api/check, /api/status, /healthz."""
    from purdah.web.server import serve as serve_http

    store = open_db(db)
    serve_http(
        store,
        host,
        port,
        announce=lambda: click.echo(f"purdah: http://{host}:{port}/ (Ctrl-C stops)", err=True),
    )
