"""The store commands through the CLI: exit codes, exact error lines, JSON contracts."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from click.testing import CliRunner

from purdah.cli import main
from purdah.clock import LONDON


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """What the real clock says in these in-process CLI runs (the commands themselves take
    no instant for a write)."""
    fake = Clock(datetime(2026, 1, 5, 9, tzinfo=LONDON))
    monkeypatch.setattr("purdah.store.real_clock", fake)
    return fake


@pytest.fixture
def db(tmp_path, monkeypatch, clock):
    path = tmp_path / "purdah.db"
    monkeypatch.setenv("PURDAH_DB", str(path))
    # These tests pin the statutory windows; tests/cli/test_run_up_cli.py has the default.
    run("init", "--start-policy", "notice-or-statutory")
    for args in (
        [
            "council",
            "add",
            "ashfield",
            "--name",
            "Ashfield District Council",
            "--nation",
            "ENG",
            "--kind",
            "district",
            "--within",
            "nottinghamshire",
        ],
        [
            "council",
            "add",
            "selston",
            "--name",
            "Selston Parish Council",
            "--nation",
            "ENG",
            "--kind",
            "parish",
            "--within",
            "ashfield",
            "--within",
            "Nottinghamshire",
        ],
        ["councillor", "add", "selston/jane-doe", "--name", "Jane Doe", "--may-post"],
        ["election", "add", "local.ashfield.2026-05-07", "--nation", "ENG"],
    ):
        result = run(*args)
        assert result.exit_code == 0, result.output
    return path


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_init_twice_is_harmless(db):
    result = run("init")
    assert result.exit_code == 0
    assert result.output.startswith("store ready at sqlite:///")


def test_check_exit_codes(db):
    assert run("check", "selston/jane-doe", "--at", "2026-03-29T23:59:59").exit_code == 0
    assert run("check", "selston/jane-doe", "--at", "2026-03-30").exit_code == 1
    assert (
        run("check", "selston/jane-doe", "--action", "post", "--at", "2026-05-07T22:00").exit_code
        == 0
    )


def test_check_human_output(db):
    result = run("check", "selston/jane-doe", "--at", "2026-04-01T10:00")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == (
        "selston/jane-doe (Jane Doe) MAY NOT be promoted by the council at Wed 2026-04-01 10:00 BST"
    )
    assert "  election   local.ashfield.2026-05-07" in lines
    assert "  window     Mon 2026-03-30 00:00 BST  ->  Thu 2026-05-07 22:00 BST" in lines
    assert any(
        line.startswith("  starts at  statutory latest notice of election (statutory")
        for line in lines
    )
    assert any(line.startswith("  rule       English principal") for line in lines)


def test_check_json_contract(db):
    result = run("check", "selston/jane-doe", "--at", "2026-04-01T10:00+01:00", "--json")
    data = json.loads(result.output)
    assert data["councillor"] == "selston/jane-doe"
    assert data["action"] == "promote"
    assert data["at"] == "2026-04-01T10:00:00+01:00"
    assert data["allowed"] is False
    assert data["exemption"] is None
    [reason] = data["reasons"]
    assert reason["election_id"] == "local.ashfield.2026-05-07"
    assert reason["window"] == {
        "start": "2026-03-30T00:00:00+01:00",
        "end": "2026-05-07T22:00:00+01:00",
    }
    assert reason["basis"] == "statutory latest notice of election"
    assert reason["sources"][0].startswith("SI 2006/3304")


@pytest.mark.parametrize(
    "args, error",
    [
        (
            ["selston/nobody"],
            "Error: no councillor 'nobody' in council 'selston': see "
            "'purdah councillor list --council selston'",
        ),
        (
            ["nowhere/jane-doe"],
            "Error: no council 'nowhere' in the register: see 'purdah council list'",
        ),
        (
            ["jane-doe"],
            "Error: councillor 'jane-doe' must be written COUNCIL/SLUG, e.g. selston/jane-doe",
        ),
        (
            ["selston/jane-doe", "--at", "next tuesday"],
            "Error: --at 'next tuesday' is not an ISO 8601 date or datetime",
        ),
    ],
)
def test_check_cannot_answer_exits_2(db, args, error):
    result = run("check", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(error)


def test_check_without_a_store_exits_2(tmp_path, monkeypatch):
    monkeypatch.setenv("PURDAH_DB", str(tmp_path / "missing.db"))
    result = run("check", "selston/jane-doe")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"Error: no purdah store at {tmp_path / 'missing.db'}: run 'purdah init' first"
    )
    assert not (tmp_path / "missing.db").exists()


def test_status_json_flags_a_mismatch(db, clock):
    clock.now = datetime(2026, 3, 1, tzinfo=LONDON)
    run("reconcile")  # the flags are right as of 1 March
    clock.now = datetime(2026, 4, 1, tzinfo=LONDON)
    data = json.loads(run("status", "--json").output)
    assert data["at"] == "2026-04-01T00:00:00+01:00" and data["next"] is None
    [row] = data["councillors"]
    assert row["councillor"] == "selston/jane-doe"
    assert (row["may_post"], row["may_promote"]) == (False, False)
    assert row["stored"] == {"may_post": True, "may_promote": True}
    assert row["mismatch"] is True
    run("reconcile")
    [row] = json.loads(run("status", "--json").output)["councillors"]
    assert row["mismatch"] is False


def test_no_fault_is_claimed_for_an_instant_the_stored_flags_do_not_speak_for(db, clock):
    clock.now = datetime(2026, 3, 1, tzinfo=LONDON)
    run("reconcile")
    [row] = json.loads(run("status", "--at", "2090-01-01", "--json").output)["councillors"]
    assert row["mismatch"] is None  # the future: the stored flags say nothing about it
    result = run("check", "selston/jane-doe", "--at", "2090-01-01", "--json")
    assert json.loads(result.output)["mismatch"] is None


def test_reconcile_twice_changes_nothing_the_second_time(db, clock):
    clock.now = datetime(2026, 4, 1, tzinfo=LONDON)
    first = json.loads(run("reconcile", "--json").output)
    assert len(first["changes"]) == 2
    second = json.loads(run("reconcile", "--json").output)
    assert second["changes"] == []
    history = json.loads(run("history", "--json").output)["changes"]
    assert len(history) == 2
    assert set(history[0]) >= {"councillor", "flag", "old", "new", "at", "cause"}


def test_election_list_json(db):
    [row] = json.loads(run("election", "list", "--json").output)["elections"]
    assert row == {
        "election_id": "local.ashfield.2026-05-07",
        "type": "local",
        "area": "ashfield",
        "nation": "ENG",
        "poll_date": "2026-05-07",
        "original_poll_date": None,
        "notice": None,
        "notice_source": None,
        "announced_at": None,
        "status": "scheduled",
        "source": "manual",
        "referendum": None,
        "notice_planned": False,
    }


def test_election_add_errors(db):
    result = run("election", "add", "local.2026-05-07", "--nation", "ENG")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: local.2026-05-07 does not name its area: give --area")
    result = run("election", "add", "local.ashfield.2026-05-07", "--nation", "ENG")
    assert result.stderr.startswith("Error: election local.ashfield.2026-05-07 is already recorded")


def test_within_areas_are_normalised(db):
    [council] = [
        c
        for c in json.loads(run("council", "list", "--json").output)["councils"]
        if c["slug"] == "selston"
    ]
    assert council["within"] == ["ashfield", "nottinghamshire"]


def test_exempt_and_windows_commands(db):
    result = run(
        "exempt",
        "selston/jane-doe",
        "--action",
        "post",
        "--from",
        "2026-04-10T09:00",
        "--to",
        "2026-04-10T17:00",
        "--reason",
        "emergency: flood warning",
        "--granted-by",
        "Town Clerk",
    )
    assert result.exit_code == 0, result.output
    assert (
        run("check", "selston/jane-doe", "--action", "post", "--at", "2026-04-10T12:00").exit_code
        == 0
    )
    windows = json.loads(run("windows", "--council", "selston", "--json").output)
    assert [w["election_id"] for w in windows] == ["local.ashfield.2026-05-07"]


def test_councillor_csv_import_is_all_or_nothing(db, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "name,ward,may_post\nAnn One,North,yes\n,South,no\nBob Two,East,maybe\n", encoding="utf-8"
    )
    result = run("councillor", "import", str(bad), "--council", "selston")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error: nothing imported; fix these rows and import again:",
        f"  {bad}:3: the name is empty",
        f"  {bad}:4: may_post 'maybe' is not yes or no",
    ]
    listed = json.loads(run("councillor", "list", "--council", "selston", "--json").output)
    assert [c["slug"] for c in listed] == ["jane-doe"]
    good = tmp_path / "good.csv"
    good.write_bytes(
        "\ufeffname,ward,may_post,role\nAnn One,North,yes,chair\nBob Two,,no,\n".encode()
    )
    result = run("councillor", "import", str(good), "--council", "selston")
    assert result.output == "imported 2 councillors into selston\n"
    listed = json.loads(run("councillor", "list", "--council", "selston", "--json").output)
    assert [c["slug"] for c in listed] == ["ann-one", "bob-two", "jane-doe"]


def test_council_import_is_all_or_nothing(db, tmp_path):
    bad = tmp_path / "councils.csv"
    bad.write_text(
        "slug,name,nation,kind,within\nannesley,Annesley PC,ENG,parish,ashfield\n"
        "x,X Town,FRA,town,\nbad slug,Bad,ENG,parish,\n",
        encoding="utf-8",
    )
    result = run("council", "import", str(bad))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error: nothing imported; fix these rows and import again:",
        f"  {bad}:3: nation 'FRA' is not one of: ENG, WLS, SCT, NIR",
        f"  {bad}:4: council slug 'bad slug' is not a slug: use lower-case letters, digits and "
        "hyphens, e.g. nottinghamshire or south-yorkshire",
    ]
    good = tmp_path / "good.csv"
    good.write_text(
        "slug,name,nation,kind,within\nannesley,Annesley PC,ENG,parish,ashfield;nottinghamshire\n",
        encoding="utf-8",
    )
    assert run("council", "import", str(good)).output == "imported 1 council\n"
    annesley = [
        c
        for c in json.loads(run("council", "list", "--json").output)["councils"]
        if c["slug"] == "annesley"
    ]
    assert annesley[0]["within"] == ["ashfield", "nottinghamshire"]
    again = run("council", "import", str(good))
    assert again.exit_code == 2 and "already in the register: annesley" in again.stderr


def _councils(db) -> list[str]:
    return [c["slug"] for c in json.loads(run("council", "list", "--json").output)["councils"]]


def test_council_import_row_with_more_fields_than_the_header(db, tmp_path):
    # Issue 8, point 8: a traceback before.
    before = _councils(db)
    bad = tmp_path / "wide.csv"
    bad.write_text(
        "slug,name,nation,kind\nannesley,Annesley PC,ENG,parish\n"
        "brinsley,Brinsley PC,ENG,parish,ashfield,extra\neastwood,Eastwood TC,ENG\n",
        encoding="utf-8",
    )
    result = run("council", "import", str(bad))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error: nothing imported; fix these rows and import again:",
        f"  {bad}:3: 6 fields where the header has 4 (a stray comma, or a value with a "
        "comma that needs quotes?)",
        f"  {bad}:4: 3 fields where the header has 4 (a stray comma, or a value with a "
        "comma that needs quotes?)",
    ]
    assert _councils(db) == before


@pytest.mark.parametrize("size", [5_000, 128 * 1024 + 10])
def test_council_import_field_over_the_size_limit(db, tmp_path, size):
    # Issue 8, point 8: a field over 128 KiB was a traceback.
    before = _councils(db)
    bad = tmp_path / "long.csv"
    bad.write_text(
        f"slug,name,nation,kind\nannesley,Annesley PC,ENG,parish\nbig,{'x' * size},ENG,parish\n",
        encoding="utf-8",
    )
    result = run("council", "import", str(bad))
    assert result.exit_code == 2
    if size < 128 * 1024:
        assert result.stderr.splitlines() == [
            "Error: nothing imported; fix these rows and import again:",
            f"  {bad}:3: the name field is longer than 4,096 characters; is the file what "
            "you meant to import?",
        ]
    else:
        assert result.stderr.splitlines() == [
            f"Error: {bad}:3: cannot be read as CSV (field larger than field limit (131072)); "
            "nothing imported"
        ]
    assert _councils(db) == before


def test_council_import_duplicate_slug_within_the_file(db, tmp_path):
    # Issue 8, point 8: "the store failed: UNIQUE constraint", no line number.
    before = _councils(db)
    bad = tmp_path / "twice.csv"
    bad.write_text(
        "slug,name,nation,kind\nannesley,Annesley PC,ENG,parish\n"
        "brinsley,Brinsley PC,ENG,parish\nAnnesley,Annesley again,ENG,parish\n",
        encoding="utf-8",
    )
    result = run("council", "import", str(bad))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error: nothing imported; fix these rows and import again:",
        f"  {bad}:4: slug 'annesley' repeats line 2",
    ]
    assert _councils(db) == before


def test_councillor_import_uses_the_same_reader(db, tmp_path):
    bad = tmp_path / "people.csv"
    bad.write_bytes(b"name,slug\nJane Doe,jane\nJohn Roe,john,extra\nJ D,jane\nNul\x00,nul\n")
    result = run("councillor", "import", str(bad), "--council", "selston")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"Error: {bad}:5: a NUL byte: this is not a text CSV file (UTF-16 or a spreadsheet's "
        "own format?); save it as CSV UTF-8 and import again"
    ]
    bad.write_bytes(b"name,slug\nJane Doe,jane\nJohn Roe,john,extra\nJ D,jane\n")
    result = run("councillor", "import", str(bad), "--council", "selston")
    assert result.stderr.splitlines() == [
        "Error: nothing imported; fix these rows and import again:",
        f"  {bad}:3: 3 fields where the header has 2 (a stray comma, or a value with a comma "
        "that needs quotes?)",
        f"  {bad}:4: slug 'jane' repeats line 2",
    ]


@pytest.mark.parametrize(
    "args",
    [
        ("check", "selston/jane-doe"),
        ("status",),
        ("history",),
        ("reconcile",),
        ("council", "list"),
        ("election", "list"),
        ("feed", "list"),
        ("init",),
    ],
)
def test_a_file_that_is_not_a_store_exits_2_with_one_error_line(tmp_path, monkeypatch, args):
    # Issue 8, point 8: `check --db junk.db` was a sqlite3 traceback and exit 1.
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database\n" * 100)
    result = run(*args, "--db", str(junk))
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        f"Error: {junk} is not a purdah store (not a SQLite database): give the right --db "
        "(or $PURDAH_DB), or 'purdah init --db NEW-FILE' to create one"
    ]
    assert junk.read_bytes() == b"this is not a database\n" * 100


@pytest.mark.parametrize("args", [("check", "selston/jane-doe"), ("status",), ("council", "list")])
def test_an_empty_file_is_a_store_not_yet_initialised(tmp_path, args):
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    result = run(*args, "--db", str(empty))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"Error: the database sqlite:///{empty} has no purdah schema: run 'purdah init'"
    ]


def test_a_directory_is_not_a_store(tmp_path):
    result = run("status", "--db", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"Error: {tmp_path} is not a purdah store (it is a directory): give the right --db "
        "(or $PURDAH_DB), or 'purdah init --db NEW-FILE' to create one"
    ]


def test_no_command_prints_its_own_error_line():
    # One error boundary (purdah/cli/__init__.py) writes every `Error:` line.
    from pathlib import Path

    import purdah.cli

    root = Path(purdah.cli.__file__).parent
    offenders = [
        f"{path.name}:{number}"
        for path in sorted(root.glob("*.py"))
        if path.name != "__init__.py"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if '"Error:' in line or "'Error:" in line
    ]
    assert offenders == []
