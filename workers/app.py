"""The Celery application.

With `CELERY_BROKER_URL` set, tasks go to that broker and run on `tandem
worker`. Without it, tasks run in the calling process (Celery's eager mode),
so the command line and tests work with no broker at all.
"""

from __future__ import annotations

from celery import Celery

from addon.settings import get_settings


def create_celery() -> Celery:
    settings = get_settings()
    app = Celery(
        "tandem",
        include=[
            "workers.tasks",
            "workers.mail_tasks",
            "workers.microsoft_tasks",
            "workers.google_tasks",
        ],
    )
    app.conf.update(
        broker_url=settings.broker_url or "memory://",
        result_backend=settings.broker_url or None,
        task_always_eager=not settings.broker_url,
        task_default_queue=settings.celery_queue,
        task_eager_propagates=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        broker_connection_retry_on_startup=True,
    )
    return app


app = create_celery()
