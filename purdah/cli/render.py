"""Human-readable rendering helpers shared by commands."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import click

from purdah.clock import LONDON
from purdah.words import plural


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def echo_list(
    at: str, key: str, lines: Iterable[str], after: Callable[[], dict[str, Any]] | None = None
) -> None:
    """A list command's JSON, written as it is produced (see `serialize.list_chunks`)."""
    from purdah.serialize import list_chunks

    for chunk in list_chunks(at, key, lines, after):
        click.echo(chunk, nl=False)


def echo_lines(lines: Iterable[str]) -> None:
    """Text lines written in chunks (a national register is 100,000 lines)."""
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == 2000:
            click.echo("\n".join(chunk))
            chunk = []
    if chunk:
        click.echo("\n".join(chunk))


def day(value: date | None) -> str:
    return value.strftime("%a %Y-%m-%d") if value is not None else "-"


@lru_cache(maxsize=4096)  # listings repeat the same instants (every county's PCC window)
def instant(value: datetime) -> str:
    local = value.astimezone(LONDON)
    return local.strftime("%a %Y-%m-%d %H:%M %Z")


def table(rows: list[tuple[str, str]], indent: str = "  ") -> None:
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        click.echo(f"{indent}{label.ljust(width)}  {value}")


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th ... 11th, 12th, 13th ... 21st, 22nd."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def yes_no(value: bool) -> str:
    return "yes" if value else "no"


def echo_changes(result: Any) -> None:
    """One line per flag switch (or, in a dry run, per switch it would make)."""
    verb = "would switch" if getattr(result, "dry_run", False) else "switched"
    for change in result.changes:
        ref = result.refs.get(change.councillor_id, str(change.councillor_id))
        click.echo(
            f"{verb} {ref} {change.flag} {yes_no(change.old)} -> {yes_no(change.new)} "
            f"at {instant(change.at)}: {change.cause}"
        )


def echo_refresh(result: Any, headline: str, as_json: bool) -> None:
    """Render what an election change did: windows recomputed and flags switched."""
    from purdah.serialize import election_json, reconcile_json, windows_json

    if as_json:
        echo_json(
            {
                "election": election_json(result.election) if result.election else None,
                "windows": windows_json(result.windows),
                "reconcile": reconcile_json(result.reconcile),
                "warnings": list(getattr(result, "warnings", ())),
            }
        )
        return
    for warning in getattr(result, "warnings", ()):
        click.echo(f"Warning: {warning}")
    click.echo(
        f"{headline}; windows: {result.windows.describe()}; "
        f"{plural(len(result.reconcile.changes), 'flag change')}"
    )
    echo_changes(result.reconcile)


def chain_json(members: Any) -> list[dict[str, Any]]:
    """Areas of a chain as SETTLED.md has them: GSS code, name, kind and slug each."""
    return [
        {"gss": m.gss or None, "name": m.name, "kind": m.kind, "slug": m.slug or None}
        | ({"note": m.note} if m.note else {})
        for m in members
    ]


def columns(header: tuple[str, ...], rows: list[tuple[str, ...]], indent: str = "") -> None:
    """An aligned table: each column as wide as its widest cell, two spaces between, the
    last column not padded (so lines carry no trailing spaces)."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = []
    for index, row in enumerate((header, *rows)):
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        line = indent + "  ".join([*cells, row[-1]])
        lines.append(style(line, bold=True) if index == 0 else line)
    echo_lines(lines)  # one write: a listing of 40,000 windows is printing, not start-up


def style(text: str, **styles: Any) -> str:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    import os
    import sys

    if os.environ.get("NO_COLOR") or not sys.stdout.isatty():
        return text
    return click.style(text, **styles)


class Progress:
    """A progress bar on stderr for work that takes more than a second, only on a terminal
    and never with --json (`enabled=False`): call it with (done, total). The bar is plain
    characters, so NO_COLOR leaves it as it is: it carries no colour to take away."""

    def __init__(self, label: str, after: float = 1.0, *, enabled: bool = True) -> None:
        import time

        self.label = label
        self.started = time.monotonic()
        self.after = after
        self.enabled = enabled
        self.bar: Any = None
        self.done = 0

    def __call__(self, done: int, total: int) -> None:
        import sys
        import time

        if self.bar is None:
            if not self.enabled or not sys.stderr.isatty():
                return
            if time.monotonic() - self.started < self.after:
                return
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def echo_page(
    command: str,
    noun: str,
    rows: list[Any],
    key: Callable[[Any], tuple[Any, ...]],
    item: Callable[[Any], dict[str, Any]],
    text: Callable[[Any], Any],
    *,
    limit: int | None,
    cursor: str | None,
    as_json: bool,
    header: tuple[str, ...] | None = None,
) -> None:
    """A short list command (its rows are read at once) with --limit/--after: JSON as
    every list (`echo_list`), text one row a line and then where the next page starts.
    With `header`, `text` gives each row's cells and the page is an aligned table."""
    from purdah.paging import Cursor, check_limit, decode, page
    from purdah.serialize import iso_instant
    from purdah.store import real_clock

    check_limit(limit)
    after = decode(cursor, command).after if cursor is not None else None
    chosen, last = page(rows, key, limit, after)
    following = Cursor(command, last).encode() if last is not None else None
    if as_json:
        lines = (json.dumps(item(r), ensure_ascii=False) for r in chosen)
        echo_list(iso_instant(real_clock()), noun, lines, lambda: {"next": following})
        return
    if header is not None:
        if chosen:
            columns(header, [text(r) for r in chosen])
    else:
        echo_lines(text(r) for r in chosen)
    if following:
        more = f" --limit {limit}" if limit else ""
        click.echo(f"more: purdah {command} --after {following}{more}")
