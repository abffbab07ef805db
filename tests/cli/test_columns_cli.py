"""Issue 13: every list a person reads is in aligned columns (a header row, each column
starting where its header does), over the example register."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from purdah.cli import main

EXAMPLE = Path(__file__).parents[2] / "calendars" / "example" / "load"
PURDAH = str(Path(sys.executable).with_name("purdah"))


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("columns") / "purdah.db")
    subprocess.run([PURDAH, "init", "--db", path], check=True, capture_output=True)
    subprocess.run(["bash", str(EXAMPLE), PURDAH, path], check=True, capture_output=True)
    for name, scope in (("clerk", "read"), ("rota-tool", "check")):
        add = [PURDAH, "token", "add", name, "--scope", scope, "--db", path]
        subprocess.run(add, check=True, capture_output=True)
    return path


@pytest.mark.parametrize(
    ("command", "header"),
    [
        (["council", "list"], "COUNCIL"),
        (["councillor", "list"], "COUNCILLOR"),
        (["election", "list"], "ELECTION"),
        (["feed", "list"], "FEED"),
        (["token", "list"], "TOKEN"),
        (["windows"], "COUNCIL"),
        (["status", "--at", "2027-04-20"], "COUNCILLOR"),
    ],
)
def test_lists_are_aligned_columns(db, command, header):
    result = CliRunner().invoke(main, [*command, "--db", db])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if not line.startswith("as of ")]
    table = [line for line in lines if "  " in line]
    assert table[0].startswith(header + " ")
    starts = [m.start() for m in re.finditer(r"(?<=  )\S", table[0])]  # each later column
    assert len(starts) >= 2
    rows = table[1:]
    assert len(rows) >= 2
    for row in rows:
        for start in starts:
            # Each column's cell begins under its header, after two spaces (or more).
            assert row[start - 2 : start] == "  " and row[start] != " ", (row, start)
    assert all(line == line.rstrip() for line in lines)  # no trailing spaces
