"""`purdah webhook ...`: endpoints that receive every switch, signed (Standard Webhooks)."""

from __future__ import annotations

from typing import Any

import click

from purdah.cli.options import db_option, json_option, open_db


@click.group()
def webhook() -> None:
    """Endpoints that receive every flag switch and period change, signed (Standard
    Webhooks: headers webhook-id, webhook-timestamp, webhook-signature, HMAC-SHA256).

    Delivery is at least once, in event order per endpoint; receivers de-duplicate by
    webhook-id. Retries: at once, then 5 s, 5 min, 30 min, 2 h, 5 h and 10 h later;
    after the last the delivery is dead and the endpoint paused. `purdah run` sends
    them; `purdah webhook dispatch` sends what is due (for cron).
    """


def _hook_json(row: Any) -> dict[str, Any]:
    from purdah.serialize import iso_instant

    return {
        "id": row.id,
        "url": row.url,
        "secret_env": row.secret_env,
        "events": list(row.events) or ["*"],
        "council": row.council,
        "created_at": iso_instant(row.created_at),
        "removed_at": iso_instant(row.removed_at) if row.removed_at else None,
        "paused_at": iso_instant(row.paused_at) if row.paused_at else None,
        "paused_reason": row.paused_reason,
        "pending": row.pending,
        "delivered": row.delivered,
        "dead": row.dead,
    }


def _hook_line(row: Any) -> str:
    kinds = ",".join(row.events) or "all events"
    scope = f"council {row.council}" if row.council else "every council"
    line = (
        f"webhook {row.id}: {row.url}  secret ${row.secret_env}  {kinds}, {scope}  "
        f"pending {row.pending}, delivered {row.delivered}, dead {row.dead}"
    )
    if row.removed_at:
        line += "  (removed)"
    elif row.paused_at:
        line += f"  PAUSED: {row.paused_reason} ('purdah webhook resume {row.id}')"
    return line


