"""Expansion of Graph recurrence patterns (patternedRecurrence) into occurrences.

Occurrences keep the series master's wall-clock time in the master's start
time zone, so a weekly 09:00 meeting in "W. Europe Standard Time" stays at
09:00 local across daylight saving changes, as Exchange does.
"""

from datetime import UTC, date, datetime, time, timedelta

from dateutil import rrule

from .errors import GraphError
from .timezones import resolve_zone

WEEKDAYS = {
    "monday": rrule.MO,
    "tuesday": rrule.TU,
    "wednesday": rrule.WE,
    "thursday": rrule.TH,
    "friday": rrule.FR,
    "saturday": rrule.SA,
    "sunday": rrule.SU,
}
WEEK_INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
PATTERN_TYPES = {
    "daily",
    "weekly",
    "absoluteMonthly",
    "relativeMonthly",
    "absoluteYearly",
    "relativeYearly",
}
RANGE_TYPES = {"endDate", "noEnd", "numbered"}


def invalid_recurrence(message: str) -> GraphError:
    """Return the 400 Graph sends for an invalid recurrence."""
    return GraphError(400, "ErrorInvalidRequest", message)


def validate_recurrence(recurrence: dict) -> None:
    """Raise a GraphError when a patternedRecurrence is incomplete or invalid."""
    pattern = recurrence.get("pattern") or {}
    series_range = recurrence.get("range") or {}
    if pattern.get("type") not in PATTERN_TYPES:
        raise invalid_recurrence(
            f"The recurrence pattern type {pattern.get('type')!r} is invalid; "
            f"use one of {sorted(PATTERN_TYPES)}."
        )
    if series_range.get("type") not in RANGE_TYPES:
        raise invalid_recurrence(
            f"The recurrence range type {series_range.get('type')!r} is invalid; "
            f"use one of {sorted(RANGE_TYPES)}."
        )
    if not series_range.get("startDate"):
        raise invalid_recurrence("The recurrence range needs a startDate.")
    if pattern["type"] in ("weekly", "relativeMonthly", "relativeYearly") and not (
        pattern.get("daysOfWeek")
    ):
        raise invalid_recurrence(
            f"A {pattern['type']} recurrence pattern needs daysOfWeek."
        )
    build_rule(recurrence, datetime(2000, 1, 1))


def build_rule(recurrence: dict, local_start: datetime) -> rrule.rrule:
    """Return the dateutil rule for a patternedRecurrence from a naive local start."""
    pattern = recurrence["pattern"]
    series_range = recurrence["range"]
    kind = pattern["type"]
    options: dict[str, object] = {"interval": int(pattern.get("interval") or 1)}
    days = [WEEKDAYS[name.lower()] for name in pattern.get("daysOfWeek") or []]

    if kind == "weekly":
        options["byweekday"] = days
        first_day = str(pattern.get("firstDayOfWeek") or "sunday").lower()
        options["wkst"] = WEEKDAYS[first_day]
    elif kind in ("absoluteMonthly", "absoluteYearly"):
        options["bymonthday"] = int(pattern.get("dayOfMonth") or local_start.day)
    elif kind in ("relativeMonthly", "relativeYearly"):
        options["byweekday"] = days
        options["bysetpos"] = WEEK_INDEX[str(pattern.get("index") or "first")]
    if kind in ("absoluteYearly", "relativeYearly"):
        options["bymonth"] = int(pattern.get("month") or local_start.month)

    range_type = series_range["type"]
    if range_type == "numbered":
        options["count"] = int(series_range.get("numberOfOccurrences") or 1)
    elif range_type == "endDate":
        end_date = date.fromisoformat(series_range["endDate"])
        options["until"] = datetime.combine(end_date, time(23, 59, 59))

    frequency = {
        "daily": rrule.DAILY,
        "weekly": rrule.WEEKLY,
        "absoluteMonthly": rrule.MONTHLY,
        "relativeMonthly": rrule.MONTHLY,
        "absoluteYearly": rrule.YEARLY,
        "relativeYearly": rrule.YEARLY,
    }[kind]
    return rrule.rrule(frequency, dtstart=local_start, **options)


def occurrence_starts(
    recurrence: dict,
    master_start: datetime,
    zone_name: str,
    duration: timedelta,
    window_start: datetime,
    window_end: datetime,
) -> list[datetime]:
    """Return the UTC starts of occurrences that overlap [window_start, window_end)."""
    zone = resolve_zone(zone_name)
    local_time = master_start.astimezone(zone).time().replace(tzinfo=None)
    range_start = date.fromisoformat(recurrence["range"]["startDate"])
    rule = build_rule(recurrence, datetime.combine(range_start, local_time))

    starts = []
    for local in rule:
        start = local.replace(tzinfo=zone).astimezone(UTC)
        if start >= window_end:
            break
        if start + duration > window_start:
            starts.append(start)
    return starts
