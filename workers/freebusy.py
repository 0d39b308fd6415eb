"""Busy times of a person from their own calendar, through another connection.

A 1:1 between a person on Google Workspace and a person on Microsoft 365 is
synced from the organizer's calendar, whose provider cannot see the other
person's free/busy. Google's freebusy.query returns `notFound` for an address
outside the domain, and Graph's getSchedule returns an error. When Tandem
also syncs that person's calendar, through a Google connection or a Microsoft
365 one in the same tenant, this module queries that calendar instead.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import google.auth.exceptions
from sqlalchemy import select
from sqlalchemy.orm import Session

from addon import models
from addon.crypto import DecryptionError
from addon.service import FreeBusyLookup
from addon.settings import Settings
from calendar_sync.errors import ProviderError
from calendar_sync.models import BusyInterval, normalise_email
from calendar_sync.providers.base import CalendarProvider

# The task modules import this one, so it uses their functions through the
# modules at call time and never imports names from them.
from workers import google_tasks, microsoft_tasks

log = logging.getLogger(__name__)

#: Errors that reading another connection's calendar can raise. They are the
#: provider's own errors, an undecryptable or malformed stored secret
#: (DecryptionError, and ValueError for json's and msal's errors), a network
#: failure (OSError, the base of requests' errors) and google-auth's errors.
LOOKUP_ERRORS = (
    ProviderError,
    DecryptionError,
    ValueError,
    OSError,
    google.auth.exceptions.GoogleAuthError,
)


def other_calendars(
    session: Session, tenant: models.Tenant, settings: Settings, now: datetime
) -> FreeBusyLookup:
    """Return a lookup of busy times in the person's own synced calendar."""

    def lookup(email: str, start: datetime, end: datetime) -> list[BusyInterval] | None:
        address = normalise_email(email)
        for build in _builders(session, tenant, settings, now, address):
            try:
                busy = build().busy_intervals([address], start, end)
            except LOOKUP_ERRORS as error:
                # A broken connection only loses this person's free/busy, so
                # the sync of the organizer's calendar goes on.
                log.info(
                    "free/busy from other calendar failed",
                    extra={"tenant": tenant.id, "error": type(error).__name__},
                )
                continue
            if address in busy:
                return busy[address]
        return None

    return lookup


def _builders(
    session: Session,
    tenant: models.Tenant,
    settings: Settings,
    now: datetime,
    address: str,
) -> list[Callable[[], CalendarProvider]]:
    """Return a provider factory for each active connection that syncs `address`.

    The caller builds each provider inside its error handling, because
    building one decrypts the connection's secret, and that can fail too.
    """
    sources: list[tuple[Any, Any, Any]] = [
        (models.GoogleConnection, models.GoogleCalendar, google_tasks),
        (models.MicrosoftConnection, models.MicrosoftMailbox, microsoft_tasks),
    ]
    providers: list[Callable[[], CalendarProvider]] = []
    for connection_model, calendar_model, tasks in sources:
        connections = session.scalars(
            select(connection_model)
            .join(calendar_model, calendar_model.connection_id == connection_model.id)
            .join(models.Calendar, models.Calendar.id == calendar_model.calendar_id)
            .where(
                calendar_model.tenant_id == tenant.id,
                models.Calendar.address == address,
                connection_model.state == tasks.ACTIVE,
            )
        )
        providers.extend(
            functools.partial(tasks.provider_for, settings, connection, address, now)
            for connection in connections
        )
    return providers
