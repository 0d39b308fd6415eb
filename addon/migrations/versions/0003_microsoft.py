"""Add the tables of Microsoft 365 connections and mailboxes

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

import addon.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "microsoft_connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("directory_id", sa.String(length=64), nullable=False),
        sa.Column("mailbox", sa.String(length=320), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("auth_state", sa.String(length=64), nullable=True),
        sa.Column("auth_flow", sa.Text(), nullable=True),
        sa.Column("token_cache", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("updated_at", addon.models.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("auth_state"),
    )
    op.create_index(
        op.f("ix_microsoft_connections_tenant_id"),
        "microsoft_connections",
        ["tenant_id"],
    )
    op.create_index(
        op.f("ix_microsoft_connections_directory_id"),
        "microsoft_connections",
        ["directory_id"],
    )
    op.create_table(
        "microsoft_mailboxes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.String(length=200), nullable=True),
        sa.Column("client_state", sa.Text(), nullable=True),
        sa.Column("subscription_expires_at", addon.models.UtcDateTime(), nullable=True),
        sa.Column("sync_queued", sa.Boolean(), nullable=False),
        sa.Column("last_notified_at", addon.models.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["calendar_id"], ["calendars.id"]),
        sa.ForeignKeyConstraint(["connection_id"], ["microsoft_connections.id"]),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("calendar_id"),
    )
    for column in ("tenant_id", "connection_id", "subscription_id"):
        op.create_index(
            op.f(f"ix_microsoft_mailboxes_{column}"), "microsoft_mailboxes", [column]
        )


def downgrade() -> None:
    op.drop_table("microsoft_mailboxes")
    op.drop_table("microsoft_connections")
