"""Create and change topics, notes, action items and opt-outs.

Every function takes the tenant and looks records up inside it only, so an
id from another tenant is reported as not found.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from addon import models
from addon.agenda import Section
from addon.errors import InputError, NotFound
from calendar_sync.models import normalise_email

#: Maximum length of a topic or note, in characters; an invite is no place for an essay.
MAX_TEXT = 2000


def find_series(
    session: Session, tenant: models.Tenant, ident: str | int
) -> models.Series:
    """Find a series by its numeric id or its UID."""
    query = select(models.Series).where(models.Series.tenant_id == tenant.id)
    if isinstance(ident, int) or str(ident).isdigit():
        series = session.scalar(query.where(models.Series.id == int(ident)))
    else:
        series = session.scalar(query.where(models.Series.uid == ident).limit(1))
    if series is None:
        raise NotFound("series", ident)
    return series


def find_agenda_series(
    session: Session, tenant: models.Tenant, ident: str | int
) -> models.Series:
    """Find the series whose agenda `ident` is about.

    That is the series itself, or for an attendee's copy the organizer's 1:1
    that it belongs to (see `organizer_series`). Topics, notes and action
    items go there, so they reach the invite whichever copy was named.
    """
    return organizer_series(session, find_series(session, tenant, ident))


def organizer_series(session: Session, series: models.Series) -> models.Series:
    """Return the organizer's 1:1 for an attendee's copy, else `series` itself.

    A 1:1 between a person on Google and a person on Microsoft 365 is stored
    twice: once in the organizer's calendar, where Tandem judges and writes
    it, and once in the attendee's, with state "not-organizer". The two share
    the iCalendar UID that the invitation carried. A copy is linked only to a
    1:1 in the same tenant with the same organizer and whose pair includes
    the copy's calendar owner, so a UID reused elsewhere links nothing.
    """
    if (
        series.is_one_on_one
        or series.state != "not-organizer"
        or not series.ical_uid.strip()
        or not series.organizer_email
    ):
        return series
    owner = session.scalar(
        select(models.Calendar.address).where(models.Calendar.id == series.calendar_id)
    )
    if not owner:
        return series
    owner = normalise_email(owner)
    candidates = session.scalars(
        select(models.Series)
        .where(
            models.Series.tenant_id == series.tenant_id,
            models.Series.ical_uid == series.ical_uid,
            models.Series.is_one_on_one.is_(True),
            models.Series.id != series.id,
        )
        .order_by(models.Series.id)
    )
    organizer = normalise_email(series.organizer_email)
    for candidate in candidates:
        if (
            owner in (candidate.person_a, candidate.person_b)
            and normalise_email(candidate.organizer_email) == organizer
        ):
            return candidate
    return series


def _next_occurrence(series: models.Series) -> datetime:
    if series.state == "not-organizer":
        raise InputError(
            f"Series {series.id} ({series.summary!r}) is an attendee's copy of a "
            f"meeting that {series.organizer_email or 'someone else'} organizes; "
            "its agenda lives in the organizer's calendar. Sync that calendar "
            "into this tenant, then use the organizer's series."
        )
    if series.next_recurrence_id is None:
        raise InputError(
            f"Series {series.id} ({series.summary!r}) has no upcoming occurrence; "
            "run `tandem sync` first, or pick a series that is still running."
        )
    return series.next_recurrence_id


def _participant(series: models.Series, email: str) -> str:
    """Return `email` normalised, or raise unless it is one of the series' pair.

    Notes and topics appear in the pair's invite under their author's
    address, so only the two people of the 1:1 may be named as author.
    """
    address = normalise_email(email)
    pair = [person for person in (series.person_a, series.person_b) if person]
    if address not in pair:
        raise InputError(
            f"{email!r} is not one of the two people of series {series.id} "
            f"({' and '.join(pair) or 'none known yet'}); give one of them."
        )
    return address


def _clean_text(text: str, what: str) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise InputError(f"The {what} is empty; give the text to add.")
    if len(cleaned) > MAX_TEXT:
        raise InputError(
            f"The {what} is {len(cleaned)} characters long; "
            f"shorten it to at most {MAX_TEXT}."
        )
    return cleaned


def add_topic(
    session: Session,
    tenant: models.Tenant,
    series_ident: str | int,
    text: str,
    section: Section,
    author: str = "",
    source: str = "cli",
) -> models.Topic:
    """Add a topic to the next occurrence of a series."""
    series = find_agenda_series(session, tenant, series_ident)
    topic = models.Topic(
        tenant_id=tenant.id,
        series_id=series.id,
        raised_for=_next_occurrence(series),
        section=section,
        text=_clean_text(text, "topic"),
        author_email=_participant(series, author) if author else "",
        source=source,
    )
    session.add(topic)
    session.flush()
    return topic


def list_series(
    session: Session, tenant: models.Tenant, include_all: bool = False
) -> list[models.Series]:
    """Return the tenant's 1:1s (every series with `include_all`), oldest first."""
    query = select(models.Series).where(models.Series.tenant_id == tenant.id)
    if not include_all:
        query = query.where(models.Series.is_one_on_one.is_(True))
    return list(session.scalars(query.order_by(models.Series.id)))


