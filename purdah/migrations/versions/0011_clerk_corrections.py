"""the clerk's corrections: a councillor who left office keeps their history (left_at),
an audit row for each correction (who, when, what), and an election's clerk_held (a
clerk's cancel or move that the next import of the same event keeps)

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("councillor", schema=None) as batch_op:
        batch_op.add_column(sa.Column("left_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("election", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clerk_held", sa.String(), nullable=True))
    op.create_table(
        "clerk_change",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("detail", sa.String(), nullable=False),
    )
    op.create_index("ix_clerk_change_subject", "clerk_change", ["subject"])


def downgrade() -> None:
    op.drop_index("ix_clerk_change_subject", table_name="clerk_change")
    op.drop_table("clerk_change")
    with op.batch_alter_table("election", schema=None) as batch_op:
        batch_op.drop_column("clerk_held")
    with op.batch_alter_table("councillor", schema=None) as batch_op:
        batch_op.drop_column("left_at")
