"""Turn one stored inbound message into topics, or into a logged rejection.

`process_inbound` runs in one transaction. It first marks the row processed
with a conditional UPDATE, so a second run on the same row (a retried task,
a redelivered message) matches nothing and adds nothing. A crash before the
commit leaves the row pending for the sweep to pick up again. The
confirmation or rejection email is queued in the same transaction, and the
caller sends it after the commit.

Anyone holding a forwarded agenda email holds its token, so a reply adds
topics only when all of these hold. The token is signed with the reply key
and unexpired. The From address, lower-cased and without its `+tag`, is the
address of the person the token names. The trusted Authentication-Results
report no DKIM or DMARC failure.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from addon import db, models
from addon.agendas import locale_for
from addon.inbound import ParsedReply, normalise_address, parse_reply
from addon.mail import tokens
from addon.mail.checks import authentication_failure, is_loop, read_headers
from addon.mail.compose import Envelope, compose, message_id_for
from addon.mail.errors import TokenError
from addon.mail.outbox import queue_email
from addon.models import InboundEmail, InboundStatus, OutboundEmail
from addon.records import MAX_TEXT
from addon.settings import Settings
from mail_templates.email import (
    AddedTopic,
    RenderedEmail,
    render_confirmation_email,
    render_rejection_email,
)

log = logging.getLogger(__name__)

#: Parser outcomes that come from machines, which never get a rejection email.
SILENT_PARSER_CODES = frozenset({"auto_reply", "bounce", "bulk", "missing_sender"})
#: Outcomes that get a rejection email, within the rate limit.
ANSWERED_CODES = frozenset(
    {"expired", "wrong_sender", "no_next_occurrence", "no_topics", "no_text"}
)


@dataclass(slots=True)
class IntakeResult:
    """The result of processing one message: ids only, never its text."""

    inbound_id: int
    outcome: str
    topic_ids: list[int] = field(default_factory=list)
    calendar_id: int | None = None
    outbound_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Target:
    tenant: models.Tenant
    person: models.Person
    series: models.Series
    occurrence: models.Occurrence


class _Rejected(Exception):
    """A check failed; `code` is logged and picks the answer's text."""

    def __init__(self, code: str, tenant: models.Tenant | None = None) -> None:
        self.code = code
        self.tenant = tenant
        super().__init__(code)


def process_inbound(
    factory: sessionmaker[Session], inbound_id: int, settings: Settings, now: datetime
) -> IntakeResult:
    """Check one stored message and add its topics to the right occurrence."""
    with db.transaction(factory) as session:
        row = _take(session, inbound_id, now)
        if row is None:
            return IntakeResult(inbound_id, "already_processed")

        raw = row.raw or b""
        parsed = parse_reply(raw)
        try:
            target = _check(session, raw, parsed, row.envelope_to, settings, now)
            result = _accept(session, row, parsed, target, settings, now)
        except _Rejected as rejected:
            result = _reject(session, row, parsed, rejected, settings, now)
        row.raw = None  # email bodies are kept only as long as processing needs

    log.info(
        "inbound message processed",
        extra={
            "inbound": inbound_id,
            "outcome": result.outcome,
            "topics": len(result.topic_ids),
        },
    )
    return result


