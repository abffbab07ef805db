"""`purdah check` and the store's listings start without SQLAlchemy, SQLModel, pydantic
or alembic on SQLite (they are most of a store command's start-up), and `check` without
the JSON serialiser or timetable unless asked for JSON."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.services.helpers import nottinghamshire

HEAVY = ("sqlalchemy", "sqlmodel", "pydantic", "alembic", "fastapi", "psycopg")
SCRIPT = """
import json, sys
from purdah.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _run(*args: str) -> tuple[int, set[str]]:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True, check=True
    ).stdout
    result = json.loads(out.splitlines()[-1])
    return result["code"], set(result["modules"])


@pytest.mark.parametrize(
    "args",
    [
        ("check", "selston/jane-doe", "--at", "2026-06-01T12:00"),
        ("check", "selston/jane-doe", "--at", "2026-04-01T12:00"),
        ("council", "list"),
        ("windows",),
        ("windows", "--council", "selston"),
        ("history",),
        ("history", "selston/jane-doe", "--limit", "2"),
    ],
)
def test_store_commands_start_without_the_orm(sqlite_store, args):
    nottinghamshire(sqlite_store)
    sqlite_store.close()
    code, modules = _run(*args, "--db", sqlite_store.sqlite_path)
    assert code in (0, 1, None)
    loaded = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert loaded == [], f"purdah {' '.join(args)} imported {loaded[:5]}"
    if args[0] == "check":
        assert not {"purdah.serialize", "purdah.timetable"} & modules


def test_the_orm_is_still_there_when_a_command_writes(sqlite_store):
    """The guard above can fail: a command that writes does load SQLModel."""
    nottinghamshire(sqlite_store)
    sqlite_store.close()
    _code, modules = _run("reconcile", "--db", sqlite_store.sqlite_path)
    assert "sqlmodel" in modules
