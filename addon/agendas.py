"""Build the agenda of one occurrence from the database.

Invites are read by more than the pair (delegates, shared calendars,
forwards), so this module never reads private notes, and includes shared
notes only when the invite goes to exactly the two people of the 1:1 and the
tenant allows it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, union
from sqlalchemy.orm import Session

from addon import models
from addon.agenda import ActionItem, Agenda, AgendaTopic, PriorNote, Section
from addon.models import InviteMode, Visibility


def build_agenda(
    session: Session,
    tenant: models.Tenant,
    series: models.Series,
    occurrence: models.Occurrence,
    *,
    private_invite: bool,
    link: str,
) -> Agenda:
    """Return the agenda for `occurrence`.

    `private_invite` tells whether the invite reaches exactly the pair (see
    `calendar_sync.detection.only_pair_invited`).
    """
    pair = (series.person_a or "", series.person_b or "")
    notes_allowed = (
        private_invite
        and tenant.allow_notes_in_invite
        and tenant.invite_mode is InviteMode.FULL
    )
    link_only = tenant.invite_mode is InviteMode.LINK_ONLY
    # Notes and action items belong to the pair, so both read every series
    # of the two people; the ids are read once for both.
    pair_ids = [] if link_only else _pair_series_ids(session, series)
    notes = (
        []
        if link_only or not notes_allowed
        else prior_notes(session, series, occurrence, pair_ids)
    )
    withheld = (
        not link_only
        and not notes_allowed
        and has_prior_notes(session, series, occurrence, pair_ids)
    )

    return Agenda(
        series_id=series.id,
        occurrence_start=occurrence.start,
        people=pair,
        locale=locale_for(session, tenant, series.organizer_email or pair[0]),
        topics={}
        if link_only
        else open_topics(session, series, occurrence.recurrence_id),
        notes=notes,
        notes_withheld=withheld,
        action_items=[] if link_only else open_action_items(session, series, pair_ids),
        is_goal_review=occurrence.is_goal_review,
        link=link,
    )


def open_topics(
    session: Session, series: models.Series, recurrence_id: datetime
) -> dict[Section, list[AgendaTopic]]:
    """Return the undiscussed topics raised for this occurrence or an earlier one."""
    rows = session.scalars(
        select(models.Topic)
        .where(
            models.Topic.tenant_id == series.tenant_id,
            models.Topic.series_id == series.id,
            models.Topic.discussed.is_(False),
            models.Topic.raised_for <= recurrence_id,
        )
        .order_by(models.Topic.raised_for, models.Topic.id)
    )
    topics: dict[Section, list[AgendaTopic]] = {section: [] for section in Section}
    for row in rows:
        carried = row.raised_for.date() if row.raised_for < recurrence_id else None
        topics[row.section].append(
            AgendaTopic(row.id, row.section, row.text, row.author_email, carried)
        )
    return topics


def _pair_series_ids(session: Session, series: models.Series) -> list[int]:
    """Return the ids of every series of the same two people, in either order."""
    a, b = series.person_a, series.person_b
    # One equality lookup per order, so both SQLite and PostgreSQL search the
    # pair index instead of scanning the tenant's series for an OR.
    orders = [
        select(models.Series.id).where(
            models.Series.tenant_id == series.tenant_id,
            models.Series.person_a == first,
            models.Series.person_b == second,
        )
        for first, second in ((a, b), (b, a))
    ]
    return list(session.scalars(union(*orders)))


def _shared_notes_query(series: models.Series, pair_ids: list[int], before: datetime):  # type: ignore[no-untyped-def]
    return select(models.Note).where(
        models.Note.tenant_id == series.tenant_id,
        models.Note.series_id.in_(pair_ids),
        models.Note.visibility == Visibility.SHARED,
        models.Note.hide_from_invite.is_(False),
        models.Note.occurrence_start < before,
    )


def prior_notes(
    session: Session,
    series: models.Series,
    occurrence: models.Occurrence,
    pair_ids: list[int],
) -> list[PriorNote]:
    """Shared notes of the pair's last occurrence before this one.

    `pair_ids` are the ids of every series of the pair (`_pair_series_ids`).
    """
    query = _shared_notes_query(series, pair_ids, occurrence.recurrence_id)
    latest = session.scalars(
        query.order_by(models.Note.occurrence_start.desc()).limit(1)
    ).first()
    if latest is None:
        return []

    rows = session.scalars(
        query.where(models.Note.occurrence_start == latest.occurrence_start).order_by(
            models.Note.id
        )
    )
    return [
        PriorNote(row.occurrence_start.date(), row.author_email, row.text)
        for row in rows
    ]


def has_prior_notes(
    session: Session,
    series: models.Series,
    occurrence: models.Occurrence,
    pair_ids: list[int],
) -> bool:
    query = _shared_notes_query(series, pair_ids, occurrence.recurrence_id)
    return session.scalars(query.limit(1)).first() is not None


def open_action_items(
    session: Session, series: models.Series, pair_ids: list[int]
) -> list[ActionItem]:
    rows = session.scalars(
        select(models.ActionItem)
        .where(
            models.ActionItem.tenant_id == series.tenant_id,
            models.ActionItem.series_id.in_(pair_ids),
            models.ActionItem.done.is_(False),
        )
        .order_by(
            models.ActionItem.due.is_(None), models.ActionItem.due, models.ActionItem.id
        )
    )
    return [ActionItem(row.id, row.text, row.owner_email, row.due) for row in rows]


def locale_for(session: Session, tenant: models.Tenant, email: str) -> str:
    """Return the person's own locale where set, else the tenant's default."""
    person_locale = session.scalar(
        select(models.Person.locale).where(
            models.Person.tenant_id == tenant.id, models.Person.email == email
        )
    )
    return person_locale or tenant.locale
