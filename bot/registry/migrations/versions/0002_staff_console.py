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


OLD_NAME = "ck_members_ck_members_status"
"""What 0001 named it (the naming convention added its prefix to a name that already had it)."""


def _members(check: str, check_name: str) -> sa.Table:
    """The members table as 0001 made it: SQLite's batch mode copies it without reflecting
    (which `db upgrade --sql` cannot do). The copy drops its indexes: :func:`_reindex`."""
    return sa.Table(
        "members", sa.MetaData(),
        sa.Column("id", sa.Integer(), primary_key=True),
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
        sa.CheckConstraint(check, name=check_name),
        sa.PrimaryKeyConstraint("id", name="pk_members"),
        sa.UniqueConstraint("number", name="uq_members_number"),
        sa.UniqueConstraint("openid", name="uq_members_openid"),
        sa.UniqueConstraint("id_hash", name="uq_members_id_hash"),
    )


def _reindex() -> None:
    if op.get_context().dialect.name == "sqlite":
        for column in ("station_code", "status", "created_at"):
            op.create_index(f"ix_members_{column}", "members", [column])


def upgrade() -> None:
    with op.batch_alter_table("members", copy_from=_members(OLD_STATUSES, OLD_NAME)) as batch:
        batch.drop_constraint(op.f(OLD_NAME), type_="check")
        batch.create_check_constraint(op.f("ck_members_status"), NEW_STATUSES)
    _reindex()
    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('admin', 'reviewer', 'editor')", name=op.f("ck_staff_users_role")),
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
    with op.batch_alter_table("members", copy_from=_members(NEW_STATUSES, "ck_members_status")) as batch:
        batch.drop_constraint(op.f("ck_members_status"), type_="check")
        batch.create_check_constraint(op.f(OLD_NAME), OLD_STATUSES)
    _reindex()
