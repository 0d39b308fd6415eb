"""Celery tasks of the Google Workspace flow, and the beat entries that drive it.

`sync_google_calendar` syncs one calendar; push notifications queue it, and
with no TANDEM_GOOGLE_PUSH_URL the beat entry `poll-google-calendars` queues
it for every calendar instead. `renew_google_channels` opens missing watch
channels and replaces those close to expiry. `enable_google_domain` reads a
delegated domain's people from the Directory and adds their calendars.

A refused token marks the connection "needs-consent" and stops its work until
the person connects again, so a revoked grant causes no retry loop. Work for
one calendar is serialised by a row lock on its `google_calendars` row
(PostgreSQL; SQLite serialises every write anyway).
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from celery.schedules import crontab
from sqlalchemy import select
from sqlalchemy.orm import Session

from addon import db, models
from addon.crypto import Cipher
from addon.service import REVIEW_LOOKBACK, SyncService, get_or_create_calendar
from addon.settings import Settings, get_settings
from calendar_sync.providers.google import auth, directory, push
from calendar_sync.providers.google.client import GoogleClient, GoogleConfig
from calendar_sync.providers.google.errors import (
    ConsentRequiredError,
    RateLimitedError,
)
from calendar_sync.providers.google.provider import GoogleCalendarProvider
from workers import freebusy
from workers.app import app
from workers.base import tandem_task, task_sessions

log = logging.getLogger(__name__)

ACTIVE = "active"
NEEDS_CONSENT = "needs-consent"


def _beat_schedule(settings: Settings) -> dict[str, dict[str, object]]:
    entries: dict[str, dict[str, object]] = {
        "renew-google-channels": {
            "task": "tandem.renew_google_channels",
            "schedule": crontab(minute="23"),
        }
    }
    if not settings.google_push_url:
        entries["poll-google-calendars"] = {
            "task": "tandem.poll_google_calendars",
            "schedule": timedelta(minutes=settings.google_poll_minutes),
        }
    return entries


app.conf.beat_schedule = {
    **(app.conf.beat_schedule or {}),
    **_beat_schedule(get_settings()),
}


# -- connections ------------------------------------------------------------


def credentials_for(
    settings: Settings, connection: models.GoogleConnection, address: str
) -> Any:
    """Return the credentials that act as `address` through `connection`."""
    config = GoogleConfig.from_settings(settings)
    secret = Cipher.from_settings(settings).decrypt(connection.secret or "")
    if connection.kind == "domain":
        return auth.delegated_credentials(config, json.loads(secret), address)
    return auth.user_credentials(config, secret)


def provider_for(
    settings: Settings,
    connection: models.GoogleConnection,
    address: str,
    now: datetime,
) -> GoogleCalendarProvider:
    """Build the provider of one person's primary calendar from its connection."""
    config = GoogleConfig.from_settings(settings)
    client = GoogleClient(
        config, credentials_for(settings, connection, address), address
    )
    return GoogleCalendarProvider(
        client,
        default_timezone=settings.default_timezone,
        lookback=REVIEW_LOOKBACK,
        now=lambda: now,
        meet_links=settings.google_meet_links,
    )


def mark_needs_consent(
    session: Session, connection_id: int, error: ConsentRequiredError
) -> None:
    """Record that Google refused the grant behind a connection (shown in the API)."""
    connection = session.get(models.GoogleConnection, connection_id)
    if connection is None:
        return
    connection.state = NEEDS_CONSENT
    connection.last_error = str(error)
    log.warning(
        "google connection needs consent",
        extra={"connection": connection_id, "error": error.error},
    )


def connect_domain(
    session: Session,
    settings: Settings,
    tenant: models.Tenant,
    key_info: dict[str, Any],
    admin_email: str,
    domain: str,
) -> int:
    """Store a domain's delegation with its key encrypted; return the row's id."""
    connection = session.scalar(
        select(models.GoogleConnection).where(
            models.GoogleConnection.tenant_id == tenant.id,
            models.GoogleConnection.kind == "domain",
            models.GoogleConnection.domain == domain,
        )
    )
    if connection is None:
        connection = models.GoogleConnection(
            tenant_id=tenant.id, kind="domain", domain=domain
        )
        session.add(connection)
    connection.email = admin_email
    connection.secret = Cipher.from_settings(settings).encrypt(json.dumps(key_info))
    connection.state = ACTIVE
    connection.last_error = ""
    session.flush()
    return connection.id


def add_calendar(
    session: Session, connection: models.GoogleConnection, address: str
) -> int:
    """Return the id of the google_calendars row of `address`, creating it."""
    tenant = session.get(models.Tenant, connection.tenant_id)
    if tenant is None:  # not reached: the foreign key guarantees the tenant
        raise LookupError(f"connection {connection.id} has no tenant")
    calendar = get_or_create_calendar(session, tenant, "google", address)
    row = session.scalar(
        select(models.GoogleCalendar).where(
            models.GoogleCalendar.calendar_id == calendar.id
        )
    )
    if row is None:
        row = models.GoogleCalendar(
            tenant_id=connection.tenant_id,
            connection_id=connection.id,
            calendar_id=calendar.id,
        )
        session.add(row)
    row.connection_id = connection.id
    session.flush()
    return row.id


