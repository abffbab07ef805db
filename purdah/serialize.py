"""Plain-data (JSON-ready) views of purdah's results. Shared by the CLI and the HTTP API."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from purdah.clock import LONDON

if TYPE_CHECKING:  # imported where used: a list command needs neither (start-up)
    from purdah.timetable import Timetable, Window


def iso_date(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def iso_instant(instant: datetime) -> str:
    """ISO 8601 in Europe/London with the offset in force at that instant, to the second."""
    return instant.astimezone(LONDON).isoformat(timespec="seconds")


def timetable_json(tt: Timetable, win: Window, holiday_data: str) -> dict[str, Any]:
    """The `purdah timetable --json` object (a contract: keys are only ever added)."""
    from purdah.calendars import CALENDAR_DESCRIPTIONS
    from purdah.timetable import RUN_UP_WORKING_DAYS, run_up_day

    kind = tt.calendar_kind
    return {
        "election_id": tt.election.text,
        "type": tt.election.type,
        "rule": tt.rule.key,
        "title": tt.rule.title,
        "nation": tt.nation.value,
        "poll_date": tt.poll_date.isoformat(),
        "by_election": tt.election.by_election,
        "notice_of_election": {
            "earliest": iso_date(tt.notice_earliest),
            "latest": iso_date(tt.notice_latest),
            "earliest_working_days": tt.rule.earliest_notice,
            "latest_working_days": tt.rule.latest_notice,
        },
        "dissolution": iso_date(tt.dissolution),
        "publicity_ban_start": iso_date(tt.publicity_start),
        "run_up": {
            "start": iso_date(run_up_day(tt)),
            "working_days": RUN_UP_WORKING_DAYS,
        },
        "window": {
            "start": iso_instant(win.start),
            "end": iso_instant(win.end),
            "start_basis": win.start_basis,
            "end_basis": win.end_basis,
            "actual_notice": win.actual_notice,
            "warn_from": iso_instant(win.run_up_start) if win.run_up_start else None,
            "warning": win.run_up_note or None,
        },
        "calendar": kind.value if kind else None,
        "calendar_description": CALENDAR_DESCRIPTIONS[kind] if kind else None,
        "extra_non_working_days": {
            d.isoformat(): r for d, r in sorted((tt.calendar.extra if tt.calendar else {}).items())
        },
        "holiday_data": holiday_data,
        "sources": list(tt.rule.sources),
        "notes": [*tt.rule.notes, *win.notes],
        "rule_version": {
            "key": tt.rule.key,
            "family": tt.rule.family,
            "applies_from": iso_date(tt.rule.applies_from),
            "applies_to": iso_date(tt.rule.applies_to),
            "links": list(tt.rule.links),
        },
        "referendum": tt.rule.referendum,
        "referendum_period_start": iso_date(tt.publicity_start),
        "warnings": list(tt.warnings),
    }


def election_json(row: Any) -> dict[str, Any]:
    """One `purdah election list --json` item."""
    return {
        "election_id": row.election_id,
        "type": row.type,
        "area": row.area,
        "nation": row.nation or "UK",
        "poll_date": row.poll_date.isoformat(),
        "original_poll_date": iso_date(row.original_poll_date),
        "notice": iso_date(row.notice),
        "notice_source": getattr(row, "notice_source", None),
        "announced_at": (
            iso_instant(row.announced_at) if getattr(row, "announced_at", None) else None
        ),
        "status": row.status,
        "source": row.source,
        "referendum": getattr(row, "referendum", None),
    }


def window_row_json(row: Any) -> dict[str, Any]:
    return {
        "council": row.council,
        "election_id": row.election_id,
        "status": row.status,
        "window": {"start": iso_instant(row.start), "end": iso_instant(row.end)},
        "basis": row.start_basis,
        "end_basis": row.end_basis,
        "actual_notice": row.actual_notice,
        "rule": row.rule,
        "ward": row.ward,
        "notes": [n for n in row.notes.split("; ") if n],
        "run_up_start": iso_instant(row.run_up_start) if row.run_up_start else None,
        "last_day": iso_date(row.last_day),
        "run_up_warning": row.run_up_note or None,
    }


def span_json(span: Any) -> dict[str, Any]:
    """One reason a councillor is restricted: the election, its window and the rule."""
    from purdah.rules import RULES_BY_KEY

    rule = RULES_BY_KEY.get(span.rule)
    return {
        "election_id": span.election_id,
        "window": {"start": iso_instant(span.start), "end": iso_instant(span.end)},
        "basis": span.start_basis,
        "actual_notice": span.actual_notice,
        "end_basis": span.end_basis,
        "rule": span.rule,
        "rule_title": rule.title if rule else None,
        "sources": list(rule.sources) if rule else [],
        "ward": span.ward,
        "notes": [n for n in span.notes.split("; ") if n],
    }


def grant_json(grant: Any) -> dict[str, Any] | None:
    if grant is None:
        return None
    return {
        "id": grant.id,
        "action": grant.action,
        "from": iso_instant(grant.start),
        "to": iso_instant(grant.end),
        "reason": grant.reason,
        "granted_by": grant.granted_by,
    }


def warning_json(warning: Any) -> dict[str, Any]:
    """A "yes, but": the run-up before a window the council's policy does not restrict in."""
    return {
        "kind": warning.kind,
        "election_id": warning.election_id,
        "message": warning.message,
        "run_up_start": iso_instant(warning.run_up_start),
        "window_start": iso_instant(warning.starts),
        "last_day": iso_date(warning.last_day),
        "notice": iso_date(warning.notice),
    }


