"""The decision rule, and the shared-work Decider that must agree with it exactly."""

from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from purdah.clock import LONDON
from purdah.decide import Action, Decider, Grant, Span, decide

T0 = datetime(2026, 3, 30, tzinfo=LONDON)
HOUR = timedelta(hours=1)

spans_st = st.lists(
    st.builds(
        lambda e, a, b, w: Span(f"local.x{e}.2026-05-07", T0 + a * HOUR, T0 + (a + b) * HOUR, w),
        st.integers(0, 3),
        st.integers(0, 20),
        st.integers(1, 20),
        st.sampled_from([None, None, "north", "south"]),
    ),
    max_size=4,
)
grants_st = st.lists(
    st.builds(
        lambda i, act, a, b: Grant(i, act, T0 + a * HOUR, T0 + (a + b) * HOUR, "r", "clerk"),
        st.integers(1, 9),
        st.sampled_from(["post", "promote"]),
        st.integers(0, 20),
        st.integers(1, 20),
    ),
    max_size=2,
)


@given(
    spans=st.dictionaries(st.integers(1, 3), spans_st, max_size=3),
    grants=st.dictionaries(st.integers(1, 6), grants_st, max_size=3),
    people=st.lists(
        st.tuples(
            st.integers(1, 3),
            st.integers(1, 6),
            st.sampled_from([None, "North", "south", "east"]),
            st.booleans(),
        ),
        max_size=8,
    ),
    hour=st.integers(-2, 45),
)
def test_decider_agrees_with_decide(spans, grants, people, hour):
    t = T0 + hour * HOUR
    decider = Decider(t, spans, grants)
    for council_id, councillor_id, ward, agreed in people:
        for action in Action:
            expected = decide(
                action,
                t,
                ward=ward,
                agreed_may_post=agreed,
                spans=spans.get(council_id, ()),
                grants=grants.get(councillor_id, ()),
            )
            got = decider.decide(action, council_id, councillor_id, ward, agreed)
            assert got == expected


def test_window_is_half_open():
    span = Span("local.x.2026-05-07", T0, T0 + HOUR)
    assert not decide(Action.PROMOTE, T0, ward=None, agreed_may_post=True, spans=[span]).allowed
    assert decide(Action.PROMOTE, T0 + HOUR, ward=None, agreed_may_post=True, spans=[span]).allowed
    assert decide(
        Action.PROMOTE,
        T0 - timedelta(microseconds=1),
        ward=None,
        agreed_may_post=True,
        spans=[span],
    ).allowed


def test_ward_window_matches_ward_names_loosely():
    span = Span("local.x.north-ward.by.2026-05-07", T0, T0 + HOUR, ward="north-ward")
    assert not decide(
        Action.PROMOTE, T0, ward="North Ward", agreed_may_post=True, spans=[span]
    ).allowed
    assert decide(Action.PROMOTE, T0, ward="South Ward", agreed_may_post=True, spans=[span]).allowed


def test_run_up_warnings_only_between_the_run_up_and_the_start_and_for_the_ward():
    from datetime import date

    from purdah.decide import run_up_warnings

    span = Span(
        "local.x.north.by.2026-05-07",
        T0 + 10 * HOUR,
        T0 + 20 * HOUR,
        ward="north",
        rule="local-eng",
        run_up_start=T0,
        last_day=date(2026, 3, 31),
        run_up_note="the notice of election for local.x.north.by.2026-05-07 may be published "
        "any day (last day Tue 31 Mar 2026)",
    )
    assert run_up_warnings(T0 - HOUR, "North", [span]) == ()
    [warning] = run_up_warnings(T0, "North", [span])
    assert (warning.kind, warning.starts, warning.last_day) == (
        "notice-due",
        T0 + 10 * HOUR,
        date(2026, 3, 31),
    )
    assert run_up_warnings(T0, "South", [span]) == ()  # another ward's by-election
    assert run_up_warnings(T0 + 10 * HOUR, "North", [span]) == ()  # restricted from here
    planned = Span(
        "local.x.2026-05-07",
        T0 + 10 * HOUR,
        T0 + 20 * HOUR,
        rule="local-eng",
        run_up_start=T0,
        notice=date(2026, 3, 31),
    )
    assert [w.kind for w in run_up_warnings(T0, None, [planned])] == ["notice-planned"]
    # Not in force in the run-up: the decision is "yes".
    assert decide(Action.PROMOTE, T0, ward=None, agreed_may_post=True, spans=[planned]).allowed
