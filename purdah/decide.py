"""May this councillor post / be promoted at instant t? Pure, and the one place it is decided.

check, status and reconcile all call `decide`, so the answer a person gets and the
flags the scheduler switches cannot disagree.

- may promote = no window covers the councillor at t, or a promote exemption is active;
- may post = the council agreed they may post, and (no window covers them at t, or a
  post exemption is active).
A window covers a councillor when t is in [start, end) and the window is council-wide
or for the councillor's ward.

Before a window starts there may be its run-up: days in which the notice of election may
be published any day but the council's start policy does not restrict yet. An answer
then is still "yes", with a `RunUpWarning` that says so (`run_up_warnings`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from functools import cached_property


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
    run_up_start: datetime | None = None  # set when the run-up begins before `start`
    last_day: date | None = None  # the statutory last day for the notice of election
    run_up_note: str = ""
    notice: date | None = None  # the notice date recorded (actual or planned)

    def covers(self, t: datetime, ward: str | None) -> bool:
        return self.start <= t < self.end and self._for(ward)

    def in_run_up(self, t: datetime, ward: str | None) -> bool:
        """t falls in the run-up before the window, which the council does not restrict."""
        return (
            self.run_up_start is not None and self.run_up_start <= t < self.start
        ) and self._for(ward)

    def _for(self, ward: str | None) -> bool:
        return self.ward is None or self.ward == ward_slug(ward)


@dataclass(frozen=True)
class RunUpWarning:
    """A "yes, but": t is in the run-up before `election_id`'s window."""

    election_id: str
    # "notice-due" (no notice date recorded), "notice-planned" (a date is recorded), or
    # "general-election" (before dissolution, announced or not)
    kind: str
    message: str
    run_up_start: datetime
    starts: datetime  # when the window starts under the council's policy
    last_day: date | None
    notice: date | None


def run_up_warnings(
    t: datetime, ward: str | None, spans: Sequence[Span]
) -> tuple[RunUpWarning, ...]:
    """The warnings for a councillor (in `ward`) at t: one per window whose run-up t is in."""
    found = []
    for s in spans:
        if s.in_run_up(t, ward):
            assert s.run_up_start is not None
            if s.rule == "parl":
                kind = "general-election"
            else:
                kind = "notice-planned" if s.notice is not None else "notice-due"
            found.append(
                RunUpWarning(
                    s.election_id,
                    kind,
                    s.run_up_note,
                    s.run_up_start,
                    s.start,
                    s.last_day,
                    s.notice,
                )
            )
    return tuple(found)


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

    @cached_property
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
    return _decide_in_force(action, t, in_force, agreed_may_post, grants)


def _decide_in_force(
    action: Action,
    t: datetime,
    in_force: tuple[Span, ...],
    agreed_may_post: bool,
    grants: Sequence[Grant],
) -> Decision:
    grant = next((g for g in grants if g.active(t, action)), None) if in_force else None
    free = not in_force or grant is not None
    if action is Action.POST:
        return Decision(agreed_may_post and free, in_force, grant, agreed_may_post)
    return Decision(free, in_force, grant)


class Decider:
    """`decide` for many councillors at one instant, sharing the work.

    Gives exactly what `decide` gives for each councillor. The windows in force are
    worked out once per council (and ward, where a window is ward-scoped) and each
    distinct set of them is numbered once; a decision depends only on that set, the
    action and (for posting) the council's agreement, unless the councillor holds an
    exemption, so decisions are shared between every councillor in the same situation.
    """

    def __init__(
        self,
        t: datetime,
        spans: Mapping[int, Sequence[Span]],
        grants: Mapping[int, Sequence[Grant]],
    ) -> None:
        self.t = t
        self.grants = grants
        self._spans = spans
        self._council: dict[int, tuple[tuple[Span, ...], bool, int]] = {}
        self._ward_slots: dict[tuple[int, str | None], int] = {}
        self._slot_of: dict[tuple[Span, ...], int] = {}
        self._in_force_of: list[tuple[Span, ...]] = []
        self._shared: dict[tuple[int, Action, bool], Decision] = {}
        self._by_slot: dict[int, tuple[Decision, Decision, Decision]] = {}

    def _slot(self, in_force: tuple[Span, ...]) -> int:
        slot = self._slot_of.get(in_force)
        if slot is None:
            slot = self._slot_of[in_force] = len(self._in_force_of)
            self._in_force_of.append(in_force)
        return slot

    def _slot_for(self, council_id: int, ward: str | None) -> int:
        cached = self._council.get(council_id)
        if cached is None:
            live = tuple(s for s in self._spans.get(council_id, ()) if s.start <= self.t < s.end)
            ward_scoped = any(s.ward is not None for s in live)
            cached = (live, ward_scoped, -1 if ward_scoped else self._slot(live))
            self._council[council_id] = cached
        live, ward_scoped, slot = cached
        if not ward_scoped:
            return slot
        key = (council_id, ward)
        found = self._ward_slots.get(key)
        if found is None:
            slug = ward_slug(ward)
            found = self._slot(tuple(s for s in live if s.ward is None or s.ward == slug))
            self._ward_slots[key] = found
        return found

    def decide(
        self,
        action: Action,
        council_id: int,
        councillor_id: int,
        ward: str | None,
        agreed_may_post: bool,
    ) -> Decision:
        return self._decide(
            action, self._slot_for(council_id, ward), councillor_id, agreed_may_post
        )

    def _decide(
        self, action: Action, slot: int, councillor_id: int, agreed_may_post: bool
    ) -> Decision:
        grants = self.grants.get(councillor_id)
        if grants:
            in_force = self._in_force_of[slot]
            return _decide_in_force(action, self.t, in_force, agreed_may_post, grants)
        key = (slot, action, agreed_may_post or action is Action.PROMOTE)
        shared = self._shared.get(key)
        if shared is None:
            in_force = self._in_force_of[slot]
            shared = _decide_in_force(action, self.t, in_force, agreed_may_post, ())
            self._shared[key] = shared
        return shared

    def council(self, council_id: int, nobody: int) -> tuple[Decision, Decision, Decision]:
        """(may post if the council agreed, may post if not, may promote) for a council's
        councillors without an exemption or a ward (`nobody`: an id holding none): what
        `pair` gives each of them, the windows in force worked out once."""
        slot = self._slot_for(council_id, None)
        found = self._by_slot.get(slot)
        if found is None:
            found = self._by_slot[slot] = (
                self._decide(Action.POST, slot, nobody, True),
                self._decide(Action.POST, slot, nobody, False),
                self._decide(Action.PROMOTE, slot, nobody, True),
            )
        return found

    def pair(
        self, council_id: int, councillor_id: int, ward: str | None, agreed_may_post: bool
    ) -> tuple[Decision, Decision]:
        """(may post, may promote) for one councillor."""
        slot = self._slot_for(council_id, ward)
        return (
            self._decide(Action.POST, slot, councillor_id, agreed_may_post),
            self._decide(Action.PROMOTE, slot, councillor_id, agreed_may_post),
        )
