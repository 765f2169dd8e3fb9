"""Staff console: staff accounts, their audit trail, and the withdrawn and erased statuses.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('pending', 'approved', 'rejected')"
NEW_STATUSES = "status IN ('pending', 'approved', 'rejected', 'withdrawn', 'erased')"


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_constraint("ck_members_status", type_="check")
        batch.create_check_constraint("ck_members_status", NEW_STATUSES)
    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('admin', 'reviewer', 'editor')", name="ck_staff_users_role"),
        sa.PrimaryKeyConstraint("id", name="pk_staff_users"),
        sa.UniqueConstraint("username", name="uq_staff_users_username"),
    )
    op.create_table(
        "staff_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_staff_events"),
    )
    op.create_index("ix_staff_events_at", "staff_events", ["at"])


def downgrade() -> None:
    op.drop_table("staff_events")
    op.drop_table("staff_users")
    with op.batch_alter_table("members") as batch:
        batch.drop_constraint("ck_members_status", type_="check")
        batch.create_check_constraint("ck_members_status", OLD_STATUSES)
