"""Options shared by several commands, defined once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from purdah.choices import COUNCIL_NATIONS

if TYPE_CHECKING:
    from purdah.store import Store

F = TypeVar("F", bound=Callable[..., Any])

NATIONS = COUNCIL_NATIONS  # purdah.choices: the one list


def _global(name: str) -> Any:
    """A global option given before the subcommand (`purdah --json status`), if any."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    return obj.get(name) if isinstance(obj, dict) else None


def _or_global(name: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        return value or _global(name)

    return callback


def json_option(func: F) -> F:
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        callback=_or_global("json"),
        help="Print JSON instead of a table (also accepted before the command).",
    )(func)


def nation_option(func: F) -> F:
    return click.option(
        "--nation",
        type=click.Choice(NATIONS, case_sensitive=False),
        default=None,
        help="Nation the poll is in; needed where the id does not fix it "
        "(local and parliamentary by-election ids).",
    )(func)


REFERENDUM_KINDS = (
    "neighbourhood-planning",
    "business-neighbourhood-planning",
    "council-tax",
    "governance",
)


def referendum_option(func: F) -> F:
    return click.option(
        "--referendum",
        type=click.Choice(REFERENDUM_KINDS),
        default=None,
        help="The kind of a ref.* poll (each has its own instrument and period). Default: "
        "the kind whose period starts earliest, with a warning.",
    )(func)


def db_option(func: F) -> F:
    # The environment variable is read by purdah.store.resolve_url, after this option and
    # the global one (`purdah --db X status`).
    return click.option(
        "--db",
        metavar="URL|PATH",
        default=None,
        callback=_or_global("db"),
        help="The store: a SQLite path or a database URL (postgresql://...). "
        "Default: $PURDAH_DB, else ~/.local/share/purdah/purdah.db "
        "(also accepted before the command).",
    )(func)


def at_option(func: F) -> F:
    return click.option(
        "--at",
        metavar="WHEN",
        default=None,
        help="Answer as of WHEN (ISO 8601 date or datetime; Europe/London unless an "
        "offset is given). Default: now.",
    )(func)


def dry_run_at_option(func: F) -> F:
    """--at for a command that writes: it turns the command into a dry run at WHEN. A
    write always happens at the real instant read once it holds the write lock."""
    return click.option(
        "--at",
        metavar="WHEN",
        default=None,
        help="Dry run: show what the command would do at WHEN (ISO 8601; Europe/London "
        "unless an offset is given) and write nothing. Without it, it writes at the real "
        "time.",
    )(func)


def resolve_at(at: str | None) -> datetime:
    """The one place the CLI reads the clock for an answer: now, or --at. Writes never use
    it: the store reads the clock once it holds the write lock."""
    from purdah.clock import parse_when
    from purdah.store import real_clock

    if at:
        return parse_when(at, "--at")
    return real_clock()


def open_db(db: str | None, *, create: bool = False) -> Store:
    from purdah.store import open_store

    return open_store(db, create=create)


def by_option(func: F) -> F:
    """Who makes a clerk's correction, for its audit row."""
    return click.option(
        "--by",
        "actor",
        envvar="USER",
        default="clerk",
        show_default="$USER, else clerk",
        metavar="NAME",
        help="Who makes the change (recorded in the audit).",
    )(func)


def page_options(func: F) -> F:
    """--limit and --after, the same on every list command (README: "Lists")."""
    func = click.option(
        "--after",
        "cursor",
        metavar="CURSOR",
        default=None,
        help="Continue after the page that printed this cursor (its 'next').",
    )(func)
    return click.option(
        "--limit",
        type=int,
        default=None,
        metavar="N",
        help="At most N rows; the output then ends with the cursor of the next page.",
    )(func)
