"""May this councillor post / be promoted at instant t? Pure, and the one place it is decided.

check, status and reconcile all call `decide`, so the answer a person gets and the
flags the scheduler switches cannot disagree.

- may promote = no window covers the councillor at t, or a promote exemption is active;
- may post = the council agreed they may post, and (no window covers them at t, or a
  post exemption is active).
A window covers a councillor when t is in [start, end) and the window is council-wide
or for the councillor's ward.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Action(StrEnum):
    PROMOTE = "promote"
    POST = "post"


FLAG_OF = {Action.POST: "may_post", Action.PROMOTE: "may_promote"}


@dataclass(frozen=True)
class Span:
    """A council's window for one election, as the decision needs it."""

    election_id: str
    start: datetime
    end: datetime
    ward: str | None = None
    start_basis: str = ""
    end_basis: str = ""
    actual_notice: bool = False
    rule: str = ""
    notes: str = ""

    def covers(self, t: datetime, ward: str | None) -> bool:
        return self.start <= t < self.end and (self.ward is None or self.ward == ward_slug(ward))


@dataclass(frozen=True)
class Grant:
    """An exemption: `action` allowed for one councillor in [start, end) despite a window."""

    id: int
    action: str
    start: datetime
    end: datetime
    reason: str
    granted_by: str

    def active(self, t: datetime, action: Action) -> bool:
        return self.action == action.value and self.start <= t < self.end


@dataclass(frozen=True)
class Decision:
    allowed: bool
    windows: tuple[Span, ...]  # the windows in force (empty when none)
    exemption: Grant | None
    agreed: bool = True  # for post: whether the council agreed this councillor may post

    @property
    def cause(self) -> str:
        if self.exemption and self.windows:
            return (
                f"exemption #{self.exemption.id}: {self.exemption.reason} "
                f"(granted by {self.exemption.granted_by})"
            )
        if not self.agreed:
            return "the council has not agreed that this councillor may post on its accounts"
        if self.windows:
            return "pre-election window: " + ", ".join(w.election_id for w in self.windows)
        return "no pre-election window in force"


def ward_slug(ward: str | None) -> str | None:
    if ward is None:
        return None
    out = "".join(ch.lower() if ch.isalnum() else "-" for ch in ward)
    return "-".join(part for part in out.split("-") if part) or None


def decide(
    action: Action,
    t: datetime,
    *,
    ward: str | None,
    agreed_may_post: bool,
    spans: Sequence[Span],
    grants: Sequence[Grant] = (),
) -> Decision:
    in_force = tuple(s for s in spans if s.covers(t, ward))
    grant = next((g for g in grants if g.active(t, action)), None) if in_force else None
    free = not in_force or grant is not None
    if action is Action.POST:
        return Decision(agreed_may_post and free, in_force, grant, agreed_may_post)
    return Decision(free, in_force, grant)
