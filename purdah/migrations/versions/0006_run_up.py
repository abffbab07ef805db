"""the run-up before the notice: start policies by plain names, a store default,
announcements and who recorded a notice, and each window's run-up

Revision ID: 0006
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0009"
branch_labels = None
depends_on = None

_RENAMED = {
    "statutory": "notice-or-statutory",
    "latest-notice": "notice-or-last-day",
    "earliest-notice": "notice-or-earliest-day",
    "dissolution": "notice-or-dissolution",
}
DEFAULT_POLICY_KEY = "default_start_policy"


def upgrade() -> None:
    with op.batch_alter_table("election", schema=None) as batch_op:
        batch_op.add_column(sa.Column("announced_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("notice_source", sa.String(), nullable=True))
        batch_op.add_column(
            sa.Column("notice_recorded_at", sa.DateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("window", schema=None) as batch_op:
        batch_op.add_column(sa.Column("run_up_start", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_day", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("run_up_note", sa.String(), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("watch_from", sa.DateTime(timezone=True), nullable=True))
    op.execute('UPDATE "window" SET watch_from = start')
    with op.batch_alter_table("window", schema=None) as batch_op:
        batch_op.alter_column(
            "watch_from", existing_type=sa.DateTime(timezone=True), nullable=False
        )
        batch_op.create_index("ix_window_council_watch", ["council_id", "watch_from"], unique=False)
    conn = op.get_bind()
    for old, new in _RENAMED.items():
        conn.execute(
            sa.text("UPDATE council SET start_policy = :new WHERE start_policy = :old"),
            {"new": new, "old": old},
        )
    # A notice already stored came from the clerk or a feed: the source says which.
    conn.execute(
        sa.text(
            "UPDATE election SET notice_source = CASE WHEN source = 'manual' THEN 'clerk' "
            "ELSE source END WHERE notice IS NOT NULL"
        )
    )
    # A new store restricts in the run-up; a store that already has councils keeps the
    # behaviour it had (`purdah init` says which, and --start-policy changes it).
    existing = conn.execute(sa.text("SELECT COUNT(*) FROM council")).scalar()
    default = "notice-or-statutory" if existing else "run-up"
    conn.execute(
        sa.text("INSERT INTO meta (key, value) VALUES (:key, :value)"),
        {"key": DEFAULT_POLICY_KEY, "value": default},
    )


def downgrade() -> None:
    conn = op.get_bind()
    conn.execute(sa.text("DELETE FROM meta WHERE key = :key"), {"key": DEFAULT_POLICY_KEY})
    for old, new in _RENAMED.items():
        conn.execute(
            sa.text("UPDATE council SET start_policy = :old WHERE start_policy = :new"),
            {"new": new, "old": old},
        )
    conn.execute(
        sa.text("UPDATE council SET start_policy = 'statutory' WHERE start_policy = 'run-up'")
    )
    with op.batch_alter_table("window", schema=None) as batch_op:
        batch_op.drop_index("ix_window_council_watch")
        batch_op.drop_column("watch_from")
        batch_op.drop_column("run_up_note")
        batch_op.drop_column("last_day")
        batch_op.drop_column("run_up_start")
    with op.batch_alter_table("election", schema=None) as batch_op:
        batch_op.drop_column("notice_recorded_at")
        batch_op.drop_column("notice_source")
        batch_op.drop_column("announced_at")
