"""The HTTP service: feeds with ETag/Last-Modified/304, the API (same JSON as the CLI),
health, OpenAPI, and the page's content."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from purdah.cli import main
from purdah.clock import LONDON
from purdah.services.elections import add_election
from purdah.services.reconcile import reconcile
from purdah.web.app import create_app
from tests.services.helpers import SETUP, nottinghamshire

NOW = datetime(2027, 4, 1, 12, tzinfo=LONDON)


@pytest.fixture
def client(sqlite_store):
    nottinghamshire(sqlite_store)
    add_election(sqlite_store, "local.selston.2027-05-06", nation="ENG", now=SETUP)
    add_election(sqlite_store, "pcc.nottinghamshire.2028-05-04", now=SETUP)
    reconcile(sqlite_store, NOW)
    return TestClient(create_app(sqlite_store, clock=lambda: NOW))


def test_council_feed_headers(client):
    response = client.get("/calendars/selston.ics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["etag"].startswith('"') and response.headers["etag"].endswith('"')
    assert response.headers["cache-control"] == "public, max-age=3600"
    assert response.headers["last-modified"].endswith(" GMT")
    assert response.content.startswith(b"BEGIN:VCALENDAR\r\n")


def test_304_on_if_none_match_and_if_modified_since(client):
    first = client.get("/calendars/selston.ics")
    again = client.get("/calendars/selston.ics", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    since = client.get(
        "/calendars/selston.ics", headers={"If-Modified-Since": first.headers["last-modified"]}
    )
    assert since.status_code == 304
    older = format_datetime(datetime(2020, 1, 1, tzinfo=UTC), usegmt=True)
    assert (
        client.get("/calendars/selston.ics", headers={"If-Modified-Since": older}).status_code
        == 200
    )
    stale_tag = client.get("/calendars/selston.ics", headers={"If-None-Match": '"other"'})
    assert stale_tag.status_code == 200


def test_councillor_feed(client):
    response = client.get("/calendars/selston/jane-doe.ics")
    assert response.status_code == 200 and b"Jane Doe" in response.content


def test_unknown_calendar_is_404_with_a_json_error(client):
    response = client.get("/calendars/nowhere.ics")
    assert response.status_code == 404
    assert response.json() == {
        "error": "no council 'nowhere' in the register: see 'purdah council list'"
    }


def test_api_check_is_the_cli_json(client, sqlite_store, monkeypatch):
    api = client.get(
        "/api/check", params={"councillor": "selston/jane-doe", "at": "2027-04-20T10:00"}
    ).json()
    monkeypatch.setenv("PURDAH_DB", sqlite_store.sqlite_path)
    cli = json.loads(
        CliRunner()
        .invoke(main, ["check", "selston/jane-doe", "--at", "2027-04-20T10:00", "--json"])
        .output
    )
    for key in ("councillor", "action", "at", "allowed", "reasons", "exemption"):
        assert api[key] == cli[key], key
    assert api["allowed"] is False


@pytest.mark.parametrize(
    "params, status",
    [
        ({"councillor": "selston/nobody"}, 404),
        ({"councillor": "nowhere/jane-doe"}, 404),
        ({"councillor": "jane-doe"}, 422),
        ({"councillor": "selston/jane-doe", "at": "soon"}, 422),
        ({"councillor": "selston/jane-doe", "action": "shout"}, 422),
        ({}, 422),
    ],
)
def test_api_check_errors(client, params, status):
    response = client.get("/api/check", params=params)
    assert response.status_code == status
    body = response.json()
    assert "error" in body or "detail" in body


def test_api_status(client):
    rows = client.get("/api/status", params={"council": "selston"}).json()
    assert {r["councillor"] for r in rows} == {
        "selston/jane-doe",
        "selston/sam-roe",
        "selston/mayor",
    }
    assert all(r["may_promote"] is False and r["mismatch"] is False for r in rows)


def test_healthz(client):
    response = client.get("/healthz")
    body = response.json()
    assert body["store"] == "reachable" and body["reconcile_fresh"]
    assert body["scheduler"] == {"in_process": False}
    # No `purdah run` has ever kept this store: that is the one fault, and it is a 503.
    assert [f["name"] for f in body["faults"]] == ["heartbeat_missing"]
    assert response.status_code == 503 and body["ok"] is False


def test_healthz_reports_an_unreachable_store(tmp_path):
    from purdah.store import migrate, open_store

    path = tmp_path / "gone.db"
    store = open_store(str(path), create=True)
    migrate(store)
    store.close()
    path.unlink()
    response = TestClient(create_app(store, clock=lambda: NOW)).get("/healthz")
    assert response.status_code == 503 and response.json()["ok"] is False


def test_openapi_describes_a_read_only_api(client):
    spec = client.get("/openapi.json").json()
    assert {
        "/api/check",
        "/api/status",
        "/healthz",
        "/calendars/{council}.ics",
        "/calendars/{council}/{councillor}.ics",
    } <= set(spec["paths"])
    methods = {method for path in spec["paths"].values() for method in path}
    assert methods == {"get"}


def test_page_shows_who_is_restricted_the_timeline_links_and_feeds(client):
    page = client.get("/").text
    assert "<script" not in page
    assert "3 councillors may not be promoted by the council" in page
    assert "local.selston.2027-05-06" in page
    assert "href='webcal://testserver/calendars/selston.ics'" in page
    assert "href='http://testserver/calendars/selston/jane-doe.ics'" in page
    assert "No feeds registered" in page
    one = client.get("/", params={"council": "gedling"}).text
    assert "Gedling Borough Council" in one and "Selston Parish Council" not in one
