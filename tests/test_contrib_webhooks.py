"""contrib/webhooks: the verifying receiver (more in tests/outbox/test_webhooks.py) and
the Microsoft Graph connector sketch's plan of calls."""

from __future__ import annotations

import base64
import importlib.util
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from purdah.outbox.webhooks import sign

CONTRIB = Path(__file__).parents[1] / "contrib" / "webhooks"
SECRET = "whsec_" + base64.b64encode(b"contrib secret of thirty-two b.!").decode()


def load(name: str):
    sys.path.insert(0, str(CONTRIB))
    try:
        spec = importlib.util.spec_from_file_location(f"contrib_{name}", CONTRIB / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(CONTRIB))


def flag_event(flag: str, new: bool, ref: str = "selston/jane-doe") -> dict:
    return {
        "type": "flag.changed",
        "data": {"flag": flag, "old": not new, "new": new, "councillor": {"ref": ref}},
    }


def test_the_graph_sketch_removes_and_adds_group_members_for_may_post():
    graph = load("graph_connector")
    users = {"selston/jane-doe": "user-1"}
    (remove,) = graph.plan(flag_event("may_post", False), users, "group-9")
    assert (remove.method, remove.url) == (
        "DELETE",
        "https://graph.microsoft.com/v1.0/groups/group-9/members/user-1/$ref",
    )
    (add,) = graph.plan(flag_event("may_post", True), users, "group-9")
    assert add.method == "POST" and add.url.endswith("/groups/group-9/members/$ref")
    assert add.body == {"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/user-1"}
    assert graph.plan(flag_event("may_promote", False), users, "group-9") == []
    assert graph.plan(flag_event("may_post", False, "selston/nobody"), users, "group-9") == []
    assert graph.plan({"type": "period.added", "data": {}}, users, "group-9") == []


def test_a_handler_that_fails_answers_500_and_the_retry_is_handled_once():
    receiver_module = load("receiver")
    calls = []

    def handle(event):
        calls.append(event)
        if len(calls) == 1:
            raise RuntimeError("the downstream system is down")

    receiver = receiver_module.Receiver(SECRET, handle)
    body = json.dumps({"type": "webhook.test", "data": {}})
    headers = sign(SECRET, "evt_1_9", datetime.now(UTC), body)
    assert receiver.receive(headers, body.encode()) == (500, "handler failed: RuntimeError")
    assert receiver.receive(headers, body.encode())[0] == 204
    assert receiver.receive(headers, body.encode()) == (204, "duplicate evt_1_9: already handled")
    assert len(calls) == 2
