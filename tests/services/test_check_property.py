"""`check` against a straightforward reference on random registers.

`check` reads only the windows not yet over, keeps what it read while the store is
unchanged (SQLite) and works each answer out once per interval between consecutive
boundaries. The reference reads everything afresh with SQLAlchemy at every instant,
decides with every window and exemption, and finds when the answer next changes by
trying every later boundary. Every field of the answer must agree, for instants on,
just before and just after each boundary, in an order that goes back in time too.
Windows are written straight into the store (overlapping, back to back, ward-scoped,
with run-ups), which the statutory timetable alone would rarely produce.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from purdah.clock import LONDON
from purdah.decide import Action, Grant, Span, decide, run_up_warnings
from purdah.models import (
    council_t,
    councillor_t,
    election_t,
    exemption_t,
    meta_t,
    window_t,
)
from purdah.services.check import Polled, _Lookup, check, sentence, stored_flags_apply
from purdah.store import LAST_RECONCILE_KEY

T0 = datetime(2026, 3, 30, tzinfo=LONDON)
HOUR = timedelta(hours=1)
TICK = timedelta(microseconds=1)
EXAMPLES = int(os.environ.get("PURDAH_PROPERTY_EXAMPLES", "40"))
WARDS = [None, "North Ward", "south"]

windows_st = st.lists(
    st.tuples(
        st.integers(0, 3),  # election
        st.integers(0, 30),  # start, hours after T0
        st.integers(1, 20),  # length
        st.sampled_from([None, None, "north-ward", "south"]),  # ward scope
        st.one_of(st.none(), st.integers(1, 10)),  # run-up hours before the start
        st.booleans(),  # a notice date recorded
    ),
    max_size=5,
)
grants_st = st.lists(
    st.tuples(
        st.integers(0, 2),  # councillor
        st.sampled_from(["post", "promote"]),
        st.integers(0, 30),
        st.integers(1, 20),
    ),
    max_size=3,
)
people_st = st.lists(
    st.tuples(st.sampled_from(WARDS), st.booleans(), st.booleans(), st.booleans()),
    min_size=1,
    max_size=3,
)


def _write(store, windows, grants, people, reconciled: int | None) -> None:
    with store.write() as (conn, now):
        for table in ("exemption", "window", "councillor", "election", "council", "meta"):
            conn.exec_driver_sql(f'DELETE FROM "{table}"')
        conn.execute(
            sa.insert(council_t),
            [
                dict(slug=slug, name=name, nation="ENG", kind=kind, created_at=now)
                for slug, name, kind in (
                    ("selston", "Selston Parish Council", "parish"),
                    ("notts", "Nottinghamshire County Council", "county"),
                )
            ],
        )
        ids = dict(conn.execute(sa.select(council_t.c.slug, council_t.c.id)).all())
        for n, (ward, agreed, may_post, may_promote) in enumerate(people):
            conn.execute(
                sa.insert(councillor_t).values(
                    council_id=ids["selston"],
                    slug=f"p{n}",
                    name=f"Person {n}",
                    ward=ward,
                    agreed_may_post=agreed,
                    may_post=may_post,
                    may_promote=may_promote,
                    created_at=now,
                )
            )
        for e in range(4):
            conn.execute(
                sa.insert(election_t).values(
                    election_id=f"{['local', 'pcc', 'parl', 'local'][e]}.x{e}.2026-05-07",
                    type="local",
                    area=["selston", "notts", "uk", "other"][e],
                    poll_date=date(2026, 4, 2 + e),
                    notice=date(2026, 3, 20) if e % 2 else None,
                    title=["", "", "", "Special poll election"][e],
                    status="scheduled",
                    source="test",
                    created_at=now,
                    updated_at=now,
                )
            )
        elections = dict(conn.execute(sa.select(election_t.c.election_id, election_t.c.id)).all())
        pks = [elections[k] for k in sorted(elections, key=lambda k: int(k.split(".")[1][1:]))]
        seen = set()
        for e, a, b, ward, run_up, notice in windows:
            if e in seen:  # one window per council and election
                continue
            seen.add(e)
            start = T0 + a * HOUR
            run_up_start = start - run_up * HOUR if run_up else None
            conn.execute(
                sa.insert(window_t).values(
                    council_id=ids["selston"],
                    election_pk=pks[e],
                    ward=ward,
                    start=start,
                    end=start + b * HOUR,
                    start_basis="notice of election" if notice else "statutory latest notice",
                    end_basis="close of poll (22:00)",
                    actual_notice=notice,
                    rule="parl" if e == 2 else "local",
                    notes="a note" if e == 1 else "",
                    run_up_start=run_up_start,
                    last_day=date(2026, 3, 27),
                    run_up_note=f"run-up before election {e}" if run_up else "",
                    watch_from=run_up_start or start,
                )
            )
        people_ids = [r[0] for r in conn.execute(sa.select(councillor_t.c.id).order_by("id"))]
        for who, action, a, b in grants:
            if who < len(people_ids):
                conn.execute(
                    sa.insert(exemption_t).values(
                        councillor_id=people_ids[who],
                        action=action,
                        start=T0 + a * HOUR,
                        end=T0 + (a + b) * HOUR,
                        reason="civic duty",
                        granted_by="Clerk",
                        created_at=now,
                    )
                )
        if reconciled is not None:
            value = (T0 + reconciled * HOUR).astimezone(UTC).isoformat()
            conn.execute(sa.insert(meta_t).values(key=LAST_RECONCILE_KEY, value=value))


def _reference(store, ref: str, action: Action, at: datetime, now: datetime):
    """Everything read afresh, every window and exemption considered."""
    council, slug = ref.split("/")
    W, E, P, X = window_t.c, election_t.c, councillor_t.c, exemption_t.c
    with store.read() as conn:
        person = conn.execute(
            sa.select(P.id, P.name, P.ward, P.agreed_may_post, P.may_post, P.may_promote)
            .join(council_t, council_t.c.id == P.council_id)
            .where(council_t.c.slug == council, P.slug == slug)
        ).one()
        area = council_t.alias("area")
        rows = conn.execute(
            sa.select(window_t, E.election_id, E.notice, E.poll_date, E.title, area.c.name)
            .join(election_t, E.id == W.election_pk)
            .outerjoin(area, area.c.slug == E.area)
            .join(council_t, council_t.c.id == W.council_id)
            .where(council_t.c.slug == council)
        ).mappings()
        spans, polls = [], {}
        for r in rows:
            spans.append(
                Span(
                    r["election_id"],
                    r["start"],
                    r["end"],
                    r["ward"],
                    r["start_basis"],
                    r["end_basis"],
                    r["actual_notice"],
                    r["rule"],
                    r["notes"],
                    r["run_up_start"],
                    r["last_day"],
                    r["run_up_note"],
                    r["notice"],
                )
            )
            polls[r["election_id"]] = Polled(
                r["election_id"], r["poll_date"], r["name"], r["title"] or ""
            )
        grants = [
            Grant(g.id, g.action, g.start, g.end, g.reason, g.granted_by)
            for g in conn.execute(sa.select(exemption_t).where(X.councillor_id == person.id))
        ]
        last = conn.execute(
            sa.select(meta_t.c.value).where(meta_t.c.key == LAST_RECONCILE_KEY)
        ).scalar()
    spans.sort(key=lambda s: (s.start, s.election_id))
    grants.sort(key=lambda g: g.id)
    ward, agreed = person.ward, bool(person.agreed_may_post)

    def verdict(t: datetime) -> bool:
        return decide(
            action, t, ward=ward, agreed_may_post=agreed, spans=spans, grants=grants
        ).allowed

    decision = decide(action, at, ward=ward, agreed_may_post=agreed, spans=spans, grants=grants)
    later = sorted(
        {t for s in spans for t in (s.start, s.end)} | {t for g in grants for t in (g.start, g.end)}
    )
    change = next((t for t in later if t > at and verdict(t) != decision.allowed), None)
    warnings = run_up_warnings(at, ward, [s for s in spans if s.start > at])
    live = [s for s in spans if s.end > at]
    text = sentence(action, decision, change, live, _Lookup(polls), warnings, ward)
    last_run = datetime.fromisoformat(last) if last else None
    return (
        ref,
        person.name,
        action,
        at,
        decision,
        bool(person.may_post if action is Action.POST else person.may_promote),
        stored_flags_apply(last_run, at, now),
        warnings,
        agreed,
        change,
        text,
    )


def _fields(answer) -> tuple:
    return (
        answer.councillor,
        answer.name,
        answer.action,
        answer.at,
        answer.decision,
        answer.stored_flag,
        answer.comparable,
        answer.warnings,
        answer.agreed_may_post,
        answer.next_change,
        answer.sentence,
    )


def test_check_agrees_with_the_reference_on_random_registers(store):
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(
        windows=windows_st,
        grants=grants_st,
        people=people_st,
        reconciled=st.one_of(st.none(), st.integers(0, 40)),
        order=st.randoms(use_true_random=False),
    )
    def run(windows, grants, people, reconciled, order) -> None:
        _write(store, windows, grants, people, reconciled)
        hours = sorted({0, 50} | {a for _, a, *_ in windows} | {a + b for _, a, b, *_ in windows})
        hours += sorted({a for *_, a, _ in grants} | {a + b for *_, a, b in grants})
        instants = [T0 + h * HOUR + d for h in set(hours) for d in (-TICK, 0 * TICK, TICK)]
        instants += [T0 - HOUR * 12, T0 + HOUR * 7.5]
        order.shuffle(instants)  # earlier after later: the kept answers must not leak
        for at in instants:
            for n in range(len(people)):
                for action in Action:
                    ref = f"selston/p{n}"
                    now = at + HOUR * order.choice((-1, 0, 1))
                    got = _fields(check(store, ref, action, at.astimezone(LONDON), now))
                    assert got == _reference(store, ref, action, at.astimezone(LONDON), now)

    run()


def test_a_write_between_two_checks_is_seen_by_the_second(sqlite_store):
    """The kept reads of a SQLite store are dropped when anything is committed."""
    _write(sqlite_store, [(0, 0, 10, None, None, False)], [], [(None, True, True, True)], None)
    at = T0 + HOUR
    assert not check(sqlite_store, "selston/p0", Action.PROMOTE, at).allowed
    assert not check(sqlite_store, "selston/p0", Action.PROMOTE, at).allowed  # kept
    with sqlite_store.write() as (conn, _now):
        conn.execute(sa.update(window_t).values(start=T0 + 2 * HOUR))
    answer = check(sqlite_store, "selston/p0", Action.PROMOTE, at)
    assert answer.allowed and answer.next_change == T0 + 2 * HOUR
    with sqlite_store.write() as (conn, _now):
        conn.execute(sa.update(councillor_t).values(name="Renamed"))
    assert check(sqlite_store, "selston/p0", Action.PROMOTE, at).name == "Renamed"
