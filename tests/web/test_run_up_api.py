"""GET /api/check in the run-up: "yes, but" with a warnings entry (the JSON of check)."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient

from purdah.clock import LONDON
from purdah.services.elections import add_election
from purdah.services.tokens import Scope, add_token
from purdah.web.app import create_app
from tests.services.helpers import SETUP, nottinghamshire, set_clock


def test_api_check_warns_in_the_run_up(sqlite_store):
    nottinghamshire(sqlite_store)  # notice-or-statutory: does not restrict in the run-up
    add_election(set_clock(sqlite_store, SETUP), "local.selston.2027-05-06", nation="ENG")
    now = datetime(2027, 3, 20, 12, tzinfo=LONDON)
    secret = add_token(sqlite_store, "comms", Scope.CHECK).secret
    client = TestClient(
        create_app(sqlite_store, clock=lambda: now),
        headers={"Authorization": f"Bearer {secret}"},
    )
    response = client.get(
        "/api/check", params={"councillor": "selston/jane-doe", "at": "2027-03-20T10:00"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["allowed"] is True
    assert body["warnings"] == [
        {
            "kind": "notice-due",
            "election_id": "local.selston.2027-05-06",
            "message": "the notice of election for local.selston.2027-05-06 may be published "
            "any day (last day Wed 31 Mar 2027)",
            "run_up_start": "2027-03-08T00:00:00+00:00",
            "window_start": "2027-03-31T00:00:00+01:00",
            "last_day": "2027-03-31",
            "notice": None,
        }
    ]
    before = client.get(
        "/api/check", params={"councillor": "selston/jane-doe", "at": "2027-03-07T10:00"}
    ).json()
    assert before["allowed"] is True and before["warnings"] == []
