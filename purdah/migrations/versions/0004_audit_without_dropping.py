"""the audit log never drops a real change: no unique key on (councillor, flag, at, new)

The old key let ON CONFLICT DO NOTHING silently drop a legitimate correcting switch that
happened to repeat an earlier row's key. Writes now hold the lock and audit only the
changes their conditional updates made, so no key is needed to de-duplicate; an index
on (councillor, at) keeps the per-councillor history fast.

Revision ID: 0004
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0011"
branch_labels = None
depends_on = None

_COLUMNS = ["councillor_id", "flag", "at", "new"]
_INDEX = "ix_flag_change_councillor_at"


def _unique_name(bind: sa.engine.Connection) -> str | None:
    for unique in sa.inspect(bind).get_unique_constraints("flag_change"):
        if unique["column_names"] == _COLUMNS:
            return unique["name"]
    return None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # SQLite's constraint has no name: name it through a naming convention so that
        # the batch rebuild can leave it out.
        with op.batch_alter_table(
            "flag_change", naming_convention={"uq": "uq_%(table_name)s_%(column_0_name)s"}
        ) as batch_op:
            batch_op.drop_constraint("uq_flag_change_councillor_id", type_="unique")
            batch_op.create_index(_INDEX, ["councillor_id", "at"])
        return
    name = _unique_name(bind)
    if name is not None:
        op.drop_constraint(name, "flag_change", type_="unique")
    op.create_index(_INDEX, "flag_change", ["councillor_id", "at"])


def downgrade() -> None:
    with op.batch_alter_table("flag_change", schema=None) as batch_op:
        batch_op.drop_index(_INDEX)
        batch_op.create_unique_constraint("uq_flag_change_councillor_id", _COLUMNS)
