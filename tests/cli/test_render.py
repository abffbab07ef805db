"""The table renderer, colour only on a terminal (and never with NO_COLOR), and the
progress bar that shows only on a terminal and only for work over a second."""

from __future__ import annotations

import io
import sys

import click
from click.testing import CliRunner

from purdah.cli import render


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_columns_align_and_leave_no_trailing_space():
    @click.command()
    def show() -> None:
        render.columns(("A", "LONG HEADER", "Z"), [("wide cell", "x", "last"), ("b", "yy", "")])

    assert CliRunner().invoke(show).output.splitlines() == [
        "A          LONG HEADER  Z",
        "wide cell  x            last",
        "b          yy           ",
    ]


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch):
    monkeypatch.setattr(sys, "stdout", Tty())
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert render.style("x", bold=True) == "\x1b[1mx\x1b[0m"
    monkeypatch.setenv("NO_COLOR", "1")
    assert render.style("x", bold=True) == "x"
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert render.style("x", bold=True) == "x"


def test_progress_shows_on_a_terminal_only_after_a_second(monkeypatch):
    err = Tty()
    monkeypatch.setattr(sys, "stderr", err)
    quick = render.Progress("importing")  # under a second: nothing
    quick(1, 2)
    quick.close()
    assert err.getvalue() == ""
    slow = render.Progress("importing", after=0)
    slow(1, 2)
    slow(2, 2)
    slow.close()
    assert "importing" in err.getvalue()
    assert "100%" in err.getvalue()
    piped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", piped)
    hidden = render.Progress("importing", after=0)
    hidden(1, 1)
    hidden.close()
    assert piped.getvalue() == ""
