"""The `purdah` command line. Thin: parse arguments, call one service, render the result.

Errors from the core (PurdahError) become one `Error: ...` line here and nowhere else;
click's own usage errors (exit 2) pass through untouched. `--debug` shows tracebacks.
"""

from __future__ import annotations

from typing import Any

import click

from purdah import __version__
from purdah.errors import PurdahError


class PurdahGroup(click.Group):
    """A group that turns PurdahError into `Error: <message>` and the error's exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PurdahError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=PurdahGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="purdah")
@click.option("--debug", is_flag=True, help="Show a traceback for errors (for bug reports).")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Pre-election periods ("purdah") for UK councils, worked out by statute.

    Election ids are Democracy Club ids, e.g. local.2026-05-07,
    parl.2029-08-16, sp.2026-05-07.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def _register() -> None:
    from purdah.cli.timetable import timetable

    main.add_command(timetable)


_register()