def check_json(answer: Any) -> dict[str, Any]:
    """The `purdah check --json` object (and GET /api/check)."""
    decision = answer.decision
    return {
        "councillor": answer.councillor,
        "name": answer.name,
        "action": answer.action.value,
        "at": iso_instant(answer.at),
        "allowed": decision.allowed,
        "reason": decision.cause,
        "reasons": [span_json(s) for s in decision.windows],
        "exemption": grant_json(decision.exemption),
        "council_agreed_may_post": answer.agreed_may_post,
        "stored_flag": answer.stored_flag,
        "mismatch": answer.mismatch,
        "warnings": [warning_json(w) for w in answer.warnings],
        # When the answer next changes, across overlapping windows and exemptions (null:
        # nothing stored changes it); the same instant under the name that fits the answer.
        "next_change": iso_instant(answer.next_change) if answer.next_change else None,
        "restricted_until": (
            iso_instant(answer.next_change) if answer.next_change and not decision.allowed else None
        ),
        "restricted_from": (
            iso_instant(answer.next_change) if answer.next_change and decision.allowed else None
        ),
        "sentence": answer.sentence,
    }


def status_json(row: Any) -> dict[str, Any]:
    return {
        "councillor": row.councillor,
        "name": row.name,
        "may_post": row.may_post.allowed,
        "may_promote": row.may_promote.allowed,
        "stored": {"may_post": row.stored_may_post, "may_promote": row.stored_may_promote},
        "mismatch": row.mismatch,
        "reasons": [span_json(s) for s in row.may_promote.windows],
        "exemptions": [
            g
            for g in (grant_json(row.may_post.exemption), grant_json(row.may_promote.exemption))
            if g
        ],
        "warnings": [warning_json(w) for w in getattr(row, "warnings", ())],
    }


def list_chunks(
    at: str, key: str, lines: Iterable[str], after: Callable[[], dict[str, Any]] | None = None
) -> Iterator[str]:
    """The JSON of every list (README: "Lists"), in chunks as its items are produced: one
    object with `at`, the list under `key` (one item a line) and then the fields `after()`
    gives once the list is complete (`next`: the cursor of the following page, or null)."""
    from json import dumps

    yield f'{{\n  "at": {dumps(at)},\n  {dumps(key)}: ['
    chunk: list[str] = []
    first = True
    for line in lines:
        chunk.append(line)
        if len(chunk) == 2000:
            yield ("\n    " if first else ",\n    ") + ",\n    ".join(chunk)
            first, chunk = False, []
    if chunk:
        yield ("\n    " if first else ",\n    ") + ",\n    ".join(chunk)
        first = False
    tail = after() if after else {}
    rest = "".join(f",\n  {dumps(k)}: {dumps(v, ensure_ascii=False)}" for k, v in tail.items())
    yield ("]" if first else "\n  ]") + rest + "\n}\n"


