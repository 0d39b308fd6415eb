"""Celery tasks. Each is thin: it takes ids, re-reads its rows and calls into addon."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from addon import db
from addon.models import Calendar, Tenant
from addon.service import SyncService
from addon.settings import get_settings
from calendar_sync.providers.ical import ICalendarProvider
from workers.base import tandem_task, task_sessions

log = logging.getLogger(__name__)


@tandem_task(name="tandem.sync_ics_calendar", max_retries=3)
def sync_ics_calendar(calendar_id: int, source: str, target: str) -> dict[str, object]:
    """Sync the iCalendar file `source` as calendar `calendar_id`, writing `target`."""
    settings = get_settings()
    with db.transaction(task_sessions()) as session:
        calendar = session.get(Calendar, calendar_id)
        if calendar is None:
            log.info("calendar gone, nothing to sync", extra={"calendar": calendar_id})
            return {"calendar_id": calendar_id, "skipped": "calendar not found"}
        tenant = session.get(Tenant, calendar.tenant_id)
        if tenant is None:  # not reached: the foreign key guarantees the tenant
            raise LookupError(f"calendar {calendar_id} has no tenant")
        provider = ICalendarProvider(
            Path(source), default_timezone=settings.default_timezone
        )
        report = SyncService(session, tenant, settings, datetime.now(UTC)).sync(
            provider, calendar
        )
        provider.save(Path(target))
    return {"calendar_id": calendar_id, **report.to_dict()}
