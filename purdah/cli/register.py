"""`purdah init`, `purdah council ...`, `purdah councillor ...`."""

from __future__ import annotations

from pathlib import Path

import click

from purdah.cli.options import NATIONS, db_option, json_option, open_db, resolve_at
from purdah.cli.render import echo_json

# The start policies (purdah.timetable.StartPolicy), named here so that the CLI starts
# without importing the timetable; a test keeps the two in step.
START_POLICIES = (
    "run-up",
    "notice-or-statutory",
    "notice-or-last-day",
    "notice-or-earliest-day",
    "notice-or-dissolution",
)


@click.command()
@click.option(
    "--start-policy",
    type=click.Choice(START_POLICIES),
    default=None,
    help="The start policy new councils get (default for a new store: run-up; "
    "see the README's 'Start policies').",
)
@db_option
def init(start_policy: str | None, db: str | None) -> None:
    """Create the store, or upgrade its schema to this version of purdah."""
    from purdah.services.register import set_default_start_policy
    from purdah.store import migrate, open_store
    from purdah.timetable import START_POLICY_TEXT

    store = open_store(db, create=True)
    revision = migrate(store)
    click.echo(f"store ready at {store.url} (schema {revision})")
    chosen = set_default_start_policy(store, start_policy)
    verb = "now get" if chosen.changed else "get"
    click.echo(
        f"new councils {verb} the start policy {chosen.policy.value}: "
        f"{START_POLICY_TEXT[chosen.policy]} (change with purdah init --start-policy)"
    )


@click.group()
def council() -> None:
    """The register of councils and the areas they lie within."""


@council.command("add")
@click.argument("slug")
@click.option("--name", required=True, help="The council's name.")
@click.option("--nation", required=True, type=click.Choice(NATIONS, case_sensitive=False))
@click.option("--kind", required=True, help="parish, town, community, district, county ...")
@click.option(
    "--within",
    "within",
    multiple=True,
    metavar="AREA",
    help="An area the council lies within (district, county, police area, combined "
    "authority ...), as a slug; repeatable. The nation and the UK need not be listed.",
)
@click.option(
    "--start-policy",
    type=click.Choice(START_POLICIES),
    default=None,
    help="Where windows start before the notice date is recorded (default: the store's, "
    "set by purdah init; run-up for a new store).",
)
@click.option(
    "--end-policy",
    type=click.Choice(("close-of-poll", "end-of-day", "declaration")),
    default="close-of-poll",
    show_default=True,
    help="Where windows end.",
)
@click.option(
    "--scope",
    type=click.Choice(("council", "ward")),
    default="council",
    show_default=True,
    help="Whether a single-ward by-election restricts the whole "
    "council or only that ward's councillors.",
)
@db_option
def council_add(
    slug: str,
    name: str,
    nation: str,
    kind: str,
    within: tuple[str, ...],
    start_policy: str | None,
    end_policy: str,
    scope: str,
    db: str | None,
) -> None:
    """Add council SLUG to the register."""
    from purdah.services.register import add_council

    row = add_council(
        open_db(db),
        slug,
        name=name,
        nation=nation.upper(),
        kind=kind,
        within=within,
        start_policy=start_policy,
        end_policy=end_policy,
        scope=scope,
        now=resolve_at(None),
    )
    within_text = f", within {', '.join(row.within)}" if row.within else ""
    click.echo(
        f"added council {row.slug}: {row.name} ({row.kind}, {row.nation}{within_text}); "
        f"start policy {row.start_policy}"
    )


