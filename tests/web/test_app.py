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
from purdah.web.app import create_app
from purdah.web.settings import WebSettings
from tests.web.conftest import NOW


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
    "params, status, error",
    [
        (
            {"councillor": "selston/nobody"},
            404,
            "no councillor 'nobody' in council 'selston': see "
            "'purdah councillor list --council selston'",
        ),
        (
            {"councillor": "nowhere/jane-doe"},
            404,
            "no council 'nowhere' in the register: see 'purdah council list'",
        ),
        ({"councillor": "selston/jane-doe", "action": "shout"}, 422, None),
        ({}, 422, "query parameter 'councillor': Field required"),
    ],
)
def test_api_check_errors_have_the_one_shape(client, params, status, error):
    """Issue 8 point 9: validation errors came back as {"detail": [...]}."""
    response = client.get("/api/check", params=params)
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error"}, body
    if error:
        assert body["error"] == error
    else:
        assert body["error"] == "query parameter 'action': Input should be 'promote' or 'post'"


def test_an_input_error_and_an_unknown_route_have_the_one_shape(client):
    bad = client.get("/api/check", params={"councillor": "jane-doe"})
    assert bad.status_code == 422
    assert bad.json() == {
        "error": "query parameter 'councillor' must be written COUNCIL/SLUG, e.g. selston/jane-doe"
    }
    soon = client.get("/api/check", params={"councillor": "selston/jane-doe", "at": "soon"})
    assert soon.status_code == 422
    assert soon.json()["error"].startswith(
        "query parameter 'at' is not an ISO 8601 date or datetime: write e.g. 2026-05-07"
    )
    impossible = client.get(
        "/api/check", params={"councillor": "selston/jane-doe", "at": "2027-02-30"}
    )
    assert impossible.status_code == 422
    assert impossible.json()["error"].startswith("at '2027-02-30' is not an ISO 8601 date")
    assert client.get("/nowhere").json() == {
        "error": "nothing at /nowhere: see /openapi.json for what is served"
    }
    post = client.post("/api/check")
    assert post.status_code == 405
    assert post.json() == {
        "error": "POST is not allowed on /api/check: this service is read-only (GET and HEAD)"
    }


def test_validation_errors_do_not_echo_the_input(client):
    response = client.get("/api/check", params={"councillor": "a/b", "action": "<b>x</b>"})
    assert response.status_code == 422 and "<b>" not in response.text


def test_api_status(client):
    page = client.get("/api/status", params={"council": "selston"}).json()
    assert page["next"] is None and page["at"].startswith("20")
    rows = page["councillors"]
    assert {r["councillor"] for r in rows} == {
        "selston/jane-doe",
        "selston/sam-roe",
        "selston/mayor",
    }
    assert all(r["may_promote"] is False and r["mismatch"] is False for r in rows)


def test_head_is_answered_wherever_get_is(client, anon):
    """Issue 8 point 9: HEAD on the feeds, / and /healthz answered 405."""
    for path, who in [
        ("/calendars/selston.ics", anon),
        ("/calendars/selston/jane-doe.ics", anon),
        ("/livez", anon),
        ("/", client),
        ("/healthz", client),
        ("/api/check?councillor=selston/jane-doe", client),
        ("/api/status", client),
    ]:
        get, head = who.get(path), who.head(path)
        # /healthz is 503 here: no `purdah run` keeps this store (heartbeat_missing).
        assert head.status_code == get.status_code == (503 if path == "/healthz" else 200), path
        assert head.content == b"", path
        assert head.headers["content-type"] == get.headers["content-type"], path
        assert head.headers["content-length"] == get.headers["content-length"], path
    feed = anon.get("/calendars/selston.ics")
    again = anon.head("/calendars/selston.ics", headers={"If-None-Match": feed.headers["etag"]})
    assert again.status_code == 304 and again.headers["etag"] == feed.headers["etag"]
    assert anon.head("/").status_code == 401


