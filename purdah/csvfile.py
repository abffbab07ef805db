"""The one CSV reader for the register's imports (councils, councillors).

Everything wrong with a file is collected, each problem named by file and line, and
raised as one InputError before anything is written: a row with more or fewer fields
than the header, a field over the size limit, a NUL byte, text that is not UTF-8, a key
(slug) that repeats within the file. Callers check their own columns row by row and add
their problems to the same `CsvProblems`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from purdah.errors import InputError

MAX_BYTES = 16 * 1024 * 1024
MAX_FIELD = 4 * 1024  # characters: a council's name or its list of areas is far shorter
MAX_SHOWN = 20  # problems listed in the error; the rest are counted


@dataclass(frozen=True)
class CsvRow:
    line: int  # the line the row starts on, counting the header as line 1
    values: dict[str, str]  # lower-case column name -> stripped value

    def get(self, column: str, default: str = "") -> str:
        return self.values.get(column, default) or default


@dataclass
class CsvProblems:
    """Problems found in one file, each `path:line: what`."""

    path: Path
    columns: list[str] = field(default_factory=list)  # the header, lower-case
    lines: list[str] = field(default_factory=list)
    _seen: dict[str, int] = field(default_factory=dict)

    def add(self, line: int, message: str) -> None:
        self.lines.append(f"{self.path}:{line}: {message}")

    def unique(self, line: int, what: str, key: str) -> bool:
        """False (and a problem) if `key` was already on an earlier line of this file."""
        if key in self._seen:
            self.add(line, f"{what} {key!r} repeats line {self._seen[key]}")
            return False
        self._seen[key] = line
        return True

    def raise_if_any(self) -> None:
        if not self.lines:
            return
        shown = self.lines[:MAX_SHOWN]
        more = len(self.lines) - len(shown)
        if more:
            shown.append(f"... and {more} more")
        raise InputError(
            "nothing imported; fix these rows and import again:\n  " + "\n  ".join(shown)
        )


def read_csv(
    path: Path, *, required: tuple[str, ...], max_field: int = MAX_FIELD
) -> tuple[list[CsvRow], CsvProblems]:
    """The rows of a CSV file with a header row, and the problems found so far (raise
    them with `problems.raise_if_any()` once the caller has added its own). A file that
    cannot be read at all, or whose header lacks a `required` column, raises at once."""
    text = _read_text(path)
    problems = CsvProblems(path)
    records = _records(text, path)
    header_line = next(records, None)
    if header_line is None:
        raise InputError(f"{path}: the file is empty; nothing imported")
    _, header = header_line
    columns = [h.strip().lower() for h in header]
    problems.columns = columns
    missing = [c for c in required if c not in columns]
    if missing:
        raise InputError(
            f"{path}:1: the header row lacks {', '.join(missing)} (found: "
            f"{', '.join(columns) or 'nothing'})"
        )
    for column in {c for c in columns if columns.count(c) > 1}:
        problems.add(1, f"the column {column!r} appears twice in the header")
    rows: list[CsvRow] = []
    for line, fields in records:
        if not any(f.strip() for f in fields):
            continue  # a blank line
        if len(fields) != len(columns):
            problems.add(
                line,
                f"{len(fields)} fields where the header has {len(columns)} "
                "(a stray comma, or a value with a comma that needs quotes?)",
            )
            continue
        long = [c for c, f in zip(columns, fields, strict=True) if len(f) > max_field]
        if long:
            problems.add(
                line,
                f"the {long[0]} field is longer than {max_field:,} characters; "
                "is the file what you meant to import?",
            )
            continue
        rows.append(CsvRow(line, {c: f.strip() for c, f in zip(columns, fields, strict=True)}))
    return rows, problems


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError(
                f"{path}: {size:,} bytes is more than the limit of {MAX_BYTES:,}; nothing imported"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise InputError(
            f"{path}:{line}: a NUL byte: this is not a text CSV file (UTF-16 or a "
            "spreadsheet's own format?); save it as CSV UTF-8 and import again"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{path}:{line}: not UTF-8 text (byte {exc.start}); save it as CSV UTF-8"
        ) from None


def _records(text: str, path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line the record starts on, its fields). The csv module's own field limit (128 KiB)
    is far above MAX_FIELD, so hitting it is reported like any over-long field."""
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(
                f"{path}:{start}: cannot be read as CSV ({exc}); nothing imported"
            ) from None
        yield start, fields
        start = reader.line_num + 1