@webhook.command("add")
@click.argument("url")
@click.option(
    "--secret-env",
    required=True,
    metavar="NAME",
    help="The environment variable that holds the signing secret (whsec_...), here and in "
    "the process that sends (purdah run). The secret itself is never stored.",
)
@click.option(
    "--events",
    multiple=True,
    metavar="KIND[,KIND]",
    help="Only these kinds: flag.changed, period.added, period.moved, period.cancelled, "
    "exemption.added (default: all).",
)
@click.option("--council", metavar="SLUG", default=None, help="Only this council's events.")
@db_option
@json_option
def webhook_add(
    url: str,
    secret_env: str,
    events: tuple[str, ...],
    council: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Send events to URL (https; http only to localhost and loopback or private
    addresses). Events recorded from now on are delivered; earlier ones are not."""
    from purdah.cli.render import echo_json
    from purdah.services.webhooks import add_webhook

    row = add_webhook(open_db(db), url, secret_env=secret_env, events=events, council=council)
    if as_json:
        echo_json(_hook_json(row))
        return
    click.echo(f"added {_hook_line(row)}")
    click.echo(f"try it: purdah webhook test {row.id}")


@webhook.command("list")
@click.option("--removed", is_flag=True, help="Include removed endpoints.")
@db_option
@json_option
def webhook_list(removed: bool, db: str | None, as_json: bool) -> None:
    """Every endpoint, with its pending, delivered and dead deliveries and any pause."""
    from purdah.cli.render import echo_json
    from purdah.services.webhooks import list_webhooks

    rows = list_webhooks(open_db(db), removed=removed)
    if as_json:
        echo_json([_hook_json(r) for r in rows])
        return
    if not rows:
        click.echo("no webhooks: 'purdah webhook add URL --secret-env NAME' adds one")
    for row in rows:
        click.echo(_hook_line(row))


@webhook.command("remove")
@click.argument("webhook_id", type=int)
@db_option
def webhook_remove(webhook_id: int, db: str | None) -> None:
    """Stop sending to an endpoint; its pending deliveries are cancelled (the log is kept)."""
    from purdah.services.webhooks import remove_webhook

    row, cancelled = remove_webhook(open_db(db), webhook_id)
    click.echo(f"removed webhook {row.id} ({row.url}); {cancelled} pending deliveries cancelled")


def _delivery_json(row: Any) -> dict[str, Any]:
    from purdah.serialize import iso_instant

    def when(value: Any) -> str | None:
        return iso_instant(value) if value else None

    return {
        "id": row.id,
        "webhook": row.webhook,
        "event": row.event,
        "sequence": row.sequence,
        "type": row.kind,
        "subject": row.subject,
        "state": row.state,
        "attempts": row.attempts,
        "next_attempt_at": when(row.next_at),
        "last_attempt_at": when(row.last_attempt_at),
        "last_status": row.last_status,
        "last_error": row.last_error,
        "delivered_at": when(row.delivered_at),
    }


def _delivery_line(row: Any) -> str:
    from purdah.cli.render import instant

    line = f"#{row.id} {row.state:<9} {row.kind:<16} {row.subject:<28} {row.event}"
    line += f"  attempts {row.attempts}"
    if row.last_status is not None or row.last_error:
        line += f", last {row.last_error or row.last_status}"
    if row.state == "pending" and row.next_at is not None and row.attempts:
        line += f", next {instant(row.next_at)}"
    if row.delivered_at is not None:
        line += f", delivered {instant(row.delivered_at)}"
    return line


def _outcome(report: Any) -> str:
    text = f"dispatched: {report.delivered} delivered, {report.failed} failed (will retry)"
    text += f", {report.dead} dead"
    return text


@webhook.command("test")
@click.argument("webhook_id", type=int)
@db_option
def webhook_test(webhook_id: int, db: str | None) -> None:
    """Send a signed webhook.test event to this endpoint now, and say how it went."""
    from purdah.services.webhooks import dispatch, list_deliveries, send_test

    store = open_db(db)
    delivery = send_test(store, webhook_id)
    dispatch(store, seconds=60)
    rows, _total = list_deliveries(store, webhook=webhook_id, limit=50)
    row = next(r for r in rows if r.id == delivery)
    click.echo(_delivery_line(row))
    if row.state != "delivered":
        raise click.exceptions.Exit(1)


@webhook.command("deliveries")
@click.option("--webhook", "webhook_id", type=int, default=None, help="Only this endpoint's.")
@click.option("--failed", is_flag=True, help="Only dead ones and pending ones that failed.")
@click.option(
    "--limit",
    type=click.IntRange(1),
    default=None,
    help="At most this many, newest first (default: every row with --json, 50 otherwise).",
)
@db_option
@json_option
def webhook_deliveries(
    webhook_id: int | None, failed: bool, limit: int | None, db: str | None, as_json: bool
) -> None:
    """The delivery log, newest first: state, attempts, last status or error, next try."""
    from purdah.cli.render import echo_json
    from purdah.services.webhooks import list_deliveries

    shown = limit if limit is not None or as_json else 50
    rows, total = list_deliveries(open_db(db), webhook=webhook_id, failed=failed, limit=shown)
    if as_json:
        echo_json([_delivery_json(r) for r in rows])
        return
    if not rows:
        click.echo("no deliveries" + (" that failed" if failed else ""))
    for row in rows:
        click.echo(_delivery_line(row))
    if total > len(rows):
        click.echo(f"({len(rows)} of {total} shown, newest first: --limit N or --json for more)")


@webhook.command("redeliver")
@click.argument("delivery_id", type=int)
@db_option
def webhook_redeliver(delivery_id: int, db: str | None) -> None:
    """Send a delivery again now (same event id), with fresh retries; resumes its endpoint."""
    from purdah.services.webhooks import dispatch, list_deliveries, redeliver

    store = open_db(db)
    redeliver(store, delivery_id)
    report = dispatch(store, seconds=60)
    rows, _total = list_deliveries(store, limit=None)
    click.echo(_delivery_line(next(r for r in rows if r.id == delivery_id)))
    click.echo(_outcome(report))


@webhook.command("resume")
@click.argument("webhook_id", type=int)
@db_option
def webhook_resume(webhook_id: int, db: str | None) -> None:
    """Resume an endpoint paused after a dead letter: its pending deliveries go now."""
    from purdah.services.webhooks import dispatch, resume_webhook

    store = open_db(db)
    row = resume_webhook(store, webhook_id)
    report = dispatch(store, seconds=60)
    click.echo(f"resumed webhook {row.id} ({row.url}); {_outcome(report)}")


@webhook.command("dispatch")
@click.option(
    "--seconds",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="Stop after about this long even if more is due (default: when nothing is due).",
)
@db_option
@json_option
def webhook_dispatch(seconds: float | None, db: str | None, as_json: bool) -> None:
    """Send every delivery that is due now (for cron, beside or instead of `purdah run`).
    Exit 1 if any attempt failed."""
    from purdah.cli.render import echo_json
    from purdah.services.webhooks import dispatch

    report = dispatch(open_db(db), seconds=seconds)
    if as_json:
        echo_json(
            {
                "delivered": report.delivered,
                "failed": report.failed,
                "dead": report.dead,
                "lanes": report.lanes,
                "errors": report.errors,
            }
        )
    else:
        click.echo(_outcome(report))
        for error in report.errors:
            click.echo(f"  {error}")
    if report.failed or report.dead or report.errors:
        raise click.exceptions.Exit(1)


@webhook.command("secret")
def webhook_secret() -> None:
    """Print a new random signing secret (whsec_...) to put in the environment variable."""
    from purdah.outbox.webhooks import new_secret

    click.echo(new_secret())
