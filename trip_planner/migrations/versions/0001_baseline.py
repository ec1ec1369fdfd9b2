"""Baseline: our tables exactly as main's commit e00aa1b created them (before migrations existed).

A database made by that code (no version table) is stamped at this revision at start-up and upgraded
from here; a fresh database runs it first. Frozen on purpose: never import tables.py here, which
describes the head, not this point in time.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

ACTIVE = sa.text("status = 'active'")


def upgrade() -> None:
    op.create_table(
        "tp_conversations",
        sa.Column("conversation_id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("session_id", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("end_reason", sa.String(32)),
        sa.Column("feedback", sa.String(32)),
        sa.Column("query_count", sa.Integer, nullable=False),
        sa.Column("last_trace_id", sa.String(64)),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("ended_at", sa.Float),
    )
    op.create_index("ix_tp_conversations_user", "tp_conversations", ["user_id"])
    op.create_index(
        "uq_tp_conversations_one_active",
        "tp_conversations",
        ["user_id"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    op.create_table(
        "tp_queries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "conversation_id", sa.String(32), sa.ForeignKey("tp_conversations.conversation_id"), nullable=False
        ),
        sa.Column("query_num", sa.Integer, nullable=False),
        sa.Column("query", sa.String(200), nullable=False),
        sa.Column("response", sa.String(500), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("conversation_id", "query_num", name="uq_tp_queries_num"),
    )
    op.create_table(
        "tp_inbound",
        sa.Column("message_id", sa.String(255), primary_key=True),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("answer", sa.Text),
        sa.Column("conversation_id", sa.String(32)),
        sa.Column("reply_to", sa.Text),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("answered_at", sa.Float),
        sa.Column("delivered_at", sa.Float),
        sa.Column("attempt_at", sa.Float),
        sa.Column("place", sa.String(255)),
    )
    op.create_index("ix_tp_inbound_undelivered", "tp_inbound", ["delivered_at", "received_at"])
    op.create_index("ix_tp_inbound_place", "tp_inbound", ["place", "received_at"])
    op.create_table(
        "tp_turn_leases",
        sa.Column("lease_key", sa.String(255), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_table(
        "tp_subscriptions",
        sa.Column("place", sa.String(255), primary_key=True),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_tp_subscriptions_user", "tp_subscriptions", ["user_id"])
    op.create_table(
        "tp_message_refs",
        sa.Column("message_ref", sa.String(255), primary_key=True),
        sa.Column("conversation_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for table in ("tp_message_refs", "tp_subscriptions", "tp_turn_leases", "tp_inbound", "tp_queries", "tp_conversations"):
        op.drop_table(table)