def has_one_on_ones(session: Session, tenant: models.Tenant, email: str) -> bool:
    """Return whether a known 1:1 of the tenant has `email` as one of its people."""
    query = select(models.Series.id).where(
        models.Series.tenant_id == tenant.id,
        (models.Series.person_a == email) | (models.Series.person_b == email),
    )
    return session.scalars(query.limit(1)).first() is not None


def list_topics(
    session: Session,
    tenant: models.Tenant,
    series_ident: str | int,
    include_discussed: bool = False,
) -> list[models.Topic]:
    series = find_agenda_series(session, tenant, series_ident)
    query = select(models.Topic).where(
        models.Topic.tenant_id == tenant.id, models.Topic.series_id == series.id
    )
    if not include_discussed:
        query = query.where(models.Topic.discussed.is_(False))
    return list(
        session.scalars(query.order_by(models.Topic.raised_for, models.Topic.id))
    )


def mark_discussed(
    session: Session, tenant: models.Tenant, topic_id: int, when: datetime
) -> models.Topic:
    topic = session.scalar(
        select(models.Topic).where(
            models.Topic.tenant_id == tenant.id, models.Topic.id == topic_id
        )
    )
    if topic is None:
        raise NotFound("topic", topic_id)
    topic.discussed = True
    topic.discussed_at = when
    return topic


def add_note(
    session: Session,
    tenant: models.Tenant,
    series_ident: str | int,
    text: str,
    author: str,
    *,
    private: bool = False,
    hide_from_invite: bool = False,
) -> models.Note:
    """Add a note to the next occurrence of a series."""
    series = find_agenda_series(session, tenant, series_ident)
    note = models.Note(
        tenant_id=tenant.id,
        series_id=series.id,
        occurrence_start=_next_occurrence(series),
        author_email=_participant(series, author),
        text=_clean_text(text, "note"),
        visibility=models.Visibility.PRIVATE if private else models.Visibility.SHARED,
        hide_from_invite=hide_from_invite,
    )
    session.add(note)
    session.flush()
    return note


def add_action_item(
    session: Session,
    tenant: models.Tenant,
    series_ident: str | int,
    text: str,
    owner: str = "",
    due: date | None = None,
) -> models.ActionItem:
    series = find_agenda_series(session, tenant, series_ident)
    item = models.ActionItem(
        tenant_id=tenant.id,
        series_id=series.id,
        text=_clean_text(text, "action item"),
        owner_email=normalise_email(owner) if owner else "",
        due=due,
    )
    session.add(item)
    session.flush()
    return item


def close_action_item(
    session: Session, tenant: models.Tenant, item_id: int
) -> models.ActionItem:
    item = session.scalar(
        select(models.ActionItem).where(
            models.ActionItem.tenant_id == tenant.id, models.ActionItem.id == item_id
        )
    )
    if item is None:
        raise NotFound("action item", item_id)
    item.done = True
    return item


def mark_goal_review(
    session: Session,
    tenant: models.Tenant,
    series_ident: str | int,
    recurrence_id: datetime | None,
) -> models.Occurrence:
    """Mark one occurrence (the next one by default) as a goal review."""
    series = find_agenda_series(session, tenant, series_ident)
    when = recurrence_id or _next_occurrence(series)
    occurrence = session.scalar(
        select(models.Occurrence).where(
            models.Occurrence.series_id == series.id,
            models.Occurrence.recurrence_id == when,
        )
    )
    if occurrence is None:
        if series.next_recurrence_id != when or series.next_occurrence is None:
            raise InputError(
                f"Series {series.id} has no known occurrence at {when.isoformat()}; "
                "give the RECURRENCE-ID of an occurrence Tandem has synced."
            )
        occurrence = models.Occurrence(
            tenant_id=tenant.id,
            series_id=series.id,
            recurrence_id=when,
            start=series.next_occurrence,
            end=series.next_occurrence,
            summary=series.summary,
        )
        session.add(occurrence)
    occurrence.is_goal_review = True
    occurrence.goal_review_source = "api"
    session.flush()
    return occurrence


def set_opt_out(
    session: Session, tenant: models.Tenant, email: str, opted_out: bool
) -> models.Person:
    address = normalise_email(email)
    if "@" not in address:
        raise InputError(
            f"{email!r} is not an email address; give one like anna@example.nl."
        )
    person = session.scalar(
        select(models.Person).where(
            models.Person.tenant_id == tenant.id, models.Person.email == address
        )
    )
    if person is None:
        person = models.Person(tenant_id=tenant.id, email=address)
        session.add(person)
    person.opted_out = opted_out
    session.flush()
    return person
