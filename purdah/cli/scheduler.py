"""`purdah run`: the scheduler in the foreground."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import click

from purdah.cli.export import web_options
from purdah.cli.options import db_option


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message (and any traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(log_format: str) -> None:
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("httpx2").setLevel(logging.WARNING)


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
    help="Also run the HTTP service (page, feeds, API) in the same process; "
    "exit 1 at once if its address cannot be listened on.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="With --serve.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="With --serve."
)
@web_options
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON object per line (time, level, logger, message), for log collectors.",
)
@click.option(
    "--webhooks/--no-webhooks",
    default=True,
    show_default=True,
    help="Send webhook deliveries on a thread of this process (--no-webhooks: leave them to "
    "another node or to 'purdah webhook dispatch').",
)
@db_option
def run(
    interval: int,
    with_http: bool,
    host: str,
    port: int,
    log_format: str,
    webhooks: bool,
    db: str | None,
) -> None:
    """Run the scheduler in the foreground: reconcile at start-up, at every window boundary,
    just after midnight UK time and every --interval minutes; notice windows and exemptions
    that other processes add within seconds; refresh due feeds on their own worker (30 s
    total limit per fetch); send webhook deliveries on their own thread; keep a heartbeat
    for `purdah doctor`. With PURDAH_SMTP_HOST set, e-mail notices to councillors and the
    clerk's digest are planned every minute and sent by the same dispatcher thread (see
    `purdah mail --help`). Stop with Ctrl-C or SIGTERM."""
    from purdah.cli.options import open_db
    from purdah.notify.settings import HOST, load_settings, mail_enabled
    from purdah.scheduler import Runner

    setup_logging(log_format)
    store = open_db(db)
    mail = load_settings() if mail_enabled() else None  # bad settings: an error, at once
    if mail is None:
        logging.getLogger("purdah.mail").info("e-mail notices off: %s is not set", HOST)
    else:
        logging.getLogger("purdah.mail").info(
            "e-mail notices on: %s:%d (%s), %d days' lead",
            mail.host,
            mail.port,
            mail.security,
            mail.lead_days,
        )
    runner = Runner(store, interval_minutes=interval, webhooks=webhooks, mail=mail)
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
