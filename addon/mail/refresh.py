"""Refresh the invite blocks of one calendar through the normal sync path.

An iCalendar calendar is synced here, as `tandem sync` would: from the
source file recorded by `remember_calendar_files`, written to the recorded
output file. A calendar whose address is itself a file path (the older way)
is read and rewritten in place. Google and Microsoft 365 calendars are not
synced here: `sync_target` names the provider's own sync task and its row,
which the worker queues.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from addon import db, models
from addon.mail.models import CalendarFiles
from addon.service import SyncService
from addon.settings import Settings
from calendar_sync.providers.ical import ICalendarProvider

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SyncTarget:
    """The row that a provider's sync task takes: a mailbox or a Google calendar."""

    provider: str  # "microsoft" or "google"
    row_id: int


def remember_calendar_files(
    session: Session, calendar: models.Calendar, source: Path, output: Path
) -> None:
    """Record where `tandem sync` read and wrote an iCalendar calendar.

    The paths are stored absolute, because a worker that refreshes the
    invites later may run in another directory.
    """
    files = session.get(CalendarFiles, calendar.id)
    if files is None:
        files = CalendarFiles(calendar_id=calendar.id)
        session.add(files)
    files.source_path = str(source.resolve())
    files.output_path = str(output.resolve())
    session.flush()


def sync_target(session: Session, calendar: models.Calendar) -> SyncTarget | None:
    """Return the provider sync that refreshes `calendar`, or None for other kinds."""
    if calendar.provider == "microsoft":
        row_id = session.scalar(
            select(models.MicrosoftMailbox.id).where(
                models.MicrosoftMailbox.calendar_id == calendar.id
            )
        )
    elif calendar.provider == "google":
        row_id = session.scalar(
            select(models.GoogleCalendar.id).where(
                models.GoogleCalendar.calendar_id == calendar.id
            )
        )
    else:
        return None
    return SyncTarget(calendar.provider, row_id) if row_id is not None else None


def refresh_calendar(
    factory: sessionmaker[Session], settings: Settings, calendar_id: int, now: datetime
) -> int | None:
    """Sync the iCalendar calendar `calendar_id` so its invites show new topics.

    Returns the number of invites written, or None when Tandem cannot reach
    the calendar from here (see the module docstring for what it can reach).
    """
    with db.transaction(factory) as session:
        calendar = session.get(models.Calendar, calendar_id)
        tenant = session.get(models.Tenant, calendar.tenant_id) if calendar else None
        if calendar is None or tenant is None:
            log.info(
                "calendar gone, nothing to refresh", extra={"calendar": calendar_id}
            )
            return None

        paths = _file_paths(session, calendar)
        if paths is None:
            log.info(
                "no file to refresh calendar from",
                extra={"calendar": calendar_id, "provider": calendar.provider},
            )
            return None
        source, output = paths
        provider = ICalendarProvider(source, default_timezone=settings.default_timezone)
        report = SyncService(session, tenant, settings, now).sync(provider, calendar)
        provider.save(output)
    log.info(
        "calendar refreshed", extra={"calendar": calendar_id, "written": report.written}
    )
    return report.written


def _file_paths(
    session: Session, calendar: models.Calendar
) -> tuple[Path, Path] | None:
    """Return the source and output file of an iCalendar calendar, if readable."""
    if calendar.provider != "ics":
        return None

    files = session.get(CalendarFiles, calendar.id)
    if files is not None:
        source, output = Path(files.source_path), Path(files.output_path)
    else:
        source = output = Path(calendar.address)
    if not source.is_file():
        log.info("calendar source file missing", extra={"calendar": calendar.id})
        return None
    return source, output
