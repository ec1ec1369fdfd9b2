"""Workers with heartbeats, retried posts and a wider lease holder (main's commit cd531ba).

New: the tp_workers table; tp_inbound's worker_id, attempts and next_attempt_at columns and its
(user_id, received_at) index; tp_turn_leases.holder widened from 64 to 128 characters (it now holds
a worker id). Each step checks what is already there, because a database made before migrations may
have had tp_workers created (and nothing else) by a newer process's `create_all`.
SQLite alters run in batch mode (Alembic copies the table when SQLite's ALTER cannot do it).

Revision ID: 0002_workers
Revises: 0001_baseline
Create Date: 2026-12-03
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002_workers"
down_revision: str | None = "0001_baseline"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table("tp_workers"):
        op.create_table(
            "tp_workers",
            sa.Column("worker_id", sa.String(128), primary_key=True),
            sa.Column("started_at", sa.Float, nullable=False),
            sa.Column("heartbeat_at", sa.Float, nullable=False),
        )
    columns = {column["name"] for column in inspector.get_columns("tp_inbound")}
    new_columns: list[sa.Column[Any]] = [
        sa.Column("worker_id", sa.String(128)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.Float),
    ]
    with op.batch_alter_table("tp_inbound") as batch:
        for column in new_columns:
            if column.name not in columns:
                batch.add_column(column)
    if "ix_tp_inbound_user" not in {index["name"] for index in inspector.get_indexes("tp_inbound")}:
        op.create_index("ix_tp_inbound_user", "tp_inbound", ["user_id", "received_at"])
    with op.batch_alter_table("tp_turn_leases") as batch:
        batch.alter_column("holder", existing_type=sa.String(64), type_=sa.String(128), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("tp_turn_leases") as batch:
        batch.alter_column("holder", existing_type=sa.String(128), type_=sa.String(64), existing_nullable=False)
    op.drop_index("ix_tp_inbound_user", table_name="tp_inbound")
    with op.batch_alter_table("tp_inbound") as batch:
        for name in ("next_attempt_at", "attempts", "worker_id"):
            batch.drop_column(name)
    op.drop_table("tp_workers")
