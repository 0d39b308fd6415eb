"""Tandem's tables (SQLAlchemy 2 declarative models).

Every row below `Tenant` carries `tenant_id`, and every query in
`addon.service` filters on it. Times are stored in UTC; `UtcDateTime` turns
them back into aware datetimes on the way out, so SQLite and PostgreSQL
return the same values.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from addon.agenda import Section


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as naive UTC; naive input is rejected."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(
                f"naive datetime {value!r} cannot be stored; attach a zone"
            )
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {datetime: UtcDateTime(), dict[str, Any]: JSON}


class InviteMode(enum.StrEnum):
    """How much of the agenda an invite may carry: all, no prior notes, or a link."""

    FULL = "full"
    AGENDA_ONLY = "agenda"
    LINK_ONLY = "link"


class Visibility(enum.StrEnum):
    SHARED = "shared"
    PRIVATE = "private"


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    locale: Mapped[str] = mapped_column(String(8), default="en")
    invite_mode: Mapped[InviteMode] = mapped_column(
        Enum(InviteMode, native_enum=False, length=16), default=InviteMode.FULL
    )
    allow_notes_in_invite: Mapped[bool] = mapped_column(Boolean, default=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Person(Base):
    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("tenant_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    locale: Mapped[str | None] = mapped_column(String(8), default=None)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    manager_email: Mapped[str | None] = mapped_column(String(320), default=None)


class Calendar(Base):
    """One synced calendar and where its incremental sync stands."""

    __tablename__ = "calendars"
    __table_args__ = (UniqueConstraint("tenant_id", "provider", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(1000))
    cursor: Mapped[str | None] = mapped_column(Text, default=None)
    last_synced_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


class CalendarEvent(Base):
    """Tandem's copy of one event as its calendar last reported it.

    Incremental syncs receive only what changed; these rows hold the rest of
    each series (its master and its other overrides) so a change to one
    instance can be judged with the whole series at hand. `recurrence_key` is
    "" for a master or single event, else the RECURRENCE-ID in ISO 8601.
    """

    __tablename__ = "calendar_events"
    __table_args__ = (UniqueConstraint("calendar_id", "uid", "recurrence_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("calendars.id"), index=True)
    uid: Mapped[str] = mapped_column(String(1000))
    recurrence_key: Mapped[str] = mapped_column(String(64), default="")
    etag: Mapped[str] = mapped_column(String(200), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class Series(Base):
    """A recurring series seen in a calendar, with Tandem's 1:1 decision about it."""

    __tablename__ = "series"
    __table_args__ = (
        UniqueConstraint("calendar_id", "uid"),
        Index("ix_series_tenant_ical_uid", "tenant_id", "ical_uid"),
        # Agendas read every series of a pair; without this index that query
        # scans all of a tenant's series for each 1:1 on every sync.
        Index("ix_series_tenant_pair", "tenant_id", "person_a", "person_b"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("calendars.id"), index=True)
    #: The provider's id of the series in this calendar.
    uid: Mapped[str] = mapped_column(String(1000))
    #: The iCalendar UID (RFC 5545), the same in every attendee's copy across
    #: providers; it links an attendee's copy to the organizer's series.
    ical_uid: Mapped[str] = mapped_column(String(1000), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    organizer_email: Mapped[str] = mapped_column(String(320), default="")
    person_a: Mapped[str | None] = mapped_column(String(320), default=None)
    person_b: Mapped[str | None] = mapped_column(String(320), default=None)
    is_one_on_one: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    next_occurrence: Mapped[datetime | None] = mapped_column(default=None)
    next_recurrence_id: Mapped[datetime | None] = mapped_column(default=None)
    state: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    occurrences: Mapped[list[Occurrence]] = relationship(
        back_populates="series", order_by="Occurrence.start"
    )


class Occurrence(Base):
    """One instance of a 1:1 series that Tandem has worked on."""

    __tablename__ = "occurrences"
    __table_args__ = (UniqueConstraint("series_id", "recurrence_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    recurrence_id: Mapped[datetime] = mapped_column()
    start: Mapped[datetime] = mapped_column()
    end: Mapped[datetime] = mapped_column()
    summary: Mapped[str] = mapped_column(Text, default="")
    is_goal_review: Mapped[bool] = mapped_column(Boolean, default=False)
    goal_review_source: Mapped[str | None] = mapped_column(String(16), default=None)
    private_invite: Mapped[bool] = mapped_column(Boolean, default=False)
    block_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    block_body: Mapped[str | None] = mapped_column(Text, default=None)
    written_at: Mapped[datetime | None] = mapped_column(default=None)

    series: Mapped[Series] = relationship(back_populates="occurrences")


class Topic(Base):
    """An agenda topic, raised for one occurrence and carried over until discussed.

    `raised_for` is the RECURRENCE-ID (original start) of that occurrence, so
    moving an instance does not reorder its topics.
    """

    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    raised_for: Mapped[datetime] = mapped_column()
    section: Mapped[Section] = mapped_column(
        Enum(Section, native_enum=False, length=16)
    )
    text: Mapped[str] = mapped_column(Text)
    author_email: Mapped[str] = mapped_column(String(320), default="")
    source: Mapped[str] = mapped_column(String(16), default="cli")
    discussed: Mapped[bool] = mapped_column(Boolean, default=False)
    discussed_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Note(Base):
    """A note on one occurrence; private notes never leave Tandem."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    occurrence_start: Mapped[datetime] = mapped_column()  # RECURRENCE-ID, as in Topic
    author_email: Mapped[str] = mapped_column(String(320))
    text: Mapped[str] = mapped_column(Text)
    visibility: Mapped[Visibility] = mapped_column(
        Enum(Visibility, native_enum=False, length=16), default=Visibility.SHARED
    )
    hide_from_invite: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActionItem(Base):
    __tablename__ = "action_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    owner_email: Mapped[str] = mapped_column(String(320), default="")
    due: Mapped[date | None] = mapped_column(Date, default=None)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FollowUp(Base):
    """The follow-up 1:1 planned after one goal review; one per review at most."""

    __tablename__ = "follow_ups"
    __table_args__ = (UniqueConstraint("source_occurrence_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    source_occurrence_id: Mapped[int] = mapped_column(ForeignKey("occurrences.id"))
    uid: Mapped[str] = mapped_column(String(1000))
    start: Mapped[datetime] = mapped_column()
    end: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """One write Tandem made to a calendar: who, which event and why."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")


# -- email --


class MailStatus(enum.StrEnum):
    """The delivery state of one outbound email; `SENDING` is a claim with a lease."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class InboundStatus(enum.StrEnum):
    PENDING = "pending"
    PROCESSED = "processed"
    REJECTED = "rejected"


class OutboundEmail(Base):
    """One email Tandem sends, inserted before it is sent.

    `dedupe_key` names what the email is for (for example the agenda of one
    occurrence for one person), and its unique constraint is what keeps a
    retried or doubly scheduled send from reaching the person twice. `raw`
    contains the composed MIME message until it is sent, then it is cleared.
    """

    __tablename__ = "outbound_emails"
    __table_args__ = (UniqueConstraint("dedupe_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenants.id"), index=True, default=None
    )
    kind: Mapped[str] = mapped_column(String(16))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    message_id: Mapped[str] = mapped_column(String(250))
    occurrence_id: Mapped[int | None] = mapped_column(
        ForeignKey("occurrences.id"), default=None
    )
    raw: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    status: Mapped[MailStatus] = mapped_column(
        Enum(MailStatus, native_enum=False, length=16), default=MailStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class InboundEmail(Base):
    """One raw inbound message, stored before the sender's server hears 250.

    `message_key` is the SHA-256 of the Message-ID (of the raw bytes when a
    message has none); its unique constraint makes a redelivered message a
    no-op. `raw` is cleared once the message is processed.
    """

    __tablename__ = "inbound_emails"
    __table_args__ = (UniqueConstraint("message_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_key: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    envelope_to: Mapped[list[str]] = mapped_column(JSON, default=list)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    size: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[InboundStatus] = mapped_column(
        Enum(InboundStatus, native_enum=False, length=16),
        default=InboundStatus.PENDING,
        index=True,
    )
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenants.id"), index=True, default=None
    )
    outcome: Mapped[str] = mapped_column(String(32), default="")
    topic_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(default=None)


class TenantEmailSettings(Base):
    """A tenant's own choices for agenda emails; absent rows use the settings."""

    __tablename__ = "tenant_email_settings"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    agenda_emails: Mapped[bool] = mapped_column(Boolean, default=True)
    reminder_lead_hours: Mapped[int | None] = mapped_column(Integer, default=None)


# -- microsoft --


class MicrosoftConnection(Base):
    """Tandem's access to Microsoft 365: one person's grant or a tenant's consent.

    `kind` is "user" (authorization code flow) or "tenant" (admin consent, then
    client credentials). `state` is "pending" while sign-in or consent runs,
    "active", or "needs-consent" once the identity platform refused a token.
    `auth_state` is the OAuth `state` of a pending flow and `auth_flow` its
    encrypted msal flow. `token_cache` is a person's encrypted msal cache;
    tenant connections keep none, because their tokens are simply requested
    again.
    """

    __tablename__ = "microsoft_connections"
    __table_args__ = (UniqueConstraint("auth_state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    directory_id: Mapped[str] = mapped_column(String(64), default="", index=True)
    mailbox: Mapped[str] = mapped_column(String(320), default="")
    state: Mapped[str] = mapped_column(String(32), default="pending")
    auth_state: Mapped[str | None] = mapped_column(String(64), default=None)
    auth_flow: Mapped[str | None] = mapped_column(Text, default=None)
    token_cache: Mapped[str | None] = mapped_column(Text, default=None)
    last_error: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MicrosoftMailbox(Base):
    """One mailbox Tandem syncs through a connection, with its subscription.

    The delta link lives in the calendar's `cursor`. `client_state` is the
    encrypted secret Graph echoes in every notification. `sync_queued` is set
    when a notification queued a sync and cleared when that sync starts, so a
    burst of notifications queues one sync.
    """

    __tablename__ = "microsoft_mailboxes"
    __table_args__ = (UniqueConstraint("calendar_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("microsoft_connections.id"), index=True
    )
    calendar_id: Mapped[int] = mapped_column(ForeignKey("calendars.id"))
    subscription_id: Mapped[str | None] = mapped_column(
        String(200), default=None, index=True
    )
    client_state: Mapped[str | None] = mapped_column(Text, default=None)
    subscription_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    sync_queued: Mapped[bool] = mapped_column(Boolean, default=False)
    last_notified_at: Mapped[datetime | None] = mapped_column(default=None)


# -- google --


class GoogleConnection(Base):
    """Tandem's access to Google Workspace: one person's grant or a domain's.

    `kind` is "user" (authorization code flow) or "domain" (domain-wide
    delegation to Tandem's service account). `secret` is encrypted with
    `addon.crypto.Cipher`: the person's refresh token, or the service
    account's JSON key. `email` is the person, or for a domain the admin the
    Directory is read as. `state` is "pending" while consent runs (with the
    OAuth `auth_state` and the encrypted PKCE `code_verifier`), "active", or
    "needs-consent" once Google refused a token.
    """

    __tablename__ = "google_connections"
    __table_args__ = (UniqueConstraint("auth_state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    email: Mapped[str] = mapped_column(String(320), default="")
    domain: Mapped[str] = mapped_column(String(255), default="", index=True)
    state: Mapped[str] = mapped_column(String(32), default="pending")
    auth_state: Mapped[str | None] = mapped_column(String(64), default=None)
    code_verifier: Mapped[str | None] = mapped_column(Text, default=None)
    secret: Mapped[str | None] = mapped_column(Text, default=None)
    last_error: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class GoogleCalendar(Base):
    """One person's primary calendar that Tandem syncs through a connection.

    The sync token lives in the calendar's `cursor`. `sync_queued` is set when
    a notification or a poll queued a sync and cleared when that sync starts,
    so a burst of notifications queues one sync.
    """

    __tablename__ = "google_calendars"
    __table_args__ = (UniqueConstraint("calendar_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("google_connections.id"), index=True
    )
    calendar_id: Mapped[int] = mapped_column(ForeignKey("calendars.id"))
    sync_queued: Mapped[bool] = mapped_column(Boolean, default=False)
    last_notified_at: Mapped[datetime | None] = mapped_column(default=None)


class GoogleWatchChannel(Base):
    """One events.watch channel on a calendar; two overlap while one is renewed.

    `token_sha256` is the SHA-256 of the channel token Google echoes in
    `X-Goog-Channel-Token`; the token itself is not stored.
    """

    __tablename__ = "google_watch_channels"
    __table_args__ = (UniqueConstraint("channel_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    google_calendar_id: Mapped[int] = mapped_column(
        ForeignKey("google_calendars.id"), index=True
    )
    channel_id: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str] = mapped_column(String(200), default="")
    token_sha256: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
