"""`purdah init`, `purdah council ...`, `purdah councillor ...`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from purdah.choices import (
    COUNCIL_KINDS,
    COUNCIL_SCOPES,
    END_POLICIES,
    LEGACY_START_POLICIES,
    ROLES,
    START_POLICIES,
)
from purdah.cli.options import NATIONS, by_option, db_option, json_option, open_db, page_options
from purdah.cli.render import columns, echo_changes, echo_json, instant
from purdah.words import plural


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
    from purdah.services.elections import recompute_if_stale
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
    recomputed = recompute_if_stale(store)
    if recomputed is not None:
        changes, result = recomputed
        click.echo(f"windows: {changes.describe()}; {plural(len(result.changes), 'flag change')}")
        echo_changes(result)


@click.group()
def council() -> None:
    """The register of councils and the areas they lie within."""


@council.command("add")
@click.argument("slug", required=False)
@click.option(
    "--gss",
    default=None,
    metavar="CODE",
    help="Add the council with this GSS code from the area register (e.g. E04007786), "
    "with every area it lies within; see 'purdah council find'.",
)
@click.option(
    "--slug",
    "slug_option",
    default=None,
    help="With --gss: the slug to register it under (default: its Democracy Club slug, "
    "or for a parish, from its name).",
)
@click.option("--name", default=None, help="The council's name (default: the register's).")
@click.option("--nation", default=None, type=click.Choice(NATIONS, case_sensitive=False))
@click.option(
    "--kind",
    default=None,
    type=click.Choice(COUNCIL_KINDS),
    help="The kind of council (with --gss: the register's).",
)
@click.option(
    "--within",
    "within",
    multiple=True,
    metavar="AREA",
    help="By hand: an area the council lies within (district, county, police area, combined "
    "authority ...), as its key; repeatable, each must be known (see 'purdah council find'). "
    "The nation and the UK need not be listed.",
)
@click.option(
    "--new-area",
    is_flag=True,
    help="By hand: accept --within areas the register does not know (an authority newer "
    "than its data); they are taken exactly as written.",
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
    type=click.Choice(END_POLICIES),
    default="close-of-poll",
    show_default=True,
    help="Where windows end.",
)
@click.option(
    "--scope",
    type=click.Choice(COUNCIL_SCOPES),
    default="council",
    show_default=True,
    help="Whether a single-ward by-election restricts the whole "
    "council or only that ward's councillors.",
)
@db_option
@json_option
def council_add(
    slug: str | None,
    gss: str | None,
    slug_option: str | None,
    name: str | None,
    nation: str | None,
    kind: str | None,
    within: tuple[str, ...],
    new_area: bool,
    start_policy: str | None,
    end_policy: str,
    scope: str,
    db: str | None,
    as_json: bool,
) -> None:
    """Add a council: from the area register (--gss CODE, or a principal council's
    Democracy Club SLUG alone) with its whole chain, or by hand (SLUG --name --nation
    --kind --within ...)."""
    policies: dict[str, Any] = {
        "start_policy": start_policy,
        "end_policy": end_policy,
        "scope": scope,
    }
    if gss or (slug and not (nation or kind or within)):
        from purdah.services.areas import add_from_register

        if gss and slug and slug_option:
            raise click.UsageError("give the slug once: SLUG or --slug")
        added = add_from_register(
            open_db(db),
            gss=gss,
            slug=slug_option or slug,
            name=name,
            **policies,
        )
        row = added.council
        if as_json:
            from purdah.cli.render import chain_json

            echo_json(_council_json(row) | {"gss": added.gss, "chain": chain_json(added.chain)})
            return
        click.echo(
            f"added council {row.slug}: {row.name} ({row.kind}, {row.nation}, {added.gss}); "
            f"start policy {row.start_policy}"
        )
        for member in added.chain:
            click.echo(f"  within {_member_line(member)}")
        return
    missing = [o for o, v in (("--name", name), ("--nation", nation), ("--kind", kind)) if not v]
    if not slug or missing:
        raise click.UsageError(
            "give --gss CODE (or a known Democracy Club SLUG alone) to add a council from the "
            "area register, or SLUG with "
            + ", ".join(missing or ["--name"])
            + " to add one by hand"
        )
    from purdah.services.register import add_council

    assert name and nation and kind
    row = add_council(
        open_db(db),
        slug,
        name=name,
        nation=nation.upper(),
        kind=kind,
        within=within,
        new_areas=new_area,
        **policies,
    )
    if as_json:
        echo_json(_council_json(row))
        return
    within_text = f", within {', '.join(row.within)}" if row.within else ""
    click.echo(
        f"added council {row.slug}: {row.name} ({row.kind}, {row.nation}{within_text}); "
        f"start policy {row.start_policy}"
    )


def _council_json(row: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(row) | {"within": list(row.within)}


def _member_line(member: Any) -> str:
    note = f"  ({member.note})" if member.note else ""
    return f"{member.slug or '-':<28} {member.gss:<10} {member.kind:<26} {member.name}{note}"


@council.command("find")
@click.argument("text")
@click.option("--limit", default=20, show_default=True, help="Show at most this many.")
@db_option
@json_option
def council_find(text: str, limit: int, db: str | None, as_json: bool) -> None:
    """Search the area register by name, GSS code, register code or slug."""
    from purdah.cli.render import chain_json
    from purdah.services.area_find import find_areas

    result = find_areas(open_db(db), text, limit=limit)
    if as_json:
        echo_json(
            {
                "query": result.query,
                "total": result.total,
                "vintage": result.vintage,
                "results": [
                    chain_json([f.area])[0]
                    | {
                        "nation": f.nation,
                        "ended": f.ended or None,
                        "successor": f.successor or None,
                        "chain": chain_json(f.chain),
                    }
                    for f in result.found
                ],
            }
        )
        return
    for f in result.found:
        ended = f"  [abolished {f.ended}; now {f.successor}]" if f.ended else ""
        slug = f"  slug {f.area.slug}" if f.area.slug else ""
        click.echo(f"{f.area.gss}  {f.area.name} ({f.area.kind}, {f.nation}){slug}{ended}")
        inside = [m.name for m in f.chain if m.kind != "nation"]
        if inside:
            click.echo(f"    within: {'; '.join(inside)}")
        if f.area.note:
            click.echo(f"    note: {f.area.note}")
    shown = len(result.found)
    more = f" (showing {shown}; --limit shows more)" if result.total > shown else ""
    click.echo(f"{result.total} found{more}. {result.vintage}")


@council.command("show")
@click.argument("slug")
@db_option
@json_option
def council_show(slug: str, db: str | None, as_json: bool) -> None:
    """A registered council: the chain of areas it lies within, and which polls cover it."""
    from dataclasses import asdict

    from purdah.cli.render import chain_json
    from purdah.services.areas import show_council

    view = show_council(open_db(db), slug)
    if as_json:
        echo_json(
            asdict(view)
            | {
                "chain": chain_json(view.chain),
                "polls": [{"what": w, "area": a} for w, a in view.polls],
            }
        )
        return
    gss = f", {view.gss}" if view.gss else ""
    click.echo(f"{view.slug}: {view.name} ({view.kind}, {view.nation}{gss})")
    click.echo(
        f"  {plural(view.councillors, 'councillor')}; start {view.start_policy}, "
        f"end {view.end_policy}, "
        f"scope {view.scope}"
    )
    click.echo("within:")
    for member in view.chain:
        click.echo(f"  {_member_line(member)}")
    click.echo("restricted during:")
    for what, area in view.polls:
        click.echo(f"  {what}  [{area}]")
    click.echo(view.vintage)


@council.command("edit")
@click.argument("slug")
@click.option("--name", default=None)
@click.option("--slug", "new_slug", default=None, help="A new slug.")
@click.option("--within", "add_within", multiple=True, metavar="AREA", help="Add an area.")
@click.option("--drop-within", "drop_within", multiple=True, metavar="AREA", help="Remove an area.")
@click.option(
    "--start-policy",
    type=click.Choice((*START_POLICIES, *LEGACY_START_POLICIES)),
    default=None,
)
@click.option("--end-policy", type=click.Choice(END_POLICIES), default=None)
@click.option("--scope", type=click.Choice(COUNCIL_SCOPES), default=None)
@click.option(
    "--clerk-email",
    default=None,
    metavar="ADDRESS",
    help="Where the daily digest of e-mail notices goes (purdah mail); '' clears it.",
)
@db_option
def council_edit(
    slug: str,
    name: str | None,
    new_slug: str | None,
    add_within: tuple[str, ...],
    drop_within: tuple[str, ...],
    start_policy: str | None,
    end_policy: str | None,
    scope: str | None,
    clerk_email: str | None,
    db: str | None,
) -> None:
    """Mend council SLUG: its name, slug, areas, policies or the clerk's e-mail address.
    Windows follow at once."""
    from purdah.services.areas import edit_council

    view = edit_council(
        open_db(db),
        slug,
        name=name,
        new_slug=new_slug,
        add_within=add_within,
        remove_within=drop_within,
        start_policy=start_policy,
        end_policy=end_policy,
        scope=scope,
        clerk_email=clerk_email,
    )
    if clerk_email is not None:
        click.echo(f"clerk's e-mail address: {clerk_email.strip() or '(none)'}")
    within = ", ".join(m.slug for m in view.chain if m.kind != "nation")
    click.echo(f"council {view.slug}: {view.name} ({view.kind}, {view.nation}), within {within}")


@council.command("remove")
@click.argument("slug")
@click.option(
    "--force",
    is_flag=True,
    help="Remove it although it has councillors: the council is retired and its "
    "councillors' flag history kept.",
)
@db_option
def council_remove(slug: str, force: bool, db: str | None) -> None:
    """Remove council SLUG (refused while it has councillors, unless --force)."""
    from purdah.services.areas import remove_council

    removed = remove_council(open_db(db), slug, force=force)
    if removed.kept_history:
        click.echo(
            f"removed council {removed.slug}; its "
            f"{plural(removed.councillors, 'councillor')}' history is "
            "kept (no window covers them now)"
        )
    else:
        click.echo(f"removed council {removed.slug}")


@council.command("set-policy")
@click.argument("slug")
@click.option("--start-policy", type=click.Choice(START_POLICIES), required=True)
@db_option
@json_option
def council_set_policy(slug: str, start_policy: str, db: str | None, as_json: bool) -> None:
    """Change council SLUG's start policy; its windows and flags follow at once."""
    from purdah.cli.render import echo_changes
    from purdah.serialize import reconcile_json, windows_json
    from purdah.services.register import set_start_policy

    result = set_start_policy(open_db(db), slug, start_policy)
    if as_json:
        echo_json(
            {
                "council": result.council,
                "old": result.old,
                "new": result.new,
                "windows": windows_json(result.windows),
                "reconcile": reconcile_json(result.reconcile),
            }
        )
        return
    echo_changes(result.reconcile)
    click.echo(
        f"{result.council}: start policy {result.old} -> {result.new}; windows: "
        f"{result.windows.changed} changed{result.windows.note()}; "
        f"{plural(len(result.reconcile.changes), 'flag change')}"
    )


