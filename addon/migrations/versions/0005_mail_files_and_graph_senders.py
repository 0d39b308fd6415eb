"""Add the file paths of synced calendars and the Graph sender of each tenant

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

# Importing the models registers these tables on Base.metadata, which the
# schema check compares with the migrated database.
import addon.mail.models  # noqa: F401

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mail_calendar_files",
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("source_path", sa.String(length=1000), nullable=False),
        sa.Column("output_path", sa.String(length=1000), nullable=False),
        sa.ForeignKeyConstraint(["calendar_id"], ["calendars.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("calendar_id"),
    )
    op.create_table(
        "mail_tenant_graph_senders",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("mailbox", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id"),
    )


def downgrade() -> None:
    op.drop_table("mail_tenant_graph_senders")
    op.drop_table("mail_calendar_files")
