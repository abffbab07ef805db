"""One shape for every benchmark figure, so `make bench` can print them as one table.

Each bench measures a path and its floor (the same result computed by the database
alone, or a bare peer) in the same run, and reports a `Row`. `emit(rows)` prints them as
a Markdown table and, when $PURDAH_BENCH_OUT names a file, appends one JSON object per
row to it (the aggregator in `make bench` reads that file).
"""

from __future__ import annotations

import json
import os
import resource
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Row:
    path: str  # what was measured, e.g. "reconcile: mass switch (150,000 changes)"
    store: str  # "sqlite", "postgresql" or "-" (no store involved)
    councillors: int  # register size the figure was measured at (0 if none)
    seconds: float  # median time of the path
    floor_seconds: float  # median time of its floor, measured in the same run
    floor: str  # what the floor is, e.g. "one UPDATE + INSERT ... SELECT"
    goal: float | None = None  # the ratio the issue asks for (seconds / floor <= goal)
    peak_mb: float | None = None  # peak resident memory of the measuring process

    @property
    def ratio(self) -> float:
        return self.seconds / self.floor_seconds if self.floor_seconds else float("inf")

    @property
    def verdict(self) -> str:
        if self.goal is None:
            return "-"
        return "met" if self.ratio <= self.goal else f"missed by {self.ratio / self.goal:.2f}x"


def peak_mb() -> float:
    """Peak resident set of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def format_time(seconds: float) -> str:
    if seconds < 1e-6:
        return f"{seconds * 1e9:.1f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def emit(rows: list[Row]) -> None:
    print("| path | store | councillors | time | floor | floor time | ratio | goal | verdict |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        goal = f"<= {r.goal:g}x" if r.goal is not None else "-"
        print(
            f"| {r.path} | {r.store} | {r.councillors:,} | {format_time(r.seconds)} | {r.floor} | "
            f"{format_time(r.floor_seconds)} | {r.ratio:.2f}x | {goal} | {r.verdict} |"
        )
    out = os.environ.get("PURDAH_BENCH_OUT")
    if out:
        with open(out, "a", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(asdict(r) | {"ratio": r.ratio, "verdict": r.verdict}) + "\n")
