"""Add the tables of Google Workspace connections, calendars and watch channels

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

import addon.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "google_connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("auth_state", sa.String(length=64), nullable=True),
        sa.Column("code_verifier", sa.Text(), nullable=True),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("updated_at", addon.models.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("auth_state"),
    )
    for column in ("tenant_id", "domain"):
        op.create_index(
            op.f(f"ix_google_connections_{column}"), "google_connections", [column]
        )
    op.create_table(
        "google_calendars",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("sync_queued", sa.Boolean(), nullable=False),
        sa.Column("last_notified_at", addon.models.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["calendar_id"], ["calendars.id"]),
        sa.ForeignKeyConstraint(["connection_id"], ["google_connections.id"]),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("calendar_id"),
    )
    for column in ("tenant_id", "connection_id"):
        op.create_index(
            op.f(f"ix_google_calendars_{column}"), "google_calendars", [column]
        )
    op.create_table(
        "google_watch_channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("google_calendar_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=200), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("expires_at", addon.models.UtcDateTime(), nullable=False),
        sa.Column("created_at", addon.models.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["google_calendar_id"], ["google_calendars.id"]),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel_id"),
    )
    for column in ("tenant_id", "google_calendar_id"):
        op.create_index(
            op.f(f"ix_google_watch_channels_{column}"),
            "google_watch_channels",
            [column],
        )


def downgrade() -> None:
    op.drop_table("google_watch_channels")
    op.drop_table("google_calendars")
    op.drop_table("google_connections")
