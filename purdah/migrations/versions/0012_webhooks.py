"""the outbox: events written with the changes they describe, ordered delivery lanes,
deliveries and every attempt; webhook endpoints (the secret's environment variable name,
never the secret); the store's outbox instance id (part of every event's id)

Revision ID: 0012_webhooks
Revises: 0012
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0012_webhooks"
down_revision = "0012"
branch_labels = None
depends_on = None

_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outbox_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("council_id", sa.Integer(), nullable=True),
        sa.Column("councillor_id", sa.Integer(), nullable=True),
        sa.Column("audit_id", sa.Integer(), nullable=True),
        sa.Column("flag", sa.String(), nullable=True),
        sa.Column("old", sa.Boolean(), nullable=True),
        sa.Column("new", sa.Boolean(), nullable=True),
        sa.Column("at", _INSTANT, nullable=False),
        sa.Column("recorded_at", _INSTANT, nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("election_ids", sa.String(), nullable=False),
        sa.Column("council_slug", sa.String(), nullable=True),
        sa.Column("councillor_slug", sa.String(), nullable=True),
        sa.Column("data", sa.String(), nullable=False),
    )
    op.create_index("ix_outbox_event_council_id", "outbox_event", ["council_id"])
    op.create_index("ix_outbox_event_audit_id", "outbox_event", ["audit_id"])
    op.create_table(
        "outbox_lane",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("lease_owner", sa.String(), nullable=True),
        sa.Column("lease_until", _INSTANT, nullable=True),
        sa.Column("next_at", _INSTANT, nullable=True),
        sa.Column("paused_at", _INSTANT, nullable=True),
        sa.Column("paused_reason", sa.String(), nullable=True),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.UniqueConstraint("channel", "target"),
    )
    op.create_table(
        "outbox_delivery",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "event_id",
            sa.Integer(),
            sa.ForeignKey("outbox_event.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "lane_id",
            sa.Integer(),
            sa.ForeignKey("outbox_lane.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", _INSTANT, nullable=False),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.Column("last_attempt_at", _INSTANT, nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("delivered_at", _INSTANT, nullable=True),
        sa.UniqueConstraint("event_id", "lane_id"),
    )
    op.create_index("ix_outbox_delivery_event_id", "outbox_delivery", ["event_id"])
    op.create_index(
        "ix_outbox_delivery_lane_state", "outbox_delivery", ["lane_id", "state", "event_id"]
    )
    op.create_table(
        "outbox_attempt",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "delivery_id",
            sa.Integer(),
            sa.ForeignKey("outbox_delivery.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at", _INSTANT, nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(), nullable=True),
        sa.Column("node", sa.String(), nullable=False),
    )
    op.create_index("ix_outbox_attempt_delivery_id", "outbox_attempt", ["delivery_id"])
    op.create_table(
        "webhook",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("secret_env", sa.String(), nullable=False),
        sa.Column("events", sa.String(), nullable=False),
        sa.Column(
            "council_id",
            sa.Integer(),
            sa.ForeignKey("council.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("lane_id", sa.Integer(), sa.ForeignKey("outbox_lane.id"), nullable=False),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.Column("removed_at", _INSTANT, nullable=True),
        sa.UniqueConstraint("lane_id"),
    )
    op.create_index("ix_webhook_council_id", "webhook", ["council_id"])
    # Part of every event's id (webhook-id), so that a receiver's de-duplication never
    # mistakes a new store's event 1 for an old store's.
    op.execute(
        sa.text("INSERT INTO meta (key, value) VALUES ('outbox_instance', :v)").bindparams(
            v=secrets.token_hex(6)
        )
    )


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM meta WHERE key = 'outbox_instance'"))
    op.drop_index("ix_webhook_council_id", table_name="webhook")
    op.drop_table("webhook")
    op.drop_index("ix_outbox_attempt_delivery_id", table_name="outbox_attempt")
    op.drop_table("outbox_attempt")
    op.drop_index("ix_outbox_delivery_lane_state", table_name="outbox_delivery")
    op.drop_index("ix_outbox_delivery_event_id", table_name="outbox_delivery")
    op.drop_table("outbox_delivery")
    op.drop_table("outbox_lane")
    op.drop_index("ix_outbox_event_audit_id", table_name="outbox_event")
    op.drop_index("ix_outbox_event_council_id", table_name="outbox_event")
    op.drop_table("outbox_event")
