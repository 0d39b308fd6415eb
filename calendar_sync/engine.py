"""The calendar side of a sync: group events into series, detect 1:1s, look ahead.

Nothing here touches the database; `addon.service` stores what `scan` returns.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from calendar_sync.detection import (
    Decision,
    DetectionPolicy,
    decide,
    decide_elsewhere,
    decide_orphan,
    decide_unexpandable,
    recurs_more_than_daily,
)
from calendar_sync.errors import EventError
from calendar_sync.models import Event, EventStatus
from calendar_sync.providers.base import CalendarProvider, ChangeSet

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class SeriesView:
    """One series as the calendar shows it now, with Tandem's decision about it."""

    master: Event | None
    overrides: tuple[Event, ...]
    decision: Decision
    upcoming: tuple[Event, ...]
    #: Instances from `lookback` before now up to the horizon, upcoming included.
    window: tuple[Event, ...] = ()
    #: True when `upcoming` was rebuilt from Tandem's stored copy, without
    #: asking the provider; `window` is empty then.
    from_store: bool = False
    #: Why the series could not be expanded, shown to the user; "" when it could.
    problem: str = ""

    @property
    def uid(self) -> str:
        return self.decision.uid

    @property
    def next_occurrence(self) -> Event | None:
        return self.upcoming[0] if self.upcoming else None


@dataclass(frozen=True, slots=True)
class Scan:
    """The result of reading one calendar: every series with its decision."""

    series: tuple[SeriesView, ...]
    singles: tuple[Event, ...]
    changes: ChangeSet

    @property
    def one_on_ones(self) -> list[SeriesView]:
        return [view for view in self.series if view.decision.is_one_on_one]


def group_events(events: Iterable[Event]) -> tuple[dict[str, list[Event]], list[Event]]:
    """Group events by UID into series (master, then overrides) and single events."""
    by_uid: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_uid[event.uid].append(event)

    series: dict[str, list[Event]] = {}
    singles: list[Event] = []
    for uid, members in by_uid.items():
        members.sort(
            key=lambda event: (event.recurrence_id is not None, _sort_key(event))
        )
        head = members[0]
        if head.recurrence_id is None and not head.is_recurring and len(members) == 1:
            singles.append(head)
        else:
            series[uid] = members
    return series, singles


def _sort_key(event: Event) -> datetime:
    return event.recurrence_id or event.start


def scan(
    provider: CalendarProvider,
    policy: DetectionPolicy,
    now: datetime,
    horizon: timedelta,
    cursor: str | None = None,
    progress: Progress | None = None,
) -> Scan:
    """Read the calendar behind `provider` and decide about every series in it."""
    changes = provider.list_changes(cursor)
    grouped, singles = group_events(changes.events)

    views = []
    for index, members in enumerate(grouped.values(), start=1):
        views.append(view_series(provider, members, policy, now, horizon))
        if progress:
            progress(index, len(grouped))
    log.info(
        "scanned calendar",
        extra={
            "provider": provider.name,
            "series": len(views),
            "singles": len(singles),
        },
    )
    return Scan(tuple(views), tuple(singles), changes)


def view_series(
    provider: CalendarProvider,
    members: list[Event],
    policy: DetectionPolicy,
    now: datetime,
    horizon: timedelta,
    lookback: timedelta = timedelta(0),
) -> SeriesView:
    """Decide about one series; `members` is its master (if any), then its overrides.

    Instances are read once, from `lookback` before `now` to the horizon.
    """
    master = members[0] if members[0].recurrence_id is None else None
    overrides = tuple(event for event in members if event.recurrence_id is not None)
    if master is None:
        return SeriesView(None, overrides, decide_orphan(overrides[0]), ())

    owner = provider.owner
    organizer = master.organizer.email if master.organizer else ""
    if owner and organizer and organizer != owner:
        # Tandem judges and writes a series from its organizer's calendar
        # only; an attendee's copy costs no request.
        return SeriesView(master, overrides, decide_elsewhere(master, owner), ())

    window: tuple[Event, ...] = ()
    if needs_instances(master):
        try:
            window = tuple(
                provider.list_instances(master.uid, now - lookback, now + horizon)
            )
        except EventError as error:
            log.info("series not expanded", extra={"uid": master.uid})
            decision = decide_unexpandable(master, error.reason)
            return SeriesView(master, overrides, decision, (), problem=error.reason)
    upcoming = tuple(event for event in window if event.start >= now)
    decision = decide(master, overrides, upcoming, policy)
    return SeriesView(master, overrides, decision, upcoming, window)


def needs_instances(master: Event) -> bool:
    """Return whether deciding about `master` needs its instances.

    Cancelled series, and series that recur more often than daily, fail
    their rules whatever their instances are; the latter could have millions
    of instances inside the horizon.
    """
    return (
        master.is_recurring
        and master.status is not EventStatus.CANCELLED
        and not recurs_more_than_daily(master)
    )
