"""Database engine, sessions and migrations.

The schema is owned by the Alembic migrations in `addon/migrations`; `migrate`
brings any database to the newest revision and is safe to call on every start.
A database already at the newest revision costs one query and no Alembic import,
which takes a few tenths of a second.
"""

from __future__ import annotations

import ast
import functools
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")

# The revision assignments of a migration file, as Alembic's script template
# (`migrations/script.py.mako`) writes them.
_REVISION_LINE = re.compile(
    r"^(revision|down_revision)\s*(?::[^=]+)?=\s*(.+)$", re.MULTILINE
)


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets foreign keys on and a busy timeout."""
    if url.startswith("postgresql://"):
        # psycopg 3 is the driver Tandem installs; SQLAlchemy's default is psycopg2.
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)

    engine = create_engine(url, connect_args={"timeout": 30})
    event.listen(engine, "connect", _configure_sqlite)
    return engine


def _configure_sqlite(connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Upgrade the database behind `engine` to the newest schema revision."""
    if current_revisions(engine) == newest_revisions():
        return
    from alembic import command

    command.upgrade(alembic_config(engine), "head")


def current_revisions(engine: Engine) -> frozenset[str]:
    """Return the revisions in the database's alembic_version table, if any."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return frozenset()
        rows = connection.execute(text("SELECT version_num FROM alembic_version"))
        return frozenset(row[0] for row in rows)


@functools.cache
def newest_revisions() -> frozenset[str]:
    """Return the head revisions of `migrations/versions`, read from the files' text.

    A head is a revision that no other migration names as its down_revision.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for name, value in _REVISION_LINE.findall(path.read_text()):
            found = ast.literal_eval(value.strip())
            if name == "revision":
                revisions.add(found)
            elif isinstance(found, str):
                parents.add(found)
            elif found is not None:
                parents.update(found)
    return frozenset(revisions - parents)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Yield a session whose work is committed at the end, or rolled back on error."""
    with factory() as session, session.begin():
        yield session