def queue_sync(session: Session, ids: list[int]) -> list[int]:
    """Flag calendars for a sync; return those not already queued.

    The caller sends `sync_google_calendar` for the returned ids after
    committing, so a burst of notifications for one calendar queues one sync.
    """
    queued = []
    for google_calendar_id in ids:
        row = session.get(models.GoogleCalendar, google_calendar_id)
        if row is not None and not row.sync_queued:
            row.sync_queued = True
            queued.append(google_calendar_id)
    return queued


def send_syncs(ids: list[int]) -> None:
    for google_calendar_id in ids:
        sync_google_calendar.delay(google_calendar_id)


# -- sync -------------------------------------------------------------------


@tandem_task(
    name="tandem.sync_google_calendar",
    autoretry_for=(RateLimitedError,),
    retry_backoff=60,
    max_retries=5,
)
def sync_google_calendar(
    google_calendar_id: int, now: str | None = None
) -> dict[str, object]:
    """Sync one Google calendar: changes, agendas and follow-ups.

    `now` is an ISO 8601 time with a UTC offset that the sync takes as the
    current time (which occurrence is next, which goal reviews are due); it
    defaults to the clock.
    """
    settings = get_settings()
    moment = parse_now(now)
    with db.transaction(task_sessions()) as session:
        row = session.get(models.GoogleCalendar, google_calendar_id)
        if row is None:
            return {"google_calendar_id": google_calendar_id, "skipped": "not found"}
        row.sync_queued = False
        connection_id = row.connection_id
    try:
        return _sync(settings, google_calendar_id, moment)
    except ConsentRequiredError as error:
        with db.transaction(task_sessions()) as session:
            mark_needs_consent(session, connection_id, error)
        return {"google_calendar_id": google_calendar_id, "skipped": NEEDS_CONSENT}


def parse_now(text: str | None) -> datetime:
    """Parse a sync's `now` argument; None means the clock."""
    if text is None:
        return datetime.now(UTC)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(
            f"The sync time {text!r} has no UTC offset; pass ISO 8601 with an "
            "offset, such as 2027-03-01T08:00:00+00:00."
        )
    return moment


def _sync(
    settings: Settings, google_calendar_id: int, now: datetime
) -> dict[str, object]:
    with db.transaction(task_sessions()) as session:
        row = session.scalar(
            select(models.GoogleCalendar)
            .where(models.GoogleCalendar.id == google_calendar_id)
            .with_for_update()
        )
        connection = session.get(models.GoogleConnection, row.connection_id)  # type: ignore[union-attr]
        calendar = session.get(models.Calendar, row.calendar_id)  # type: ignore[union-attr]
        tenant = session.get(models.Tenant, row.tenant_id)  # type: ignore[union-attr]
        if connection is None or calendar is None or tenant is None:
            return {"google_calendar_id": google_calendar_id, "skipped": "rows gone"}
        if connection.state != ACTIVE:
            return {
                "google_calendar_id": google_calendar_id,
                "skipped": connection.state,
            }
        provider = provider_for(settings, connection, calendar.address, now)
        free_busy = freebusy.other_calendars(session, tenant, settings, now)
        report = SyncService(session, tenant, settings, now, free_busy).sync(
            provider, calendar
        )
        requests_sent = provider.client.requests
    log.info(
        "synced google calendar",
        extra={"google_calendar": google_calendar_id, "requests": requests_sent},
    )
    return {
        "google_calendar_id": google_calendar_id,
        "requests": requests_sent,
        **report.to_dict(),
    }


@tandem_task(name="tandem.poll_google_calendars", max_retries=0)
def poll_google_calendars() -> int:
    """Queue a sync of every calendar of an active connection."""
    with db.transaction(task_sessions()) as session:
        ids = list(
            session.scalars(
                select(models.GoogleCalendar.id)
                .join(models.GoogleConnection)
                .where(models.GoogleConnection.state == ACTIVE)
            )
        )
        queued = queue_sync(session, ids)
    send_syncs(queued)
    return len(queued)


# -- domain -----------------------------------------------------------------


@tandem_task(name="tandem.enable_google_domain", max_retries=3)
def enable_google_domain(connection_id: int) -> int:
    """Add the calendar of every active person of a delegated domain.

    People come from the Directory with their managers; only addresses in
    the tenant's domains (any, when it names none) are added.
    """
    settings = get_settings()
    with db.transaction(task_sessions()) as session:
        connection = session.get(models.GoogleConnection, connection_id)
        if connection is None or connection.state != ACTIVE:
            return 0
        try:
            users = _directory_users(settings, connection)
        except ConsentRequiredError as error:
            mark_needs_consent(session, connection_id, error)
            return 0
        ids = _add_people(session, connection, users)
        queued = queue_sync(session, ids)
    for google_calendar_id in ids:
        ensure_google_channel.delay(google_calendar_id)
    send_syncs(queued)
    return len(ids)


