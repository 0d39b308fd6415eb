"""Tandem's copy of each synced calendar's events (the `calendar_events` table).

Providers with incremental sync report only what changed since the last
cursor; `apply_changes` folds those changes into the stored copy and returns
the UIDs whose series must be judged again.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from addon import models
from addon.errors import SyncError
from calendar_sync.models import Event, EventKey
from calendar_sync.providers.base import ChangeSet

#: A full listing that drops a calendar from at least this many stored events
#: to none is taken for a provider fault, not for a person who deleted
#: everything, and the sync is refused.
EMPTY_GUARD = 5


def recurrence_key(key: EventKey) -> str:
    return key.recurrence_id.isoformat() if key.recurrence_id else ""


def stored_count(session: Session, calendar: models.Calendar) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(models.CalendarEvent)
            .where(models.CalendarEvent.calendar_id == calendar.id)
        )
        or 0
    )


def apply_changes(
    session: Session, calendar: models.Calendar, changes: ChangeSet
) -> set[str]:
    """Store `changes` for `calendar`; return the UIDs of every series they touch."""
    if changes.full and not changes.events:
        count = stored_count(session, calendar)
        if count >= EMPTY_GUARD:
            raise SyncError(
                f"Calendar {calendar.id} suddenly lists no events where Tandem has "
                f"{count}; the sync was refused so nothing is removed. Check the "
                "connection, then sync again."
            )

    affected: set[str] = set()
    seen: set[tuple[str, str]] = set()
    existing = _rows(session, calendar, None if changes.full else _uids(changes))
    for event in changes.events:
        ident = (event.uid, recurrence_key(event.key))
        seen.add(ident)
        row = existing.get(ident)
        if row is not None and row.etag == event.etag and event.etag:
            continue
        if row is None:
            row = models.CalendarEvent(
                tenant_id=calendar.tenant_id,
                calendar_id=calendar.id,
                uid=event.uid,
                recurrence_key=ident[1],
            )
            session.add(row)
        row.etag = event.etag
        row.data = event.to_dict()
        affected.add(event.uid)

    gone = [
        existing[(key.uid, recurrence_key(key))]
        for key in changes.removed
        if (key.uid, recurrence_key(key)) in existing
    ]
    if changes.full:
        gone.extend(row for ident, row in existing.items() if ident not in seen)
    # A removed instance Tandem never stored (a cancelled occurrence that was
    # not an exception before) still changes its series' next occurrence.
    affected.update(key.uid for key in changes.removed)
    for row in gone:
        affected.add(row.uid)
        session.delete(row)
    session.flush()
    return affected


def remember(session: Session, calendar_id: int, tenant_id: int, event: Event) -> None:
    """Store an event as Tandem itself just wrote it.

    The next incremental listing reports Tandem's own writes as changes; with
    the new etag stored here they are recognised and cost nothing.
    """
    key = recurrence_key(event.key)
    row = session.scalar(
        select(models.CalendarEvent).where(
            models.CalendarEvent.calendar_id == calendar_id,
            models.CalendarEvent.uid == event.uid,
            models.CalendarEvent.recurrence_key == key,
        )
    )
    if row is None:
        row = models.CalendarEvent(
            tenant_id=tenant_id,
            calendar_id=calendar_id,
            uid=event.uid,
            recurrence_key=key,
        )
        session.add(row)
    row.etag = event.etag
    row.data = event.to_dict()


def series_members(
    session: Session, calendar: models.Calendar, uid: str
) -> list[Event]:
    """Return the stored master of `uid` (if any) followed by its overrides."""
    rows = session.scalars(
        select(models.CalendarEvent).where(
            models.CalendarEvent.calendar_id == calendar.id,
            models.CalendarEvent.uid == uid,
        )
    )
    events = [Event.from_dict(row.data) for row in rows]
    events.sort(
        key=lambda event: (
            event.recurrence_id is not None,
            event.recurrence_id or event.start,
        )
    )
    return events


def forget_calendar(session: Session, calendar: models.Calendar) -> None:
    session.execute(
        delete(models.CalendarEvent).where(
            models.CalendarEvent.calendar_id == calendar.id
        )
    )


def _uids(changes: ChangeSet) -> set[str]:
    return {event.uid for event in changes.events} | {
        key.uid for key in changes.removed
    }


def _rows(
    session: Session, calendar: models.Calendar, uids: Iterable[str] | None
) -> dict[tuple[str, str], models.CalendarEvent]:
    query = select(models.CalendarEvent).where(
        models.CalendarEvent.calendar_id == calendar.id
    )
    if uids is not None:
        query = query.where(models.CalendarEvent.uid.in_(list(uids)))
    return {(row.uid, row.recurrence_key): row for row in session.scalars(query)}


class StoredEvents:
    """One calendar's stored copy, read by key or by a provider's instance id.

    Providers whose change listings name instances (Microsoft Graph) use it
    to recognise Tandem's own writes and to map removed instances to their
    series. It reads rows inside the caller's session and never writes.
    """

    def __init__(self, session: Session, calendar: models.Calendar) -> None:
        self.session = session
        self.calendar = calendar

    def event(self, key: EventKey) -> Event | None:
        """Return the stored event with `key`, or None."""
        row = self.session.scalar(
            select(models.CalendarEvent).where(
                models.CalendarEvent.calendar_id == self.calendar.id,
                models.CalendarEvent.uid == key.uid,
                models.CalendarEvent.recurrence_key == recurrence_key(key),
            )
        )
        return Event.from_dict(row.data) if row is not None else None

    def series(self, uid: str) -> list[Event]:
        """Return the stored master of `uid` (if any), then its overrides."""
        return series_members(self.session, self.calendar, uid)

    def owners(self, graph_ids: list[str]) -> dict[str, EventKey]:
        """Map instance ids to the stored exception, or to the series listing them.

        The ids live in each row's `extra` (`graph_id` of an exception, the
        space-separated `instance_ids` of a master), so this reads the whole
        calendar. Providers call it only when a listing removed something.
        """
        wanted = set(graph_ids)
        found: dict[str, EventKey] = {}
        for row in _calendar_rows(self.session, self.calendar):
            event = Event.from_dict(row.data)
            if event.recurrence_id is not None:
                if event.extra.get("graph_id") in wanted:
                    found[event.extra["graph_id"]] = event.key
                continue
            for graph_id in event.extra.get("instance_ids", "").split():
                if graph_id in wanted:
                    found.setdefault(graph_id, EventKey(event.uid))
        return found


def _calendar_rows(
    session: Session, calendar: models.Calendar
) -> list[models.CalendarEvent]:
    return list(
        session.scalars(
            select(models.CalendarEvent).where(
                models.CalendarEvent.calendar_id == calendar.id
            )
        )
    )