def test_a_crafted_host_header_is_escaped_on_the_page(client):
    """Issue 8 point 9: a crafted Host header ended up unescaped in an href (Starlette
    takes a Host of host characters, which include ' ( ) = and &)."""
    evil = "x'onmouseover='alert(1)"
    page = client.get("/", headers={"Host": evil}).text
    assert "onmouseover='" not in page
    assert 'href="webcal://x&#39;onmouseover=&#39;alert(1)/calendars/selston.ics"' in page
    amp = client.get("/", headers={"Host": "a&amp=b"}).text
    assert 'href="http://a&amp;amp=b/calendars/selston.ics"' in amp


def test_names_from_the_store_are_escaped_on_the_page(client, register):
    from purdah.services.register import add_councillor
    from tests.services.helpers import SETUP, set_clock

    add_councillor(set_clock(register, SETUP), "selston/evil", name="<i>Eve</i> & 'Co'")
    page = client.get("/").text
    assert "<i>Eve" not in page and "&lt;i&gt;Eve&lt;/i&gt; &amp; &#39;Co&#39;" in page


def test_council_agreed_may_post_is_the_councillors_own_whatever_the_action(
    client, register, monkeypatch
):
    """Issue 8 point 9: it was true for never-agreed councillors when action=promote."""
    monkeypatch.setenv("PURDAH_DB", register.sqlite_path)
    for action in ("promote", "post"):
        for ref, agreed in (("selston/sam-roe", False), ("selston/jane-doe", True)):
            api = client.get("/api/check", params={"councillor": ref, "action": action}).json()
            result = CliRunner().invoke(main, ["check", ref, "--action", action, "--json"])
            cli = json.loads(result.output)
            assert api["council_agreed_may_post"] is agreed, (ref, action)
            assert cli["council_agreed_may_post"] is agreed, (ref, action)


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
    app = create_app(store, clock=lambda: NOW, settings=WebSettings(trust_proxy_auth=True))
    client = TestClient(app, client=("127.0.0.1", 5000))
    response = client.get("/healthz", headers={"X-Forwarded-User": "clerk"})
    assert response.status_code == 503 and response.json()["ok"] is False
    # A token cannot be checked without the store: 503 in the one error shape, not a 500.
    token = client.get("/healthz", headers={"Authorization": "Bearer purdah_abc"})
    assert token.status_code == 503
    assert token.json() == {"error": "cannot check the token: the store failed (OperationalError)"}


def test_openapi_describes_a_read_only_api_and_the_one_error_shape(anon):
    spec = anon.get("/openapi.json").json()
    assert {
        "/api/check",
        "/api/status",
        "/healthz",
        "/livez",
        "/calendars/{council}.ics",
        "/calendars/{council}/{councillor}.ics",
    } <= set(spec["paths"])
    methods = {method for path in spec["paths"].values() for method in path}
    assert methods == {"get"}  # HEAD answers as GET; the description says so
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert schemas["Error"]["required"] == ["error"]
    error_ref = {"$ref": "#/components/schemas/Error"}
    for path, operations in spec["paths"].items():
        for operation in operations.values():
            for code, response in operation["responses"].items():
                if path == "/" and code in ("404", "422"):  # the page answers with a page
                    assert set(response["content"]) == {"text/html"}, (path, code)
                elif code.startswith("4"):
                    assert response["content"]["application/json"]["schema"] == error_ref, (
                        path,
                        code,
                    )
    assert spec["paths"]["/api/check"]["get"]["security"] == [{"bearer": []}, {"basic": []}]
    assert "security" not in spec["paths"]["/calendars/{council}.ics"]["get"]
    assert {"401", "403", "429"} <= set(spec["paths"]["/"]["get"]["responses"])


def test_page_shows_who_is_restricted_the_timeline_links_and_feeds(client):
    page = client.get("/").text
    assert "<script" not in page
    assert "3 councillors in 1 council may not be promoted by the council now" in page
    assert "local.selston.2027-05-06" in page
    assert 'href="webcal://testserver/calendars/selston.ics"' in page
    assert 'href="http://testserver/calendars/selston/jane-doe.ics"' in page
    assert "No feeds registered" in page
    one = client.get("/", params={"council": "gedling"}).text
    assert "Gedling Borough Council" in one and "Selston Parish Council" not in one


