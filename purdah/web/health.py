"""Health and metrics over HTTP.

- `/livez`: the process answers (nothing read; for a liveness probe);
- `/healthz`: every fault by name (purdah.services.doctor), 200 when there is none, else 503;
- `/metrics`: Prometheus text format, `purdah_<thing>_<unit>`: what the store says (last
  reconcile, heartbeat, feeds) and, when the scheduler runs in this process, what it has
  done (reconcile duration and changes, boundary lateness, feed failures).

The routes are `async` and do their reading on a small executor of their own, so they
never queue behind the API's thread pool however busy it is.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from purdah.store import Store

# Health and metrics read on these threads, never on the pool the API's routes share.
EXECUTOR = ThreadPoolExecutor(max_workers=2, thread_name_prefix="purdah-health")


def health(store: Store, now: datetime, scheduler: Any = None) -> dict[str, Any]:
    from purdah.serialize import diagnosis_json, iso_instant
    from purdah.services.doctor import diagnose

    body = diagnosis_json(diagnose(store, now))
    if scheduler is not None:
        body["scheduler"] = {
            "in_process": True,
            "last_tick": iso_instant(scheduler.last_tick) if scheduler.last_tick else None,
            "next_boundary": (
                iso_instant(scheduler.next_boundary) if scheduler.next_boundary else None
            ),
            "failing_reconciles": scheduler.failures,
        }
    else:
        body["scheduler"] = {"in_process": False}
    return body


def _line(name: str, value: float, labels: dict[str, str] | None = None) -> str:
    if labels:
        text = ",".join(
            f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
            for k, v in labels.items()
        )
        return f"{name}{{{text}}} {value:g}"
    return f"{name} {value:g}"


def metrics_text(store: Store, now: datetime, scheduler: Any = None) -> str:
    """The exposition text (format 0.0.4). Store facts are gauges; the scheduler's counts
    are this process's since it started."""
    from purdah.services.doctor import diagnose

    out: list[str] = []

    def metric(
        name: str, kind: str, help_text: str, samples: list[tuple[float, dict[str, str] | None]]
    ) -> None:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")
        out.extend(_line(name, value, labels) for value, labels in samples)

    d = diagnose(store, now)
    metric(
        "purdah_up",
        "gauge",
        "1 when the store can be read.",
        [(float(d.store == "reachable"), None)],
    )
    metric(
        "purdah_faults",
        "gauge",
        "Faults `purdah doctor` reports now, by name.",
        [(1.0, {"fault": f.name}) for f in d.faults] or [(0.0, None)],
    )
    if d.last_reconcile_at is not None:
        metric(
            "purdah_last_reconcile_timestamp_seconds",
            "gauge",
            "When the flags were last reconciled (Unix time).",
            [(d.last_reconcile_at.timestamp(), None)],
        )
    if d.heartbeat is not None:
        metric(
            "purdah_scheduler_heartbeat_timestamp_seconds",
            "gauge",
            "The scheduler's last heartbeat in the store (Unix time).",
            [(d.heartbeat.at.timestamp(), None)],
        )
    if d.next_boundary_at is not None:
        metric(
            "purdah_next_boundary_timestamp_seconds",
            "gauge",
            "The next window or exemption boundary (Unix time).",
            [(d.next_boundary_at.timestamp(), None)],
        )
    metric(
        "purdah_flags_differ_councillors",
        "gauge",
        "Councillors whose stored flags differ from the decision now.",
        [(float(len(d.flags_differ)), None)],
    )
    metric(
        "purdah_feed_consecutive_failures",
        "gauge",
        "Refreshes of each feed that failed in a row.",
        [(float(f.failures), {"feed": f.name}) for f in d.feeds],
    )
    if scheduler is not None:
        m = scheduler.metrics
        with m.lock:
            metric(
                "purdah_reconcile_duration_seconds",
                "summary",
                "Time the scheduler's reconciles took.",
                [],
            )
            out.append(_line("purdah_reconcile_duration_seconds_sum", m.reconcile_seconds))
            out.append(_line("purdah_reconcile_duration_seconds_count", m.reconciles))
            metric(
                "purdah_reconcile_changes_total",
                "counter",
                "Flag changes the scheduler's reconciles made.",
                [(m.changes, None)],
            )
            metric(
                "purdah_reconcile_failures_total",
                "counter",
                "Scheduler reconciles that failed (each is retried).",
                [(m.reconcile_failures, None)],
            )
            metric(
                "purdah_boundary_lateness_seconds",
                "summary",
                "How long after its boundary each boundary reconcile ran.",
                [],
            )
            out.append(_line("purdah_boundary_lateness_seconds_sum", m.boundary_lateness_seconds))
            out.append(_line("purdah_boundary_lateness_seconds_count", m.boundaries))
            metric(
                "purdah_last_boundary_lateness_seconds",
                "gauge",
                "The lateness of the last boundary reconcile.",
                [(m.last_boundary_lateness_seconds, None)],
            )
            metric(
                "purdah_feed_refreshes_total",
                "counter",
                "Feed refreshes the scheduler attempted.",
                [(m.feed_refreshes, None)],
            )
            metric(
                "purdah_feed_failures_total",
                "counter",
                "Feed refreshes that failed.",
                [(m.feed_failures, None)],
            )
    return "\n".join(out) + "\n"
