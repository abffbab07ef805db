"""e-mail notices to councillors and the clerk: a councillor's e-mail address, the
clerk's address on the council, and the ledger of notices planned (one row per fact
told to one recipient: its key is what makes a notice never planned twice)

Revision ID: 0012_notices
Revises: 0012_webhooks
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_notices"
down_revision = "0012_webhooks"
branch_labels = None
depends_on = None

_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("councillor") as batch:
        batch.add_column(sa.Column("email", sa.String(), nullable=True))
    with op.batch_alter_table("council") as batch:
        batch.add_column(sa.Column("clerk_email", sa.String(), nullable=True))
    op.create_table(
        "mail_notice",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("recipient", sa.String(), nullable=False),
        sa.Column("address", sa.String(), nullable=False),
        sa.Column(
            "council_id",
            sa.Integer(),
            sa.ForeignKey("council.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("councillor_id", sa.Integer(), nullable=True),
        sa.Column("period", sa.String(), nullable=True),
        sa.Column("election_id", sa.String(), nullable=True),
        sa.Column("start", _INSTANT, nullable=True),
        sa.Column("end", _INSTANT, nullable=True),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("planned_at", _INSTANT, nullable=False),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_mail_notice_council_id", "mail_notice", ["council_id"])
    op.create_index("ix_mail_notice_recipient_period", "mail_notice", ["recipient", "period"])


def downgrade() -> None:
    op.drop_index("ix_mail_notice_recipient_period", table_name="mail_notice")
    op.drop_index("ix_mail_notice_council_id", table_name="mail_notice")
    op.drop_table("mail_notice")
    with op.batch_alter_table("council") as batch:
        batch.drop_column("clerk_email")
    with op.batch_alter_table("councillor") as batch:
        batch.drop_column("email")
