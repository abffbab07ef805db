"""Every list of allowed values, once: the CLI's choices, the services' validation and
their error messages are built from these. Standard library only, so that the CLI can
name its choices without importing the timetable or SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Nation(StrEnum):
    ENG = "ENG"
    WLS = "WLS"
    SCT = "SCT"
    NIR = "NIR"
    UK = "UK"


# The nations a council lies in (UK is an election's area, not a council's nation).
COUNCIL_NATIONS: tuple[str, ...] = tuple(n.value for n in Nation if n is not Nation.UK)


class StartPolicy(StrEnum):
    """Where a council's window starts before the notice date is recorded.

    Every policy starts at the notice date once it is recorded (actual or planned); they
    differ in what they do before that.
    """

    RUN_UP = "run-up"  # from the run-up before the last day (the default of a new store)
    STATUTORY = "notice-or-statutory"  # the rule's default start (RULES.md "default start")
    LATEST_NOTICE = "notice-or-last-day"
    EARLIEST_NOTICE = "notice-or-earliest-day"
    DISSOLUTION = "notice-or-dissolution"

    @classmethod
    def _missing_(cls, value: object) -> StartPolicy | None:
        """The names stores and CSV files used before the run-up policy existed."""
        return LEGACY_START_POLICIES.get(str(value))


LEGACY_START_POLICIES = {
    "statutory": StartPolicy.STATUTORY,
    "latest-notice": StartPolicy.LATEST_NOTICE,
    "earliest-notice": StartPolicy.EARLIEST_NOTICE,
    "dissolution": StartPolicy.DISSOLUTION,
}
START_POLICIES: tuple[str, ...] = tuple(p.value for p in StartPolicy)


class EndPolicy(StrEnum):
    CLOSE_OF_POLL = "close-of-poll"  # 22:00 Europe/London on polling day
    END_OF_DAY = "end-of-day"  # 24:00 on polling day
    DECLARATION = "declaration"  # the declaration time the clerk entered


END_POLICIES: tuple[str, ...] = tuple(p.value for p in EndPolicy)


class ElectionStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"  # countermanded, or the clerk ended the period
    MOVED = "moved"  # postponed or re-run on another day
    WITHDRAWN = "withdrawn"  # gone from its calendar, or entered in error: no window


ELECTION_STATUSES: tuple[str, ...] = tuple(s.value for s in ElectionStatus)
# Statuses of a poll that is not going ahead.
INACTIVE_STATUSES: tuple[str, ...] = (ElectionStatus.CANCELLED, ElectionStatus.WITHDRAWN)

# The Democracy Club election types purdah has rules for (purdah.rules).
ELECTION_TYPES: tuple[str, ...] = (
    "local",
    "parl",
    "sp",
    "senedd",
    "nia",
    "gla",
    "mayor",
    "pcc",
    "ref",
)

COUNCIL_KINDS: tuple[str, ...] = (
    "parish",
    "town",
    "community",
    "city",
    "district",
    "borough",
    "county",
    "unitary",
    "metropolitan",
    "london-borough",
    "combined-authority",
    "city-of-london",
    "island",
)
# The kind of a council removed with --force (its councillors' history kept): no
# election covers it. Not a kind the clerk can give.
REMOVED_KIND = "removed"

COUNCIL_SCOPES: tuple[str, ...] = ("council", "ward")
ROLES: tuple[str, ...] = ("member", "chair", "civic-mayor")


def not_one_of(what: str, value: object, allowed: Iterable[str]) -> str:
    """The message for a value outside its list: `start policy 'x' is not one of: ...`."""
    return f"{what} {value!r} is not one of: {', '.join(allowed)}"
