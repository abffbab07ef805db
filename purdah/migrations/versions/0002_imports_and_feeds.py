"""imported elections keep their source event; registered feeds

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("election", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_uid", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("title", sa.String(), nullable=False, server_default=""))
        batch_op.create_unique_constraint("uq_election_source_source_uid", ["source", "source_uid"])
    op.create_table(
        "feed",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("location", sa.String(), nullable=False),
        sa.Column("options", sa.String(), nullable=False),
        sa.Column("every_seconds", sa.Integer(), nullable=False),
        sa.Column("etag", sa.String(), nullable=True),
        sa.Column("last_modified", sa.String(), nullable=True),
        sa.Column("last_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_ok_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("feed", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feed_name"), ["name"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("feed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feed_name"))
    op.drop_table("feed")
    with op.batch_alter_table("election", schema=None) as batch_op:
        batch_op.drop_constraint("uq_election_source_source_uid", type_="unique")
        batch_op.drop_column("title")
        batch_op.drop_column("source_uid")
