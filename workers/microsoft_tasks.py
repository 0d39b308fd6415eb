"""Celery tasks of the Microsoft 365 flow, and the beat entries that drive it.

`sync_mailbox` syncs one mailbox; change notifications queue it, and with no
TANDEM_MS_NOTIFICATION_URL the beat entry `poll-microsoft-mailboxes` queues
it for every mailbox instead. `renew_microsoft_subscriptions` creates missing
subscriptions and renews those near their expiry. A refused token marks the
connection "needs-consent" and stops its work until someone consents again,
so a revoked grant causes no retry loop.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from celery.schedules import crontab
from sqlalchemy import select
from sqlalchemy.orm import Session

from addon import db, event_store, models
from addon.crypto import Cipher
from addon.service import SyncService, get_or_create_calendar
from addon.settings import Settings, get_settings
from calendar_sync.errors import NotFoundError, ProviderError
from calendar_sync.providers.microsoft import subscriptions
from calendar_sync.providers.microsoft.auth import (
    EncryptedTokenBackend,
    MicrosoftConfig,
    UserTokens,
)
from calendar_sync.providers.microsoft.errors import ConsentRequiredError
from calendar_sync.providers.microsoft.provider import (
    GraphProvider,
    StoredCopy,
    tenant_provider,
    user_provider,
)
from workers import freebusy
from workers.app import app
from workers.base import tandem_task, task_sessions

log = logging.getLogger(__name__)

ACTIVE = "active"
NEEDS_CONSENT = "needs-consent"


def _beat_schedule(settings: Settings) -> dict[str, dict[str, object]]:
    entries: dict[str, dict[str, object]] = {
        "renew-microsoft-subscriptions": {
            "task": "tandem.renew_microsoft_subscriptions",
            "schedule": crontab(minute="17"),
        }
    }
    if not settings.ms_notification_url:
        entries["poll-microsoft-mailboxes"] = {
            "task": "tandem.poll_microsoft_mailboxes",
            "schedule": timedelta(minutes=settings.ms_poll_minutes),
        }
    return entries


app.conf.beat_schedule = {
    **(app.conf.beat_schedule or {}),
    **_beat_schedule(get_settings()),
}


def microsoft_config(settings: Settings) -> MicrosoftConfig:
    """Return the Microsoft settings as the provider package takes them."""
    return MicrosoftConfig(
        client_id=settings.ms_client_id,
        client_secret=settings.ms_client_secret,
        authority_host=settings.ms_authority_host,
        graph_url=settings.ms_graph_url,
        ca_bundle=settings.ms_ca_bundle,
        redirect_uri=settings.ms_redirect_uri,
        admin_consent_redirect_uri=settings.ms_admin_consent_redirect_uri,
        timeout=settings.ms_timeout,
        max_retry_wait=settings.ms_max_retry_wait,
    )


def provider_for(
    settings: Settings,
    connection: models.MicrosoftConnection,
    address: str,
    now: datetime,
    stored: StoredCopy | None = None,
) -> GraphProvider:
    """Build the provider of one mailbox from its connection row.

    A person's token cache is written back to the row whenever msal refreshed
    it, encrypted. With `stored`, the mailbox's stored copy, a listing of
    Tandem's own writes costs no further reads.
    """
    config = microsoft_config(settings)
    options = {
        "ahead": timedelta(days=settings.horizon_days),
        "now": lambda: now,
        "stored": stored,
    }
    if connection.kind == "tenant":
        return tenant_provider(config, connection.directory_id, address, **options)

    def store(encrypted: str) -> None:
        connection.token_cache = encrypted

    cache = EncryptedTokenBackend(
        Cipher.from_settings(settings), connection.token_cache, store
    )
    tokens = UserTokens(config, connection.directory_id, cache)
    return user_provider(config, tokens, connection.directory_id, address, **options)


def mark_needs_consent(
    session: Session, connection_id: int, error: ConsentRequiredError
) -> None:
    """Record that the grant behind a connection was refused (visible in the API)."""
    connection = session.get(models.MicrosoftConnection, connection_id)
    if connection is None:
        return
    connection.state = NEEDS_CONSENT
    connection.last_error = str(error)
    log.warning(
        "microsoft connection needs consent",
        extra={"connection": connection_id, "error": error.error, "code": error.aadsts},
    )


def queue_sync(session: Session, mailbox_ids: list[int]) -> list[int]:
    """Flag mailboxes for a sync; return those not already queued.

    The caller sends `sync_mailbox` for the returned ids after committing, so
    a burst of notifications for one mailbox queues one sync.
    """
    queued = []
    for mailbox_id in mailbox_ids:
        mailbox = session.get(models.MicrosoftMailbox, mailbox_id)
        if mailbox is not None and not mailbox.sync_queued:
            mailbox.sync_queued = True
            queued.append(mailbox_id)
    return queued


@tandem_task(name="tandem.sync_microsoft_mailbox", max_retries=3)
def sync_mailbox(mailbox_id: int, now: str | None = None) -> dict[str, object]:
    """Sync one Microsoft 365 mailbox: changes, agendas and follow-ups.

    `now` is an ISO 8601 time with an offset that the sync takes as the
    current time (which occurrence is next, which goal reviews are due); it
    defaults to the clock.
    """
    settings = get_settings()
    moment = _parse_now(now)
    with db.transaction(task_sessions()) as session:
        mailbox = session.get(models.MicrosoftMailbox, mailbox_id)
        if mailbox is None:
            return {"mailbox_id": mailbox_id, "skipped": "mailbox not found"}
        mailbox.sync_queued = False
        connection_id = mailbox.connection_id
    try:
        return _sync(settings, mailbox_id, moment)
    except ConsentRequiredError as error:
        with db.transaction(task_sessions()) as session:
            mark_needs_consent(session, connection_id, error)
        return {"mailbox_id": mailbox_id, "skipped": NEEDS_CONSENT}


def _parse_now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(
            f"The sync time {text!r} has no UTC offset; pass it as ISO 8601 with "
            "an offset, such as 2027-03-01T08:00:00+00:00."
        )
    return moment


def _sync(settings: Settings, mailbox_id: int, now: datetime) -> dict[str, object]:
    with db.transaction(task_sessions()) as session:
        mailbox = session.get(models.MicrosoftMailbox, mailbox_id)
        connection = session.get(models.MicrosoftConnection, mailbox.connection_id)  # type: ignore[union-attr]
        calendar = session.get(models.Calendar, mailbox.calendar_id)  # type: ignore[union-attr]
        tenant = session.get(models.Tenant, mailbox.tenant_id)  # type: ignore[union-attr]
        if connection is None or calendar is None or tenant is None:
            return {"mailbox_id": mailbox_id, "skipped": "rows not found"}
        if connection.state != ACTIVE:
            return {"mailbox_id": mailbox_id, "skipped": connection.state}
        stored = event_store.StoredEvents(session, calendar)
        provider = provider_for(settings, connection, calendar.address, now, stored)
        free_busy = freebusy.other_calendars(session, tenant, settings, now)
        report = SyncService(session, tenant, settings, now, free_busy).sync(
            provider, calendar
        )
        requests_sent = provider.client.requests_sent
    log.info(
        "synced microsoft mailbox",
        extra={"mailbox": mailbox_id, "requests": requests_sent},
    )
    return {"mailbox_id": mailbox_id, "requests": requests_sent, **report.to_dict()}


@tandem_task(name="tandem.poll_microsoft_mailboxes", max_retries=0)
def poll_mailboxes() -> int:
    """Queue a sync of every mailbox of an active connection."""
    with db.transaction(task_sessions()) as session:
        ids = list(
            session.scalars(
                select(models.MicrosoftMailbox.id)
                .join(models.MicrosoftConnection)
                .where(models.MicrosoftConnection.state == ACTIVE)
            )
        )
        queued = queue_sync(session, ids)
    for mailbox_id in queued:
        sync_mailbox.delay(mailbox_id)
    return len(queued)


@tandem_task(name="tandem.discover_microsoft_mailboxes", max_retries=3)
def discover_mailboxes(connection_id: int) -> int:
    """Add every mailbox of a consented tenant (within the tenant's domains)."""
    settings = get_settings()
    with db.transaction(task_sessions()) as session:
        connection = session.get(models.MicrosoftConnection, connection_id)
        if connection is None or connection.state != ACTIVE:
            return 0
        try:
            addresses = _tenant_addresses(settings, connection)
        except ConsentRequiredError as error:
            mark_needs_consent(session, connection_id, error)
            return 0
        tenant = session.get(models.Tenant, connection.tenant_id)
        domains = set(tenant.domains) if tenant else set()
        ids = [
            add_mailbox(session, connection, address)
            for address in addresses
            if not domains or address.rpartition("@")[2] in domains
        ]
        queued = queue_sync(session, ids)
    for mailbox_id in ids:
        ensure_subscription.delay(mailbox_id)
    for mailbox_id in queued:
        sync_mailbox.delay(mailbox_id)
    return len(ids)


def _tenant_addresses(
    settings: Settings, connection: models.MicrosoftConnection
) -> list[str]:
    provider = tenant_provider(
        microsoft_config(settings), connection.directory_id, connection.directory_id
    )
    addresses = []
    for page in provider.client.pages("/users", params={"$select": "id,mail"}):
        addresses.extend(
            str(user["mail"]).lower()
            for user in page.get("value", [])
            if user.get("mail")
        )
    return addresses


def add_mailbox(
    session: Session, connection: models.MicrosoftConnection, address: str
) -> int:
    """Return the id of the mailbox row of `address`, creating it and its calendar."""
    tenant = session.get(models.Tenant, connection.tenant_id)
    calendar = get_or_create_calendar(session, tenant, "microsoft", address)  # type: ignore[arg-type]
    mailbox = session.scalar(
        select(models.MicrosoftMailbox).where(
            models.MicrosoftMailbox.calendar_id == calendar.id
        )
    )
    if mailbox is None:
        mailbox = models.MicrosoftMailbox(
            tenant_id=connection.tenant_id,
            connection_id=connection.id,
            calendar_id=calendar.id,
        )
        session.add(mailbox)
        session.flush()
    return mailbox.id


@tandem_task(name="tandem.renew_microsoft_subscriptions", max_retries=0)
def renew_subscriptions() -> int:
    """Create missing subscriptions and renew those close to their expiry."""
    settings = get_settings()
    if not settings.ms_notification_url:
        return 0
    with task_sessions()() as session:
        ids = list(session.scalars(select(models.MicrosoftMailbox.id)))
    for mailbox_id in ids:
        ensure_subscription.delay(mailbox_id)
    return len(ids)


@tandem_task(name="tandem.ensure_microsoft_subscription", max_retries=3)
def ensure_subscription(
    mailbox_id: int, replace: bool = False, renew: bool = False
) -> str:
    """Subscribe a mailbox, or renew its subscription when it expires soon.

    `replace` subscribes again even when a subscription is stored, and
    `renew` renews one however far its expiry is, which Graph accepts as the
    response to a reauthorizationRequired lifecycle notification.
    """
    settings = get_settings()
    now = datetime.now(UTC)
    cipher = Cipher.from_settings(settings)
    with db.transaction(task_sessions()) as session:
        mailbox = session.get(models.MicrosoftMailbox, mailbox_id)
        if mailbox is None or not settings.ms_notification_url:
            return "skipped"
        connection = session.get(models.MicrosoftConnection, mailbox.connection_id)
        calendar = session.get(models.Calendar, mailbox.calendar_id)
        if connection is None or calendar is None or connection.state != ACTIVE:
            return "skipped"
        client = provider_for(settings, connection, calendar.address, now).client
        try:
            return _subscribe(settings, cipher, client, mailbox, now, replace, renew)
        except ConsentRequiredError as error:
            mark_needs_consent(session, connection.id, error)
            return NEEDS_CONSENT


def _subscribe(
    settings: Settings,
    cipher: Cipher,
    client: object,
    mailbox: models.MicrosoftMailbox,
    now: datetime,
    replace: bool,
    renew: bool = False,
) -> str:
    if mailbox.subscription_id and not replace:
        expires_at = mailbox.subscription_expires_at
        if not renew and not subscriptions.needs_renewal(expires_at, now):
            return "current"
        try:
            mailbox.subscription_expires_at = subscriptions.renew(
                client,
                mailbox.subscription_id,
                now,  # type: ignore[arg-type]
            )
            return "renewed"
        except (NotFoundError, ProviderError) as error:
            log.info(
                "renewal failed, subscribing again",
                extra={"mailbox": mailbox.id, "error": type(error).__name__},
            )
    state = subscriptions.new_client_state()
    base = settings.ms_notification_url.rstrip("/")
    created = subscriptions.create(
        client,  # type: ignore[arg-type]
        base,
        base.removesuffix("/notifications") + "/lifecycle",
        state,
        now,
    )
    mailbox.subscription_id = created.id
    mailbox.client_state = cipher.encrypt(state)
    mailbox.subscription_expires_at = created.expires_at
    return "created"