@council.command("list")
@page_options
@db_option
@json_option
def council_list(limit: int | None, cursor: str | None, db: str | None, as_json: bool) -> None:
    """List the councils in the register, by slug. --json: {"at", "councils": [...], "next"}."""
    from dataclasses import asdict

    from purdah.cli.render import echo_page
    from purdah.services.listing import list_councils

    def text(r: Any) -> tuple[str, ...]:
        return (
            r.slug,
            r.name,
            r.kind,
            r.nation,
            str(r.councillors),
            r.start_policy,
            ", ".join(r.within) or "-",
        )

    echo_page(
        "council list",
        "councils",
        list_councils(open_db(db)),
        lambda r: (r.slug,),
        lambda r: asdict(r) | {"within": list(r.within)},
        text,
        limit=limit,
        cursor=cursor,
        as_json=as_json,
        header=("COUNCIL", "NAME", "KIND", "NATION", "COUNCILLORS", "START POLICY", "WITHIN"),
    )


@council.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@db_option
def council_import(file: Path, db: str | None) -> None:
    """Add every council in a CSV FILE, or none (columns: slug, name, nation, kind, within
    with areas separated by ';', and optionally start_policy, end_policy, scope; a blank
    start_policy is the store's default)."""
    from purdah.services.register import import_councils

    added = import_councils(open_db(db), file)
    click.echo(f"imported {plural(len(added), 'council')}")


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
    type=click.Choice(ROLES),
    default="member",
    show_default=True,
)
@click.option(
    "--email", default=None, metavar="ADDRESS", help="Where e-mail notices go (purdah mail)."
)
@db_option
def councillor_add(
    ref: str,
    name: str,
    ward: str | None,
    may_post: bool,
    role: str,
    email: str | None,
    db: str | None,
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
        email=email,
    )
    click.echo(f"added councillor {row.ref}: {row.name}")