def test_page_as_at_another_time_says_so_and_when_the_next_restriction_starts(client):
    """?at= is honoured and shown; a quiet day says when the next restriction starts."""
    quiet = client.get("/", params={"at": "2027-02-01"})
    assert quiet.status_code == 200
    page = quiet.text
    assert "Shown <strong>as at Mon 1 Feb 2027 00:00 GMT</strong>" in page
    assert "it is now Thu 1 Apr 2027 12:00 BST" in page  # the app's clock
    assert "No councillor is restricted at that time" in page
    # The statutory start (these councils' policy): the last day for the notice.
    assert (
        "The next restriction starts <strong>Wed 31 Mar 2027 00:00 BST</strong>: the "
        "Selston Parish Council election (<code>local.selston.2027-05-06</code>), for "
        "Selston Parish Council." in page
    )
    now = client.get("/").text
    assert "as at" not in now and "The next restriction starts" not in now
    # The timeline: months with their year from the month asked about, a line for it.
    assert '<span class="month" style="left:0.00%">Feb 2027</span>' in page
    assert ">Feb 2028</span>" in page and ">Mar 2028</span>" not in page
    assert '<span class="now-label" style="left:0.00%">as at</span>' in page


def test_page_errors_are_pages_not_json(client):
    unknown = client.get("/", params={"council": "nowhere"})
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("text/html")
    assert '<p class="no">no council &#39;nowhere&#39; in the register: see &#39;purdah ' in (
        unknown.text
    )
    bad = client.get("/", params={"at": "<b>soon</b>"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html")
    assert "at &#39;&lt;b&gt;soon&lt;/b&gt;&#39; is not an ISO 8601 date" in bad.text
    assert "<script" not in unknown.text + bad.text


def test_page_says_yes_but_in_the_run_up_and_lists_notices_to_record(register, tokens):
    """Issue 15: in the run-up the page answers "yes, but" and lists the notices the clerk
    has still to record, with the command that records each."""
    from fastapi.testclient import TestClient

    from purdah.clock import LONDON
    from purdah.web.app import create_app

    in_run_up = datetime(2027, 3, 20, 12, tzinfo=LONDON)  # before the last day, 31 Mar 2027
    app = create_app(register, clock=lambda: in_run_up)
    page = TestClient(app, headers={"Authorization": f"Bearer {tokens['read']}"}).get("/").text
    assert (
        "Yes, but: the notice of election for local.selston.2027-05-06 may be published any "
        "day (last day Wed 31 Mar 2027)." in page
    )
    assert "<h2>Notices to record</h2>" in page
    assert "local.selston.2027-05-06 <strong>(run-up begun)</strong>" in page
    assert "purdah election set-notice local.selston.2027-05-06" in page


def test_api_status_pages_through_everyone_once_at_the_first_pages_instant(client):
    whole = client.get("/api/status", params={"at": "2027-04-20T12:00"}).json()
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 1} | ({"cursor": cursor} if cursor else {"at": "2027-04-20T12:00"})
        page = client.get("/api/status", params=params).json()
        assert page["at"] == whole["at"]  # the cursor carries the instant
        seen += page["councillors"]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break
    assert pages == len(whole["councillors"]) > 1
    assert seen == whole["councillors"]


def test_a_cursor_refuses_another_at_or_council_and_another_list(client):
    first = client.get("/api/status", params={"limit": 1, "at": "2027-04-20T12:00"}).json()
    cursor = first["next"]
    other_at = client.get("/api/status", params={"cursor": cursor, "at": "2027-04-21"})
    assert other_at.status_code == 422
    assert "drop at or start again without the cursor" in other_at.json()["error"]
    same_at = client.get("/api/status", params={"cursor": cursor, "at": "2027-04-20T12:00"})
    assert same_at.status_code == 200
    other_council = client.get("/api/status", params={"cursor": cursor, "council": "selston"})
    assert other_council.status_code == 422
    assert "asked without council" in other_council.json()["error"]
    elsewhere = client.get("/api/restricted", params={"cursor": cursor})
    assert elsewhere.status_code == 422
    assert "that cursor continues 'status', not 'today'" in elsewhere.json()["error"]
