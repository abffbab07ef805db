"""`purdah mail ...`: e-mail notices to councillors and the clerk's daily digest."""

from __future__ import annotations

from typing import Any

import click

from purdah.cli.options import db_option, json_option, open_db
from purdah.cli.render import columns, echo_json, instant


@click.group()
def mail() -> None:
    """E-mail notices (optional): each councillor with an address is told when a
    pre-election period is coming (PURDAH_NOTICE_LEAD_DAYS before it starts, default 7),
    when it changes or is cancelled, and when it ends, with their .ics subscription link;
    each council's clerk (council edit --clerk-email) gets a daily digest.

    Settings come from the environment: PURDAH_SMTP_HOST (e-mail is on when set),
    PURDAH_SMTP_SECURITY (starttls, ssl, none), PURDAH_SMTP_PORT, PURDAH_SMTP_USER,
    PURDAH_SMTP_PASSWORD, PURDAH_SMTP_TIMEOUT, PURDAH_MAIL_FROM, PURDAH_PUBLIC_URL,
    PURDAH_NOTICE_LEAD_DAYS, PURDAH_DIGEST_HOUR. Addresses: councillor add/edit --email.

    Notices go through the outbox like webhooks: queued in the same write that plans
    them, sent in order per address, retried (at once, 5 s, 5 min, 30 min, 2 h, 5 h,
    10 h), dead after the last try. `purdah run` plans and sends them every minute;
    `purdah mail send` does it once (for cron).
    """


@mail.command("settings")
@json_option
def mail_settings(as_json: bool) -> None:
    """Show the e-mail settings read from the environment (never the password), or say
    which variable is missing."""
    from purdah.notify.settings import load_settings

    shown = load_settings().describe()
    if as_json:
        echo_json(shown)
        return
    for key, value in shown.items():
        click.echo(f"{key}: {'-' if value is None else value}")


def _echo_plan(result: Any, as_json: bool) -> None:
    from purdah.notify.service import describe_plan

    if as_json:
        echo_json(describe_plan(result))
        return
    verb = "would send" if result.dry_run else "queued"
    click.echo(
        f"{'dry run at' if result.dry_run else 'planned at'} {instant(result.at)}: "
        f"{verb} {len(result.notices)} notice(s)"
    )
    if result.notices:
        columns(
            ("KIND", "WHO", "TO", "SUBJECT"),
            [(n.kind, n.label, n.address, n.subject) for n in result.notices],
        )
    if result.deferred:
        click.echo(f"{result.deferred} more due: left for the next run (one write at a time)")
    if result.unaddressed:
        click.echo(
            f"not told (no e-mail address): {', '.join(result.unaddressed)}: give one with "
            "'purdah councillor edit COUNCIL/SLUG --email ADDRESS'"
        )


@mail.command("send")
@click.option(
    "--dry-run",
    is_flag=True,
    help="List the notices that would be sent now (or at --at), with their text under "
    "--show; plan, queue and send nothing.",
)
@click.option("--at", metavar="WHEN", default=None, help="With --dry-run: as of WHEN.")
@click.option("--show", is_flag=True, help="With --dry-run: print each message in full.")
@click.option(
    "--seconds",
    type=click.FloatRange(1, 3600),
    default=120,
    show_default=True,
    help="Stop sending after this long (what is left goes at the next run).",
)
@db_option
@json_option
def mail_send(
    dry_run: bool, at: str | None, show: bool, seconds: float, db: str | None, as_json: bool
) -> None:
    """Plan the notices due now into the outbox and send every e-mail that is due (for
    cron; `purdah run` does the same every minute)."""
    from purdah.errors import InputError
    from purdah.notify.queue import plan_notices
    from purdah.notify.service import describe_plan, dispatch_mail, plan_all, plan_config
    from purdah.notify.settings import load_settings

    if (at or show) and not dry_run:
        raise InputError("--at and --show go with --dry-run (a real run plans at the real time)")
    settings = load_settings()
    store = open_db(db)
    if dry_run:
        from purdah.cli.options import resolve_at

        result = plan_notices(store, plan_config(settings), dry_run=True, at=resolve_at(at))
        _echo_plan(result, as_json)
        if show and not as_json:
            for n in result.notices:
                click.echo(f"\n--- To: {n.address}\nSubject: {n.subject}\n\n{n.body}")
        return
    result = plan_all(store, settings)
    report = dispatch_mail(store, settings, seconds=seconds)
    if as_json:
        echo_json(
            {
                "plan": describe_plan(result),
                "sent": report.delivered,
                "failed": report.failed,
                "dead": report.dead,
                "errors": report.errors,
            }
        )
    else:
        _echo_plan(result, False)
        click.echo(
            f"sent {report.delivered}, failed {report.failed} (will retry), dead {report.dead}"
        )
        for error in report.errors:
            click.echo(f"error: {error}", err=True)
    if report.dead or report.errors:
        raise SystemExit(1)


@mail.command("log")
@click.option("--council", "council_slug", default=None)
@click.option("--failed", is_flag=True, help="Only notices that failed at least once or died.")
@click.option("--limit", type=click.IntRange(1, 100000), default=200, show_default=True)
@db_option
@json_option
def mail_log(
    council_slug: str | None, failed: bool, limit: int, db: str | None, as_json: bool
) -> None:
    """The notices planned, newest first, with their delivery state."""
    from purdah.notify.service import notice_log
    from purdah.serialize import iso_instant

    rows = notice_log(open_db(db), council_slug, failed=failed, limit=limit)
    if as_json:
        echo_json(
            [
                {
                    "planned_at": iso_instant(r.planned_at),
                    "kind": r.kind,
                    "who": r.who,
                    "to": r.address,
                    "subject": r.subject,
                    "state": r.state,
                    "attempts": r.attempts,
                    "last_error": r.last_error,
                    "delivered_at": iso_instant(r.delivered_at) if r.delivered_at else None,
                    "message_id": r.message_id,
                }
                for r in rows
            ]
        )
        return
    columns(
        ("PLANNED", "KIND", "WHO", "TO", "STATE", "TRIES", "LAST ERROR"),
        [
            (
                instant(r.planned_at),
                r.kind,
                r.who,
                r.address,
                r.state,
                str(r.attempts),
                r.last_error or "-",
            )
            for r in rows
        ],
    )
    click.echo(f"{len(rows)} notice(s)")


@mail.command("resume")
@click.argument("address")
@db_option
def mail_resume(address: str, db: str | None) -> None:
    """After a dead notice (the server refused it for good), send to ADDRESS again: its
    dead notices are queued again (same Message-ID) and its queue un-paused."""
    from purdah.notify.service import resume_address

    again = resume_address(open_db(db), address)
    click.echo(f"{address}: {again} notice(s) queued again; the next dispatch sends them")


@mail.command("test")
@click.argument("address")
def mail_test(address: str) -> None:
    """Send one test message to ADDRESS now with the settings (not through the outbox)."""
    from purdah.notify.service import send_test
    from purdah.notify.settings import load_settings

    mid = send_test(load_settings(), address)
    click.echo(f"sent a test message to {address} ({mid})")
