"""Date-time parsing, formatting and recurrence expansion for event resources.

An event's `start` and `end` are EventDateTime objects: either `{"date":
"yyyy-mm-dd"}` for all-day events or `{"dateTime": RFC 3339, "timeZone":
IANA name}`. Recurrence rules are expanded with python-dateutil, which reads
the RRULE, EXRULE, RDATE and EXDATE lines of RFC 5545 section 3.8.5.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import rrule

from emulators.google.errors import bad_request

# Occurrences generated for a series with no end (no COUNT or UNTIL) when the
# request gives no timeMax. Google also stops expanding open-ended series at
# some horizon; this figure is the emulator's own choice, not Google's.
MAX_OCCURRENCES = 730


@dataclass(frozen=True, slots=True)
class Slot:
    """The start and end instants of an event or occurrence."""

    start: datetime  # aware; midnight in the calendar's zone for all-day events
    end: datetime
    all_day: bool


def zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    try:
        return ZoneInfo(name or fallback)
    except (ZoneInfoNotFoundError, ValueError):
        raise bad_request(f"Invalid time zone definition: {name!r}.") from None


def parse_rfc3339(value: str, parameter: str) -> datetime:
    """Parse an RFC 3339 timestamp that must carry a UTC offset."""
    try:
        parsed = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(f"Invalid value for {parameter}: {value!r}.") from None
    if parsed.tzinfo is None:
        raise bad_request(
            f"The {parameter} value {value!r} has no UTC offset; add Z or +hh:mm."
        )
    return parsed


def to_slot(start: dict, end: dict, calendar_zone: str) -> Slot:
    """Turn an event's start and end into instants, checking they fit together."""
    if "date" in start:
        tz = zone(calendar_zone)
        first = _midnight(start["date"], tz, "start.date")
        last = _midnight(end.get("date", ""), tz, "end.date")
        return Slot(first, last, all_day=True)
    first = _instant(start, calendar_zone, "start")
    last = _instant(end, calendar_zone, "end")
    return Slot(first, last, all_day=False)


def _midnight(value: str, tz: ZoneInfo, field: str) -> datetime:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise bad_request(f"Invalid value for {field}: {value!r}.") from None
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def _instant(when: dict, calendar_zone: str, field: str) -> datetime:
    if "dateTime" not in when:
        raise bad_request(f"Missing {field} time.", reason="required")
    try:
        parsed = datetime.fromisoformat(when["dateTime"].upper().replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(f"Invalid value for {field}.dateTime.") from None
    event_zone = zone(when.get("timeZone"), calendar_zone)
    if parsed.tzinfo is None:
        # A dateTime without an offset is read in the event's own timeZone.
        return parsed.replace(tzinfo=event_zone)
    # Recurrence follows the wall clock of the event's zone across DST changes.
    return parsed.astimezone(event_zone)


def has_offset(value: str) -> bool:
    return bool(re.search(r"(Z|[+-]\d{2}:\d{2})$", value, re.IGNORECASE))


def format_datetime(moment: datetime, tz_name: str) -> str:
    """Render `moment` as Google does: in the event's zone, with its offset."""
    local = moment.astimezone(zone(tz_name))
    if local.utcoffset() == timedelta(0) and tz_name in ("UTC", "Etc/UTC"):
        return local.strftime("%Y-%m-%dT%H:%M:%SZ")
    return local.isoformat(timespec="seconds")


def format_utc(moment: datetime) -> str:
    """Render an instant in UTC with milliseconds, the form of `updated`."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def instance_suffix(original: datetime, all_day: bool) -> str:
    """Return the part after `_` in an instance id: UTC stamp or calendar date."""
    if all_day:
        return original.strftime("%Y%m%d")
    return original.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def expand(
    recurrence: list[str],
    first: Slot,
    until: datetime | None,
    since: datetime | None = None,
    limit: int = MAX_OCCURRENCES,
) -> list[datetime]:
    """List the original start times of a series in [since, until).

    At most `limit` starts are listed; `until` may end the list earlier.
    """
    lines = [line.strip() for line in recurrence if line.strip()]
    dtstart = first.start.replace(tzinfo=None) if first.all_day else first.start
    rules = [_normalise(line, first.all_day) for line in lines if _name(line) in _RULES]
    try:
        series = rrule.rrulestr(
            "\n".join(rules), dtstart=dtstart, forceset=True, unfold=True
        )
        for line in lines:
            if _name(line) in ("RDATE", "EXDATE"):
                _add_dates(series, line, first)
    except (ValueError, TypeError) as error:
        raise bad_request(f"Invalid recurrence rule {lines!r}: {error}.") from None
    return _take(series, first, until, since, limit)


_RULES = ("RRULE", "EXRULE")


def _name(line: str) -> str:
    return re.split(r"[:;]", line, maxsplit=1)[0].upper()


def _add_dates(series: rrule.rruleset, line: str, first: Slot) -> None:
    """Add an RDATE or EXDATE line to the set (RFC 5545 sections 3.8.5.1-2).

    dateutil reads no TZID parameter on RDATE, so both are parsed here.
    """
    head, _, values = line.partition(":")
    parameters = dict(p.split("=", 1) for p in head.split(";")[1:] if "=" in p)
    tz = zone(parameters.get("TZID"), "UTC") if "TZID" in parameters else None
    add = series.rdate if _name(line) == "RDATE" else series.exdate
    for value in values.split(","):
        add(_date_value(value.strip(), tz, first))


def _date_value(value: str, tz: ZoneInfo | None, first: Slot) -> datetime:
    if len(value) == 8:
        moment = datetime.strptime(value, "%Y%m%d")
    elif value.endswith("Z"):
        moment = datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    else:
        moment = datetime.strptime(value, "%Y%m%dT%H%M%S")
        moment = moment.replace(tzinfo=tz or first.start.tzinfo)
    if first.all_day:
        return moment.replace(tzinfo=None)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=first.start.tzinfo)
    return moment.astimezone(first.start.tzinfo)


def _normalise(line: str, all_day: bool) -> str:
    # dateutil cannot compare a floating DTSTART (all-day series) with a UTC
    # UNTIL, which Google writes for all-day series too, so drop the zone.
    if all_day and "UNTIL=" in line.upper():
        return re.sub(r"(UNTIL=\d{8}(T\d{6})?)Z", r"\1", line, flags=re.IGNORECASE)
    return line


def _take(
    rules: rrule.rruleset,
    first: Slot,
    until: datetime | None,
    since: datetime | None,
    limit: int,
) -> list[datetime]:
    tz = first.start.tzinfo
    found: list[datetime] = []
    for occurrence in rules:
        moment = occurrence.replace(tzinfo=tz) if first.all_day else occurrence
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=tz)
        if until is not None and moment >= until:
            break
        if since is not None and moment < since:
            continue
        found.append(moment)
        if len(found) >= limit:
            break
    return found
