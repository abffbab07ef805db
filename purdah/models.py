"""The store's tables (SQLModel). No `from __future__ import annotations` here: it breaks
SQLModel's relationship and column introspection.

Instants are stored as UTC (UTCDateTime) and come back aware. Enumerated values are
plain strings (the values of purdah's StrEnums), so the database reads the same words
the CLI prints.
"""

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC; naive values are refused, never guessed."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the store: times must be aware")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _instant(**kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kwargs)


class Council(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, index=True)
    name: str
    nation: str  # ENG / WLS / SCT / NIR
    kind: str  # parish, town, district, county ...
    start_policy: str = "notice-or-statutory"  # purdah.timetable.StartPolicy
    end_policy: str = "close-of-poll"  # purdah.timetable.EndPolicy
    scope: str = "council"  # "council" or "ward" (single-ward by-elections)
    gss: str | None = Field(default=None, index=True)  # from the area register, if known
    created_at: datetime = _instant()
    clerk_email: str | None = None  # the clerk's daily digest of notices (purdah.notify)


class CouncilArea(SQLModel, table=True):
    """An area a council lies within (district, county, police area, combined authority ...)."""

    __tablename__ = "council_area"
    __table_args__ = (sa.UniqueConstraint("council_id", "area"),)
    id: int | None = Field(default=None, primary_key=True)
    council_id: int = Field(foreign_key="council.id", index=True, ondelete="CASCADE")
    area: str = Field(index=True)


