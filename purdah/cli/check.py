"""`purdah check`, `status`, `reconcile`, `history`, `exempt`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import click

from purdah.cli.options import (
    at_option,
    db_option,
    dry_run_at_option,
    json_option,
    open_db,
    page_options,
    resolve_at,
)
from purdah.cli.render import (
    columns,
    echo_changes,
    echo_json,
    echo_list,
    instant,
    table,
    yes_no,
)
from purdah.words import plural

_ACTIONS = ("promote", "post")


@click.command()
@click.argument("ref", metavar="COUNCIL/SLUG")
@click.option(
    "--action",
    type=click.Choice(_ACTIONS),
    default="promote",
    show_default=True,
    help="promote: may the council promote them; post: may they post on its accounts.",
)
@at_option
@db_option
@json_option
def check(ref: str, action: str, at: str | None, db: str | None, as_json: bool) -> None:
    """May the council promote this councillor (or may they post) now?

    Exit 0: allowed. Exit 1: not allowed. Exit 2: the question could not be answered
    (unknown councillor, bad time, no store). So: purdah check selston/jane-doe && post
    """
    from purdah.decide import Action
    from purdah.services.check import check as check_service

    now = resolve_at(None)
    answer = check_service(open_db(db), ref, Action(action), resolve_at(at) if at else now, now)
    if as_json:
        from purdah.serialize import check_json

        echo_json(check_json(answer))
    else:
        _render_check(answer)
    raise SystemExit(0 if answer.allowed else 1)


check.error_exit_code = 2  # type: ignore[attr-defined]


def _render_check(answer: object) -> None:
    from purdah.services.check import CheckAnswer

    assert isinstance(answer, CheckAnswer)
    d = answer.decision
    if d.windows:  # the rules are read only to name a window's
        from purdah.rules import RULES_BY_KEY
    verb = (
        "be promoted by the council"
        if answer.action.value == "promote"
        else "post on the council's accounts"
    )
    word = "MAY" if d.allowed else "MAY NOT"
    click.echo(f"{answer.councillor} ({answer.name}) {word} {verb} at {instant(answer.at)}")
    click.echo(answer.sentence)
    rows = [("reason", d.cause)]
    for span in d.windows:
        rule = RULES_BY_KEY.get(span.rule)
        basis = span.start_basis
        if span.start_basis.startswith("run-up"):
            basis += " (the notice date is not recorded)"
        elif not span.actual_notice and not span.start_basis.startswith("announcement"):
            basis += " (statutory date: the actual notice is not recorded)"
        rows += [
            ("election", span.election_id + (f" (ward {span.ward})" if span.ward else "")),
            ("window", f"{instant(span.start)}  ->  {instant(span.end)}"),
            ("starts at", basis),
            ("ends at", span.end_basis),
        ]
        if rule:
            rows.append(("rule", f"{rule.title}: {'; '.join(rule.sources)}"))
        rows += [("note", note) for note in span.notes.split("; ") if note]
    if d.exemption:
        g = d.exemption
        rows.append(
            (
                "exemption",
                f"#{g.id} {instant(g.start)} -> {instant(g.end)}: {g.reason} "
                f"(granted by {g.granted_by})",
            )
        )
    rows += [("warning", w.message) for w in answer.warnings]
    if answer.mismatch:
        rows.append(
            (
                "FAULT",
                f"the stored flag says {yes_no(answer.stored_flag)}: run "
                "'purdah reconcile' (is the scheduler running?)",
            )
        )
    table(rows)


@click.command()
@click.option("--council", "council_slug", default=None)
@at_option
@page_options
@db_option
@json_option
def status(
    council_slug: str | None,
    at: str | None,
    limit: int | None,
    cursor: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """Who may post and be promoted at WHEN, and whether the stored flags agree.

    In register order (council, then councillor), streamed. Every councillor unless
    --limit is given; a page ends with the cursor that --after continues from (at the
    same WHEN). --json: {"at", "councillors": [...], "next"}."""
    from purdah.paging import check_limit, resume
    from purdah.serialize import iso_instant, status_lines
    from purdah.services.status import KIND, status_page

    check_limit(limit)
    now = resolve_at(None)
    after = None
    when = resolve_at(at) if at else now
    if cursor is not None:
        found = resume(cursor, KIND, 2, at=at, council=council_slug)
        when, council_slug = found.at or when, found.council
        after = (str(found.after[0]), str(found.after[1]))
    page = status_page(open_db(db), when, council_slug, now, limit=limit, after=after)
    if as_json:
        echo_list(iso_instant(when), "councillors", status_lines(page), lambda: {"next": page.next})
        return
    click.echo(f"as of {instant(when)}")
    _status_table(page)
    if page.next:
        click.echo(
            f"more: purdah status --after {page.next}" + (f" --limit {limit}" if limit else "")
        )


def _status_table(rows: Iterable[Any]) -> None:
    """Aligned columns (the JSON streams; a table needs every row's width first). Rows that
    share their decisions share their cells, worked out once."""
    memo: dict[tuple[int, int, int, bool], tuple[str, str, str]] = {}
    table_rows: list[tuple[str, ...]] = []
    for r in rows:
        key = (id(r.may_post), id(r.may_promote), id(r.warnings), bool(r.mismatch))
        cells = memo.get(key)
        if cells is None:
            notes = [r.may_promote.cause] if r.may_promote.windows else []
            notes += [f"warning: {w.message}" for w in r.warnings]
            if r.mismatch:
                notes.append("FAULT: stored flags differ, run 'purdah reconcile'")
            cells = memo[key] = (
                yes_no(r.may_post.allowed),
                yes_no(r.may_promote.allowed),
                "; ".join(notes) or "-",
            )
        table_rows.append((r.councillor, *cells))
    if table_rows:
        columns(("COUNCILLOR", "MAY POST", "MAY PROMOTE", "WHY"), table_rows)


@click.command()
@dry_run_at_option
@click.option(
    "--full",
    is_flag=True,
    help="Sweep every council, not only what changed since the last run, and say how "
    "many flags it fixed that the incremental reconcile had missed (should be 0).",
)
@db_option
@json_option
def reconcile(at: str | None, full: bool, db: str | None, as_json: bool) -> None:
    """Switch every councillor's flags to what the windows say now (idempotent).

    It reconciles what changed since the last run (boundaries passed, windows,
    exemptions and councillors written); --full sweeps every council. With --at WHEN it
    is a dry run: what a reconcile at WHEN would switch, written nowhere. Exit 3 if
    another process held the write lock for the whole wait."""
    from purdah.serialize import reconcile_json
    from purdah.services.reconcile import reconcile as reconcile_service
    from purdah.services.reconcile import reconcile_dry_run

    store = open_db(db)
    if at and full:
        raise click.UsageError("--at is a dry run that already sweeps every council: drop --full")
    result = reconcile_dry_run(store, resolve_at(at)) if at else reconcile_service(store, full=full)
    if as_json:
        echo_json(reconcile_json(result))
        return
    echo_changes(result)
    missed = plural(result.replayed, "missed boundary", "missed boundaries")
    caught = f" ({missed} caught up)" if result.replayed else ""
    changes = plural(len(result.changes), "flag change")
    if result.dry_run:
        click.echo(
            f"dry run: nothing written; a reconcile at {instant(result.at)} would make "
            f"{changes}{caught}"
        )
        return
    click.echo(f"reconciled at {instant(result.at)}: {changes}{caught}")
    if result.full:
        if result.fixed is None:
            click.echo(
                f"full sweep ({result.full_reason}) of {plural(result.councils, 'council')}: "
                "no earlier reconcile to compare with"
            )
        else:
            click.echo(
                f"full sweep of {plural(result.councils, 'council')}: "
                f"{plural(result.fixed, 'flag change')} fixed that the incremental reconcile "
                "had missed"
            )


@click.command()
@click.argument("ref", metavar="[COUNCIL/SLUG]", required=False)
@click.option("--last", type=int, default=None, metavar="N", help="Only the last N changes.")
@page_options
@db_option
@json_option
def history(
    ref: str | None,
    last: int | None,
    limit: int | None,
    cursor: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    """The audit log of flag changes (all councillors, or one), oldest first.
    --json: {"at", "changes": [...], "next"}."""
    from datetime import UTC

    from purdah.cli.render import echo_page
    from purdah.paging import check_limit
    from purdah.serialize import history_json
    from purdah.services.listing import history as history_service

    check_limit(last)
    rows = history_service(open_db(db), ref, last)

    def text(r: Any) -> str:
        late = f" (recorded {instant(r.recorded_at)})" if r.recorded_at != r.at else ""
        return (
            f"{instant(r.at)}  {r.councillor} {r.flag} {yes_no(r.old)} -> "
            f"{yes_no(r.new)}: {r.cause} [{r.actor}]{late}"
        )

    echo_page(
        "history",
        "changes",
        rows,
        lambda r: (r.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f"), r.id),
        history_json,
        text,
        limit=limit,
        cursor=cursor,
        as_json=as_json,
    )


@click.command()
@click.argument("ref", metavar="COUNCIL/SLUG")
@click.option("--action", type=click.Choice(_ACTIONS), required=True)
@click.option("--from", "start", required=True, metavar="WHEN")
@click.option("--to", "end", required=True, metavar="WHEN")
@click.option("--reason", required=True, help="e.g. 'civic mayor: Remembrance Sunday notice'.")
@click.option("--granted-by", required=True, help="Who granted it (recorded in the audit).")
@db_option
@json_option
def exempt(
    ref: str,
    action: str,
    start: str,
    end: str,
    reason: str,
    granted_by: str,
    db: str | None,
    as_json: bool,
) -> None:
    """Allow ACTION for one councillor from --from to --to despite a window, with a reason."""
    from purdah.clock import parse_when
    from purdah.decide import Action
    from purdah.serialize import reconcile_json
    from purdah.services.history import exempt as exempt_service

    result = exempt_service(
        open_db(db),
        ref,
        action=Action(action),
        start=parse_when(start, "--from"),
        end=parse_when(end, "--to"),
        reason=reason,
        granted_by=granted_by,
    )
    if as_json:
        echo_json(
            {
                "id": result.id,
                "councillor": ref,
                "action": action,
                "reconcile": reconcile_json(result.reconcile),
            }
        )
        return
    click.echo(
        f"exemption #{result.id}: {ref} may {action} from {instant(result.start)} to "
        f"{instant(result.end)}"
    )
    echo_changes(result.reconcile)
