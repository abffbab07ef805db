"""Issue 16: public what is public, private what is not. Tokens and their scopes, the
proxy's authentication, --public-only, security headers, limits, the rate limit, and the
access log (which names a token and never shows it)."""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from purdah.services.tokens import PREFIX, Scope, add_token, list_tokens, revoke_token
from purdah.web.settings import WebSettings
from tests.web.conftest import bearer

PRIVATE = [
    "/",
    "/?council=selston",
    "/api/check?councillor=selston/jane-doe",
    "/api/status",
    "/healthz",
]
PUBLIC = ["/calendars/selston.ics", "/calendars/selston/jane-doe.ics", "/livez", "/openapi.json"]
CHALLENGE = 'Bearer realm="purdah", Basic realm="purdah", charset="UTF-8"'


@pytest.mark.parametrize("path", PRIVATE)
def test_each_private_route_answers_401_without_a_token(anon, path):
    response = anon.get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == CHALLENGE
    assert response.json() == {
        "error": "this route needs a token: send 'Authorization: Bearer purdah_...' "
        "(see 'purdah token add')"
    }


@pytest.mark.parametrize("path", PRIVATE)
def test_each_private_route_answers_with_a_read_token(client, path):
    response = client.get(path)
    if path == "/healthz":  # no `purdah run` keeps this store: a fault, reported by name
        assert response.status_code == 503
        assert "heartbeat_missing" in {f["name"] for f in response.json()["faults"]}
    else:
        assert response.status_code == 200


def test_metrics_when_served_is_private(anon):
    assert anon.get("/metrics").status_code == 401  # every route not listed public is private


@pytest.mark.parametrize("path", PUBLIC)
def test_public_routes_need_no_token(anon, path):
    assert anon.get(path).status_code == 200