@councillor.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--council", "council_slug", required=True, help="The council they sit on.")
@db_option
def councillor_import(file: Path, council_slug: str, db: str | None) -> None:
    """Add every councillor in a CSV FILE, or none (columns: name, slug, ward, role, may_post)."""
    from purdah.services.register import import_councillors

    result = import_councillors(open_db(db), file, council_slug)
    click.echo(f"imported {plural(len(result.added), 'councillor')} into {result.council}")


@councillor.command("list")
@click.option("--council", "council_slug", default=None)
@db_option
@json_option
def councillor_list(council_slug: str | None, db: str | None, as_json: bool) -> None:
    """List councillors in office: who the council agreed may post, and the stored flags."""
    from dataclasses import asdict

    from purdah.services.register import list_councillors

    rows = list_councillors(open_db(db), council_slug)
    if as_json:
        echo_json([asdict(r) | {"councillor": r.ref} for r in rows])
        return
    columns(
        ("COUNCILLOR", "NAME", "ROLE", "WARD", "AGREED MAY POST", "MAY POST", "MAY PROMOTE"),
        [
            (
                r.ref,
                r.name,
                r.role,
                r.ward or "-",
                _yn(r.agreed_may_post),
                _yn(r.may_post),
                _yn(r.may_promote),
            )
            for r in rows
        ],
    )
    click.echo(plural(len(rows), "councillor"))