def _directory_users(
    settings: Settings, connection: models.GoogleConnection
) -> list[directory.DirectoryUser]:
    config = GoogleConfig.from_settings(settings)
    secret = Cipher.from_settings(settings).decrypt(connection.secret or "")
    credentials = auth.delegated_credentials(
        config, json.loads(secret), connection.email, (auth.DIRECTORY_SCOPE,)
    )
    client = GoogleClient(config, credentials, connection.email)
    return directory.list_users(client, connection.domain)


def _add_people(
    session: Session,
    connection: models.GoogleConnection,
    users: list[directory.DirectoryUser],
) -> list[int]:
    tenant = session.get(models.Tenant, connection.tenant_id)
    domains = set(tenant.domains) if tenant else set()
    ids = []
    for user in users:
        if user.suspended or (domains and user.email.rpartition("@")[2] not in domains):
            continue
        _store_person(session, connection.tenant_id, user)
        ids.append(add_calendar(session, connection, user.email))
    return ids


def _store_person(
    session: Session, tenant_id: int, user: directory.DirectoryUser
) -> None:
    person = session.scalar(
        select(models.Person).where(
            models.Person.tenant_id == tenant_id, models.Person.email == user.email
        )
    )
    if person is None:
        person = models.Person(tenant_id=tenant_id, email=user.email)
        session.add(person)
    person.name = person.name or user.name
    person.manager_email = user.manager_email or person.manager_email


# -- push -------------------------------------------------------------------


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@tandem_task(name="tandem.renew_google_channels", max_retries=0)
def renew_google_channels() -> int:
    """Open missing channels and replace those close to expiry, for every calendar."""
    if not get_settings().google_push_url:
        return 0
    with task_sessions()() as session:
        ids = list(session.scalars(select(models.GoogleCalendar.id)))
    for google_calendar_id in ids:
        ensure_google_channel.delay(google_calendar_id)
    return len(ids)


@tandem_task(name="tandem.ensure_google_channel", max_retries=3)
def ensure_google_channel(google_calendar_id: int) -> str:
    """Keep one live channel on a calendar; stop them all when it is switched off."""
    settings = get_settings()
    now = datetime.now(UTC)
    with db.transaction(task_sessions()) as session:
        row = session.get(models.GoogleCalendar, google_calendar_id)
        if row is None or not settings.google_push_url:
            return "skipped"
        connection = session.get(models.GoogleConnection, row.connection_id)
        calendar = session.get(models.Calendar, row.calendar_id)
        if connection is None or calendar is None or connection.state != ACTIVE:
            return "skipped"
        client = provider_for(settings, connection, calendar.address, now).client
        try:
            if _switched_off(session, calendar):
                return _stop_all(session, client, row)
            return _renew(session, settings, client, row, now)
        except ConsentRequiredError as error:
            mark_needs_consent(session, connection.id, error)
            return NEEDS_CONSENT


def _channels(
    session: Session, row: models.GoogleCalendar
) -> list[models.GoogleWatchChannel]:
    return list(
        session.scalars(
            select(models.GoogleWatchChannel).where(
                models.GoogleWatchChannel.google_calendar_id == row.id
            )
        )
    )


def _renew(
    session: Session,
    settings: Settings,
    client: GoogleClient,
    row: models.GoogleCalendar,
    now: datetime,
) -> str:
    margin = timedelta(hours=settings.google_channel_renew_hours)
    current = _channels(session, row)
    if any(not push.needs_renewal(c.expires_at, now, margin) for c in current):
        return "current"

    lifetime = timedelta(hours=settings.google_channel_hours)
    channel = push.open_channel(client, settings.google_push_url, lifetime, now)
    session.add(
        models.GoogleWatchChannel(
            tenant_id=row.tenant_id,
            google_calendar_id=row.id,
            channel_id=channel.id,
            resource_id=channel.resource_id,
            token_sha256=token_digest(channel.token),
            expires_at=channel.expires_at,
        )
    )
    # The new channel is open, so stopping the old ones loses no change.
    for old in current:
        push.stop_channel(client, old.channel_id, old.resource_id)
        session.delete(old)
    return "renewed" if current else "created"


def _stop_all(
    session: Session, client: GoogleClient, row: models.GoogleCalendar
) -> str:
    channels = _channels(session, row)
    for channel in channels:
        push.stop_channel(client, channel.channel_id, channel.resource_id)
        session.delete(channel)
    return "stopped" if channels else "none"


def _switched_off(session: Session, calendar: models.Calendar) -> bool:
    """Return whether the calendar's tenant is off or its owner opted out."""
    tenant = session.get(models.Tenant, calendar.tenant_id)
    if tenant is None or not tenant.enabled:
        return True
    person = session.scalar(
        select(models.Person).where(
            models.Person.tenant_id == calendar.tenant_id,
            models.Person.email == calendar.address,
        )
    )
    return person is not None and person.opted_out