def status_lines(rows: Iterable[Any]) -> Iterator[str]:
    """`json.dumps(status_json(row))` for each row, without serialising the same decision
    again: rows in the same situation share their decision objects, so everything after
    the name is rendered once per situation (kept alive here, so ids stay unique)."""
    from json import dumps
    from json.encoder import encode_basestring

    memo: dict[tuple[int, int, int, bool, bool, bool], tuple[Any, str]] = {}
    for row in rows:
        key = (
            id(row.may_post),
            id(row.may_promote),
            id(row.warnings),
            row.stored_may_post,
            row.stored_may_promote,
            row.comparable,
        )
        found = memo.get(key)
        if found is None:
            whole = dumps(status_json(row), ensure_ascii=False)
            head = dumps({"councillor": row.councillor, "name": row.name}, ensure_ascii=False)
            assert whole.startswith(head[:-1] + ", ")
            found = memo[key] = (row, whole[len(head) + 1 :])
        yield (
            f'{{"councillor": {encode_basestring(row.councillor)}, '
            f'"name": {encode_basestring(row.name)}, {found[1]}'
        )


def change_json(change: Any, refs: dict[int, str]) -> dict[str, Any]:
    return {
        "councillor": refs.get(change.councillor_id, str(change.councillor_id)),
        "flag": change.flag,
        "old": change.old,
        "new": change.new,
        "at": iso_instant(change.at),
        "cause": change.cause,
    }


def windows_json(changes: Any) -> dict[str, Any]:
    """What a write did to the windows (purdah.services.windows.WindowChanges); `full` says
    why every window was recomputed, or is null when only the change's were."""
    return {
        "added": changes.added,
        "changed": changes.changed,
        "removed": changes.removed,
        "full": changes.full,
    }


def reconcile_json(result: Any) -> dict[str, Any]:
    return {
        "at": iso_instant(result.at),
        "changes": [change_json(c, result.refs) for c in result.changes],
        "boundaries_caught_up": result.replayed,
        "skipped": result.skipped,
        "dry_run": result.dry_run,
        # every council swept (why), and the changes the incremental path had missed
        "full": result.full,
        "full_reason": result.full_reason or None,
        "fixed": result.fixed,
    }


def history_json(row: Any) -> dict[str, Any]:
    return {
        "councillor": row.councillor,
        "flag": row.flag,
        "old": row.old,
        "new": row.new,
        "at": iso_instant(row.at),
        "recorded_at": iso_instant(row.recorded_at),
        "cause": row.cause,
        "actor": row.actor,
    }


def import_json(report: Any) -> dict[str, Any]:
    """The `purdah import --json` object."""
    return {
        "dry_run": report.dry_run,
        "sources": report.sources,
        "elections": [
            {
                "uid": p.uid,
                "election_id": p.election_id,
                "poll_date": p.poll_date.isoformat(),
                "type": p.type,
                "area": p.area,
                "title": p.title,
                "status": p.status,
                "action": p.action,
                "source": p.source,
            }
            for p in report.elections
        ],
        "skipped": [
            {"uid": uid, "summary": summary, "reason": reason}
            for uid, summary, reason in report.skipped
        ],
        "warnings": list(report.warnings),
        "errors": list(report.errors),
        "windows": windows_json(report.windows) if report.windows else None,
        "flag_changes": len(report.reconcile.changes) if report.reconcile else 0,
    }


def feed_json(row: Any) -> dict[str, Any]:
    return {
        "name": row.name,
        "location": row.location,
        "every_seconds": int(row.every.total_seconds()),
        "options": row.options,
        "polls": row.polls,
        "last_checked_at": iso_instant(row.last_checked_at) if row.last_checked_at else None,
        "last_ok_at": iso_instant(row.last_ok_at) if row.last_ok_at else None,
        "last_error": row.last_error,
        "failures": row.failures,
        "next_due_at": iso_instant(row.next_due_at) if row.next_due_at else None,
    }


