"""elections remember the kind of a referendum (--referendum), which fixes its rule

Revision ID: 0009
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("election", schema=None) as batch_op:
        batch_op.add_column(sa.Column("referendum", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("election", schema=None) as batch_op:
        batch_op.drop_column("referendum")
