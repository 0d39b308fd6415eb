"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from addon import db
from addon.models import Base


def test_migrations_match_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)

        differences = compare_metadata(context, Base.metadata)

    assert differences == []


def test_migrate_twice_is_harmless(engine: Engine) -> None:
    db.migrate(engine)

    tables = set(inspect(engine).get_table_names())

    assert {
        "tenants",
        "series",
        "occurrences",
        "topics",
        "notes",
        "alembic_version",
    } <= tables