@councillor.command("edit")
@click.argument("ref", metavar="COUNCIL/SLUG")
@click.option("--name", default=None, help="A corrected name.")
@click.option("--ward", default=None, help="The ward (an empty value clears it).")
@click.option("--role", type=click.Choice(ROLES), default=None)
@click.option(
    "--may-post/--no-may-post",
    "agreed",
    default=None,
    help="Whether the council agreed they may post on its accounts.",
)
@click.option(
    "--email",
    default=None,
    metavar="ADDRESS",
    help="Where e-mail notices go (purdah mail); an empty value clears it.",
)
@by_option
@db_option
@json_option
def councillor_edit(
    ref: str,
    name: str | None,
    ward: str | None,
    role: str | None,
    agreed: bool | None,
    email: str | None,
    actor: str,
    db: str | None,
    as_json: bool,
) -> None:
    """Correct a councillor's name, ward, role, e-mail address or may-post agreement
    (audited; flags recomputed at once)."""
    from purdah.services.councillors import edit_councillor

    result = edit_councillor(
        open_db(db),
        ref,
        name=name,
        ward=ward,
        role=role,
        agreed_may_post=agreed,
        email=email,
        actor=actor,
    )
    _echo_change(result, as_json, "edited")


@councillor.command("remove")
@click.argument("ref", metavar="COUNCIL/SLUG")
@by_option
@db_option
@json_option
def councillor_remove(ref: str, actor: str, db: str | None, as_json: bool) -> None:
    """A councillor left office: no longer listed, checked or switched; history kept."""
    from purdah.services.councillors import remove_councillor

    result = remove_councillor(open_db(db), ref, actor=actor)
    _echo_change(result, as_json, "removed")


def _echo_change(result: Any, as_json: bool, verb: str) -> None:
    from purdah.serialize import iso_instant, reconcile_json

    if as_json:
        echo_json(
            {
                "councillor": result.ref,
                "changed": {
                    k: [_plain(old), _plain(new)] for k, (old, new) in result.changed.items()
                },
                "audit": (
                    {
                        "at": iso_instant(result.audit.at),
                        "by": result.audit.actor,
                        "action": result.audit.action,
                        "detail": result.audit.detail,
                    }
                    if result.audit
                    else None
                ),
                "reconcile": reconcile_json(result.reconcile),
            }
        )
        return
    if result.audit is None:
        click.echo(f"{result.ref}: nothing changed (the values given are the stored ones)")
    else:
        click.echo(
            f"{verb} {result.ref}: {result.audit.detail} "
            f"(by {result.audit.actor} at {instant(result.audit.at)}); "
            f"{plural(len(result.reconcile.changes), 'flag change')}"
        )
    echo_changes(result.reconcile)


def _plain(value: Any) -> Any:
    from datetime import datetime

    from purdah.serialize import iso_instant

    return iso_instant(value) if isinstance(value, datetime) else value


def _yn(value: bool) -> str:
    return "yes" if value else "no"
