"""initial schema

Revision ID: 0001
Revises: (none)
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "council",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("nation", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("start_policy", sa.String(), nullable=False),
        sa.Column("end_policy", sa.String(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("council", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_council_slug"), ["slug"], unique=True)

    op.create_table(
        "election",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("election_id", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("area", sa.String(), nullable=False),
        sa.Column("nation", sa.String(), nullable=True),
        sa.Column("poll_date", sa.Date(), nullable=False),
        sa.Column("original_poll_date", sa.Date(), nullable=True),
        sa.Column("notice", sa.Date(), nullable=True),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("election", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_election_area"), ["area"], unique=False)
        batch_op.create_index(batch_op.f("ix_election_election_id"), ["election_id"], unique=True)

    op.create_table(
        "meta",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "non_working_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_table(
        "council_area",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("council_id", sa.Integer(), nullable=False),
        sa.Column("area", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["council_id"], ["council.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("council_id", "area"),
    )
    with op.batch_alter_table("council_area", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_council_area_area"), ["area"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_council_area_council_id"), ["council_id"], unique=False
        )

    op.create_table(
        "councillor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("council_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("ward", sa.String(), nullable=True),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("agreed_may_post", sa.Boolean(), nullable=False),
        sa.Column("may_post", sa.Boolean(), nullable=False),
        sa.Column("may_promote", sa.Boolean(), nullable=False),
        sa.Column("flags_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["council_id"], ["council.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("council_id", "slug"),
    )
    with op.batch_alter_table("councillor", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_councillor_council_id"), ["council_id"], unique=False)

    op.create_table(
        "window",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("council_id", sa.Integer(), nullable=False),
        sa.Column("election_pk", sa.Integer(), nullable=False),
        sa.Column("ward", sa.String(), nullable=True),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("start_basis", sa.String(), nullable=False),
        sa.Column("end_basis", sa.String(), nullable=False),
        sa.Column("actual_notice", sa.Boolean(), nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("notes", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["council_id"], ["council.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["election_pk"], ["election.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("council_id", "election_pk"),
    )
    with op.batch_alter_table("window", schema=None) as batch_op:
        batch_op.create_index(
            "ix_window_council_span", ["council_id", "start", "end"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_window_election_pk"), ["election_pk"], unique=False)

    op.create_table(
        "exemption",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("councillor_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("granted_by", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["councillor_id"], ["councillor.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("exemption", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_exemption_councillor_id"), ["councillor_id"], unique=False
        )

    op.create_table(
        "flag_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("councillor_id", sa.Integer(), nullable=False),
        sa.Column("flag", sa.String(), nullable=False),
        sa.Column("old", sa.Boolean(), nullable=False),
        sa.Column("new", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cause", sa.String(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["councillor_id"], ["councillor.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("councillor_id", "flag", "at", "new"),
    )


def downgrade() -> None:
    op.drop_table("flag_change")
    with op.batch_alter_table("exemption", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exemption_councillor_id"))

    op.drop_table("exemption")
    with op.batch_alter_table("window", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_window_election_pk"))
        batch_op.drop_index("ix_window_council_span")

    op.drop_table("window")
    with op.batch_alter_table("councillor", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_councillor_council_id"))

    op.drop_table("councillor")
    with op.batch_alter_table("council_area", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_council_area_council_id"))
        batch_op.drop_index(batch_op.f("ix_council_area_area"))

    op.drop_table("council_area")
    op.drop_table("non_working_day")
    op.drop_table("meta")
    with op.batch_alter_table("election", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_election_election_id"))
        batch_op.drop_index(batch_op.f("ix_election_area"))

    op.drop_table("election")
    with op.batch_alter_table("council", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_council_slug"))

    op.drop_table("council")
