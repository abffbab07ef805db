"""`purdah doctor`: is the switch working? Every fault by name; exit 1 if there is one."""

from __future__ import annotations

import click

from purdah.cli.options import db_option, json_option


@click.command()
@db_option
@json_option
def doctor(db: str | None, as_json: bool) -> None:
    """Check that the flags can be trusted now: the last reconcile (not in the future, not
    older than two intervals, none missed at a boundary), the scheduler's heartbeat, the
    feeds, and stored flags that differ from the decision now. Run-ups that have begun with
    no notice date recorded are warnings (they do not change the exit code).

    Exit 0: no fault; 1: at least one fault (each is named); 2: the store cannot be opened.
    """
    from purdah.cli.options import open_db, resolve_at
    from purdah.cli.render import echo_json, instant
    from purdah.serialize import diagnosis_json
    from purdah.services.doctor import diagnose

    d = diagnose(open_db(db), resolve_at(None))
    if as_json:
        echo_json(diagnosis_json(d))
    else:
        count = len(d.faults)
        click.echo(
            f"{'ok' if d.ok else 'FAULT'}: {count} fault{'s' * (count != 1)} at {instant(d.at)}"
        )
        for fault in d.faults:
            click.echo(f"  {fault.name}: {fault.message}")
        for warning in d.warnings:
            click.echo(f"warning {warning.name}: {warning.message}")
        beat = d.heartbeat
        last = instant(d.last_reconcile_at) if d.last_reconcile_at else "never"
        click.echo(f"last reconcile: {last}")
        nxt = instant(d.next_boundary_at) if d.next_boundary_at else "none"
        click.echo(f"next boundary: {nxt}")
        click.echo(
            f"scheduler heartbeat: {instant(beat.at)} ({beat.host} pid {beat.pid})"
            if beat
            else "scheduler heartbeat: none"
        )
        failing = sum(1 for f in d.feeds if f.failures)
        click.echo(f"feeds: {len(d.feeds)} ({failing} failing)")
        click.echo(
            f"stored flags: {len(d.flags_differ)} of {d.councillors} councillors differ "
            "from the decision now"
        )
    if not d.ok:
        raise SystemExit(1)
