"""Create the initial schema

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

import addon.models

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("domains", sa.JSON(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column(
            "invite_mode",
            sa.Enum(
                "FULL",
                "AGENDA_ONLY",
                "LINK_ONLY",
                name="invitemode",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("allow_notes_in_invite", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", addon.models.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("at", addon.models.UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_log_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "calendars",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=1000), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("last_synced_at", addon.models.UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "provider", "address"),
    )
    with op.batch_alter_table("calendars", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_calendars_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=True),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("manager_email", sa.String(length=320), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "email"),
    )
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_people_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "calendar_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=1000), nullable=False),
        sa.Column("recurrence_key", sa.String(length=64), nullable=False),
        sa.Column("etag", sa.String(length=200), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["calendar_id"], ["calendars.id"]),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("calendar_id", "uid", "recurrence_key"),
    )
    op.create_index(
        op.f("ix_calendar_events_calendar_id"),
        "calendar_events",
        ["calendar_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_calendar_events_tenant_id"),
        "calendar_events",
        ["tenant_id"],
        unique=False,
    )
    op.create_table(
        "series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=1000), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("organizer_email", sa.String(length=320), nullable=False),
        sa.Column("person_a", sa.String(length=320), nullable=True),
        sa.Column("person_b", sa.String(length=320), nullable=True),
        sa.Column("is_one_on_one", sa.Boolean(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("next_occurrence", addon.models.UtcDateTime(), nullable=True),
        sa.Column("next_recurrence_id", addon.models.UtcDateTime(), nullable=True),
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("updated_at", addon.models.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["calendars.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("calendar_id", "uid"),
    )
    with op.batch_alter_table("series", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_series_calendar_id"), ["calendar_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_series_is_one_on_one"), ["is_one_on_one"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_series_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "action_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("owner_email", sa.String(length=320), nullable=False),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("created_at", addon.models.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_action_items_series_id"), ["series_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_action_items_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("occurrence_start", addon.models.UtcDateTime(), nullable=False),
        sa.Column("author_email", sa.String(length=320), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "visibility",
            sa.Enum(
                "SHARED", "PRIVATE", name="visibility", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("hide_from_invite", sa.Boolean(), nullable=False),
        sa.Column("created_at", addon.models.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notes_series_id"), ["series_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_notes_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "occurrences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("recurrence_id", addon.models.UtcDateTime(), nullable=False),
        sa.Column("start", addon.models.UtcDateTime(), nullable=False),
        sa.Column("end", addon.models.UtcDateTime(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("is_goal_review", sa.Boolean(), nullable=False),
        sa.Column("goal_review_source", sa.String(length=16), nullable=True),
        sa.Column("private_invite", sa.Boolean(), nullable=False),
        sa.Column("block_hash", sa.String(length=64), nullable=True),
        sa.Column("block_body", sa.Text(), nullable=True),
        sa.Column("written_at", addon.models.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("series_id", "recurrence_id"),
    )
    with op.batch_alter_table("occurrences", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_occurrences_series_id"), ["series_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_occurrences_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "topics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("raised_for", addon.models.UtcDateTime(), nullable=False),
        sa.Column(
            "section",
            sa.Enum(
                "PERSONAL",
                "ROLE",
                "GROWTH",
                name="section",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_email", sa.String(length=320), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("discussed", sa.Boolean(), nullable=False),
        sa.Column("discussed_at", addon.models.UtcDateTime(), nullable=True),
        sa.Column("created_at", addon.models.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("topics", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_topics_series_id"), ["series_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_topics_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("source_occurrence_id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=1000), nullable=False),
        sa.Column("start", addon.models.UtcDateTime(), nullable=False),
        sa.Column("end", addon.models.UtcDateTime(), nullable=False),
        sa.Column("created_at", addon.models.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
        ),
        sa.ForeignKeyConstraint(
            ["source_occurrence_id"],
            ["occurrences.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_occurrence_id"),
    )
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_follow_ups_series_id"), ["series_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_follow_ups_tenant_id"), ["tenant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_ups_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_follow_ups_series_id"))

    op.drop_table("follow_ups")
    with op.batch_alter_table("topics", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_topics_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_topics_series_id"))

    op.drop_table("topics")
    with op.batch_alter_table("occurrences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_occurrences_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_occurrences_series_id"))

    op.drop_table("occurrences")
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notes_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_notes_series_id"))

    op.drop_table("notes")
    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_action_items_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_action_items_series_id"))

    op.drop_table("action_items")
    with op.batch_alter_table("series", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_series_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_series_is_one_on_one"))
        batch_op.drop_index(batch_op.f("ix_series_calendar_id"))

    op.drop_table("series")
    op.drop_index(op.f("ix_calendar_events_tenant_id"), table_name="calendar_events")
    op.drop_index(op.f("ix_calendar_events_calendar_id"), table_name="calendar_events")
    op.drop_table("calendar_events")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_people_tenant_id"))

    op.drop_table("people")
    with op.batch_alter_table("calendars", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendars_tenant_id"))

    op.drop_table("calendars")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_tenant_id"))

    op.drop_table("audit_log")
    op.drop_table("tenants")
