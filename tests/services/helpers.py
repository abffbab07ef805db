"""A small realistic register: Selston parish in Ashfield district in Nottinghamshire."""

from __future__ import annotations

from datetime import datetime

from purdah.clock import LONDON
from purdah.services.register import add_council, add_councillor

SETUP = datetime(2026, 1, 5, 9, 0, tzinfo=LONDON)


def set_clock(store, when: datetime):
    """Every write of `store` from now on happens at `when` (the store reads its clock once
    it holds the write lock; tests choose what that clock says). Returns the store."""
    store.clock = lambda: when
    return store


def use_clock(store, clock):
    """Every write of `store` reads `clock` (a callable) from now on. Returns the store."""
    store.clock = clock
    return store


def nottinghamshire(
    store, *, parish_scope: str = "council", start_policy: str = "notice-or-statutory"
) -> None:
    """The windows most tests pin are the statutory ones (the policy before the run-up
    default); tests/services/test_run_up.py covers the run-up policy."""
    set_clock(store, SETUP)
    add_council(
        store,
        "nottinghamshire",
        name="Nottinghamshire County Council",
        nation="ENG",
        kind="county",
        start_policy=start_policy,
    )
    add_council(
        store,
        "ashfield",
        name="Ashfield District Council",
        nation="ENG",
        kind="district",
        within=("nottinghamshire",),
        start_policy=start_policy,
    )
    add_council(
        store,
        "selston",
        name="Selston Parish Council",
        nation="ENG",
        kind="parish",
        within=("ashfield", "nottinghamshire"),
        scope=parish_scope,
        start_policy=start_policy,
    )
    add_council(
        store,
        "gedling",
        name="Gedling Borough Council",
        nation="ENG",
        kind="district",
        within=("nottinghamshire",),
        start_policy=start_policy,
    )
    add_councillor(
        store, "selston/jane-doe", name="Jane Doe", ward="Underwood", agreed_may_post=True
    )
    add_councillor(store, "selston/sam-roe", name="Sam Roe", ward="Selston")
    add_councillor(store, "selston/mayor", name="Pat Lee", role="civic-mayor", agreed_may_post=True)
    add_councillor(store, "gedling/ann-other", name="Ann Other", agreed_may_post=True)
