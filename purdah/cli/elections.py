"""`purdah election ...`, `purdah non-working-day add|remove`, `purdah windows`."""

from __future__ import annotations

from typing import Any

import click

from purdah.cli.options import (
    NATIONS,
    REFERENDUM_KINDS,
    by_option,
    db_option,
    json_option,
    open_db,
    page_options,
    referendum_option,
    resolve_at,
)
from purdah.cli.render import columns, echo_changes, echo_json, echo_lines, echo_refresh, instant
from purdah.words import plural


@click.group()
def election() -> None:
    """Elections entered by hand (imports use the same store)."""


@election.command("add")
@click.argument("election_id")
@click.option(
    "--area",
    default=None,
    metavar="AREA",
    help="The area the poll is held in (default: from the id, e.g. local.ashfield.* "
    "is ashfield, parl.* is the UK).",
)
@click.option(
    "--nation",
    type=click.Choice(NATIONS, case_sensitive=False),
    default=None,
    help="Needed where the id does not fix the nation.",
)
@click.option(
    "--notice",
    metavar="DATE",
    default=None,
    help="Notice of election date: the actual one, or a planned one (in the future).",
)
@click.option(
    "--announced",
    metavar="WHEN",
    default=None,
    help="A UK general election's announcement (the Prime Minister's statement); "
    "under the run-up policy windows start there when it comes before dissolution.",
)
@click.option(
    "--new-area",
    is_flag=True,
    help="Accept an area the register does not know (an authority newer than its data).",
)
@referendum_option
@db_option
@json_option
def election_add(
    election_id: str,
    area: str | None,
    nation: str | None,
    notice: str | None,
    new_area: bool,
    referendum: str | None,
    announced: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Record ELECTION_ID (a Democracy Club id); windows and flags follow at once.

    A poll that cannot be held (a weekend or bank holiday, a general election after the
    legal maximum, an election that does not exist there) is refused with the reason."""
    from purdah.clock import parse_date, parse_when
    from purdah.services.elections import add_election

    result = add_election(
        open_db(db),
        election_id,
        area=area,
        nation=nation.upper() if nation else None,
        notice=parse_date(notice, "--notice") if notice else None,
        referendum=referendum,
        announced_at=parse_when(announced, "--announced") if announced else None,
        new_area=new_area,
    )
    echo_refresh(
        result, f"recorded {election_id}{_notice_words(result, result.reconcile.at)}", as_json
    )


def _notice_words(result: object, now: object) -> str:
    """ "; notice planned for Fri 22 Mar 2024", or the actual date, or the announcement."""
    from datetime import datetime

    from purdah.services.elections import Refreshed
    from purdah.timetable import long_day

    assert isinstance(result, Refreshed) and isinstance(now, datetime)
    row = result.election
    if row is None:
        return ""
    words = ""
    if row.notice is not None:
        state = "planned for" if row.notice_planned(now) else "published on"
        words += f"; notice {state} {long_day(row.notice)}"
    if row.announced_at is not None:
        words += f"; announced {instant(row.announced_at)}"
    return words


@election.command("list")
@page_options
@db_option
@json_option
def election_list(limit: int | None, cursor: str | None, db: str | None, as_json: bool) -> None:
    """List recorded elections, by poll date. --json: {"at", "elections": [...], "next"}."""
    from purdah.cli.render import echo_page
    from purdah.serialize import election_json
    from purdah.services.elections import list_elections

    now = resolve_at(None)
    rows = list_elections(open_db(db))

    def text(r: Any) -> tuple[str, ...]:
        notice = []
        if r.notice:
            notice.append(f"{r.notice}" + (" (planned)" if r.notice_planned(now) else ""))
        if r.announced_at:
            notice.append(f"announced {instant(r.announced_at)}")
        moved = f" (moved from {r.original_poll_date})" if r.original_poll_date else ""
        return (r.election_id, f"{r.poll_date}{moved}", r.area, r.status, ", ".join(notice) or "-")

    echo_page(
        "election list",
        "elections",
        rows,
        lambda r: (r.poll_date.isoformat(), r.election_id),
        lambda r: election_json(r) | {"notice_planned": r.notice_planned(now)},
        text,
        limit=limit,
        cursor=cursor,
        as_json=as_json,
        header=("ELECTION", "POLL", "AREA", "STATUS", "NOTICE"),
    )


@election.command("cancel")
@click.argument("election_id")
@db_option
@json_option
def election_cancel(election_id: str, db: str | None, as_json: bool) -> None:
    """Cancel a poll: its window ends now (other windows still apply)."""
    from purdah.services.elections import cancel_election

    result = cancel_election(open_db(db), election_id)
    echo_refresh(result, f"cancelled {election_id}", as_json)


@election.command("set-notice")
@click.argument("election_id")
@click.argument("notice", metavar="DATE")
@db_option
@json_option
def election_set_notice(election_id: str, notice: str, db: str | None, as_json: bool) -> None:
    """Record the notice of election DATE, actual or planned (a future date, planned until it
    passes; refused after the statutory last day); windows start there. Imports and feed
    refreshes keep it."""
    from purdah.clock import parse_date
    from purdah.services.elections import set_notice

    result = set_notice(
        open_db(db),
        election_id,
        parse_date(notice, "notice date"),
    )
    echo_refresh(result, f"{election_id}{_notice_words(result, result.reconcile.at)}", as_json)


@election.command("announce")
@click.argument("election_id")
@click.argument("when", metavar="WHEN")
@db_option
@json_option
def election_announce(election_id: str, when: str, db: str | None, as_json: bool) -> None:
    """Record that the UK general election ELECTION_ID was announced at WHEN (a date means
    00:00); under the run-up policy its windows start there when that is before dissolution."""
    from purdah.clock import parse_when
    from purdah.services.elections import announce_election

    result = announce_election(
        open_db(db),
        election_id,
        parse_when(when, "WHEN"),
    )
    echo_refresh(result, f"{election_id}{_notice_words(result, result.reconcile.at)}", as_json)


@election.command("move")
@click.argument("election_id")
@click.argument("poll_date", metavar="DATE")
@db_option
@json_option
def election_move(election_id: str, poll_date: str, db: str | None, as_json: bool) -> None:
    """The poll moved to DATE: the window runs on to the new close, the gap restricted."""
    from purdah.clock import parse_date
    from purdah.services.elections import move_election

    result = move_election(open_db(db), election_id, parse_date(poll_date, "poll date"))
    echo_refresh(result, f"moved {election_id} to {poll_date}", as_json)


@click.group("non-working-day")
def non_working_day() -> None:
    """Extra days no count may use (days of mourning or thanksgiving)."""


@non_working_day.command("add")
@click.argument("day", metavar="DATE")
@click.option("--reason", required=True, help="e.g. 'national day of mourning'.")
@db_option
@json_option
def non_working_day_add(day: str, reason: str, db: str | None, as_json: bool) -> None:
    """Add DATE as a non-working day; every affected window moves."""
    from purdah.clock import parse_date
    from purdah.services.elections import add_non_working_day

    result = add_non_working_day(open_db(db), parse_date(day), reason)
    echo_refresh(result, f"{day} is a non-working day ({reason})", as_json)


@non_working_day.command("remove")
@click.argument("day", metavar="DATE")
@by_option
@db_option
@json_option
def non_working_day_remove(day: str, actor: str, db: str | None, as_json: bool) -> None:
    """Remove DATE, recorded as a non-working day in error (audited); windows move back."""
    from purdah.clock import parse_date
    from purdah.services.elections import remove_non_working_day

    result = remove_non_working_day(open_db(db), parse_date(day), actor=actor)
    _echo_removed(result, as_json)


@election.command("remove")
@click.argument("election_id")
@by_option
@db_option
@json_option
def election_remove(election_id: str, actor: str, db: str | None, as_json: bool) -> None:
    """Remove an election entered in error (not cancelled: use cancel for that); its
    windows go, flags are recomputed, and the removal is audited."""
    from purdah.services.elections import remove_election

    result = remove_election(open_db(db), election_id, actor=actor)
    _echo_removed(result, as_json)


def _echo_removed(result: Any, as_json: bool) -> None:
    from purdah.serialize import iso_instant, reconcile_json, windows_json

    w = result.windows
    if as_json:
        echo_json(
            {
                "removed": result.subject,
                "audit": {
                    "at": iso_instant(result.audit.at),
                    "by": result.audit.actor,
                    "action": result.audit.action,
                    "detail": result.audit.detail,
                },
                "windows": windows_json(w),
                "reconcile": reconcile_json(result.reconcile),
            }
        )
        return
    click.echo(
        f"removed {result.subject} ({result.audit.detail}; by {result.audit.actor} at "
        f"{instant(result.audit.at)}); windows: {w.describe()}; "
        f"{plural(len(result.reconcile.changes), 'flag change')}"
    )
    echo_changes(result.reconcile)


@click.command()
@click.option("--council", "council_slug", default=None)
@click.option(
    "--recompute",
    is_flag=True,
    help="Recompute every window from the register and elections (each change recomputes "
    "only the windows it covers) and reconcile; says what changed (nothing, on a store "
    "in step).",
)
@db_option
@json_option
def windows(council_slug: str | None, recompute: bool, db: str | None, as_json: bool) -> None:
    """List each council's pre-election windows [start, end); or, with --recompute,
    recompute them all (a change recomputes only the windows it covers)."""
    if recompute:
        from purdah.serialize import reconcile_json, windows_json
        from purdah.services.elections import recompute_every_window

        if council_slug:
            raise click.UsageError("--recompute recomputes every council's windows: drop --council")
        changes, result = recompute_every_window(open_db(db))
        if as_json:
            echo_json({"windows": windows_json(changes), "reconcile": reconcile_json(result)})
            return
        click.echo(f"windows: {changes.describe()}; {plural(len(result.changes), 'flag change')}")
        echo_changes(result)
        return
    from purdah.services.listing import list_windows

    rows = list_windows(open_db(db), council_slug)
    if as_json:
        from purdah.serialize import window_row_json

        echo_json([window_row_json(r) for r in rows])
        return
    table_rows: list[tuple[str, ...]] = []
    for r in rows:
        ward = f" (ward {r.ward})" if r.ward else ""
        status = "" if r.status == "scheduled" else f" [{r.status}]"
        table_rows.append(
            (
                r.council,
                f"{r.election_id}{status}{ward}",
                instant(r.start),
                instant(r.end),
                r.rule,
                r.start_basis,
            )
        )
    if table_rows:
        columns(("COUNCIL", "ELECTION", "START", "END", "RULE", "STARTS AT"), table_rows)
    echo_lines(
        [
            f"{r.council} {r.election_id}: run-up from {instant(r.run_up_start)}, not "
            f"restricted under the council's policy: {r.run_up_note}"
            for r in rows
            if r.run_up_start
        ]
    )


@election.command("set-referendum")
@click.argument("election_id")
@click.argument("kind", type=click.Choice(REFERENDUM_KINDS))
@db_option
@json_option
def election_set_referendum(election_id: str, kind: str, db: str | None, as_json: bool) -> None:
    """Record which KIND of referendum ELECTION_ID (a ref.* poll) is: each kind has its own
    instrument and referendum period, and the window follows it."""
    from purdah.services.elections import set_referendum

    result = set_referendum(open_db(db), election_id, kind)
    echo_refresh(result, f"{election_id} is a {kind} referendum", as_json)