@council.command("set-policy")
@click.argument("slug")
@click.option("--start-policy", type=click.Choice(START_POLICIES), required=True)
@db_option
@json_option
def council_set_policy(slug: str, start_policy: str, db: str | None, as_json: bool) -> None:
    """Change council SLUG's start policy; its windows and flags follow at once."""
    from purdah.cli.render import echo_changes
    from purdah.serialize import reconcile_json
    from purdah.services.register import set_start_policy

    result = set_start_policy(open_db(db), slug, start_policy, now=resolve_at(None))
    if as_json:
        echo_json(
            {
                "council": result.council,
                "old": result.old,
                "new": result.new,
                "windows": {
                    "added": result.windows.added,
                    "changed": result.windows.changed,
                    "removed": result.windows.removed,
                },
                "reconcile": reconcile_json(result.reconcile),
            }
        )
        return
    echo_changes(result.reconcile)
    click.echo(
        f"{result.council}: start policy {result.old} -> {result.new}; windows: "
        f"{result.windows.changed} changed; {len(result.reconcile.changes)} flag changes"
    )


@council.command("list")
@db_option
@json_option
def council_list(db: str | None, as_json: bool) -> None:
    """List the councils in the register."""
    from dataclasses import asdict

    from purdah.services.register import list_councils

    rows = list_councils(open_db(db))
    if as_json:
        echo_json([asdict(r) | {"within": list(r.within)} for r in rows])
        return
    for r in rows:
        within = f"  within: {', '.join(r.within)}" if r.within else ""
        click.echo(
            f"{r.slug}  {r.name} ({r.kind}, {r.nation}, {r.councillors} councillors, "
            f"start policy {r.start_policy}){within}"
        )


@council.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@db_option
def council_import(file: Path, db: str | None) -> None:
    """Add every council in a CSV FILE, or none (columns: slug, name, nation, kind, within
    with areas separated by ';', and optionally start_policy, end_policy, scope; a blank
    start_policy is the store's default)."""
    from purdah.services.register import import_councils

    added = import_councils(open_db(db), file, now=resolve_at(None))
    click.echo(f"imported {len(added)} councils")


@click.group()
def councillor() -> None:
    """The register of councillors."""


@councillor.command("add")
@click.argument("ref", metavar="COUNCIL/SLUG")
@click.option("--name", required=True)
@click.option("--ward", default=None)
@click.option("--may-post", is_flag=True, help="The council agreed they may post on its accounts.")
@click.option(
    "--role",
    type=click.Choice(("member", "chair", "civic-mayor")),
    default="member",
    show_default=True,
)
@db_option
def councillor_add(
    ref: str, name: str, ward: str | None, may_post: bool, role: str, db: str | None
) -> None:
    """Add a councillor, written COUNCIL/SLUG (e.g. selston/jane-doe)."""
    from purdah.services.register import add_councillor

    row = add_councillor(
        open_db(db),
        ref,
        name=name,
        ward=ward,
        agreed_may_post=may_post,
        role=role,
        now=resolve_at(None),
    )
    click.echo(f"added councillor {row.ref}: {row.name}")


@councillor.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--council", "council_slug", required=True, help="The council they sit on.")
@db_option
def councillor_import(file: Path, council_slug: str, db: str | None) -> None:
    """Add every councillor in a CSV FILE, or none (columns: name, slug, ward, role, may_post)."""
    from purdah.services.register import import_councillors

    result = import_councillors(open_db(db), file, council_slug, now=resolve_at(None))
    click.echo(f"imported {len(result.added)} councillors into {result.council}")


@councillor.command("list")
@click.option("--council", "council_slug", default=None)
@db_option
@json_option
def councillor_list(council_slug: str | None, db: str | None, as_json: bool) -> None:
    """List councillors, with their stored flags."""
    from dataclasses import asdict

    from purdah.services.register import list_councillors

    rows = list_councillors(open_db(db), council_slug)
    if as_json:
        echo_json([asdict(r) | {"councillor": r.ref} for r in rows])
        return
    for r in rows:
        ward = f", {r.ward}" if r.ward else ""
        click.echo(
            f"{r.ref}  {r.name} ({r.role}{ward})  may post: {_yn(r.may_post)}  "
            f"may promote: {_yn(r.may_promote)}"
        )


def _yn(value: bool) -> str:
    return "yes" if value else "no"
