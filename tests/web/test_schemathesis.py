"""Issue 16: schemathesis against the service's own OpenAPI document, with a read token,
with a check token and without any, bounded in examples (hypothesis settings below).

Its checks (no 500, status codes, content types, headers and bodies as documented,
invalid input refused, auth not ignored) and ours: no private data on a public route and
no token in any answer; without a token every private route answers 401.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import datetime

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from purdah.clock import LONDON
from purdah.decide import Action
from purdah.scheduler import Runner
from purdah.services.elections import add_election
from purdah.services.history import exempt
from purdah.services.tokens import Scope, add_token
from purdah.store import Store, migrate, open_store
from purdah.web.app import create_app
from purdah.web.guard import is_public
from purdah.web.settings import WebSettings
from tests.services.helpers import SETUP, nottinghamshire, set_clock, use_clock

NOW = datetime(2027, 4, 20, 12, tzinfo=LONDON)
SECRET_REASON = "PRIVATE-REASON-civic-duty-7f3a"
SECRET_GRANTOR = "PRIVATE-GRANTOR-clerk-9c2e"
EXAMPLES = 30  # per operation and per test
CASES: Counter[str] = Counter()
STARTED = time.monotonic()


# The app is built at collection, over a Store that opens nothing until used (the
# OpenAPI document reads no data), so that schemathesis sends every case and every
# follow-up probe to it; the fixture then points the Store at a real file.
STORE = Store("sqlite://")
APP = create_app(STORE, clock=lambda: NOW, settings=WebSettings(rate_limit=None))


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    path = tmp_path_factory.mktemp("st") / "st.db"
    store = open_store(str(path), create=True)
    migrate(store)
    nottinghamshire(store)
    add_election(set_clock(store, SETUP), "local.selston.2027-05-06", nation="ENG")
    exempt(
        set_clock(store, SETUP),
        "selston/mayor",
        action=Action.PROMOTE,
        start=datetime(2027, 4, 1, tzinfo=LONDON),
        end=datetime(2027, 4, 30, tzinfo=LONDON),
        reason=SECRET_REASON,
        granted_by=SECRET_GRANTOR,
    )
    runner = Runner(
        use_clock(store, lambda: NOW), clock=store.clock
    )  # kept by a scheduler: /healthz is 200
    runner.tick("start-up")
    runner.heartbeat()
    secrets = {
        "read": add_token(store, "st-read", Scope.READ).secret,
        "check": add_token(store, "st-check", Scope.CHECK).secret,
    }
    store.close()
    STORE.url = store.url
    yield APP, secrets
    STORE.close()


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    took = time.monotonic() - STARTED
    print(f"\nschemathesis: {sum(CASES.values())} cases in {took:.1f} s: {dict(CASES)}")


# (schemathesis.pytest.from_fixture does not work with pytest 9: hence the module-level app.)
# A string that fits the documented pattern can still be no date (2027-02-30): 422 then.
CONFIG = schemathesis.config.SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "304", "401", "403", "404", "422", "429"]
            }
        }
    }
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, config=CONFIG)
BOUNDED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


def _our_checks(case, response, secrets) -> None:
    text = response.text
    for secret in secrets.values():
        assert secret not in text, "a token in an answer"
    if is_public(case.operation.path):
        assert SECRET_REASON not in text and SECRET_GRANTOR not in text, "private data on public"
    kind = response.headers.get("content-type") or [""]  # schemathesis: a list per header
    html = (kind[0] if isinstance(kind, list) else kind).startswith("text/html")
    if case.operation.path == "/" and html and response.status_code in (404, 422):
        # The clerk's page answers its own errors as a page with the one message.
        assert '<p class="no">' in text and "<script" not in text, text
    elif 400 <= response.status_code < 500:
        assert set(json.loads(text)) == {"error"}, text


@schema.parametrize()
@BOUNDED
def test_with_a_read_token(case, served):
    _app, secrets = served
    CASES["read token"] += 1
    response = case.call_and_validate(headers={"Authorization": f"Bearer {secrets['read']}"})
    _our_checks(case, response, secrets)


@schema.parametrize()
@BOUNDED
def test_with_a_check_token(case, served):
    _app, secrets = served
    CASES["check token"] += 1
    response = case.call_and_validate(headers={"Authorization": f"Bearer {secrets['check']}"})
    _our_checks(case, response, secrets)
    if not is_public(case.operation.path) and case.operation.path != "/api/check":
        assert response.status_code == 403


@schema.parametrize()
@BOUNDED
def test_without_a_token(case, served):
    _app, secrets = served
    CASES["no token"] += 1
    response = case.call_and_validate()
    _our_checks(case, response, secrets)
    if not is_public(case.operation.path):
        assert response.status_code == 401
