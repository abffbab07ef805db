"""GET /healthz: is the store reachable, when did the flags last get reconciled, are the
feeds fresh."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from purdah.serialize import iso_instant
from purdah.store import Store

# A reconcile older than this means no scheduler is running (it ticks every 15 minutes
# and just after midnight).
STALE_RECONCILE = timedelta(hours=2)


def health(store: Store, now: datetime, scheduler: Any = None) -> dict[str, Any]:
    from purdah.services.check import last_reconcile
    from purdah.services.feeds import list_feeds

    try:
        last = last_reconcile(store)
        feeds = list_feeds(store)
    except Exception as exc:  # the point of a health check: report, never raise
        return {"ok": False, "store": f"unreachable: {type(exc).__name__}: {exc}"}
    feed_rows = []
    for feed in feeds:
        stale = feed.last_ok_at is None or now - feed.last_ok_at > 2 * feed.every
        feed_rows.append(
            {
                "name": feed.name,
                "last_ok_at": iso_instant(feed.last_ok_at) if feed.last_ok_at else None,
                "failures": feed.failures,
                "last_error": feed.last_error,
                "fresh": not stale,
            }
        )
    body: dict[str, Any] = {
        "ok": True,
        "store": "reachable",
        "last_reconcile_at": iso_instant(last) if last else None,
        "reconcile_fresh": last is not None and now - last <= STALE_RECONCILE,
        "feeds": feed_rows,
    }
    if scheduler is not None:
        body["scheduler"] = {
            "in_process": True,
            "last_tick": iso_instant(scheduler.last_tick) if scheduler.last_tick else None,
            "next_boundary": (
                iso_instant(scheduler.next_boundary) if scheduler.next_boundary else None
            ),
        }
    else:
        body["scheduler"] = {"in_process": False}
    return body
