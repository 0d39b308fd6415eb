"""Pick who gets which agenda email when, and queue those emails.

An agenda email is due `lead` hours before its 1:1, or, with a lead of 0
(the default), at the start of working hours on the working day before, in
the series' time zone. The beat run calls `queue_agenda_emails` every few
minutes. Each email has a unique `dedupe_key` (one per person per
occurrence), so repeated and overlapping runs queue nothing twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from addon import models
from addon.agendas import build_agenda, locale_for
from addon.mail import tokens
from addon.mail.compose import Envelope, compose, message_id_for, series_thread_id
from addon.mail.outbox import queue_email
from addon.models import OutboundEmail, TenantEmailSettings
from addon.settings import Settings
from mail_templates.email import RenderedEmail, render_agenda_email, with_locale

log = logging.getLogger(__name__)

#: How far ahead the run looks. A Monday 1:1 is due on Friday, up to four days
#: earlier, and longer leads widen the window to match.
MIN_WINDOW = timedelta(days=4)
_SATURDAY = 5


def due_at(
    start: datetime, zone: str, lead_hours: int, day_start_hour: int
) -> datetime:
    """Return when the agenda email of a 1:1 starting at `start` is due."""
    if lead_hours > 0:
        return start - timedelta(hours=lead_hours)

    local = start.astimezone(_zone(zone))
    day = local.date() - timedelta(days=1)
    while day.weekday() >= _SATURDAY:
        day -= timedelta(days=1)
    return datetime.combine(day, time(day_start_hour), tzinfo=local.tzinfo)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def queue_agenda_emails(
    session: Session, settings: Settings, now: datetime, tenant_id: int | None = None
) -> list[int]:
    """Queue every agenda email that is due and not queued yet; return their ids.

    `tenant_id` limits the run to one tenant; by default it covers all.
    """
    queued: list[int] = []
    query = select(models.Tenant).where(models.Tenant.enabled.is_(True))
    if tenant_id is not None:
        query = query.where(models.Tenant.id == tenant_id)
    for tenant in session.scalars(query):
        lead = _tenant_lead(session, tenant, settings)
        if lead is None:
            continue
        for series, occurrence in _due_occurrences(
            session, tenant, settings, lead, now
        ):
            queued.extend(
                _queue_for_pair(session, tenant, series, occurrence, settings, now)
            )
    if queued:
        log.info("agenda emails queued", extra={"count": len(queued)})
    return queued


def _tenant_lead(
    session: Session, tenant: models.Tenant, settings: Settings
) -> int | None:
    """Return the tenant's lead in hours, or None when it turned agenda emails off."""
    choice = session.scalar(
        select(TenantEmailSettings).where(TenantEmailSettings.tenant_id == tenant.id)
    )
    if choice is not None and not choice.agenda_emails:
        return None
    if choice is not None and choice.reminder_lead_hours is not None:
        return choice.reminder_lead_hours
    return settings.reminder_lead_hours


def _due_occurrences(
    session: Session,
    tenant: models.Tenant,
    settings: Settings,
    lead: int,
    now: datetime,
) -> list[tuple[models.Series, models.Occurrence]]:
    window = max(MIN_WINDOW, timedelta(hours=lead + 24))
    rows = session.execute(
        select(models.Series, models.Occurrence)
        .join(
            models.Occurrence,
            (models.Occurrence.series_id == models.Series.id)
            & (models.Occurrence.recurrence_id == models.Series.next_recurrence_id),
        )
        .where(
            models.Series.tenant_id == tenant.id,
            models.Series.is_one_on_one.is_(True),
            models.Occurrence.start > now,
            models.Occurrence.start <= now + window,
        )
        .order_by(models.Occurrence.start)
    )
    day_start = settings.working_hours[0]
    return [
        (series, occurrence)
        for series, occurrence in rows
        if due_at(occurrence.start, series.timezone, lead, day_start) <= now
    ]


