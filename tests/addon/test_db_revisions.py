"""`migrate` skips Alembic for a database at the newest revision, and only then."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from addon import db


def test_newest_revisions_match_alembic() -> None:
    heads = ScriptDirectory(str(db.MIGRATIONS)).get_heads()

    found = db.newest_revisions()

    assert found == frozenset(heads)


def test_current_revisions_of_empty_database(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")

    found = db.current_revisions(engine)

    assert found == frozenset()


def test_migrate_builds_new_database(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'new.sqlite3'}")

    db.migrate(engine)

    assert db.current_revisions(engine) == db.newest_revisions()
    assert "series" in inspect(engine).get_table_names()


def test_migrate_upgrades_older_revision(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    db.migrate(engine)
    command.downgrade(db.alembic_config(engine), "-1")
    older = db.current_revisions(engine)

    db.migrate(engine)

    assert older != db.newest_revisions()
    assert db.current_revisions(engine) == db.newest_revisions()
