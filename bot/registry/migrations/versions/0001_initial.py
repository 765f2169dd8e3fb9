"""Initial schema: stations, members, signup_events.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("address", sa.String(200), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("hours", sa.String(100), nullable=False),
        sa.Column("union_name", sa.String(100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stations"),
        sa.UniqueConstraint("code", name="uq_stations_code"),
    )
    op.create_table(
        "members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(32), nullable=True),
        sa.Column("openid", sa.String(64), nullable=False),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("id_cipher", sa.Text(), nullable=False),
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("id_masked", sa.String(24), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("gender", sa.String(8), nullable=False),
        sa.Column("occupation", sa.String(50), nullable=False),
        sa.Column("employer", sa.String(100), nullable=False),
        sa.Column("station_code", sa.String(32), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="ck_members_status"),
        sa.PrimaryKeyConstraint("id", name="pk_members"),
        sa.UniqueConstraint("number", name="uq_members_number"),
        sa.UniqueConstraint("openid", name="uq_members_openid"),
        sa.UniqueConstraint("id_hash", name="uq_members_id_hash"),
    )
    op.create_index("ix_members_station_code", "members", ["station_code"])
    op.create_index("ix_members_status", "members", ["status"])
    op.create_index("ix_members_created_at", "members", ["created_at"])
    op.create_table(
        "signup_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name="fk_signup_events_member_id_members",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_signup_events"),
    )
    op.create_index("ix_signup_events_member_id", "signup_events", ["member_id"])


def downgrade() -> None:
    op.drop_table("signup_events")
    op.drop_table("members")
    op.drop_table("stations")
