"""`purdah today`: who may not be promoted now, and until when."""

from __future__ import annotations

import click

from purdah.cli.options import (
    at_option,
    db_option,
    json_option,
    open_db,
    page_options,
    resolve_at,
)
from purdah.cli.render import columns, echo_json, instant, yes_no


@click.command()
@click.option("--council", "council_slug", default=None, metavar="SLUG", help="Only this council.")
@at_option
@page_options
@db_option
@json_option
def today(
    council_slug: str | None,
    at: str | None,
    limit: int | None,
    cursor: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Everyone who may not be promoted (or post) at WHEN, by council, and until when.

    A summary line first; then each council with someone restricted, its election(s)
    and windows, and each councillor with when their answer next changes. When nobody
    is restricted, when the next restriction starts. Run-up warnings are shown.
    --limit pages the councils (the summary stays that of all of them).
    --json: {"at", "summary", "count", "councils": [...], "next", ...}.
    """
    from purdah.paging import check_limit, page_today, resume
    from purdah.serialize import today_json
    from purdah.services.today import today as today_service

    check_limit(limit)
    when, after = resolve_at(at), None
    if cursor is not None:
        found = resume(cursor, "today", 1, at=at, council=council_slug)
        when, council_slug, after = found.at or when, found.council, found.after
    result, following = page_today(
        today_service(open_db(db), when, council_slug), limit, after, council_slug
    )
    if as_json:
        echo_json(today_json(result) | {"next": following})
        return
    click.echo(result.summary)
    click.echo(f"as of {instant(result.at)}")
    for council in result.councils:
        click.echo("")
        click.echo(f"{council.name} ({council.slug})")
        for span in council.windows:
            ward = f" (ward {span.ward})" if span.ward else ""
            click.echo(f"  {span.election_id}{ward}: {instant(span.start)} -> {instant(span.end)}")
        columns(
            ("COUNCILLOR", "NAME", "WARD", "MAY POST", "RESTRICTED UNTIL"),
            [
                (
                    r.councillor,
                    r.name,
                    r.ward or "-",
                    yes_no(r.may_post.allowed),
                    instant(r.until) if r.until else "until the windows change",
                )
                for r in council.councillors
            ],
            indent="  ",
        )
        for warning in council.warnings:
            click.echo(f"  warning: {warning.message}")
    if result.next_restriction:
        n = result.next_restriction
        names = ", ".join(f"{name} ({slug})" for slug, name in n.councils)
        click.echo(f"the next restriction starts {instant(n.start)}: {n.election_id} for {names}")
    elif not result.councils:
        click.echo("no restriction is ahead in the elections recorded")
    for slug, warning in result.warnings:
        click.echo(f"warning ({slug}): {warning.message}")
    if following:
        more = f" --limit {limit}" if limit else ""
        click.echo(f"more: purdah today --after {following}{more}")