def rule_json(rule: Any) -> dict[str, Any]:
    """One `purdah rules --json` item: a rule row, its period of application and sources."""
    from purdah.calendars import CALENDAR_DESCRIPTIONS

    return {
        "key": rule.key,
        "family": rule.family,
        "title": rule.title,
        "applies_from": iso_date(rule.applies_from),
        "applies_to": iso_date(rule.applies_to),
        "period": rule.period,
        "latest_notice_working_days": rule.latest_notice,
        "earliest_notice_working_days": rule.earliest_notice,
        "earliest_is_statutory": rule.earliest_is_statutory if rule.earliest_notice else None,
        "dissolution_working_days": rule.dissolution,
        "referendum": rule.referendum,
        "referendum_period_working_days": rule.period_working_days,
        "default_start": rule.default_start.value,
        "calendar": rule.calendar.value if rule.calendar else None,
        "calendar_description": CALENDAR_DESCRIPTIONS[rule.calendar] if rule.calendar else None,
        "sources": list(rule.sources),
        "links": list(rule.links),
        "notes": list(rule.notes),
    }


def diagnosis_json(d: Any) -> dict[str, Any]:
    """The `purdah doctor --json` object, also the body of /healthz (keys are only added)."""

    def when(value: datetime | None) -> str | None:
        return iso_instant(value) if value is not None else None

    beat = d.heartbeat
    return {
        "ok": d.ok,
        "at": iso_instant(d.at),
        "store": d.store,
        "faults": [{"name": f.name, "message": f.message} for f in d.faults],
        "warnings": [{"name": w.name, "message": w.message} for w in d.warnings],
        "last_reconcile_at": when(d.last_reconcile_at),
        "reconcile_fresh": d.last_reconcile_at is not None
        and not any(f.name.startswith("reconcile_") for f in d.faults),
        "last_boundary_at": when(d.last_boundary_at),
        "next_boundary_at": when(d.next_boundary_at),
        "heartbeat": None
        if beat is None
        else {
            "at": iso_instant(beat.at),
            "host": beat.host,
            "pid": beat.pid,
            "interval_minutes": beat.interval.total_seconds() / 60,
            "last_tick": when(beat.last_tick),
            "next_boundary": when(beat.next_boundary),
            "failing_reconciles": beat.failing_reconciles,
        },
        "feeds": [
            {
                "name": f.name,
                "last_ok_at": when(f.last_ok_at),
                "failures": f.failures,
                "last_error": f.last_error,
                "fresh": f.fresh,
                "next_due_at": when(f.next_due_at),
            }
            for f in d.feeds
        ],
        "councillors": d.councillors,
        "flags_differ": len(d.flags_differ),
        "flags_differ_examples": d.flags_differ[:20],
    }


def today_json(result: Any) -> dict[str, Any]:
    """The `purdah today --json` object (and GET /api/restricted): `at` and the list of
    councils with someone restricted, each with its windows and its councillors."""
    upcoming = result.next_restriction
    return {
        "at": iso_instant(result.at),
        "summary": result.summary,
        "count": result.count,
        "councils": [
            {
                "council": c.slug,
                "name": c.name,
                "windows": [span_json(s) for s in c.windows],
                "councillors": [
                    {
                        "councillor": r.councillor,
                        "name": r.name,
                        "ward": r.ward,
                        "may_post": r.may_post.allowed,
                        "may_promote": r.may_promote.allowed,
                        "restricted_until": iso_instant(r.until) if r.until else None,
                        "elections": [s.election_id for s in r.may_promote.windows],
                        "exemptions": [
                            g for g in (grant_json(r.may_post.exemption),) if g is not None
                        ],
                    }
                    for r in c.councillors
                ],
                "warnings": [warning_json(w) for w in c.warnings],
            }
            for c in result.councils
        ],
        "next_restriction": (
            {
                "start": iso_instant(upcoming.start),
                "election_id": upcoming.election_id,
                "councils": [{"council": slug, "name": name} for slug, name in upcoming.councils],
            }
            if upcoming
            else None
        ),
        "warnings": [{"council": slug, **warning_json(w)} for slug, w in result.warnings],
    }
