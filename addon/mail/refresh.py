"""Refresh the invite blocks of one calendar through the normal sync path."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from addon import db, models
from addon.service import SyncService
from addon.settings import Settings
from calendar_sync.providers.ical import ICalendarProvider

log = logging.getLogger(__name__)


def refresh_calendar(
    factory: sessionmaker[Session], settings: Settings, calendar_id: int, now: datetime
) -> int | None:
    """Sync calendar `calendar_id` so its invites show new topics.

    Returns the number of invites written, or None when Tandem cannot reach
    the calendar from here. An iCalendar calendar is reachable when its
    address is the path of its file, which is then rewritten in place.
    """
    with db.transaction(factory) as session:
        calendar = session.get(models.Calendar, calendar_id)
        if calendar is None:
            log.info(
                "calendar gone, nothing to refresh", extra={"calendar": calendar_id}
            )
            return None
        provider = _provider(calendar, settings)
        if provider is None:
            log.info(
                "no provider to refresh calendar",
                extra={"calendar": calendar_id, "provider": calendar.provider},
            )
            return None

        tenant = session.get(models.Tenant, calendar.tenant_id)
        if tenant is None:
            return None
        report = SyncService(session, tenant, settings, now).sync(provider, calendar)
        provider.save()
    log.info(
        "calendar refreshed", extra={"calendar": calendar_id, "written": report.written}
    )
    return report.written


def _provider(
    calendar: models.Calendar, settings: Settings
) -> ICalendarProvider | None:
    # TODO: Google and Microsoft 365 calendars need their provider clients
    # here once those exist; until then their invites refresh on the next
    # scheduled sync.
    if calendar.provider != "ics" or not Path(calendar.address).is_file():
        return None
    return ICalendarProvider(
        calendar.address, default_timezone=settings.default_timezone
    )
