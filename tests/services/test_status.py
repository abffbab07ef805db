"""`status` decides once per situation and streams the register: its answers must be, row
for row, what `check` answers for each councillor alone, on random registers (wards,
ward-scoped by-elections, agreements, exemptions, run-ups), and its pages must join up
into the whole list. Runs on SQLite and PostgreSQL (the `store` fixture)."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

import pytest

from purdah.clock import LONDON
from purdah.decide import Action
from purdah.errors import InputError, NotFound
from purdah.paging import Cursor, decode
from purdah.serialize import status_json, status_lines
from purdah.services.check import check
from purdah.services.elections import add_election
from purdah.services.history import exempt
from purdah.services.reconcile import reconcile
from purdah.services.register import add_council, add_councillor
from purdah.services.status import KIND, status, status_page
from tests.services.helpers import SETUP, set_clock

WARDS = ["Underwood", "Selston", "North & East", "St. Mary's", None]


def _register(store, seed: int) -> tuple[list[str], list[datetime]]:
    """A random register: a county, two districts (one ward-scoped), parishes within, a
    few councillors each, polls (some ward by-elections) and exemptions."""
    rng = random.Random(seed)
    set_clock(store, SETUP)
    add_council(store, "shire", name="Shire County Council", nation="ENG", kind="county")
    councils = ["shire"]
    for d in range(2):
        slug = f"dist-{d}"
        add_council(
            store,
            slug,
            name=f"District {d}",
            nation="ENG",
            kind="district",
            within=("shire",),
            scope="ward" if d == 0 else "council",
            start_policy=rng.choice(["notice-or-statutory", "run-up"]),
        )
        councils.append(slug)
        for p in range(rng.randint(1, 3)):
            parish = f"par-{d}-{p}"
            add_council(
                store,
                parish,
                name=f"Parish {d}-{p}",
                nation="ENG",
                kind="parish",
                within=(slug, "shire"),
                scope=rng.choice(["ward", "council"]),
            )
            councils.append(parish)
    refs = []
    for council in councils:
        for n in range(rng.randint(0, 5)):
            ref = f"{council}/p{n}"
            add_councillor(
                store,
                ref,
                name=f"Person {n} “{council}”",
                ward=rng.choice(WARDS),
                agreed_may_post=rng.random() < 0.5,
            )
            refs.append(ref)
    add_election(store, "local.shire.2029-05-03", nation="ENG")
    add_election(store, "pcc.shire.2028-05-04", nation="ENG")
    for council in rng.sample(councils[1:], k=min(3, len(councils) - 1)):
        add_election(store, f"local.{council}.2028-05-04", nation="ENG")
        ward = rng.choice(["underwood", "north-east", "st-mary-s"])
        add_election(store, f"local.{council}.{ward}.by.2028-06-15", nation="ENG")
    instants = [
        datetime(2028, 3, 1, 12, tzinfo=LONDON),  # run-ups
        datetime(2028, 3, 27, tzinfo=LONDON),  # the PCC windows start
        datetime(2028, 4, 20, 9, tzinfo=LONDON),
        datetime(2028, 5, 4, 22, tzinfo=LONDON),  # polls close
        datetime(2028, 6, 1, 10, tzinfo=LONDON),  # by-elections only
        datetime(2029, 4, 1, 10, tzinfo=LONDON),
        datetime(2030, 1, 1, tzinfo=LONDON),  # nothing
    ]
    for ref in rng.sample(refs, k=min(4, len(refs))):
        start = rng.choice(instants[1:4]) - timedelta(days=1)
        exempt(
            set_clock(store, start),
            ref,
            action=rng.choice(list(Action)),
            start=start,
            end=start + timedelta(days=rng.randint(2, 40)),
            reason="civic notice",
            granted_by="Clerk",
        )
    reconcile(set_clock(store, instants[2]))
    return refs, instants


def _same(row, store, when, now) -> None:
    for action, mine in ((Action.POST, row.may_post), (Action.PROMOTE, row.may_promote)):
        alone = check(store, row.councillor, action, when, now)
        got, want = mine, alone.decision
        assert got.allowed == want.allowed, (row.councillor, action, when)
        assert [s.election_id for s in got.windows] == [s.election_id for s in want.windows]
        assert got.windows == want.windows
        assert (got.exemption and got.exemption.id) == (want.exemption and want.exemption.id)
        assert got.cause == want.cause
        assert [w.message for w in row.warnings] == [w.message for w in alone.warnings]
        assert row.mismatch == alone.mismatch, (row.councillor, action, when)


@pytest.mark.parametrize("seed", range(4))
def test_status_answers_what_check_answers_for_each_councillor(store, seed):
    refs, instants = _register(store, seed)
    now = instants[2]
    for when in instants:
        rows = status(store, when, now=now)
        assert [r.councillor for r in rows] == sorted(refs, key=lambda r: tuple(r.split("/")))
        for row in rows:
            _same(row, store, when, now)
        lines = list(status_lines(rows))
        assert [json.loads(line) for line in lines] == [status_json(r) for r in rows]


@pytest.mark.parametrize("seed", range(2))
def test_pages_join_up_into_the_whole_list_at_one_instant(store, seed):
    _refs, instants = _register(store, seed)
    when = instants[2]
    whole = status(store, when)
    rng = random.Random(seed)
    got, after, pages = [], None, 0
    while True:
        page = status_page(store, when, limit=rng.randint(1, 4), after=after)
        rows = list(page)
        assert page.count == len(rows) and rows
        got += rows
        pages += 1
        if page.next is None:
            break
        cursor = decode(page.next, KIND, 2)
        assert cursor.at == when.isoformat(timespec="seconds") and cursor.council is None
        after = (cursor.after[0], cursor.after[1])
    assert got == whole
    assert pages >= 2 or len(whole) <= 4
    last = status_page(store, when, limit=len(whole))
    assert len(list(last)) == len(whole) and last.next is None


def test_a_council_and_its_pages(store):
    refs, instants = _register(store, 1)
    council = refs[0].split("/")[0]
    mine = [r for r in status(store, instants[1]) if r.councillor.startswith(council + "/")]
    page = status_page(store, instants[1], council, limit=1)
    assert list(page) == mine[:1]
    assert (page.next is None) == (len(mine) == 1)
    with pytest.raises(NotFound, match="no council 'nowhere'"):
        status_page(store, instants[1], "nowhere")


def test_a_cursor_for_another_list_or_garbage_is_refused():
    other = Cursor("history", (3,)).encode()
    with pytest.raises(InputError, match="continues 'history', not 'status'"):
        decode(other, KIND, 2)
    with pytest.raises(InputError, match="is not one purdah gave"):
        decode("not-a-cursor!", KIND, 2)
    with pytest.raises(InputError, match="is not one purdah gave"):
        decode(Cursor(KIND, ("a",)).encode(), KIND, 2)
