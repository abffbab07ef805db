"""The `purdah` command line. Thin: parse arguments, call one service, render the result.

Errors from the core (PurdahError, all in purdah/errors.py) become one `Error: ...` line
here and nowhere else, with control characters escaped so that nothing read from a file
reaches the terminal raw; a database failure (SQLAlchemy, sqlite3 or psycopg) becomes one line
too. click's own usage errors (exit 2) pass through untouched. `--debug` shows tracebacks.
"""

from __future__ import annotations

from typing import Any

import click

from purdah import __version__
from purdah.errors import PurdahError


class PurdahGroup(click.Group):
    """A group that turns PurdahError into `Error: <message>` and the error's exit code,
    and loads each command's module only when the command is wanted (see _COMMANDS)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if command is None:
            command = _load(cmd_name)
            if command is not None:
                self.commands[cmd_name] = command
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PurdahError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            from purdah.ical.sniff import printable

            click.echo(f"Error: {printable(str(exc), 4000)}", err=True)
            ctx.exit(self._exit_code(ctx, exc.exit_code))
        except Exception as exc:
            # A database failure mid-command: one line, not a traceback.
            if not type(exc).__module__.startswith(("sqlalchemy", "sqlite3", "psycopg")) or (
                ctx.obj and ctx.obj.get("debug")
            ):
                raise
            from purdah.ical.sniff import printable

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


# Each command and the module that defines it, imported only when the command runs (or
# when --help lists them all): `purdah check` loads purdah.cli.check and nothing else.
_COMMANDS = {
    "timetable": ("timetable", "timetable"),
    "rules": ("rules", "rules"),
    "init": ("register", "init"),
    "council": ("register", "council"),
    "councillor": ("register", "councillor"),
    "areas": ("areas", "areas"),
    "election": ("elections", "election"),
    "non-working-day": ("elections", "non_working_day"),
    "windows": ("elections", "windows"),
    "notices": ("notices", "notices"),
    "today": ("today", "today"),
    "check": ("check", "check"),
    "status": ("check", "status"),
    "reconcile": ("check", "reconcile"),
    "history": ("check", "history"),
    "exempt": ("check", "exempt"),
    "doctor": ("doctor", "doctor"),
    "run": ("scheduler", "run"),
    "import": ("imports", "import_"),
    "feed": ("imports", "feed"),
    "export": ("export", "export"),
    "serve": ("export", "serve"),
    "token": ("tokens", "token"),
    "mail": ("mail", "mail"),
    "webhook": ("webhooks", "webhook"),
}


def _load(name: str) -> click.Command | None:
    import importlib

    found = _COMMANDS.get(name)
    if found is None:
        return None
    module, attr = found
    command = getattr(importlib.import_module(f"purdah.cli.{module}"), attr)
    assert isinstance(command, click.Command) and command.name == name, (name, command)
    return command