def _queue_for_pair(
    session: Session,
    tenant: models.Tenant,
    series: models.Series,
    occurrence: models.Occurrence,
    settings: Settings,
    now: datetime,
) -> list[int]:
    queued = []
    for email in (series.person_a, series.person_b):
        person = _person(session, tenant, email or "")
        if person is None or person.opted_out:
            continue
        row = queue_agenda_email(
            session, tenant, series, occurrence, person, settings, now
        )
        if row is not None:
            queued.append(row.id)
    return queued


def _person(
    session: Session, tenant: models.Tenant, email: str
) -> models.Person | None:
    return session.scalar(
        select(models.Person).where(
            models.Person.tenant_id == tenant.id, models.Person.email == email
        )
    )


def queue_agenda_email(
    session: Session,
    tenant: models.Tenant,
    series: models.Series,
    occurrence: models.Occurrence,
    person: models.Person,
    settings: Settings,
    now: datetime,
) -> OutboundEmail | None:
    """Queue the agenda email of `occurrence` for `person` unless it was queued.

    Returns the new row, or None when this person's email for this
    occurrence exists already.
    """
    dedupe_key = f"agenda:{occurrence.id}:{person.id}"
    domain = _sender_domain(settings)
    row = OutboundEmail(
        tenant_id=tenant.id,
        kind="agenda",
        dedupe_key=dedupe_key,
        recipient=person.email,
        message_id=message_id_for(dedupe_key, domain),
        occurrence_id=occurrence.id,
        created_at=now,
    )

    def build() -> bytes:
        rendered = _render(session, tenant, series, occurrence, person, settings)
        envelope = Envelope(
            sender=settings.sender_address,
            recipient=person.email,
            message_id=row.message_id,
            sent_at=now,
            reply_to=tokens.reply_address(
                _reply_token(tenant, occurrence, person, settings),
                settings.inbound_domain,
            ),
            thread=(series_thread_id(tenant.id, series.id, domain),),
            unsubscribe_url=unsubscribe_url(tenant, person, settings),
        )
        return bytes(compose(rendered, envelope))

    return queue_email(session, row, build)


def _render(
    session: Session,
    tenant: models.Tenant,
    series: models.Series,
    occurrence: models.Occurrence,
    person: models.Person,
    settings: Settings,
) -> RenderedEmail:
    # The email reaches one of the pair only, so it may carry what an invite
    # to exactly the pair may carry. Private notes never reach an Agenda.
    link = f"{settings.public_url.rstrip('/')}/series/{series.id}"
    agenda = build_agenda(
        session, tenant, series, occurrence, private_invite=True, link=link
    )
    agenda = with_locale(agenda, locale_for(session, tenant, person.email))
    return render_agenda_email(
        agenda,
        summary=series.summary,
        local_start=occurrence.start.astimezone(_zone(series.timezone)),
        recipient_name=person.name,
        unsubscribe_url=unsubscribe_url(tenant, person, settings),
    )


def _reply_token(
    tenant: models.Tenant,
    occurrence: models.Occurrence,
    person: models.Person,
    settings: Settings,
) -> str:
    expires = occurrence.end + timedelta(days=settings.reply_token_days)
    token = tokens.Token(
        tokens.Purpose.REPLY, tenant.id, occurrence.id, person.id, expires
    )
    return tokens.sign_token(token, settings.reply_key)


def unsubscribe_url(
    tenant: models.Tenant, person: models.Person, settings: Settings
) -> str:
    token = tokens.Token(tokens.Purpose.UNSUBSCRIBE, tenant.id, 0, person.id, None)
    signed = tokens.sign_token(token, settings.reply_key)
    return f"{settings.public_url.rstrip('/')}/inbound/unsubscribe/{signed}"


def _sender_domain(settings: Settings) -> str:
    return settings.sender_address.rpartition("@")[2] or settings.inbound_domain
