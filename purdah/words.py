"""Small words shared by services and the command line (no I/O, nothing else imported)."""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """Counts agree in number: 1 councillor, 2 councillors, 0 flag changes."""
    return f"{n} {word if n == 1 else (many or word + 's')}"