def _take(session: Session, inbound_id: int, now: datetime) -> InboundEmail | None:
    taken = session.execute(
        update(InboundEmail)
        .where(
            InboundEmail.id == inbound_id,
            InboundEmail.status == InboundStatus.PENDING,
        )
        .values(status=InboundStatus.PROCESSED, processed_at=now)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get(InboundEmail, inbound_id)


# -- checks ---------------------------------------------------------------------


def _check(
    session: Session,
    raw: bytes,
    parsed: ParsedReply,
    envelope_to: list[str],
    settings: Settings,
    now: datetime,
) -> _Target:
    if parsed.rejection is not None and parsed.rejection.code in SILENT_PARSER_CODES:
        raise _Rejected(parsed.rejection.code)

    token = _token(envelope_to or list(parsed.to_addresses), settings)
    if authentication_failure(read_headers(raw), settings.trusted_authserv_id):
        raise _Rejected("authentication_failed")

    target = _load_target(session, token)
    if parsed.from_address != normalise_address(target.person.email):
        raise _Rejected("wrong_sender", target.tenant)
    if token.is_expired(now):
        raise _Rejected("expired", target.tenant)
    if not target.tenant.enabled or target.person.opted_out:
        raise _Rejected("switched_off", target.tenant)
    if parsed.rejection is not None:
        raise _Rejected(parsed.rejection.code, target.tenant)
    return target


def _token(addresses: list[str], settings: Settings) -> tokens.Token:
    for address in addresses:
        text = tokens.token_in_address(address, settings.inbound_domain)
        if text is None:
            continue
        try:
            token = tokens.read_token(text, settings.reply_key)
        except TokenError:
            raise _Rejected("invalid_token") from None
        if token.purpose is tokens.Purpose.REPLY:
            return token
    raise _Rejected("invalid_token")


def _load_target(session: Session, token: tokens.Token) -> _Target:
    tenant = session.get(models.Tenant, token.tenant_id)
    occurrence = session.scalar(
        select(models.Occurrence).where(
            models.Occurrence.tenant_id == token.tenant_id,
            models.Occurrence.id == token.occurrence_id,
        )
    )
    person = session.scalar(
        select(models.Person).where(
            models.Person.tenant_id == token.tenant_id,
            models.Person.id == token.person_id,
        )
    )
    if tenant is None or occurrence is None or person is None:
        raise _Rejected("invalid_token")
    return _Target(tenant, person, occurrence.series, occurrence)


def target_recurrence_id(
    series: models.Series, occurrence: models.Occurrence, now: datetime
) -> datetime | None:
    """Return the RECURRENCE-ID that new topics from a reply are raised for.

    A reply about a meeting that has not ended adds to that meeting. A reply
    to the email of a past meeting adds to the series' next occurrence, as
    the last sync found it, and never to a meeting in the past.
    """
    if occurrence.end > now:
        return occurrence.recurrence_id
    upcoming = series.next_recurrence_id
    if upcoming is None or upcoming <= occurrence.recurrence_id:
        return None
    if series.next_occurrence is not None and series.next_occurrence <= now:
        return None
    return upcoming


# -- outcomes -------------------------------------------------------------------


def _accept(
    session: Session,
    row: InboundEmail,
    parsed: ParsedReply,
    target: _Target,
    settings: Settings,
    now: datetime,
) -> IntakeResult:
    raised_for = target_recurrence_id(target.series, target.occurrence, now)
    if raised_for is None:
        raise _Rejected("no_next_occurrence", target.tenant)

    added = _add_topics(session, target, parsed, raised_for)
    row.tenant_id, row.outcome = target.tenant.id, "added"
    row.topic_ids = [topic.id for topic in added]
    result = IntakeResult(row.id, "added", row.topic_ids, target.series.calendar_id)

    confirmation = _queue_confirmation(
        session, row, parsed, target, added, settings, now
    )
    if confirmation is not None:
        result.outbound_ids.append(confirmation.id)
    return result


def _add_topics(
    session: Session, target: _Target, parsed: ParsedReply, raised_for: datetime
) -> list[models.Topic]:
    added = []
    for candidate in parsed.topics:
        topic = models.Topic(
            tenant_id=target.tenant.id,
            series_id=target.series.id,
            raised_for=raised_for,
            section=candidate.section,
            text=candidate.text[:MAX_TEXT],
            author_email=normalise_address(target.person.email),
            source="email",
        )
        session.add(topic)
        added.append(topic)
    session.flush()
    return added


def _queue_confirmation(
    session: Session,
    row: InboundEmail,
    parsed: ParsedReply,
    target: _Target,
    added: list[models.Topic],
    settings: Settings,
    now: datetime,
) -> OutboundEmail | None:
    guessed = {
        candidate.text[:MAX_TEXT]: candidate.section_guessed
        for candidate in parsed.topics
    }
    listed = [
        AddedTopic(topic.section, topic.text, guessed.get(topic.text, False))
        for topic in added
    ]
    locale = locale_for(session, target.tenant, target.person.email)
    start = _local_start(target, added[0].raised_for)
    rendered = render_confirmation_email(locale, target.series.summary, start, listed)
    return _queue_answer(
        session,
        "confirmation",
        row,
        parsed,
        target.person.email,
        rendered,
        target.tenant.id,
        settings,
        now,
    )


def _local_start(target: _Target, raised_for: datetime) -> datetime:
    """Return the start of the occurrence `raised_for` names, in the series' zone."""
    start = raised_for
    if raised_for == target.occurrence.recurrence_id:
        start = target.occurrence.start
    elif target.series.next_occurrence is not None:
        start = target.series.next_occurrence
    try:
        return start.astimezone(ZoneInfo(target.series.timezone or "UTC"))
    except (KeyError, ValueError):
        return start


def _reject(
    session: Session,
    row: InboundEmail,
    parsed: ParsedReply,
    rejected: _Rejected,
    settings: Settings,
    now: datetime,
) -> IntakeResult:
    row.status, row.outcome = InboundStatus.REJECTED, rejected.code
    row.tenant_id = rejected.tenant.id if rejected.tenant else None
    log.info(
        "inbound message rejected",
        extra={"inbound": row.id, "reason": rejected.code, "tenant": row.tenant_id},
    )
    result = IntakeResult(row.id, rejected.code)
    if not _may_answer(session, parsed, rejected, settings, now):
        return result

    locale = _sender_locale(session, rejected.tenant, parsed.from_address, settings)
    rendered = render_rejection_email(locale, rejected.code)
    tenant_id = rejected.tenant.id if rejected.tenant else None
    answer = _queue_answer(
        session,
        "rejection",
        row,
        parsed,
        parsed.from_address,
        rendered,
        tenant_id,
        settings,
        now,
    )
    if answer is not None:
        result.outbound_ids.append(answer.id)
    return result


def _may_answer(
    session: Session,
    parsed: ParsedReply,
    rejected: _Rejected,
    settings: Settings,
    now: datetime,
) -> bool:
    """Whether a rejection email may go out: a person's mail, no loop, under the limit.

    Forged tokens and failed DKIM or DMARC never get one, because their
    From address is likely someone the forger put there (backscatter).
    """
    if rejected.code not in ANSWERED_CODES or not parsed.from_address:
        return False
    if is_loop(
        parsed.from_address, (settings.sender_address,), settings.inbound_domain
    ):
        return False
    sent = session.scalar(
        select(func.count(OutboundEmail.id)).where(
            OutboundEmail.kind == "rejection",
            OutboundEmail.recipient == parsed.from_address,
            OutboundEmail.created_at > now - timedelta(days=1),
        )
    )
    if (sent or 0) >= settings.rejection_limit_per_day:
        log.info("rejection email rate limited", extra={"sent_today": sent})
        return False
    return True


def _sender_locale(
    session: Session, tenant: models.Tenant | None, sender: str, settings: Settings
) -> str:
    if tenant is None:
        return settings.locale
    return locale_for(session, tenant, sender)


def _queue_answer(
    session: Session,
    kind: str,
    row: InboundEmail,
    parsed: ParsedReply,
    recipient: str,
    rendered: RenderedEmail,
    tenant_id: int | None,
    settings: Settings,
    now: datetime,
) -> OutboundEmail | None:
    dedupe_key = f"{kind}:{row.id}"
    message_id = message_id_for(dedupe_key, _sender_domain(settings))
    thread = (parsed.message_id,) if parsed.message_id else ()
    envelope = Envelope(
        settings.sender_address, recipient, message_id, now, thread=thread
    )
    outbound = OutboundEmail(
        tenant_id=tenant_id,
        kind=kind,
        dedupe_key=dedupe_key,
        recipient=recipient,
        message_id=message_id,
        created_at=now,
    )
    return queue_email(session, outbound, lambda: bytes(compose(rendered, envelope)))


def _sender_domain(settings: Settings) -> str:
    return settings.sender_address.rpartition("@")[2] or settings.inbound_domain
