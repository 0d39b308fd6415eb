"""`tandem_task`: the one way Tandem declares a Celery task.

It sets late acknowledgement (a task lost with its worker runs again, so
every task must be safe to repeat) and rejects options Celery would
silently ignore when misspelt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
