#!/usr/bin/env python3
"""A SKETCH of a connector from purdah's webhooks to Microsoft 365 group membership:
a template to adapt, not a supported integration. Nothing here has been run against
Microsoft Graph; the endpoints are Graph v1.0's documented group-member calls.

The idea: the council's social-media accounts are reachable through a Microsoft 365
group (say "Councillors who may post"). When purdah switches a councillor's `may_post`
to false, remove them from the group; when it switches back, add them. purdah stays the
single source of truth; the group follows it.

    PURDAH_WEBHOOK_SECRET=whsec_...  GRAPH_TOKEN=...  GRAPH_GROUP_ID=...  \\
    python contrib/webhooks/graph_connector.py --map councillors.csv --port 8901 [--dry-run]

`councillors.csv` maps purdah refs to Entra ID (Azure AD) user object ids:
`ref,user_id` (`selston/jane-doe,4c1f...`). A councillor without a row is logged and
skipped (and the delivery still acknowledged: a retry would not help).

What a real connector must add: getting and refreshing the token (client credentials,
e.g. with MSAL; permission GroupMember.ReadWrite.All), Graph's throttling (429 with
Retry-After: answer purdah 500 so that purdah retries later), remembering handled
webhook-ids durably, and a periodic full comparison of the group with `purdah status
--json` to heal any drift.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from receiver import Receiver, make_server  # the verifying, de-duplicating example

GRAPH = "https://graph.microsoft.com/v1.0"
log = logging.getLogger("purdah-graph")


@dataclass(frozen=True)
class Call:
    method: str
    url: str
    body: dict[str, Any] | None = None


def plan(event: dict[str, Any], users: dict[str, str], group: str) -> list[Call]:
    """The Graph calls that bring the group in step with one purdah event (pure)."""
    data = event.get("data", {})
    if event.get("type") != "flag.changed" or data.get("flag") != "may_post":
        return []
    ref = (data.get("councillor") or {}).get("ref")
    user = users.get(ref or "")
    if user is None:
        log.warning("no user id for %s: skipped (add them to the map)", ref)
        return []
    if data.get("new"):
        return [
            Call(
                "POST",
                f"{GRAPH}/groups/{group}/members/$ref",
                {"@odata.id": f"{GRAPH}/directoryObjects/{user}"},
            )
        ]
    return [Call("DELETE", f"{GRAPH}/groups/{group}/members/{user}/$ref")]


def send(call: Call, token: str) -> None:
    request = urllib.request.Request(
        call.url,
        method=call.method,
        data=json.dumps(call.body).encode() if call.body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        log.info("%s %s: %s", call.method, call.url, response.status)


def load_users(path: Path) -> dict[str, str]:
    with path.open(newline="", encoding="utf-8") as f:
        return {row["ref"]: row["user_id"] for row in csv.DictReader(f)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--map", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8901)
    parser.add_argument("--dry-run", action="store_true", help="log the calls, send none")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    users = load_users(args.map)
    group = os.environ["GRAPH_GROUP_ID"]
    token = os.environ.get("GRAPH_TOKEN", "")

    def handle(event: dict[str, Any]) -> None:
        for call in plan(event, users, group):
            if args.dry_run:
                log.info("would %s %s %s", call.method, call.url, call.body or "")
            else:
                send(call, token)  # an exception here answers 500: purdah retries

    server = make_server(
        args.host, args.port, Receiver(os.environ["PURDAH_WEBHOOK_SECRET"], handle)
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
