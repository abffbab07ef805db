"""The `purdah` command line. Thin: parse arguments, call one service, render the result.

Errors from the core (PurdahError, all in purdah/errors.py) become one `Error: ...` line
here and nowhere else, with control characters escaped so that nothing read from a file
reaches the terminal raw; a database failure (SQLAlchemy or sqlite3) becomes one line
too. click's own usage errors (exit 2) pass through untouched. `--debug` shows tracebacks.
"""

from __future__ import annotations

from typing import Any

import click

from purdah import __version__
from purdah.errors import PurdahError
from purdah.ical.sniff import printable


class PurdahGroup(click.Group):
    """A group that turns PurdahError into `Error: <message>` and the error's exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PurdahError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"Error: {printable(str(exc), 4000)}", err=True)
            ctx.exit(self._exit_code(ctx, exc.exit_code))
        except Exception as exc:
            # A database failure mid-command: one line, not a traceback.
            if not type(exc).__module__.startswith(("sqlalchemy", "sqlite3")) or (
                ctx.obj and ctx.obj.get("debug")
            ):
                raise
            orig = getattr(exc, "orig", None) or exc
            click.echo(
                f"Error: the store failed: {printable(str(orig))} (retry; --debug shows details)",
                err=True,
            )
            ctx.exit(self._exit_code(ctx, 2))

    def _exit_code(self, ctx: click.Context, default: int) -> int:
        """A command may declare the exit code its errors use (check: 2 = not answered)."""
        name = ctx.invoked_subcommand
        command = self.get_command(ctx, name) if name else None
        return int(getattr(command, "error_exit_code", default))


@click.group(cls=PurdahGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="purdah")
@click.option("--debug", is_flag=True, help="Show a traceback for errors (for bug reports).")
@click.option(
    "--db",
    metavar="URL|PATH",
    default=None,
    help="The store, for every command (as the command's own --db; that one wins).",
)
@click.option("--json", "as_json", is_flag=True, help="JSON output, for every command.")
@click.pass_context
def main(ctx: click.Context, debug: bool, db: str | None, as_json: bool) -> None:
    """Pre-election periods ("purdah") for UK councils, worked out by statute.

    Election ids are Democracy Club ids, e.g. local.2026-05-07,
    parl.2029-08-15, sp.2026-05-07.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    ctx.obj["db"] = db
    ctx.obj["json"] = as_json


def _register() -> None:
    from purdah.cli import (
        areas,
        check,
        doctor,
        elections,
        export,
        imports,
        mail,
        notices,
        register,
        rules,
        scheduler,
        timetable,
        today,
        tokens,
        webhooks,
    )

    for command in (
        timetable.timetable,
        rules.rules,
        register.init,
        register.council,
        register.councillor,
        areas.areas,
        elections.election,
        elections.non_working_day,
        elections.windows,
        notices.notices,
        mail.mail,
        today.today,
        check.check,
        check.status,
        check.reconcile,
        check.history,
        check.exempt,
        doctor.doctor,
        scheduler.run,
        imports.import_,
        imports.feed,
        export.export,
        export.serve,
        tokens.token,
        webhooks.webhook,
    ):
        main.add_command(command)


_register()
