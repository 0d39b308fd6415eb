"""Store each series' iCalendar UID and index series by their pair

The UID links an attendee's copy to the organizer's series across providers.
The pair index serves the agenda's query for every series of two people.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("series") as batch:
        batch.add_column(
            sa.Column(
                "ical_uid", sa.String(length=1000), nullable=False, server_default=""
            )
        )
    op.create_index("ix_series_tenant_ical_uid", "series", ["tenant_id", "ical_uid"])
    op.create_index(
        "ix_series_tenant_pair", "series", ["tenant_id", "person_a", "person_b"]
    )


def downgrade() -> None:
    op.drop_index("ix_series_tenant_pair", table_name="series")
    op.drop_index("ix_series_tenant_ical_uid", table_name="series")
    with op.batch_alter_table("series") as batch:
        batch.drop_column("ical_uid")
