"""Busy times of a person from their own calendar, through another connection.

A 1:1 between a person on Google Workspace and a person on Microsoft 365 is
synced from the organizer's calendar, whose provider cannot see the other
person's free/busy. Google's freebusy.query returns `notFound` for an address
outside the domain, and Graph's getSchedule returns an error. When Tandem
also syncs that person's calendar, through a Google connection or a Microsoft
365 one in the same tenant, this module queries that calendar instead.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from addon import models
from addon.service import FreeBusyLookup
from addon.settings import Settings
from calendar_sync.errors import ProviderError
from calendar_sync.models import BusyInterval, normalise_email
from calendar_sync.providers.base import CalendarProvider

# The task modules import this one, so it uses their functions through the
# modules at call time and never imports names from them.
from workers import google_tasks, microsoft_tasks

log = logging.getLogger(__name__)


def other_calendars(
    session: Session, tenant: models.Tenant, settings: Settings, now: datetime
) -> FreeBusyLookup:
    """Return a lookup of busy times in the person's own synced calendar."""

    def lookup(email: str, start: datetime, end: datetime) -> list[BusyInterval] | None:
        address = normalise_email(email)
        for provider in _providers(session, tenant, settings, now, address):
            try:
                busy = provider.busy_intervals([address], start, end)
            except ProviderError as error:
                # A consent or network problem in one connection only loses
                # this person's free/busy; the sync itself goes on.
                log.info(
                    "free/busy from other calendar failed",
                    extra={"tenant": tenant.id, "error": type(error).__name__},
                )
                continue
            if address in busy:
                return busy[address]
        return None

    return lookup


def _providers(
    session: Session,
    tenant: models.Tenant,
    settings: Settings,
    now: datetime,
    address: str,
) -> list[CalendarProvider]:
    """Build a provider for each active connection that syncs `address`."""
    providers: list[CalendarProvider] = []
    google = session.execute(
        select(models.GoogleConnection)
        .join(
            models.GoogleCalendar,
            models.GoogleCalendar.connection_id == models.GoogleConnection.id,
        )
        .join(models.Calendar, models.Calendar.id == models.GoogleCalendar.calendar_id)
        .where(
            models.GoogleCalendar.tenant_id == tenant.id,
            models.Calendar.address == address,
            models.GoogleConnection.state == google_tasks.ACTIVE,
        )
    ).scalars()
    for connection in google:
        providers.append(google_tasks.provider_for(settings, connection, address, now))
    microsoft = session.execute(
        select(models.MicrosoftConnection)
        .join(
            models.MicrosoftMailbox,
            models.MicrosoftMailbox.connection_id == models.MicrosoftConnection.id,
        )
        .join(
            models.Calendar, models.Calendar.id == models.MicrosoftMailbox.calendar_id
        )
        .where(
            models.MicrosoftMailbox.tenant_id == tenant.id,
            models.Calendar.address == address,
            models.MicrosoftConnection.state == microsoft_tasks.ACTIVE,
        )
    ).scalars()
    for connection in microsoft:
        providers.append(
            microsoft_tasks.provider_for(settings, connection, address, now)
        )
    return providers
