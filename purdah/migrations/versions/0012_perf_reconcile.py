"""reconcile works on what changed: councillors remember when a decision input of theirs
was written (changed_at), and indexes find the boundaries and writes since the last run

Revision ID: 0012
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0004"
branch_labels = None
depends_on = None

_INDEXES = [
    ("ix_councillor_created_at", "councillor", "created_at"),
    ("ix_councillor_changed_at", "councillor", "changed_at"),
    ("ix_window_start", "window", "start"),
    ("ix_window_end", "window", "end"),
    ("ix_window_changed_at", "window", "changed_at"),
    ("ix_removed_window_removed_at", "removed_window", "removed_at"),
    ("ix_exemption_start", "exemption", "start"),
    ("ix_exemption_end", "exemption", "end"),
    ("ix_exemption_created_at", "exemption", "created_at"),
]


def upgrade() -> None:
    with op.batch_alter_table("councillor", schema=None) as batch_op:
        batch_op.add_column(sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True))
    for name, table, column in _INDEXES:
        op.create_index(name, table, [column])


def downgrade() -> None:
    for name, table, _column in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("councillor", schema=None) as batch_op:
        batch_op.drop_column("changed_at")
