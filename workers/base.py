"""`tandem_task`: the one way Tandem declares a Celery task.

It sets late acknowledgement (a task lost with its worker runs again, so
every task must be safe to repeat) and rejects options Celery would
silently ignore when misspelt.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from addon import db
from addon.settings import get_settings
from workers.app import app

_ALLOWED = {
    "name",
    "max_retries",
    "default_retry_delay",
    "autoretry_for",
    "retry_backoff",
    "time_limit",
    "soft_time_limit",
    "rate_limit",
}


def tandem_task(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    unknown = set(options) - _ALLOWED
    if unknown:
        raise TypeError(
            f"unknown task option(s) {', '.join(sorted(unknown))}; allowed are "
            f"{', '.join(sorted(_ALLOWED))}"
        )
    return app.task(acks_late=True, **options)


@functools.cache
def _sessions(url: str) -> sessionmaker[Session]:
    return db.session_factory(db.make_engine(url))


def task_sessions() -> sessionmaker[Session]:
    """Return the session factory for the database in the settings.

    One engine per database URL serves every task the worker process runs,
    so tasks share its connection pool instead of opening their own.
    """
    return _sessions(get_settings().database_url)
