"""`purdah import` and `purdah feed ...`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from purdah.choices import ELECTION_TYPES
from purdah.cli.options import NATIONS, db_option, json_option, open_db
from purdah.cli.render import Progress, echo_changes, echo_json
from purdah.words import plural

F = TypeVar("F", bound=Callable[..., Any])
_TYPES = ELECTION_TYPES


def import_options(func: F) -> F:
    """The options `import` and `feed add` share."""
    for option in reversed(
        (
            click.option(
                "--council",
                default=None,
                help="The source is this council's calendar: "
                "its polls are the council's own unless they say otherwise.",
            ),
            click.option("--area", default=None, help="The area the source's polls are held in."),
            click.option(
                "--nation", type=click.Choice(NATIONS, case_sensitive=False), default=None
            ),
            click.option(
                "--type",
                "election_type",
                type=click.Choice(_TYPES),
                default=None,
                help="The kind of election, where the events do not say.",
            ),
            click.option(
                "--every-event",
                is_flag=True,
                help="Every event is a poll (a dedicated election calendar).",
            ),
            click.option(
                "--since",
                default=None,
                metavar="DATE",
                help="Expand recurring events from DATE (default: a year ago).",
            ),
            click.option(
                "--until",
                default=None,
                metavar="DATE",
                help="... until DATE (default: ten years ahead).",
            ),
            click.option(
                "--format",
                "source_format",
                type=click.Choice(("ical", "everyelection")),
                default=None,
                help="The source's format (default: recognised by its content): iCalendar, "
                "or Democracy Club EveryElection JSON (its polls are placed without --area).",
            ),
        )
    ):
        func = option(func)
    return func


def build_options(
    council: str | None,
    area: str | None,
    nation: str | None,
    election_type: str | None,
    every_event: bool,
    since: str | None,
    until: str | None,
    source_format: str | None = None,
) -> Any:
    from purdah.clock import parse_date
    from purdah.coverage import normalise_area
    from purdah.services.importer import ImportOptions

    return ImportOptions(
        council=council.lower() if council else None,
        area=normalise_area(area, "--area") if area else None,
        nation=nation.upper() if nation else None,
        type=election_type,
        every_event=every_event,
        since=parse_date(since, "--since") if since else None,
        until=parse_date(until, "--until") if until else None,
        format=source_format if source_format == "everyelection" else None,
    )


@click.command("import")
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@import_options
@click.option("--dry-run", is_flag=True, help="Show what would happen; change nothing.")
@click.option(
    "--force",
    is_flag=True,
    help="Accept a source that shrank drastically (its polls really were removed).",
)
@db_option
@json_option
def import_(
    sources: tuple[str, ...],
    council: str | None,
    area: str | None,
    nation: str | None,
    election_type: str | None,
    every_event: bool,
    since: str | None,
    until: str | None,
    source_format: str | None,
    dry_run: bool,
    force: bool,
    db: str | None,
    as_json: bool,
) -> None:
    """Import election calendars (.ics files, EveryElection JSON, or http(s) URLs), all or
    nothing.

    Exit 0: read (even with warnings or skipped events); 1: rejected, or nothing in
    it is a poll or a notice (said why), nothing changed; 2: bad usage.
    """
    from purdah.errors import FeedRejected, NothingImported
    from purdah.serialize import import_json
    from purdah.services.importer import ImportReport, import_sources

    options = build_options(
        council, area, nation, election_type, every_event, since, until, source_format
    )
    progress = Progress("importing", enabled=not as_json)
    try:
        report = import_sources(
            open_db(db),
            list(sources),
            options,
            dry_run=dry_run,
            force=force,
            require_records=True,
            progress=progress,
        )
    except (FeedRejected, NothingImported) as exc:
        progress.close()
        if not as_json:
            raise
        echo_json(import_json(ImportReport(dry_run=dry_run, errors=[str(exc)])))
        raise SystemExit(1) from None
    progress.close()
    if as_json:
        echo_json(import_json(report))
        return
    render_import(report)


def render_import(report: Any) -> None:
    from purdah.ical.sniff import printable  # titles and warnings come from the files

    counts: dict[str, int] = {}
    for planned in report.elections:
        counts[planned.action] = counts.get(planned.action, 0) + 1
    summary = ", ".join(f"{n} {action}" for action, n in sorted(counts.items())) or "no polls"
    verb = "would import" if report.dry_run else "imported"
    click.echo(
        f"{verb} {', '.join(report.sources)}: {summary}; {len(report.skipped)} skipped, "
        f"{plural(len(report.warnings), 'warning')}"
    )
    for planned in report.elections:
        if planned.action != "unchanged":
            click.echo(f"  {planned.action:<10} {planned.election_id}  {printable(planned.title)}")
    for uid, summary_text, reason in report.skipped[:5]:
        click.echo(f"  skipped    {printable(summary_text or uid, 80)}: {printable(reason, 1000)}")
    if len(report.skipped) > 5:
        click.echo(f"  ... and {len(report.skipped) - 5} more skipped (--json lists them all)")
    for warning in report.warnings[:10]:
        click.echo(f"  warning    {printable(warning, 1000)}")
    if len(report.warnings) > 10:
        click.echo(f"  ... and {len(report.warnings) - 10} more warnings (--json lists them)")
    if report.windows and not report.dry_run:
        click.echo(f"windows: {report.windows.describe()}")
    if report.reconcile and not report.dry_run:
        echo_changes(report.reconcile)


@click.group()
def feed() -> None:
    """Election calendars refreshed on an interval by `purdah run`."""


@feed.command("add")
@click.argument("location", metavar="URL|PATH")
@click.option("--name", default=None, help="A short name (default: from the URL or file).")
@click.option(
    "--every",
    default="6h",
    show_default=True,
    metavar="DURATION",
    help="How often to refresh: 30m, 6h, 1d or ISO 8601 (PT6H); "
    "between 5 minutes and 7 days (checked before anything is written).",
)
@import_options
@db_option
@json_option
def feed_add(
    location: str,
    name: str | None,
    every: str,
    council: str | None,
    area: str | None,
    nation: str | None,
    election_type: str | None,
    every_event: bool,
    since: str | None,
    until: str | None,
    source_format: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Register an election calendar (or EveryElection API URL) and fetch it once now."""
    from purdah.services.feeds import add_feed, parse_duration

    options = build_options(
        council, area, nation, election_type, every_event, since, until, source_format
    )
    progress = Progress("fetching the feed", enabled=not as_json)
    try:
        result = add_feed(
            open_db(db),
            location,
            name=name,
            options=options,
            every=parse_duration(every),
            progress=progress,
        )
    finally:
        progress.close()
    _render_refresh(result, as_json, added=True)