class Councillor(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("council_id", "slug"),
        sa.Index("ix_councillor_created_at", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    council_id: int = Field(foreign_key="council.id", index=True, ondelete="CASCADE")
    slug: str
    name: str
    ward: str | None = None
    role: str = "member"  # member, chair, civic-mayor
    agreed_may_post: bool = False  # the council agreed they may post on its accounts
    # The switched state other systems read; reconcile keeps it true.
    may_post: bool = False
    may_promote: bool = True
    flags_at: datetime | None = _instant(default=None)
    created_at: datetime = _instant()
    # Left office (`councillor remove`): no longer listed or switched; history kept.
    left_at: datetime | None = _instant(default=None)
    # When a decision input of the row (ward, agreement to post) was last written, or it
    # was added: reconcile reads it to find who changed since its last run.
    changed_at: datetime | None = _instant(default=None, index=True)
    email: str | None = None  # where e-mail notices go (purdah.notify), if given


class Election(SQLModel, table=True):
    # An imported poll is known by its source and its event (UID, plus RECURRENCE-ID).
    __table_args__ = (sa.UniqueConstraint("source", "source_uid"),)
    id: int | None = Field(default=None, primary_key=True)
    election_id: str = Field(unique=True, index=True)  # Democracy Club id
    type: str
    area: str = Field(index=True)
    nation: str | None = None
    poll_date: date
    original_poll_date: date | None = None  # set when the poll moved
    notice: date | None = None  # notice of election, actual or planned, when known
    notice_source: str | None = None  # "clerk", or the feed that gave the notice date
    notice_recorded_at: datetime | None = _instant(default=None)
    announced_at: datetime | None = _instant(default=None)  # a general election's announcement
    referendum: str | None = None  # kind of a ref.* poll (purdah.rules REFERENDUM_KINDS)
    declared_at: datetime | None = _instant(default=None)
    status: str = "scheduled"  # scheduled, cancelled, moved, withdrawn
    # The clerk's correction ("cancelled", "moved") that imports of the event keep.
    clerk_held: str | None = None
    cancelled_at: datetime | None = _instant(default=None)
    source: str = "manual"
    source_uid: str | None = None
    title: str = ""
    created_at: datetime = _instant()
    updated_at: datetime = _instant()


class Window(SQLModel, table=True):
    """A council's pre-election window for one election, [start, end), recomputed on change."""

    __table_args__ = (
        sa.UniqueConstraint("council_id", "election_pk"),
        sa.Index("ix_window_council_span", "council_id", "start", "end"),
        sa.Index("ix_window_council_watch", "council_id", "watch_from"),
        # reconcile: boundaries and changes since its last run
        sa.Index("ix_window_start", "start"),
        sa.Index("ix_window_end", "end"),
        sa.Index("ix_window_changed_at", "changed_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    council_id: int = Field(foreign_key="council.id", ondelete="CASCADE")
    election_pk: int = Field(foreign_key="election.id", index=True, ondelete="CASCADE")
    ward: str | None = None  # set only for a ward-scoped by-election
    start: datetime = _instant()
    end: datetime = _instant()
    start_basis: str
    end_basis: str
    actual_notice: bool = False
    rule: str
    notes: str = ""
    # The run-up, when it begins before `start` (the council's policy does not restrict
    # in it): answers from then until `start` warn with `run_up_note`.
    run_up_start: datetime | None = _instant(default=None)
    last_day: date | None = None  # the statutory last day for the notice of election
    run_up_note: str = Field(default="", sa_column_kwargs={"server_default": ""})
    # From when an answer can depend on this window: the run-up start, else `start`
    # (check finds the windows in force or in their run-up with one index range).
    watch_from: datetime = _instant()
    # Moves when the window's values change or an overlapping window is removed.
    changed_at: datetime | None = _instant(default=None)


class RemovedWindow(SQLModel, table=True):
    """A window that was removed (poll cancelled before it began, withdrawn, area changed):
    kept so that the feeds publish its period as STATUS:CANCELLED under the UID it had,
    until `expires_at`, instead of letting it vanish. Rows are kept after that (a short
    history, and the feed's Last-Modified never goes back)."""

    __tablename__ = "removed_window"
    __table_args__ = (sa.Index("ix_removed_window_removed_at", "removed_at"),)
    id: int | None = Field(default=None, primary_key=True)
    window_id: int  # the removed window's id: the feed's UID was built from it
    council_id: int = Field(foreign_key="council.id", index=True, ondelete="CASCADE")
    ward: str | None = None
    election_id: str  # the election row may be gone: its id, area and poll day are kept
    area: str
    poll_date: date
    start: datetime = _instant()
    end: datetime = _instant()
    rule: str
    reason: str
    changed_at: datetime | None = _instant(default=None)  # the window's last change
    removed_at: datetime = _instant()
    expires_at: datetime = _instant()


class Exemption(SQLModel, table=True):
    __table_args__ = (
        sa.Index("ix_exemption_start", "start"),
        sa.Index("ix_exemption_end", "end"),
        sa.Index("ix_exemption_created_at", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    councillor_id: int = Field(foreign_key="councillor.id", index=True, ondelete="CASCADE")
    action: str  # promote or post
    start: datetime = _instant()
    end: datetime = _instant()
    reason: str
    granted_by: str
    created_at: datetime = _instant()


class FlagChange(SQLModel, table=True):
    """The audit log: one row per change of one flag of one councillor, written only for
    a change the store really made (see purdah.services.reconcile). No unique key: two
    legitimate changes may share (councillor, flag, at, new), and none may be dropped."""

    __tablename__ = "flag_change"
    __table_args__ = (sa.Index("ix_flag_change_councillor_at", "councillor_id", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    councillor_id: int = Field(foreign_key="councillor.id", ondelete="CASCADE")
    flag: str  # may_post or may_promote
    old: bool
    new: bool
    at: datetime = _instant()  # when the change took effect (a window or exemption boundary)
    recorded_at: datetime = _instant()
    cause: str
    actor: str


class NonWorkingDay(SQLModel, table=True):
    """A day the clerk added that no window count may use (a day of mourning)."""

    __tablename__ = "non_working_day"
    day: date = Field(primary_key=True)
    reason: str


class Feed(SQLModel, table=True):
    """A registered election calendar (URL or file) that `purdah run` refreshes."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    location: str  # http(s) URL or file path
    options: str = "{}"  # the import options, JSON
    every_seconds: int = 6 * 3600
    etag: str | None = None
    last_modified: str | None = None
    last_checked_at: datetime | None = _instant(default=None)
    last_ok_at: datetime | None = _instant(default=None)
    last_error: str | None = None
    failures: int = 0
    next_due_at: datetime | None = _instant(default=None)
    created_at: datetime = _instant()


class ApiToken(SQLModel, table=True):
    """A credential for the HTTP service's private routes. Only a SHA-256 hash of the
    token is kept; the token itself is shown once, by `purdah token add`."""

    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    scope: str  # read (every private route) or check (/api/check only)
    token_hash: str = Field(unique=True, index=True)  # hex SHA-256 of the whole token
    created_at: datetime = _instant()
    last_used_at: datetime | None = _instant(default=None)


class ParishLookup(SQLModel, table=True):
    """A clerk's newer ONS parish lookup (`purdah areas import`), laid over the shipped one."""

    __tablename__ = "parish_lookup"
    gss: str = Field(primary_key=True)
    name: str
    district: str  # GSS code of the district it lies in
    vintage: str  # what the file said it was (its columns' year, e.g. PAR23)
    imported_at: datetime = _instant()


class ClerkChange(SQLModel, table=True):
    """The audit of the clerk's corrections: who changed what, and when (the real clock)."""

    __tablename__ = "clerk_change"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _instant()
    actor: str
    action: str  # e.g. "councillor edit", "election remove"
    subject: str = Field(index=True)  # council/slug, election id, date
    detail: str


class OutboxEvent(SQLModel, table=True):
    """Something that happened and must reach the world (purdah.outbox): written in the
    same transaction as the change it describes. `id` is the event sequence. A flag change
    is copied from its audit row (`audit_id`; not unique: SQLite reuses the id of a deleted
    last row, and an event outlives its audit row); other kinds
    keep their details as JSON in `data`. No foreign keys: an event outlives the rows it
    names (a councillor removed, a council deleted), like the deliveries already sent."""

    __tablename__ = "outbox_event"
    id: int | None = Field(default=None, primary_key=True)
    kind: str  # flag.changed, period.added, period.moved, period.cancelled, exemption.*, ...
    council_id: int | None = Field(default=None, index=True)
    councillor_id: int | None = None
    audit_id: int | None = Field(default=None, index=True)  # flag_change.id
    flag: str | None = None
    old: bool | None = None
    new: bool | None = None
    at: datetime = _instant()  # when the change takes effect
    recorded_at: datetime = _instant()  # when it was written (the write's instant)
    reason: str = ""
    election_ids: str = ""  # space-separated Democracy Club ids
    council_slug: str | None = None
    councillor_slug: str | None = None
    data: str = "{}"  # JSON: the details of kinds other than flag.changed


class OutboxLane(SQLModel, table=True):
    """One ordered queue of deliveries: a webhook endpoint, or one recipient of another
    channel. Deliveries of a lane are sent one at a time in event order; a dispatcher
    claims the whole lane (`lease_owner` until `lease_until`), so one node sends it."""

    __tablename__ = "outbox_lane"
    __table_args__ = (sa.UniqueConstraint("channel", "target"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str  # webhook, email, ...
    target: str  # the channel's own key (a webhook's id, an e-mail address)
    lease_owner: str | None = None
    lease_until: datetime | None = _instant(default=None)
    next_at: datetime | None = _instant(default=None)  # no try before (the head's back-off)
    paused_at: datetime | None = _instant(default=None)  # no sending until resumed
    paused_reason: str | None = None
    created_at: datetime = _instant()


class OutboxDelivery(SQLModel, table=True):
    """One event to one lane: pending until delivered, or dead after the last retry
    (or cancelled when its endpoint is removed)."""

    __tablename__ = "outbox_delivery"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "lane_id"),
        sa.Index("ix_outbox_delivery_lane_state", "lane_id", "state", "event_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="outbox_event.id", index=True, ondelete="CASCADE")
    lane_id: int = Field(foreign_key="outbox_lane.id", ondelete="CASCADE")
    state: str = "pending"  # pending, delivered, dead, cancelled
    attempts: int = 0
    next_at: datetime = _instant()
    created_at: datetime = _instant()
    last_attempt_at: datetime | None = _instant(default=None)
    last_status: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = _instant(default=None)


class OutboxAttempt(SQLModel, table=True):
    """Every try of a delivery: when, how long, the status code or the error, which node."""

    __tablename__ = "outbox_attempt"
    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="outbox_delivery.id", index=True, ondelete="CASCADE")
    at: datetime = _instant()
    seconds: float
    status: int | None = None
    error: str | None = None
    node: str


class Webhook(SQLModel, table=True):
    """A receiver of signed events. The secret is never stored: only the name of the
    environment variable that holds it in the process that sends."""

    id: int | None = Field(default=None, primary_key=True)
    url: str
    secret_env: str
    events: str = "*"  # "*" or ",kind,kind," (commas around each, for a LIKE match)
    council_id: int | None = Field(
        default=None, foreign_key="council.id", index=True, ondelete="CASCADE"
    )
    lane_id: int = Field(foreign_key="outbox_lane.id", unique=True)
    created_at: datetime = _instant()
    removed_at: datetime | None = _instant(default=None)


class Meta(SQLModel, table=True):
    key: str = Field(primary_key=True)
    value: str


class MailNotice(SQLModel, table=True):
    """The ledger of e-mail notices (purdah.notify): one row per fact told to one
    recipient. `key` names the fact (kind, recipient, period, its start or end, or the
    digest's day), so the planner never plans the same notice twice; `event_id` is the
    outbox event that carries it (and its delivery state)."""

    __tablename__ = "mail_notice"
    __table_args__ = (sa.Index("ix_mail_notice_recipient_period", "recipient", "period"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    kind: str  # starts, changed, cancelled, ended, digest
    recipient: str  # councillor:ID or clerk:COUNCIL-ID (the address may change)
    address: str  # where it was sent
    council_id: int = Field(foreign_key="council.id", index=True, ondelete="CASCADE")
    councillor_id: int | None = None  # no foreign key: the ledger outlives the councillor
    period: str | None = None  # COUNCIL-ID/ELECTION-ID/WARD (stable across a window's id)
    election_id: str | None = None
    start: datetime | None = _instant(default=None)
    end: datetime | None = _instant(default=None)
    subject: str
    message_id: str
    event_id: int | None = None
    planned_at: datetime = _instant()


def _table(model: type[SQLModel]) -> sa.Table:
    table = getattr(model, "__table__", None)
    assert isinstance(table, sa.Table), model
    return table


# Core tables, for the set-based read and write paths (no ORM object per row).
council_t = _table(Council)
council_area_t = _table(CouncilArea)
councillor_t = _table(Councillor)
election_t = _table(Election)
window_t = _table(Window)
removed_window_t = _table(RemovedWindow)
exemption_t = _table(Exemption)
flag_change_t = _table(FlagChange)
non_working_day_t = _table(NonWorkingDay)
meta_t = _table(Meta)
feed_t = _table(Feed)
api_token_t = _table(ApiToken)
parish_lookup_t = _table(ParishLookup)
clerk_change_t = _table(ClerkChange)
mail_notice_t = _table(MailNotice)
outbox_event_t = _table(OutboxEvent)
outbox_lane_t = _table(OutboxLane)
outbox_delivery_t = _table(OutboxDelivery)
outbox_attempt_t = _table(OutboxAttempt)
webhook_t = _table(Webhook)
