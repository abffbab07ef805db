"""The JSON an outbox event becomes: small, versioned (`version`), the same for every
channel. The JSON Schema is webhook-payload.schema.json beside this module (tested
against real payloads). Standard Webhooks' envelope: `type`, `timestamp`, `data`.

    {"type": "flag.changed", "version": 1, "id": "evt_<store>_<sequence>",
     "sequence": 42, "timestamp": "2026-03-29T23:00:00.123456Z",
     "data": {"council": {"id": 3, "slug": "selston"},
              "councillor": {"id": 7, "slug": "jane-doe", "ref": "selston/jane-doe"},
              "flag": "may_promote", "old": true, "new": false,
              "effective_at": "2026-03-29T23:00:00Z", "reason": "pre-election window: ...",
              "election_ids": ["local.ashfield.2026-05-07"], "audit_id": 12}}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

from purdah.outbox.events import FLAG_CHANGED, event_key, iso

VERSION = 1
SCHEMA_FILE = "webhook-payload.schema.json"


@dataclass(frozen=True)
class EventRow:
    """An outbox event as read back for sending."""

    id: int
    kind: str
    council_id: int | None
    councillor_id: int | None
    audit_id: int | None
    flag: str | None
    old: bool | None
    new: bool | None
    at: datetime
    recorded_at: datetime
    reason: str
    election_ids: str
    council_slug: str | None
    councillor_slug: str | None
    data: str


def payload(event: EventRow, instance: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "council": None
        if event.council_id is None
        else {"id": event.council_id, "slug": event.council_slug},
        "councillor": None
        if event.councillor_id is None
        else {
            "id": event.councillor_id,
            "slug": event.councillor_slug,
            "ref": f"{event.council_slug}/{event.councillor_slug}",
        },
        "effective_at": iso(event.at),
        "reason": event.reason,
        "election_ids": event.election_ids.split(),
    }
    if event.kind == FLAG_CHANGED:
        data.update(flag=event.flag, old=event.old, new=event.new, audit_id=event.audit_id)
    else:
        details = json.loads(event.data or "{}")
        data.update({k: v for k, v in details.items() if k not in data})
    return {
        "type": event.kind,
        "version": VERSION,
        "id": event_key(instance, event.id),
        "sequence": event.id,
        "timestamp": iso(event.recorded_at),
        "data": data,
    }


def body(event: EventRow, instance: str) -> str:
    """The exact text sent (and signed): compact JSON, keys sorted."""
    return json.dumps(payload(event, instance), sort_keys=True, separators=(",", ":"))


def schema() -> dict[str, Any]:
    text = resources.files("purdah.outbox").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded
