"""The clerk's corrections to a councillor: edit (name, ward, role, whether the council
agreed they may post) and remove (left office). Each is audited and reconciled at once,
in one write transaction stamped with the real clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from purdah.choices import ROLES
from purdah.errors import InputError, NotFound
from purdah.models import councillor_t
from purdah.queries import council_id
from purdah.refs import split_ref
from purdah.services.audit import ClerkChange, record
from purdah.services.reconcile import ReconcileResult, reconcile_in
from purdah.store import Store

P = councillor_t.c


@dataclass(frozen=True)
class CouncillorChange:
    ref: str
    changed: dict[str, tuple[Any, Any]]  # field -> (old, new)
    audit: ClerkChange | None
    reconcile: ReconcileResult


def _current(conn: Connection, ref: str) -> Any:
    council, slug = split_ref(ref)
    cid = council_id(conn, council)
    row = conn.execute(sa.select(councillor_t).where(P.council_id == cid, P.slug == slug)).first()
    if row is None or row.left_at is not None:
        gone = f" (left office {row.left_at:%Y-%m-%d})" if row is not None else ""
        raise NotFound(
            f"no councillor {slug!r} in council {council!r}{gone}: see "
            f"'purdah councillor list --council {council}'"
        )
    return row


def edit_councillor(
    store: Store,
    ref: str,
    *,
    name: str | None = None,
    ward: str | None = None,
    role: str | None = None,
    agreed_may_post: bool | None = None,
    email: str | None = None,
    actor: str,
) -> CouncillorChange:
    """Change what is given; an empty ward or e-mail address ("") clears it. Nothing
    given is an error."""
    from purdah.notify.addresses import check_address

    if role is not None and role not in ROLES:
        raise InputError(f"role {role!r} is not one of: {', '.join(ROLES)}")
    wanted: dict[str, Any] = {
        "name": name,
        "ward": (ward or None) if ward is not None else None,
        "role": role,
        "agreed_may_post": agreed_may_post,
        "email": (check_address(email, "--email") if email.strip() else None)
        if email is not None
        else None,
    }
    clearable = {"ward": ward, "email": email}
    given = {
        k: v
        for k, v in wanted.items()
        if v is not None or (k in clearable and clearable[k] is not None)
    }
    if not given:
        raise InputError(
            "nothing to change: give --name, --ward, --role, --email, or --may-post/--no-may-post"
        )
    with store.write() as (conn, now):
        row = _current(conn, ref)
        changed = {k: (getattr(row, k), v) for k, v in given.items() if getattr(row, k) != v}
        audit = None
        if changed:
            conn.execute(
                sa.update(councillor_t)
                .where(P.id == row.id)
                # changed_at: reconcile reads it to find who changed since its last run
                .values({k: new for k, (_, new) in changed.items()} | {"changed_at": now})
            )
            detail = "; ".join(f"{k} {old!r} -> {new!r}" for k, (old, new) in changed.items())
            audit = record(conn, now, actor, "councillor edit", ref, detail)
        result = reconcile_in(conn, now)
    return CouncillorChange(ref, changed, audit, result)


def remove_councillor(store: Store, ref: str, *, actor: str) -> CouncillorChange:
    """Left office: no longer listed, checked or switched; their flag history is kept."""
    with store.write() as (conn, now):
        row = _current(conn, ref)
        conn.execute(
            sa.update(councillor_t).where(P.id == row.id).values(left_at=now, changed_at=now)
        )
        audit = record(conn, now, actor, "councillor remove", ref, f"left office ({row.name})")
        result = reconcile_in(conn, now)
    return CouncillorChange(ref, {"left_at": (None, now)}, audit, result)
