"""Celery tasks of the email flow, and the beat entries that drive it.

Each task takes ids, re-reads its rows and returns early when the work is
done already, so a retried or duplicated task is harmless. Follow-on tasks
are sent only after the transaction that queued their rows has committed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from celery.schedules import crontab

from addon import db, models
from addon.mail.errors import TemporarySendError
from addon.mail.intake import process_inbound
from addon.mail.outbox import CLAIM_LEASE, deliver, pending_ids
from addon.mail.refresh import SyncTarget, refresh_calendar, sync_target
from addon.mail.reminders import queue_agenda_emails
from addon.mail.sending import open_transport
from addon.mail.store import pending_inbound
from addon.settings import get_settings
from workers.app import app
from workers.base import tandem_task, task_sessions

log = logging.getLogger(__name__)

#: Stored messages older than this and still pending were lost by a crash.
INBOUND_GRACE = timedelta(minutes=5)

app.conf.beat_schedule = {
    **(app.conf.beat_schedule or {}),
    "send-agenda-emails": {
        "task": "tandem.send_agenda_emails",
        "schedule": crontab(minute="*/5"),
    },
    "sweep-mail": {"task": "tandem.sweep_mail", "schedule": crontab(minute="*/10")},
}


@tandem_task(
    name="tandem.send_email",
    autoretry_for=(TemporarySendError,),
    retry_backoff=30,
    max_retries=5,
)
def send_email(outbound_id: int) -> str:
    """Send one queued email; temporary failures retry with exponential backoff."""
    settings = get_settings()
    with open_transport(settings, task_sessions()) as transport:
        status = deliver(
            task_sessions(),
            outbound_id,
            transport,
            settings.sender_address,
            datetime.now(UTC),
        )
    return str(status) if status else "skipped"


@tandem_task(name="tandem.process_inbound_email", max_retries=3)
def process_inbound_email(inbound_id: int) -> dict[str, object]:
    """Turn one stored message into topics, send the reply, refresh the invite."""
    settings = get_settings()
    result = process_inbound(task_sessions(), inbound_id, settings, datetime.now(UTC))
    for outbound_id in result.outbound_ids:
        send_email.delay(outbound_id)
    if result.topic_ids and result.calendar_id is not None:
        refresh_invites.delay(result.calendar_id)
    return {
        "inbound_id": inbound_id,
        "outcome": result.outcome,
        "topics": len(result.topic_ids),
    }


@tandem_task(name="tandem.refresh_invites", max_retries=3)
def refresh_invites(calendar_id: int) -> dict[str, object]:
    """Sync one calendar so its invites show the topics added by email.

    An iCalendar calendar is synced here. A Google or Microsoft 365 calendar
    gets its provider's normal sync task, queued like a change notification
    queues it, so a sync already waiting for that calendar absorbs this one.
    """
    with task_sessions()() as session:
        calendar = session.get(models.Calendar, calendar_id)
        target = sync_target(session, calendar) if calendar is not None else None
    if target is not None:
        return {"calendar_id": calendar_id, **_queue_provider_sync(target)}

    written = refresh_calendar(
        task_sessions(), get_settings(), calendar_id, datetime.now(UTC)
    )
    return {"calendar_id": calendar_id, "written": written}


def _queue_provider_sync(target: SyncTarget) -> dict[str, object]:
    if target.provider == "microsoft":
        queued = _queue_microsoft_sync(target.row_id)
    else:
        queued = _queue_google_sync(target.row_id)
    return {"queued": target.provider, "already_queued": not queued}


# The provider modules are imported on use, so the email worker loads each
# provider's client libraries only when it refreshes a calendar of that kind.


def _queue_microsoft_sync(mailbox_id: int) -> list[int]:
    from workers import microsoft_tasks

    with db.transaction(task_sessions()) as session:
        queued = microsoft_tasks.queue_sync(session, [mailbox_id])
    for queued_id in queued:
        microsoft_tasks.sync_mailbox.delay(queued_id)
    return queued


def _queue_google_sync(google_calendar_id: int) -> list[int]:
    from workers import google_tasks

    with db.transaction(task_sessions()) as session:
        queued = google_tasks.queue_sync(session, [google_calendar_id])
    google_tasks.send_syncs(queued)
    return queued


@tandem_task(name="tandem.send_agenda_emails", max_retries=0)
def send_agenda_emails() -> int:
    """Queue the agenda emails that are due and send each of them."""
    settings = get_settings()
    with db.transaction(task_sessions()) as session:
        queued = queue_agenda_emails(session, settings, datetime.now(UTC))
    for outbound_id in queued:
        send_email.delay(outbound_id)
    return len(queued)


@tandem_task(name="tandem.sweep_mail", max_retries=0)
def sweep_mail() -> dict[str, int]:
    """Pick up messages and emails that a crash left pending."""
    now = datetime.now(UTC)
    with task_sessions()() as session:
        outbound = pending_ids(session, now - CLAIM_LEASE)
        inbound = pending_inbound(session, now - INBOUND_GRACE)
    for outbound_id in outbound:
        send_email.delay(outbound_id)
    for inbound_id in inbound:
        process_inbound_email.delay(inbound_id)
    return {"outbound": len(outbound), "inbound": len(inbound)}