def test_feeds_stay_200_and_304_without_a_token(anon):
    first = anon.get("/calendars/selston.ics")
    assert first.status_code == 200 and first.content.startswith(b"BEGIN:VCALENDAR")
    again = anon.get("/calendars/selston.ics", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert "no-store" not in again.headers.get("cache-control", "")


def test_a_revoked_token_is_refused_on_the_next_request(register, tokens, make_client):
    client = make_client(token=tokens["read"])
    assert client.get("/api/status").status_code == 200
    revoke_token(register, "clerk")
    response = client.get("/api/status")
    assert response.status_code == 401
    assert response.headers.get_list("www-authenticate") == [
        'Bearer realm="purdah", error="invalid_token"',
        'Basic realm="purdah", charset="UTF-8"',
    ]
    assert response.json() == {
        "error": "the token is not valid (unknown or revoked): ask for a new one "
        "('purdah token add')"
    }


def test_an_unknown_or_malformed_token_is_401(anon):
    for value in (
        "Bearer purdah_" + "A" * 43,
        "Bearer not-a-token",
        "Token abc",
        "Bearer",
        "Basic !!!",
    ):
        response = anon.get("/api/status", headers={"Authorization": value})
        assert response.status_code == 401, value
        assert "www-authenticate" in response.headers
        assert set(response.json()) == {"error"}


@pytest.mark.parametrize("path", [p for p in PRIVATE if not p.startswith("/api/check")])
def test_a_check_token_is_403_outside_api_check(make_client, tokens, path):
    client = make_client(token=tokens["check"])
    response = client.get(path)
    assert response.status_code == 403
    assert response.headers["www-authenticate"] == (
        'Bearer realm="purdah", error="insufficient_scope", scope="read"'
    )
    assert response.json()["error"].startswith("the token 'rota-tool' has scope check")


def test_a_check_token_may_call_api_check(make_client, tokens):
    client = make_client(token=tokens["check"])
    response = client.get("/api/check", params={"councillor": "selston/jane-doe"})
    assert response.status_code == 200 and response.json()["allowed"] is False


def test_a_browser_signs_in_with_the_token_as_the_basic_password(anon, tokens):
    basic = base64.b64encode(f"anyone:{tokens['read']}".encode()).decode()
    response = anon.get("/", headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200 and "Pre-election periods" in response.text


def test_tokens_are_random_prefixed_and_stored_only_as_a_hash(register):
    new = add_token(register, "cms", Scope.CHECK)
    other = add_token(register, "cms-2", Scope.CHECK)
    assert new.secret.startswith(PREFIX) and new.secret != other.secret
    assert len(base64.urlsafe_b64decode(new.secret[len(PREFIX) :] + "=")) * 8 >= 128
    with register.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT * FROM api_token").all()
    assert not any(new.secret in str(value) for row in stored for value in row)


def test_last_used_is_written_at_most_once_a_minute(register, tokens, make_client):
    import time

    client = make_client(token=tokens["read"])
    for _ in range(5):
        client.get("/api/status")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        used = {t.name: t.last_used_at for t in list_tokens(register)}["clerk"]
        if used is not None:
            break
        time.sleep(0.05)
    assert used is not None and datetime.now(UTC) - used < timedelta(seconds=30)
    for _ in range(5):
        client.get("/api/status")
    time.sleep(0.3)
    assert {t.name: t.last_used_at for t in list_tokens(register)}["clerk"] == used
    assert {t.name: t.last_used_at for t in list_tokens(register)}["rota-tool"] is None


def test_proxy_authentication_is_trusted_only_when_opted_in_and_from_the_proxy(register):
    from purdah.web.app import create_app

    user = {"X-Forwarded-User": "clerk@council.gov.uk"}
    off = TestClient(create_app(register), client=("127.0.0.1", 40000))
    assert off.get("/api/status", headers=user).status_code == 401
    on = create_app(register, settings=WebSettings(trust_proxy_auth=True))
    assert TestClient(on, client=("127.0.0.1", 40000)).get("/api/status", headers=user).is_success
    elsewhere = TestClient(on, client=("192.0.2.7", 40000))
    assert elsewhere.get("/api/status", headers=user).status_code == 401
    assert TestClient(on, client=("127.0.0.1", 40000)).get("/api/status").status_code == 401


def test_public_only_serves_just_the_public_routes(make_client, tokens):
    client = make_client(WebSettings(public_only=True), token=tokens["read"])
    for path in PUBLIC:
        assert client.get(path).status_code == 200, path
    for path in PRIVATE:
        response = client.get(path)
        assert response.status_code == 404, path
        assert set(response.json()) == {"error"}
    assert set(client.get("/openapi.json").json()["paths"]) == {
        "/livez",
        "/calendars/{council}.ics",
        "/calendars/{council}/{councillor}.ics",
    }


@pytest.mark.parametrize("path", ["/calendars/selston.ics", "/api/status", "/nowhere", "/livez"])
def test_security_headers_on_every_response(client, anon, path):
    for who in (client, anon):
        headers = who.get(path).headers
        csp = headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "script-src" not in csp  # no script at all: default-src 'none' covers it
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["x-frame-options"] == "DENY"


def test_private_answers_are_not_cached(client):
    assert client.get("/api/status").headers["cache-control"] == "no-store"
    assert client.get("/calendars/selston.ics").headers["cache-control"].startswith("public")


def test_long_urls_many_headers_and_bodies_get_a_clear_4xx(client):
    long = client.get("/api/check", params={"councillor": "selston/" + "x" * 5000})
    assert long.status_code == 414
    assert long.json() == {"error": "the URL is 5031 bytes long; at most 4096 are accepted"}
    many = client.get("/api/status", headers={f"x-h{i}": "v" for i in range(70)})
    assert many.status_code == 431 and set(many.json()) == {"error"}
    big = client.get("/api/status", headers={"x-big": "v" * 9000})
    assert big.status_code == 431
    body = client.request("GET", "/api/status", content=b"x" * 20000)
    assert body.status_code == 413 and body.headers["connection"] == "close"
    assert body.json()["error"].startswith("request bodies over 16384 bytes are refused")
    small = client.request("GET", "/api/status", content=b"{}")
    assert small.status_code == 200


def test_the_rate_limit_is_per_client_and_can_be_turned_off(make_client, register, tokens):
    limited = make_client(WebSettings(rate_limit="3/minute"), token=tokens["read"])
    statuses = [limited.get("/api/status").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    refused = limited.get("/api/status")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.json()["error"].startswith("rate limit: more than 3/minute from token clerk")
    # Another token is another client; the feeds are never limited.
    other = TestClient(limited.app, headers=bearer(tokens["check"]))
    assert other.get("/api/check", params={"councillor": "selston/jane-doe"}).status_code == 200
    assert all(limited.get("/calendars/selston.ics").status_code == 200 for _ in range(5))
    # Failed sign-ins count against the client's address.
    anon = TestClient(limited.app, headers=bearer("purdah_wrong"))
    assert [anon.get("/api/status").status_code for _ in range(5)] == [401, 401, 401, 429, 429]
    free = make_client(WebSettings(rate_limit=None), token=tokens["read"])
    assert {free.get("/livez").status_code for _ in range(3)} == {200}
    assert {free.get("/api/status").status_code for _ in range(10)} == {200}


def test_the_rate_limit_setting_is_checked(monkeypatch):
    from purdah.errors import InputError
    from purdah.web.settings import parse_rate_limit

    assert parse_rate_limit("20/second") == "20/second"
    assert parse_rate_limit("off") is None
    with pytest.raises(InputError, match=r"'lots' is not a rate: write e\.g\. 600/minute"):
        parse_rate_limit("lots")


def test_the_access_log_names_the_token_and_never_shows_a_token(make_client, tokens, caplog, anon):
    client = make_client(token=tokens["read"])
    leaked = tokens["check"]
    with caplog.at_level(logging.DEBUG):
        client.get("/api/status")
        client.get("/api/check", params={"councillor": f"selston/{leaked}"})
        client.get(f"/calendars/{leaked}.ics")
        anon.get("/api/status", headers=bearer(leaked + "x"))
        anon.get("/api/status", headers={"Authorization": f"Basic {leaked}"})
    lines = [r.getMessage() for r in caplog.records if r.name == "purdah.access"]
    assert len(lines) == 5
    first = json.loads(lines[0])
    assert first["token"] == "clerk" and first["status"] == 200 and first["path"] == "/api/status"
    assert {"at", "client", "method", "path", "query", "status", "ms", "token"} <= set(first)
    for record in caplog.records:
        if record.name.startswith("httpx"):  # the test client's own log, not the service's
            continue
        text = record.getMessage()
        assert tokens["read"] not in text and leaked not in text, text
    assert json.loads(lines[3])["token"] is None


def test_no_token_in_any_error_answer(client, tokens, anon):
    leaked = tokens["check"]
    answers = [
        client.get("/api/check", params={"councillor": f"selston/{leaked}"}),
        client.get("/api/check", params={"councillor": f"{leaked}/x"}),
        client.get(f"/calendars/{leaked}.ics"),
        client.get(f"/calendars/x/{leaked}.ics"),
        client.get(f"/{leaked}"),
        client.get("/api/check", params={"councillor": leaked}),
        anon.get("/api/status", headers=bearer(leaked + "x")),
    ]
    for answer in answers:
        assert 400 <= answer.status_code < 500
        assert leaked not in answer.text, answer.text
        assert set(answer.json()) == {"error"}


def test_every_route_the_app_serves_is_public_by_list_or_needs_a_token(anon):
    """Routes added later (by any module) are private unless named public in the guard."""
    from fastapi.routing import APIRoute

    from purdah.web.guard import is_public

    routes = [r for r in anon.app.routes if isinstance(r, APIRoute)]
    assert len(routes) >= 7
    for route in routes:
        path = route.path.replace("{council}", "selston").replace("{councillor}", "jane-doe")
        status = anon.get(path).status_code
        if is_public(path):
            assert status == 200, path
        else:
            assert status == 401, path


def test_api_restricted_is_the_json_of_today(register, client, anon):
    """Issue 13: /api/restricted is `purdah today --json`, and private like the rest."""
    from purdah.clock import parse_when
    from purdah.serialize import today_json
    from purdah.services.today import today

    at = "2027-04-20T10:00"
    response = client.get("/api/restricted", params={"at": at})
    assert response.status_code == 200
    body = response.json()
    assert body == today_json(today(register, parse_when(at))) | {"next": None}
    assert body["count"] >= 1 and body["councils"]
    assert anon.get("/api/restricted").status_code == 401


def test_the_healthz_503_is_documented_as_the_diagnosis(anon):
    """A 503 from /healthz carries the faults, not the one error shape: the OpenAPI says so."""
    spec = anon.get("/openapi.json").json()
    schema = spec["paths"]["/healthz"]["get"]["responses"]["503"]["content"]["application/json"]
    assert schema["schema"] == {"type": "object", "required": ["ok", "faults"]}
    assert "Error" in str(spec["paths"]["/api/status"]["get"]["responses"]["503"])
