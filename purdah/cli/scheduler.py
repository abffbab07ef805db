"""`purdah run`: the scheduler in the foreground."""

from __future__ import annotations

import click

from purdah.cli.export import web_options
from purdah.cli.options import db_option


@click.command()
@click.option(
    "--interval",
    type=click.IntRange(1, 1440),
    default=15,
    show_default=True,
    help="Minutes between periodic reconciles (besides midnight and each boundary).",
)
@click.option(
    "--serve",
    "with_http",
    is_flag=True,
    help="Also run the HTTP service (page, feeds, API) in the same process.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="With --serve.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="With --serve."
)
@web_options
@db_option
def run(interval: int, with_http: bool, host: str, port: int, db: str | None) -> None:
    """Run the scheduler in the foreground: reconcile at start-up, at every window boundary,
    just after midnight UK time and every --interval minutes, and refresh due feeds.
    Stop with Ctrl-C or SIGTERM."""
    import logging

    from purdah.cli.options import open_db
    from purdah.scheduler import Runner

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    store = open_db(db)
    runner = Runner(store, interval_minutes=interval)
    if not with_http:
        runner.run_forever()
        return
    from purdah.cli.export import web_settings
    from purdah.web.server import start_in_thread

    server, thread = start_in_thread(store, host, port, runner, web_settings())
    logging.getLogger("purdah").info("the clerk's page: http://%s:%d/", host, port)
    try:
        runner.run_forever()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
