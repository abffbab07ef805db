"""councils remember their GSS code; a clerk's newer parish lookup

Revision ID: 0007
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("council", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gss", sa.String(), nullable=True))
        batch_op.create_index("ix_council_gss", ["gss"])
    op.create_table(
        "parish_lookup",
        sa.Column("gss", sa.String(), primary_key=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("district", sa.String(), nullable=False),
        sa.Column("vintage", sa.String(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("parish_lookup")
    with op.batch_alter_table("council", schema=None) as batch_op:
        batch_op.drop_index("ix_council_gss")
        batch_op.drop_column("gss")
