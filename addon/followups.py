"""Plan the follow-up 1:1 after a goal review.

The follow-up goes `weeks` after the review, in the first slot on a working
day (Monday to Friday) inside working hours in the organizer's time zone
when neither person is busy in any calendar Tandem reads. Its UID is derived
from the review, so planning twice, or retrying a task, finds the same event
instead of creating a second one.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from calendar_sync.models import BusyInterval

#: Search this many working days from the target date before giving up.
SEARCH_DAYS = 10
#: Candidate start times are this far apart.
STEP = timedelta(minutes=15)

_NAMESPACE = uuid.UUID("0b7e3c1e-6d0e-4c55-9d61-7f2a3c9e8b10")

# Goal reviews in Dutch and English titles. "Functionerings-" and
# "beoordelingsgesprek" are the Dutch names for the yearly review in which
# goals are evaluated, so they count as well.
GOAL_REVIEW = re.compile(
    r"(doelgesprek|doelstelling\w*|doelen\w*gesprek|goals?[- ]?(review|setting|check)|"
    r"review (of )?goals|okr[- ]?review|functioneringsgesprek|beoordelingsgesprek|"
    r"performance review|jaargesprek|voortgangsgesprek)",
    re.IGNORECASE,
)


def is_goal_review(summary: str) -> bool:
    return GOAL_REVIEW.search(summary) is not None


def followup_uid(tenant: str, series_uid: str, review_recurrence_id: datetime) -> str:
    """The UID of the follow-up of one review: the same inputs give the same UID."""
    name = f"{tenant}\n{series_uid}\n{review_recurrence_id.isoformat()}"
    return f"tandem-followup-{uuid.uuid5(_NAMESPACE, name)}@tandem"


@dataclass(frozen=True, slots=True)
class WorkingHours:
    start: int
    end: int
    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def candidate_days(first: date, count: int = SEARCH_DAYS) -> Iterable[date]:
    """Yield `count` working days (Monday to Friday) from `first` on."""
    day = first
    yielded = 0
    while yielded < count:
        if day.weekday() < 5:
            yield day
            yielded += 1
        day += timedelta(days=1)


def find_slot(
    earliest: datetime,
    duration: timedelta,
    hours: WorkingHours,
    busy: Sequence[BusyInterval],
) -> datetime | None:
    """Return the first free start at or after `earliest`, or None within the search."""
    zone = hours.zone
    intervals = sorted(busy, key=lambda interval: interval.start)
    for day in candidate_days(earliest.astimezone(zone).date()):
        start = datetime.combine(day, time(hours.start), zone)
        day_end = datetime.combine(day, time(0), zone) + timedelta(hours=hours.end)
        while start + duration <= day_end:
            if start >= earliest and _is_free(start, start + duration, intervals):
                return start
            start += STEP
    return None


def search_window(earliest: datetime, hours: WorkingHours) -> tuple[datetime, datetime]:
    """The span `find_slot` may look at, so busy times are read once for all of it."""
    zone = hours.zone
    days = list(candidate_days(earliest.astimezone(zone).date()))
    first = datetime.combine(days[0], time(0), zone)
    last = datetime.combine(days[-1], time(0), zone) + timedelta(days=1)
    return first, last


def _is_free(start: datetime, end: datetime, busy: Sequence[BusyInterval]) -> bool:
    return all(interval.end <= start or interval.start >= end for interval in busy)
