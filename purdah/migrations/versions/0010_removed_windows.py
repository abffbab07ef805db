"""removed windows, so that the feeds publish a removed period as cancelled for a while

Revision ID: 0010
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "removed_window",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("window_id", sa.Integer(), nullable=False),
        sa.Column("council_id", sa.Integer(), nullable=False),
        sa.Column("ward", sa.String(), nullable=True),
        sa.Column("election_id", sa.String(), nullable=False),
        sa.Column("area", sa.String(), nullable=False),
        sa.Column("poll_date", sa.Date(), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["council_id"], ["council.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("removed_window", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_removed_window_council_id"), ["council_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("removed_window", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_removed_window_council_id"))
    op.drop_table("removed_window")