@feed.command("list")
@db_option
@json_option
def feed_list(db: str | None, as_json: bool) -> None:
    """Registered feeds: when each was last fetched, and any failure."""
    from purdah.serialize import feed_json
    from purdah.services.feeds import list_feeds

    rows = list_feeds(open_db(db))
    if as_json:
        echo_json([feed_json(r) for r in rows])
        return
    from purdah.cli.render import columns, instant

    if rows:
        columns(
            ("FEED", "LOCATION", "EVERY", "POLLS", "LAST GOOD", "STATE"),
            [
                (
                    r.name,
                    r.location,
                    str(r.every),
                    str(r.polls),
                    instant(r.last_ok_at) if r.last_ok_at else "never",
                    f"FAILING ({r.failures}x): {r.last_error}" if r.last_error else "ok",
                )
                for r in rows
            ],
        )


@feed.command("refresh")
@click.argument("name", required=False)
@click.option(
    "--force",
    is_flag=True,
    help="Fetch unconditionally and accept a source that shrank drastically.",
)
@db_option
@json_option
def feed_refresh(name: str | None, force: bool, db: str | None, as_json: bool) -> None:
    """Fetch and import NAME now (or every feed that is due). Exit 1 if any failed."""
    from purdah.errors import FeedFailed
    from purdah.services.feeds import refresh_due, refresh_feed

    store = open_db(db)
    progress = Progress("refreshing feeds", enabled=not as_json)
    try:
        if name:
            results = [refresh_feed(store, name, force=force, progress=progress)]
        else:
            results = refresh_due(store, progress=progress)
    finally:
        progress.close()
    for result in results:
        _render_refresh(result, as_json, exit_on_failure=False)
    failed = [r.name for r in results if not r.ok]
    if failed and as_json:
        raise SystemExit(1)
    if failed:
        raise FeedFailed(f"{len(failed)} of {len(results)} feeds failed: {', '.join(failed)}")


@feed.command("remove")
@click.argument("name")
@click.option(
    "--withdraw",
    is_flag=True,
    help="Also withdraw the polls it brought in "
    "(by default they stay, so no window is released by accident).",
)
@db_option
def feed_remove(name: str, withdraw: bool, db: str | None) -> None:
    """Stop refreshing feed NAME."""
    from purdah.services.feeds import remove_feed

    count = remove_feed(open_db(db), name, withdraw=withdraw)
    kept = (
        f"{plural(count, 'poll')} withdrawn"
        if withdraw
        else "its polls are kept (--withdraw removes them)"
    )
    click.echo(f"removed feed {name}; {kept}")


def _render_refresh(
    result: Any, as_json: bool, *, added: bool = False, exit_on_failure: bool = True
) -> None:
    from purdah.errors import FeedFailed
    from purdah.ical.sniff import printable
    from purdah.serialize import import_json, iso_instant

    if as_json:
        echo_json(
            {
                "feed": result.name,
                "ok": result.ok,
                "not_modified": result.not_modified,
                "error": result.error,
                "next_due_at": iso_instant(result.next_due_at) if result.next_due_at else None,
                "import": import_json(result.report) if result.report else None,
            }
        )
    elif result.ok:
        prefix = f"added feed {result.name}; " if added else f"feed {result.name}: "
        if result.not_modified:
            click.echo(prefix + "not modified since the last fetch")
        else:
            click.echo(prefix, nl=False)
            render_import(result.report)
    else:
        prefix = f"added feed {result.name}, but " if added else f"feed {result.name}: "
        message = (
            f"{prefix}the fetch failed: {result.error}; the last good data is kept "
            "and purdah run will retry"
        )
        if exit_on_failure:
            raise FeedFailed(message)  # one Error: line, from the CLI's error boundary
        click.echo(printable(message, 1000), err=True)
    if not result.ok and exit_on_failure:
        raise SystemExit(1)
