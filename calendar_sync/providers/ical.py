"""An iCalendar (RFC 5545) file as a calendar provider.

The file is read once. Every VEVENT is kept twice: the component as the file
has it, which `save` writes back, and a readable copy in which every date-time
is time-zone aware. Floating times get the X-WR-TIMEZONE zone (Google exports)
or the provider's default zone, and TZIDs that the parser does not know are
resolved through `calendar_sync.timezones`. Writes change both copies, so the
saved file keeps the shape, the zones and the properties it was read with.

An event that cannot be read (no UID, no DTSTART, an invalid date, an unknown
TZID, DTEND before DTSTART) is left out and recorded in `skipped`, and it
stays in the file untouched. A file that cannot be read at all raises
`CalendarFileError`.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import html
import logging
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any, TypeVar

import dateutil.rrule
import icalendar
import recurring_ical_events
import x_wr_timezone
from dateutil.relativedelta import relativedelta
from icalendar import vDDDLists, vDDDTypes, vText

from calendar_sync import merge
from calendar_sync.errors import (
    CalendarFileError,
    ConflictError,
    EventError,
    NotFoundError,
)
from calendar_sync.models import (
    MAX_UID_LENGTH,
    Attendee,
    AttendeeRole,
    BusyInterval,
    CalendarUserType,
    Event,
    EventKey,
    EventStatus,
    NewEvent,
    ParticipationStatus,
    normalise_email,
    without_nul,
)
from calendar_sync.providers.base import CalendarProvider, ChangeSet, SkippedEvent
from calendar_sync.timezones import resolve_timezone, timezone_name

logger = logging.getLogger(__name__)

_EnumT = TypeVar("_EnumT", AttendeeRole, CalendarUserType, ParticipationStatus)

# Properties copied into Event.extra when present. TRANSP and the Exchange
# busy status decide free/busy; the others help explain a detection result.
_EXTRA_PROPERTIES = (
    "TRANSP",
    "X-MICROSOFT-CDO-BUSYSTATUS",
    "X-MICROSOFT-CDO-INTENDEDSTATUS",
    "LOCATION",
    "SEQUENCE",
    "CLASS",
)

# Properties that make a VEVENT a series; an override must not carry them
# (RFC 5545, 3.8.4.4: an override describes one instance).
_SERIES_PROPERTIES = ("RRULE", "RDATE", "EXDATE", "EXRULE")

_SINGLE_DATE_PROPERTIES = ("DTSTART", "DTEND", "RECURRENCE-ID")
_LIST_DATE_PROPERTIES = ("EXDATE", "RDATE")

# RFC 5545, 3.3.10. RSCALE and SKIP (RFC 7529, non-Gregorian calendars) are
# not listed because the expander does not support them.
_RRULE_PARTS = frozenset(
    {
        "FREQ",
        "UNTIL",
        "COUNT",
        "INTERVAL",
        "BYSECOND",
        "BYMINUTE",
        "BYHOUR",
        "BYDAY",
        "BYMONTHDAY",
        "BYYEARDAY",
        "BYWEEKNO",
        "BYMONTH",
        "BYSETPOS",
        "WKST",
    }
)
_FREQUENCIES = frozenset(
    {"SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
)

# Errors the expander raises for a series it cannot expand.
_EXPANSION_ERRORS = (
    recurring_ical_events.errors.BadRuleStringFormat,
    recurring_ical_events.errors.InvalidCalendar,
    recurring_ical_events.errors.PeriodEndBeforeStart,
    ValueError,
)

_LINE_BREAK = re.compile(r"\r\n|\n|\r")
_CALENDAR_END = b"END:VCALENDAR\r\n"
_TEXT_ESCAPE = re.compile(r"\\([\\;,nN])")

# RRULE frequencies whose DTSTART may be moved, with the period they count.
_PERIOD_UNITS = {
    "DAILY": "days",
    "WEEKLY": "weeks",
    "MONTHLY": "months",
    "YEARLY": "years",
}
_EARLIEST = datetime.min.replace(tzinfo=UTC)

# X-MICROSOFT-CDO-BUSYSTATUS values that make a person busy.
_BUSY_STATUSES = frozenset({"TENTATIVE", "BUSY", "OOF"})

# How far outside a free/busy window a single event may seem to lie and still
# overlap it: an all-day event is midnight to midnight in the calendar's zone,
# and zones are at most 14 hours from UTC.
_ALL_DAY_SLACK = timedelta(days=2)

_DATE_FORMAT_HINT = (
    "write a date as YYYYMMDD or a date-time as YYYYMMDDTHHMMSS "
    "(RFC 5545, sections 3.3.4 and 3.3.5)"
)
_DURATION_HINT = "write a duration such as PT1H or P1D (RFC 5545, 3.3.6)"


class _TolerantAlarm(icalendar.Alarm):
    ignore_exceptions = True


class _TolerantStandard(icalendar.TimezoneStandard):
    ignore_exceptions = True


class _TolerantDaylight(icalendar.TimezoneDaylight):
    ignore_exceptions = True


def _tolerant_components() -> icalendar.ComponentFactory:
    factory = icalendar.ComponentFactory()
    for component_class in (_TolerantAlarm, _TolerantStandard, _TolerantDaylight):
        factory.add_component_class(component_class)
    return factory


class _ReadingCalendar(icalendar.Calendar):
    """A Calendar whose parser keeps invalid alarm and zone values as they are.

    icalendar 7 raises on an invalid value inside VALARM, STANDARD or
    DAYLIGHT, so one "TRIGGER:PT-2H" or an iCloud "TZOFFSETFROM:+5328" would
    make the whole file unreadable. With ignore_exceptions the parser keeps
    such a value as vBroken, and serialising writes it back unchanged.
    """

    # Private in icalendar 7.3: the factory that maps component names to
    # classes for this class and everything it parses.
    _components_factory = _tolerant_components()


@dataclass(frozen=True, slots=True)
class _SeriesQuery:
    """An expander query for one UID and the earliest window start it is valid for."""

    query: recurring_ical_events.CalendarQuery
    valid_from: datetime


@dataclass(slots=True)
class _Source:
    """The position of a component inside VCALENDAR: its first line and its text."""

    name: str
    line: int
    text: str


@dataclass(eq=False)
class _Entry:
    """One VEVENT of the file: the stored component and its readable copy."""

    original: icalendar.Event
    readable: icalendar.Event
    line: int | None
    event: Event

    @property
    def uid(self) -> str:
        return self.event.uid

    @property
    def recurrence_id(self) -> datetime | None:
        return self.event.recurrence_id


class ICalendarProvider(CalendarProvider):
    """A calendar read from one .ics file, written back with `save`.

    `default_timezone` (an IANA or Windows name) applies to floating times
    in a file without X-WR-TIMEZONE, and to all-day events.
    """

    name = "ics"

    def __init__(
        self, path: str | os.PathLike[str], default_timezone: str = "UTC"
    ) -> None:
        zone = resolve_timezone(default_timezone)
        if zone is None:
            raise ValueError(
                f"Default time zone {default_timezone!r} is not an IANA or Windows "
                "time-zone name; use a name such as 'Europe/Amsterdam'."
            )
        self.path = os.fspath(path)
        self.skipped: list[SkippedEvent] = []

        raw = _read_file(self.path)
        text = _drop_empty_timezones(_decode(self.path, raw))
        sources = _check_structure(self.path, text)
        self._calendar = _parse(self.path, text)
        self._source_text = _source_text(self._calendar, sources)
        self._zone, readable_calendar = _standardise(self._calendar, zone)
        self._uses_x_wr_timezone = readable_calendar is not self._calendar

        self._raw = raw
        self._dirty = False
        self._cursor: str | None = None
        self._entries: list[_Entry] = []
        self._masters: dict[str, _Entry] = {}
        self._overrides: dict[str, dict[datetime, _Entry]] = {}
        self._queries: dict[str, _SeriesQuery] = {}
        self._uids_by_person: dict[str, set[str]] = {}
        event_sources = [source for source in sources if source.name == "VEVENT"]
        self._load_events(readable_calendar, event_sources)
        self._skip_stray_overrides()
        logger.info(
            "Loaded calendar file",
            extra={
                "path": self.path,
                "events": len(self._entries),
                "skipped": len(self.skipped),
            },
        )

    # -- the provider contract ---------------------------------------------

    def list_changes(self, cursor: str | None) -> ChangeSet:
        """List every event of the file, or nothing when the cursor still matches.

        The cursor is a SHA-256 of the file's bytes (of the pending content
        after a write), so a file has no cheaper way to list only changes.
        """
        current = self._current_cursor()
        if cursor == current:
            return ChangeSet(events=(), removed=(), cursor=current, full=False)
        events = tuple(entry.event for entry in self._entries)
        return ChangeSet(events=events, removed=(), cursor=current, full=True)

    def list_instances(self, uid: str, start: datetime, end: datetime) -> list[Event]:
        """Expand the series `uid` into its occurrences that start in [start, end).

        Only the components with this UID are expanded, and an RRULE without
        an end is expanded lazily, up to `end`. Raises EventError when the
        series cannot be expanded.
        """
        if uid not in self._masters and uid not in self._overrides:
            return []
        instances = []
        for occurrence in self._expand(uid, start, end):
            event = self._occurrence_event(uid, occurrence)
            if event is None or not start <= event.start < end:
                continue
            if event.status is not EventStatus.CANCELLED:
                instances.append(event)
        return instances

    def get_event(self, key: EventKey) -> Event | None:
        """Read a master, a single event, an override or a plain occurrence."""
        if key.recurrence_id is None:
            entry = self._masters.get(key.uid)
            return entry.event if entry else None

        override = self._overrides.get(key.uid, {}).get(key.recurrence_id)
        if override is not None:
            return override.event
        master = self._masters.get(key.uid)
        if master is None:
            return None
        if not master.event.is_recurring:
            return _single_as_instance(master.event, key.recurrence_id)
        return self._plain_occurrence(master, key.recurrence_id)

    def update_description(
        self,
        key: EventKey,
        description: str,
        etag: str,
        state: dict[str, str] | None = None,
        html_block: str | None = None,
    ) -> Event:
        """Set DESCRIPTION of one event or instance, creating an override if needed.

        Outlook exports carry an HTML copy of the description in
        X-ALT-DESC;FMTTYPE=text/html, and Outlook shows that copy. When the
        event has one, Tandem's block goes into it as well: `html_block` (a
        fragment for `merge.merge_block_html`) when given, else the plain
        block's lines as HTML; a `description` without a block takes the
        block out of the HTML too. The rest of the HTML stays as it was.

        Writing the description the event already has changes nothing. A
        file has no place for Tandem's `state`, so it is ignored. Raises
        ValueError when `html_block` is not an HTML fragment.
        """
        if html_block is not None:
            merge.merge_block_html("", html_block)  # rejects a broken fragment
        current = self.get_event(key)
        if current is None:
            raise NotFoundError(str(key))
        if current.etag != etag:
            raise ConflictError(str(key), etag, current.etag)

        entry = self._entry_for_write(key)
        stored = entry.original if entry else self._masters[key.uid].original
        html_text = _html_with_block(stored, description, html_block, str(key))
        if current.description == description and html_text is None:
            return current

        if entry is None:
            entry = self._add_override(self._masters[key.uid], current)
        self._set_description(entry, description, html_text)
        logger.info(
            "Updated event description", extra={"path": self.path, "event": str(key)}
        )

        updated = self.get_event(key)
        if updated is None:  # the entry was just written, so it exists
            raise NotFoundError(str(key))
        return updated

    def create_event(self, event: NewEvent) -> Event:
        """Add a VEVENT, or return the existing event when the UID is taken."""
        existing = self._first_event_with_uid(event.uid)
        if existing is not None:
            return existing

        zone = resolve_timezone(event.timezone)
        if zone is None:
            raise ValueError(
                f"Time zone {event.timezone!r} of new event {event.uid} is not an "
                "IANA or Windows time-zone name; use a name such as "
                "'Europe/Amsterdam'."
            )
        component = _new_component(event, zone)
        self._add_timezone_definition(zone.key)
        self._calendar.add_component(component)
        entry = self._add_entry(component, line=None)
        self._changed(event.uid)
        logger.info("Created event", extra={"path": self.path, "event": event.uid})
        return entry.event

    def busy_intervals(
        self, emails: Iterable[str], start: datetime, end: datetime
    ) -> dict[str, list[BusyInterval]]:
        """Return, per normalised address, the merged busy times in [start, end).

        A person is busy during an occurrence they organise or attend, unless
        it is cancelled, transparent (TRANSP:TRANSPARENT, RFC 5545 3.8.2.7) or
        they declined it.
        """
        wanted = {normalise_email(address) for address in emails}
        spans: dict[str, list[tuple[datetime, datetime]]] = {a: [] for a in wanted}
        for uid in self._uids_near(wanted, start, end):
            for occurrence in self._busy_expansion(uid, start, end):
                event = self._busy_occurrence(occurrence)
                if event is None:
                    continue
                span = (max(event.start, start), min(event.end, end))
                if span[0] >= span[1]:
                    continue
                for address in _busy_people(event) & wanted:
                    spans[address].append(span)
        return {address: _merge(found) for address, found in spans.items()}

    def _uids_near(self, people: set[str], start: datetime, end: datetime) -> list[str]:
        """Return the UIDs in which one of `people` takes part, near [start, end).

        Only these can make them busy, so free/busy expands them alone. A
        single event is left out when it lies more than `_ALL_DAY_SLACK`
        outside the window; the expander decides about the ones that remain.
        """
        uids = set().union(*(self._uids_by_person.get(p, ()) for p in people))
        near = []
        for uid in sorted(uids):
            master = self._masters.get(uid)
            single = master is not None and not master.event.is_recurring
            if single and uid not in self._overrides:
                event = master.event
                if event.end < start - _ALL_DAY_SLACK:
                    continue
                if event.start > end + _ALL_DAY_SLACK:
                    continue
            near.append(uid)
        return near

    def _busy_expansion(
        self, uid: str, start: datetime, end: datetime
    ) -> list[icalendar.Event]:
        try:
            return self._expand(uid, start, end)
        except EventError:
            # As the expander's skip_bad_series does for a whole calendar:
            # a series that cannot be expanded makes nobody busy.
            return []

    def _busy_occurrence(self, occurrence: icalendar.Event) -> Event | None:
        try:
            return _to_event(occurrence, self._zone, source=self.path, etag="")
        except EventError as error:
            # Loading checked every component, so this is an expanded
            # occurrence the expander built oddly; skip it, keep the rest.
            logger.info(
                "Skipped occurrence in free/busy",
                extra={"path": self.path, "where": error.where},
            )
            return None

    # -- saving ---------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """Serialise the calendar; unchanged calendars return the bytes as read.

        A component that Tandem did not change keeps the text the file has
        (with CRLF line breaks, RFC 5545, 3.1), so only new and changed
        components are serialised again.
        """
        if not self._dirty:
            return self._raw
        shell = copy.copy(self._calendar)
        shell.subcomponents = []
        # sorted=False keeps each component's properties in the file's order.
        head = shell.to_ical(sorted=False).removesuffix(_CALENDAR_END)
        parts = [head]
        parts.extend(self._component_bytes(c) for c in self._calendar.subcomponents)
        parts.append(_CALENDAR_END)
        return b"".join(parts)

    def _component_bytes(self, component: icalendar.Component) -> bytes:
        stored = self._source_text.get(id(component))
        if stored is not None and stored[0] is component:
            return stored[1]
        return component.to_ical(sorted=False)

    def save(self, path: str | os.PathLike[str] | None = None) -> None:
        """Write the calendar atomically to `path` (by default the file it came from).

        The bytes go to a temporary file in the same directory, which is
        flushed to disk and then renamed over the target, so a failure leaves
        any existing file as it was.
        """
        target = Path(os.fspath(path) if path is not None else self.path)
        data = self.to_bytes()
        handle, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(temporary, _file_mode(target))
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        logger.info("Saved calendar file", extra={"path": str(target)})

    # -- loading --------------------------------------------------------------

    def _load_events(
        self,
        readable_calendar: icalendar.Calendar,
        event_sources: list[_Source],
    ) -> None:
        originals = _top_level_events(self._calendar)
        readables = _top_level_events(readable_calendar)
        for index, original in enumerate(originals):
            source = event_sources[index] if index < len(event_sources) else None
            line = source.line if source else None
            readable = readables[index] if index < len(readables) else original
            try:
                self._add_entry(original, line, readable, source)
            except EventError as error:
                self.skipped.append(SkippedEvent(error.where, error.reason))
                logger.debug(
                    "Skipped event",
                    extra={"path": self.path, "where": error.where},
                )

    def _skip_stray_overrides(self) -> None:
        """Skip overrides whose RECURRENCE-ID is no instance of their series.

        RFC 5545 3.8.4.4 lets RECURRENCE-ID name only an instance the series
        has; a stray one is usually an edit of an instance the rule no longer
        produces. Overrides without a master in the file stay, because they
        stand for a series Tandem cannot see.
        """
        for uid, overrides in self._overrides.items():
            master = self._masters.get(uid)
            if master is None or master.event.rrule is None:
                continue
            instances = _instances_among(master.event, overrides)
            for recurrence_id, entry in list(overrides.items()):
                if recurrence_id in instances:
                    continue
                del overrides[recurrence_id]
                self._entries.remove(entry)
                where = _where(entry.original, entry.line)
                self.skipped.append(
                    SkippedEvent(
                        where,
                        f"its RECURRENCE-ID {recurrence_id.isoformat()} is not an "
                        "instance of the series' rule; give it the original start "
                        "of the instance it changes, or make it an event of its own.",
                    )
                )

    def _add_entry(
        self,
        original: icalendar.Event,
        line: int | None,
        readable: icalendar.Event | None = None,
        source: _Source | None = None,
    ) -> _Entry:
        where = _where(original, line)
        _reject_unparsed_lines(original, line, where)
        _reject_deep_nesting(original, where)
        if readable is None:
            readable = self._standardise_component(original)
        readable = _readable_copy(readable, self._zone, where)
        # Hashing the text the file has costs far less than serialising the
        # component again, and changes whenever the component does.
        etag = _text_etag(source.text) if source else _etag(original)
        event = _to_event(readable, self._zone, self.path, etag, where)
        rule_adjusted = readable.get("RRULE") is not original.get("RRULE")
        if event.rrule is not None and rule_adjusted:
            # Show the rule as the file writes it, not with the adjusted UNTIL.
            event = replace(event, rrule=_rrule_of(original, where))
        entry = _Entry(original, readable, line, event)
        self._index(entry, where)
        self._entries.append(entry)
        return entry

    def _standardise_component(self, component: icalendar.Event) -> icalendar.Event:
        """Apply X-WR-TIMEZONE to a component that Tandem adds to the file."""
        if not self._uses_x_wr_timezone:
            return component
        single = icalendar.Calendar()
        single["X-WR-TIMEZONE"] = self._calendar["X-WR-TIMEZONE"]
        single.add_component(component)
        standard = x_wr_timezone.to_standard(single, timezone=self._zone)
        return _top_level_events(standard)[0]

    def _index(self, entry: _Entry, where: str) -> None:
        self._index_people(entry)
        if entry.recurrence_id is None:
            if entry.uid in self._masters:
                raise EventError(
                    where,
                    "is a second VEVENT with this UID and no RECURRENCE-ID; give "
                    "it its own UID or add the RECURRENCE-ID of the instance it "
                    "changes.",
                )
            self._masters[entry.uid] = entry
            return

        overrides = self._overrides.setdefault(entry.uid, {})
        if entry.recurrence_id in overrides:
            raise EventError(
                where,
                f"changes instance {entry.recurrence_id.isoformat()} a second "
                "time; remove one of the two VEVENTs with this RECURRENCE-ID.",
            )
        overrides[entry.recurrence_id] = entry

    def _index_people(self, entry: _Entry) -> None:
        event = entry.event
        people = [attendee.email for attendee in event.attendees]
        if event.organizer is not None:
            people.append(event.organizer.email)
        for email in people:
            self._uids_by_person.setdefault(email, set()).add(event.uid)

    # -- reading instances ----------------------------------------------------

    def _expand(
        self, uid: str, start: datetime, end: datetime
    ) -> list[icalendar.Event]:
        try:
            return list(self._series_query(uid, start).between(start, end))
        except _EXPANSION_ERRORS as error:
            logger.info(
                "Series cannot be expanded", extra={"path": self.path, "uid": uid}
            )
            raise EventError(
                f"UID {uid}",
                f"cannot be expanded ({error}); correct its RRULE, RDATE or EXDATE.",
            ) from error

    def _series_query(
        self, uid: str, start: datetime
    ) -> recurring_ical_events.CalendarQuery:
        """Return a query over this UID's components only, for windows from `start`.

        The query is kept per UID and built again only for a window that
        begins before the moved DTSTART it was built with.
        """
        cached = self._queries.get(uid)
        if cached is not None and cached.valid_from <= start:
            return cached.query

        series = icalendar.Calendar()
        valid_from = _EARLIEST
        for entry in self._entries_with_uid(uid):
            component = entry.readable
            if entry.recurrence_id is None:
                component, valid_from = _rebased(component, start)
            series.add_component(component)
        query = recurring_ical_events.of(series)
        self._queries[uid] = _SeriesQuery(query, valid_from)
        return query

    def _occurrence_event(self, uid: str, occurrence: icalendar.Event) -> Event | None:
        recurrence_id = _occurrence_start(occurrence, self._zone)
        override = self._overrides.get(uid, {}).get(recurrence_id)
        if override is not None:
            return override.event
        master = self._masters.get(uid)
        if master is not None and not master.event.is_recurring:
            return _single_as_instance(master.event, recurrence_id)
        etag = master.event.etag if master else ""
        event = _to_event(occurrence, self._zone, self.path, etag)
        return replace(event, recurrence_id=recurrence_id)

    def _plain_occurrence(
        self, master: _Entry, recurrence_id: datetime
    ) -> Event | None:
        """Synthesise the occurrence of `master` that starts at `recurrence_id`."""
        window = timedelta(seconds=1)
        found = self._expand(master.uid, recurrence_id - window, recurrence_id + window)
        for occurrence in found:
            event = self._occurrence_event(master.uid, occurrence)
            if event is not None and event.recurrence_id == recurrence_id:
                cancelled = event.status is EventStatus.CANCELLED
                return None if cancelled else event
        return None

    def _entries_with_uid(self, uid: str) -> Iterator[_Entry]:
        master = self._masters.get(uid)
        if master is not None:
            yield master
        yield from self._overrides.get(uid, {}).values()

    def _first_event_with_uid(self, uid: str) -> Event | None:
        for entry in self._entries_with_uid(uid):
            return entry.event
        return None

    # -- writing --------------------------------------------------------------

    def _entry_for_write(self, key: EventKey) -> _Entry | None:
        """Return the component that stores `key`, or None when it needs an override."""
        master = self._masters.get(key.uid)
        if key.recurrence_id is None:
            return master
        override = self._overrides.get(key.uid, {}).get(key.recurrence_id)
        if override is not None:
            return override
        if master is not None and not master.event.is_recurring:
            return master
        return None

    def _add_override(self, master: _Entry, occurrence: Event) -> _Entry:
        """Add an override VEVENT for one plain occurrence of `master`.

        The override is a copy of the master without its recurrence rules
        (RFC 5545, 3.8.4.4), with RECURRENCE-ID in the value type and TZID of
        the master's DTSTART, and with the same SEQUENCE, so clients treat it
        as the same revision of the series.
        """
        if occurrence.recurrence_id is None:
            raise NotFoundError(str(occurrence.key))
        component = copy.deepcopy(master.original)
        for name in _SERIES_PROPERTIES:
            component.pop(name, None)

        start_template = master.original["DTSTART"]
        recurrence_id = _value_like(
            occurrence.recurrence_id, start_template, self._zone
        )
        component["RECURRENCE-ID"] = recurrence_id
        component["DTSTART"] = _value_like(occurrence.start, start_template, self._zone)
        if "DTEND" in master.original:
            end_template = master.original["DTEND"]
            component["DTEND"] = _value_like(occurrence.end, end_template, self._zone)

        self._insert_after_series(component, master.uid)
        entry = self._add_entry(component, line=None)
        self._changed(master.uid)
        return entry

    def _insert_after_series(self, component: icalendar.Event, uid: str) -> None:
        components = self._calendar.subcomponents
        # Compare by identity: reading each component's UID costs a caseless
        # dict lookup, which made adding overrides to a large file quadratic.
        series = {id(entry.original) for entry in self._entries_with_uid(uid)}
        position = len(components)
        for index in range(len(components) - 1, -1, -1):
            if id(components[index]) in series:
                position = index + 1
                break
        components.insert(position, component)

    def _set_description(
        self, entry: _Entry, description: str, html_text: str | None = None
    ) -> None:
        # Assigning keeps the property's position in the component.
        components = [entry.original]
        if entry.readable is not entry.original:
            components.append(entry.readable)
        for component in components:
            component["DESCRIPTION"] = vText(description)
            if html_text is not None:
                _replace_html_description(component, html_text)
        self._source_text.pop(id(entry.original), None)
        entry.event = replace(
            entry.event, description=description, etag=_etag(entry.original)
        )
        self._changed(entry.uid)

    def _add_timezone_definition(self, tzid: str) -> None:
        """Add a VTIMEZONE for `tzid` unless the file defines it (RFC 5545, 3.6.5)."""
        # VTIMEZONE is a child of VCALENDAR only (RFC 5545, 3.6), so the
        # top level is searched instead of every component of the file.
        defined = {
            str(zone.get("TZID", ""))
            for zone in self._calendar.subcomponents
            if zone.name == "VTIMEZONE"
        }
        if tzid in defined or tzid == "UTC":
            return
        definition = icalendar.Timezone.from_tzid(tzid)
        components = self._calendar.subcomponents
        position = next(
            (i for i, c in enumerate(components) if c.name != "VTIMEZONE"),
            len(components),
        )
        components.insert(position, definition)

    def _changed(self, uid: str) -> None:
        self._dirty = True
        self._cursor = None
        self._queries.pop(uid, None)

    def _current_cursor(self) -> str:
        if self._cursor is None:
            self._cursor = hashlib.sha256(self.to_bytes()).hexdigest()
        return self._cursor


# -- reading the file ---------------------------------------------------------


def _read_file(path: str) -> bytes:
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise CalendarFileError(
            path, f"The file could not be read ({reason}); check the path."
        ) from error
    if not raw.strip():
        raise CalendarFileError(
            path, "The file is empty; export the calendar again.", line=1
        )
    return raw


def _decode(path: str, raw: bytes) -> str:
    # RFC 5545, 3.1.4: the default charset of an iCalendar stream is UTF-8.
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise CalendarFileError(
            path,
            "The file is UTF-16; save it as UTF-8 (RFC 5545's charset) and try again.",
            line=1,
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise CalendarFileError(
            path,
            f"Byte 0x{raw[error.start]:02x} is not valid UTF-8; save the file as "
            "UTF-8 and try again.",
            line=line,
        ) from error
    if "\r" in text and "\n" not in text:
        # Classic Mac OS wrote lines ending in a bare CR; read them as CRLF.
        text = text.replace("\r", "\r\n")
    return text


_EMPTY_VTIMEZONE = re.compile(
    r"^BEGIN:VTIMEZONE\r?\n(?:(?!BEGIN:(?:STANDARD|DAYLIGHT)\b)(?!END:VTIMEZONE\b).*\r?\n)*?"
    r"END:VTIMEZONE\r?\n",
    re.MULTILINE | re.IGNORECASE,
)


def _drop_empty_timezones(text: str) -> str:
    """Remove VTIMEZONEs without STANDARD or DAYLIGHT rules.

    RFC 5545 3.6.5 requires at least one of them, and the parser rejects the
    whole file over such a zone. Without it, events that name the zone are
    skipped for an unknown TZID and the rest of the file is read.
    """
    return _EMPTY_VTIMEZONE.sub("", text)


def _check_structure(path: str, text: str) -> list[_Source]:
    """Check BEGIN/END nesting and return where each component in VCALENDAR sits.

    The parser reports a missing END only as "no components", so this scan
    finds the line first. Folded lines start with white space (RFC 5545,
    3.1) and are never BEGIN or END lines.
    """
    open_blocks: list[tuple[str, int]] = []
    sources: list[_Source] = []
    component_start = 0
    calendars = 0
    for number, (line, start, end) in enumerate(_split_lines(text), start=1):
        if not line.strip() or line[0] in " \t":
            continue
        name, _, value = line.partition(":")
        name = name.strip().upper()
        value = value.strip().upper()
        if not open_blocks and name != "BEGIN":
            _reject_outside_calendar(path, number, calendars)
        if name == "BEGIN":
            if not open_blocks:
                calendars = _count_calendar(path, number, value, calendars)
            if len(open_blocks) == 1:
                sources.append(_Source(value, number, ""))
                component_start = start
            open_blocks.append((value, number))
        elif name == "END":
            _close_block(path, number, value, open_blocks)
            if len(open_blocks) == 1:
                sources[-1].text = text[component_start:end]

    if open_blocks:
        block, begun = open_blocks[-1]
        raise CalendarFileError(
            path,
            f"The file ends inside the {block} that begins on line {begun} (no "
            f"END:{block}); the file is truncated, export the calendar again.",
            line=begun,
        )
    return sources


def _source_text(
    calendar: icalendar.Calendar, sources: list[_Source]
) -> dict[int, tuple[icalendar.Component, bytes]]:
    """Map each parsed component, by id, to itself and its text in the file.

    The map is empty when the parser's components do not line up with the
    scan, and then `to_bytes` serialises every component.
    """
    components = calendar.subcomponents
    if [c.name for c in components] != [source.name for source in sources]:
        logger.debug("Components do not match the file's structure; will serialise")
        return {}
    return {
        id(component): (component, _LINE_BREAK.sub("\r\n", source.text).encode())
        for component, source in zip(components, sources, strict=True)
    }


def _split_lines(text: str) -> Iterator[tuple[str, int, int]]:
    """Yield each line without its line break, its start offset and its end offset.

    The end offset is after the line break. Lines are what `_LINE_BREAK.split`
    returns, so line numbers match the other scans of the text.
    """
    position = 0
    for found in _LINE_BREAK.finditer(text):
        yield text[position : found.start()], position, found.end()
        position = found.end()
    yield text[position:], position, len(text)


def _reject_outside_calendar(path: str, number: int, calendars: int) -> None:
    if calendars == 0:
        raise CalendarFileError(
            path,
            "This is not an iCalendar file: it does not start with "
            "BEGIN:VCALENDAR. Export the calendar as .ics and try again.",
            line=number,
        )
    raise CalendarFileError(
        path,
        "There is content after END:VCALENDAR; remove it or export the calendar again.",
        line=number,
    )


def _count_calendar(path: str, number: int, value: str, calendars: int) -> int:
    if value != "VCALENDAR":
        _reject_outside_calendar(path, number, 0)
    if calendars:
        raise CalendarFileError(
            path,
            "The file contains more than one VCALENDAR; split it into one file "
            "per calendar.",
            line=number,
        )
    return calendars + 1


def _close_block(
    path: str, number: int, value: str, open_blocks: list[tuple[str, int]]
) -> None:
    block, begun = open_blocks.pop()
    if value != block:
        raise CalendarFileError(
            path,
            f"END:{value} does not match BEGIN:{block} on line {begun}; the file "
            "is damaged, export the calendar again.",
            line=number,
        )


def _parse(path: str, text: str) -> icalendar.Calendar:
    try:
        calendar = _ReadingCalendar.from_ical(text)
    except ValueError as error:
        raise CalendarFileError(path, *_describe_parse_error(text, error)) from error
    if not isinstance(calendar, icalendar.Calendar):
        raise CalendarFileError(
            path, "The file does not contain a VCALENDAR; export it again.", line=1
        )
    return calendar


def _describe_parse_error(text: str, error: ValueError) -> tuple[str, int | None]:
    """Turn a parser error into a reason and line without quoting file content.

    The parser's message repeats the offending line, which may be part of a
    description, so only its line number goes into the reason.
    """
    match = re.search(r"parsed into parts: '(.*)'", str(error), flags=re.DOTALL)
    if match is None:
        # Other parser errors come from values outside events (VTIMEZONE
        # offsets, durations), which contain no event text.
        # Such a message names one short value, but when the parser read the
        # whole file as one line it repeats the file: then only its first
        # clause is shown.
        message = str(error)
        summary = message if len(message) <= 80 else message.split(":", 1)[0]
        return (
            f"A value could not be parsed ({summary}); fix it or export the "
            "calendar again.",
            _line_containing(text, str(error).rsplit(" ", 1)[-1]),
        )
    bad = match.group(1).strip()
    for number, line in enumerate(_LINE_BREAK.split(text), start=1):
        if line.strip() and line[0] not in " \t" and bad.startswith(line.strip()):
            return (
                "This line is not a valid content line (expected NAME:VALUE, RFC "
                "5545 3.1); fix or remove it.",
                number,
            )
    return "A content line is not valid (expected NAME:VALUE).", None


def _line_containing(text: str, value: str) -> int | None:
    for number, line in enumerate(_LINE_BREAK.split(text), start=1):
        if value and ":" in line and line.rstrip().endswith(value):
            return number
    return None


def _standardise(
    calendar: icalendar.Calendar, default_zone: tzinfo
) -> tuple[tzinfo, icalendar.Calendar]:
    """Return the calendar's zone and a copy in which X-WR-TIMEZONE is applied.

    Google exports write UTC or floating times and name the zone in
    X-WR-TIMEZONE only. Converting them to that zone before expansion keeps
    a weekly 10:00 meeting at 10:00 across a daylight-saving change.
    """
    header = calendar.get("X-WR-TIMEZONE")
    if header is None:
        return default_zone, calendar
    zone = resolve_timezone(str(header))
    if zone is None:
        logger.warning(
            "Ignoring unknown X-WR-TIMEZONE", extra={"timezone": str(header)}
        )
        return default_zone, calendar
    return zone, x_wr_timezone.to_standard(calendar, timezone=zone)


def _reject_unparsed_lines(
    component: icalendar.Event, line: int | None, where: str
) -> None:
    """Skip an event in which the parser dropped a line it could not split.

    The parser does not keep such a line, but a save writes the skipped
    event with the text the file has, so the line stays in the file.
    """
    if any(name is None for name, _ in getattr(component, "errors", [])):
        begins = f" (the VEVENT begins on line {line})" if line else ""
        raise EventError(
            where,
            f"contains a line that is not a valid content line{begins}; every "
            "line needs the form NAME:VALUE (RFC 5545, 3.1). Fix or remove it.",
        )


def _top_level_events(calendar: icalendar.Calendar) -> list[icalendar.Event]:
    return [c for c in calendar.subcomponents if c.name == "VEVENT"]


def _where(component: icalendar.Event, line: int | None) -> str:
    # A NUL in a message would end the line early in many terminals.
    uid = str(component.get("UID", "")).strip().replace("\x00", "\\x00")
    if len(uid) > _SHOWN_UID_LENGTH:
        # A message names a long UID by its start, not in full.
        return f"UID {uid[:_SHOWN_UID_LENGTH]}…"
    if uid:
        return f"UID {uid}"
    return f"line {line}" if line else "a VEVENT without UID"


# -- making components readable -----------------------------------------------


def _readable_copy(
    component: icalendar.Event, zone: tzinfo, where: str
) -> icalendar.Event:
    """Return `component` with every date-time zone-aware, copied only if needed.

    Raises EventError for an invalid date or a TZID that neither the file
    nor `resolve_timezone` knows.
    """
    replacements: dict[str, Any] = {}
    for name in _SINGLE_DATE_PROPERTIES:
        value = component.get(name)
        if value is not None:
            fixed = _aware_single(name, value, zone, where)
            if fixed is not value:
                replacements[name] = fixed
    for name in _LIST_DATE_PROPERTIES:
        values = component.get(name)
        if values is not None:
            fixed_list = _aware_lists(name, values, zone, where)
            if fixed_list is not values:
                replacements[name] = fixed_list
    # An empty "RRULE:" (seen in holiday calendars from calendarlabs.com)
    # describes no recurrence, so the event is read as a single event.
    empty_rule = "RRULE" in component and not component["RRULE"]
    start = replacements.get("DTSTART", component.get("DTSTART"))
    rule = _rule_with_matching_until(component.get("RRULE"), start)
    if rule is not None:
        replacements["RRULE"] = rule
    if not replacements and not empty_rule:
        return component

    readable = copy.copy(component)
    for name, value in replacements.items():
        readable[name] = value
    if empty_rule:
        del readable["RRULE"]
    return readable


def _rule_with_matching_until(rule: Any, start: Any) -> icalendar.vRecur | None:
    """Return a copy of `rule` whose UNTIL has DTSTART's value type, if it differs.

    RFC 5545, 3.3.10 requires both to be of the same type but exports mix
    them. UNTIL is inclusive, so a date UNTIL of a timed series keeps every
    instance of that day, and a date-time UNTIL of an all-day series keeps
    its own day.
    """
    if not isinstance(rule, icalendar.vRecur) or not rule.get("UNTIL"):
        return None
    if start is None or not hasattr(start, "dt"):
        return None
    until = rule["UNTIL"][0]
    timed = isinstance(start.dt, datetime)
    if timed and not isinstance(until, datetime):
        last = datetime.combine(until, time(23, 59, 59), start.dt.tzinfo)
        fixed = last.astimezone(UTC) if start.dt.tzinfo is not None else last
    elif not timed and isinstance(until, datetime):
        fixed = until.date()
    else:
        return None
    changed = icalendar.vRecur(rule)
    changed["UNTIL"] = [fixed]
    return changed


def _aware_single(name: str, value: Any, zone: tzinfo, where: str) -> Any:
    if isinstance(value, list):
        raise EventError(where, f"has {len(value)} {name} properties; keep one.")
    _reject_broken(name, value, where)
    moment = value.dt
    if not isinstance(moment, datetime) or moment.tzinfo is not None:
        return value
    return vDDDTypes(moment.replace(tzinfo=_zone_of(name, value, zone, where)))


def _aware_lists(name: str, values: Any, zone: tzinfo, where: str) -> Any:
    """Make every value of repeated or comma-separated EXDATE/RDATE aware."""
    properties = _as_list(values)
    for prop in properties:
        _reject_broken(name, prop, where)
        if any(_is_time_only(item.dt) for item in prop.dts):
            raise EventError(
                where,
                f"has a {name} with VALUE=TIME, which RFC 5545 (3.8.5) does not "
                "allow; write a DATE-TIME, DATE or PERIOD.",
            )
    if not any(_is_naive(item.dt) for prop in properties for item in prop.dts):
        return values

    rebuilt = []
    for prop in properties:
        prop_zone = _zone_of(name, prop, zone, where)
        rebuilt.append(
            vDDDLists([_aware_value(item.dt, prop_zone) for item in prop.dts])
        )
    return rebuilt if isinstance(values, list) else rebuilt[0]


def _is_time_only(value: Any) -> bool:
    return isinstance(value, time)


def _is_naive(value: Any) -> bool:
    if isinstance(value, tuple):  # a PERIOD: (start, end) or (start, duration)
        return any(_is_naive(part) for part in value)
    return isinstance(value, datetime) and value.tzinfo is None


def _aware_value(value: Any, zone: tzinfo) -> Any:
    if isinstance(value, tuple):
        start, end = value
        aware_end = _aware_value(end, zone) if isinstance(end, datetime) else end
        return (_aware_value(start, zone), aware_end)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=zone)
    return value


def _zone_of(name: str, prop: Any, zone: tzinfo, where: str) -> tzinfo:
    """Return the zone for a property's naive values: its TZID, or `zone`.

    A naive value with a TZID means the parser did not know the TZID (no
    VTIMEZONE, not an IANA name); a naive value without one is floating
    (RFC 5545, 3.3.5) and belongs to the calendar's zone.
    """
    tzid = prop.params.get("TZID")
    if not tzid:
        return zone
    resolved = resolve_timezone(str(tzid))
    if resolved is None:
        raise EventError(
            where,
            f"{name} uses TZID {tzid!r}, which is neither a VTIMEZONE in the file "
            "nor an IANA or Windows time-zone name; add a VTIMEZONE for it or use "
            "an IANA name such as 'Europe/Amsterdam'.",
        )
    return resolved


def _reject_broken(name: str, value: Any, where: str) -> None:
    if isinstance(value, icalendar.vBroken) or not hasattr(value, "params"):
        hint = _DURATION_HINT if name == "DURATION" else _DATE_FORMAT_HINT
        raise EventError(where, f"has an invalid {name} value; {hint}.")


# -- normalising --------------------------------------------------------------

#: How much of a long UID an error message shows, in characters.
_SHOWN_UID_LENGTH = 120


def _to_event(
    component: icalendar.Event,
    zone: tzinfo,
    source: str,
    etag: str,
    where: str = "",
) -> Event:
    """Normalise one readable VEVENT (master, single event, override, occurrence)."""
    where = where or _where(component, None)
    uid = str(component.get("UID", "")).strip()
    if not uid:
        raise EventError(
            where, "has no UID; add a UID property so the event can be tracked."
        )
    if "\x00" in uid:
        raise EventError(
            where, "has a NUL character in its UID; remove it from the UID."
        )
    if len(uid) > MAX_UID_LENGTH:
        raise EventError(
            where,
            f"has a UID of {len(uid)} characters; Tandem stores UIDs of up to "
            f"{MAX_UID_LENGTH}, so give the event a shorter UID.",
        )
    start_property = component.get("DTSTART")
    if start_property is None:
        raise EventError(
            where, "has no DTSTART; add the start date or date-time of the event."
        )

    all_day = not isinstance(start_property.dt, datetime)
    timezone = _timezone_of(start_property, zone)
    fast = _fast_zone(timezone)
    start = _in_zone(_as_datetime(start_property.dt, zone), fast)
    end = _in_zone(_end_of(component, start, all_day, zone, where), fast)
    recurrence_id = _recurrence_id_of(component, zone)
    return Event(
        uid=uid,
        summary=_text(component.get("SUMMARY")),
        start=start,
        end=end,
        recurrence_id=_in_zone(recurrence_id, fast) if recurrence_id else None,
        all_day=all_day,
        organizer=_organizer_of(component),
        attendees=_attendees_of(component),
        status=_status_of(component),
        rrule=_rrule_of(component, where),
        rdates=tuple(
            _in_zone(moment, fast) for moment in _dates_of(component.get("RDATE"), zone)
        ),
        exdates=tuple(
            _in_zone(moment, fast)
            for moment in _dates_of(component.get("EXDATE"), zone)
        ),
        description=_text(component.get("DESCRIPTION")),
        timezone=timezone,
        etag=etag,
        source=source,
        extra=_extra_of(component),
    )


@functools.lru_cache(maxsize=256)
def _fast_zone(name: str) -> tzinfo | None:
    """The zoneinfo zone of an IANA name, or None.

    Times read through a VTIMEZONE carry a dateutil zone, whose UTC offset
    lookups walk its rules on every call; the same instant in zoneinfo's zone
    of that name compares and hashes equal and is many times faster to use.
    """
    return resolve_timezone(name) if name else None


def _in_zone(moment: datetime, zone: tzinfo | None) -> datetime:
    if zone is None or moment.tzinfo is zone or moment.tzinfo is None:
        return moment
    return moment.astimezone(zone)


def _end_of(
    component: icalendar.Event,
    start: datetime,
    all_day: bool,
    zone: tzinfo,
    where: str,
) -> datetime:
    """Return the end, with the default RFC 5545 3.6.1 defines when DTEND is missing.

    Without DTEND or DURATION a timed event ends when it starts and an
    all-day event lasts one day.
    """
    end_property = component.get("DTEND")
    duration = component.get("DURATION")
    if end_property is not None:
        if all_day != (not isinstance(end_property.dt, datetime)):
            raise EventError(
                where,
                "has DTSTART and DTEND of different value types (one a date, one "
                "a date-time); use the same type for both (RFC 5545, 3.6.1).",
            )
        end = _as_datetime(end_property.dt, zone)
    elif duration is not None:
        _reject_broken("DURATION", duration, where)
        if not isinstance(duration.dt, timedelta):
            raise EventError(where, f"has an invalid DURATION value; {_DURATION_HINT}.")
        end = _add_duration(start, duration.dt, all_day)
    else:
        end = _add_duration(start, timedelta(days=1 if all_day else 0), all_day)

    if end < start:
        raise EventError(
            where,
            f"ends ({end.isoformat()}) before it starts ({start.isoformat()}); "
            "correct DTEND or DURATION.",
        )
    return end


def _add_duration(start: datetime, duration: timedelta, all_day: bool) -> datetime:
    if all_day:
        # Days of an all-day event are calendar days, so add them to the date
        # and keep midnight even across a daylight-saving change.
        day = start.date() + timedelta(days=duration.days)
        return datetime.combine(day, time(), start.tzinfo)
    return start + duration


def _as_datetime(value: date | datetime, zone: tzinfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=zone)
    return datetime.combine(value, time(), zone)


def _recurrence_id_of(component: icalendar.Event, zone: tzinfo) -> datetime | None:
    value = component.get("RECURRENCE-ID")
    return None if value is None else _as_datetime(value.dt, zone)


def _occurrence_start(occurrence: icalendar.Event, zone: tzinfo) -> datetime:
    """Return the original start of an expanded occurrence."""
    value = occurrence.get("RECURRENCE-ID") or occurrence["DTSTART"]
    return _as_datetime(value.dt, zone)


def _single_as_instance(event: Event, recurrence_id: datetime) -> Event | None:
    """Present a single event as the only instance of itself, at its start."""
    if event.start != recurrence_id or event.status is EventStatus.CANCELLED:
        return None
    return replace(event, recurrence_id=recurrence_id)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = value[0] if value else ""
    return without_nul(str(value))


def _organizer_of(component: icalendar.Event) -> Attendee | None:
    value = component.get("ORGANIZER")
    if isinstance(value, list):
        value = value[0] if value else None
    return None if value is None else _attendee(value)


def _attendees_of(component: icalendar.Event) -> tuple[Attendee, ...]:
    values = component.get("ATTENDEE")
    if values is None:
        return ()
    found = (_attendee(value) for value in _as_list(values))
    return tuple(attendee for attendee in found if attendee is not None)


def _attendee(address: Any) -> Attendee | None:
    """Read one ATTENDEE or ORGANIZER, with the RFC 5545 parameter defaults.

    Values that are not mailto: URIs (urn:uuid: from some servers) fall back
    to the EMAIL parameter of RFC 7986 when present.
    """
    params = getattr(address, "params", {})
    email = normalise_email(str(address))
    if "@" not in email and params.get("EMAIL"):
        email = normalise_email(str(params["EMAIL"]))
    if not email:
        return None
    return Attendee(
        email=email,
        name=without_nul(str(params.get("CN", ""))).strip(),
        # RFC 5545, 3.2.16, 3.2.3 and 3.2.12: an unrecognised value counts as
        # the default REQ-PARTICIPANT, as UNKNOWN and as NEEDS-ACTION.
        role=_parameter(params, "ROLE", AttendeeRole.REQUIRED, AttendeeRole.REQUIRED),
        cutype=_parameter(
            params,
            "CUTYPE",
            CalendarUserType.INDIVIDUAL,
            CalendarUserType.UNKNOWN,
        ),
        partstat=_parameter(
            params,
            "PARTSTAT",
            ParticipationStatus.NEEDS_ACTION,
            ParticipationStatus.NEEDS_ACTION,
        ),
    )


def _parameter(params: Any, name: str, default: _EnumT, unknown: _EnumT) -> _EnumT:
    value = params.get(name)
    if not value:
        return default
    try:
        return type(default)(str(value).strip().upper())
    except ValueError:
        return unknown


def _status_of(component: icalendar.Event) -> EventStatus:
    value = _text(component.get("STATUS")).strip().upper()
    try:
        return EventStatus(value) if value else EventStatus.CONFIRMED
    except ValueError:
        return EventStatus.CONFIRMED


def _rrule_of(component: icalendar.Event, where: str) -> str | None:
    # NOTE: a second RRULE (deprecated by RFC 5545, still accepted by the
    # expander) is expanded but not shown in Event.rrule.
    value = component.get("RRULE")
    if value is None:
        return None
    first = value[0] if isinstance(value, list) else value
    if isinstance(first, icalendar.vBroken):
        raise EventError(where, "has an invalid RRULE; see RFC 5545, 3.3.10.")
    _check_rrule_parts(first, where)
    return first.to_ical().decode()


def _check_rrule_parts(rule: icalendar.vRecur, where: str) -> None:
    """Reject RRULEs the expander would fail on, before anyone expands them."""
    unknown = sorted(set(rule) - _RRULE_PARTS)
    if unknown:
        raise EventError(
            where,
            f"has an RRULE with {', '.join(unknown)}, which Tandem cannot expand; "
            "use only the parts of RFC 5545, 3.3.10.",
        )
    frequencies = [str(f).upper() for f in _as_list(rule.get("FREQ", []))]
    if len(frequencies) != 1 or frequencies[0] not in _FREQUENCIES:
        raise EventError(
            where,
            f"has an RRULE with FREQ {', '.join(frequencies) or 'missing'}; set "
            "FREQ to one of DAILY, WEEKLY, MONTHLY, YEARLY (or SECONDLY, "
            "MINUTELY, HOURLY).",
        )


def _dates_of(values: Any, zone: tzinfo) -> tuple[datetime, ...]:
    """Return every start in repeated and comma-separated EXDATE/RDATE values."""
    if values is None:
        return ()
    starts = []
    for prop in _as_list(values):
        for item in prop.dts:
            value = item.dt[0] if isinstance(item.dt, tuple) else item.dt
            starts.append(_as_datetime(value, zone))
    return tuple(starts)


def _timezone_of(start_property: Any, zone: tzinfo) -> str:
    value = start_property.dt
    zone_of_start = value.tzinfo if isinstance(value, datetime) else None
    name = timezone_name(zone_of_start, start_property.params.get("TZID"))
    # NOTE: a VTIMEZONE with a made-up TZID ("Customized Time Zone") has no
    # IANA name; the times stay right but `timezone` falls back to the
    # calendar's zone.
    return name or timezone_name(zone) or "UTC"


def _extra_of(component: icalendar.Event) -> dict[str, str]:
    extra = {}
    for name in _EXTRA_PROPERTIES:
        value = component.get(name)
        if value is not None:
            extra[name] = _text(value)
    return extra


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


#: Deepest nesting of components inside a VEVENT that Tandem reads. Real
#: events nest one level (VALARM); copying an event for an override recurses
#: once per level, which Python's default recursion limit of 1,000 bounds.
MAX_NESTING = 32


def _reject_deep_nesting(component: icalendar.Event, where: str) -> None:
    level = [component]
    for _depth in range(MAX_NESTING + 1):
        level = [child for parent in level for child in parent.subcomponents]
        if not level:
            return
    raise EventError(
        where,
        f"nests components more than {MAX_NESTING} levels deep; remove the nested "
        "components (an event holds at most VALARMs).",
    )


def _instances_among(master: Event, moments: Iterable[datetime]) -> set[datetime]:
    """Return those of `moments` at which the master's RRULE or RDATEs start one.

    The rule is expanded once, from DTSTART to the latest of `moments`, so a
    series with many overrides costs one pass instead of one per override.
    """
    candidates = set(moments)
    if not candidates:
        return candidates
    try:
        rule = dateutil.rrule.rrulestr(master.rrule or "", dtstart=master.start)
    except (ValueError, TypeError):
        return candidates  # an invalid rule was reported when the master was read
    try:
        produced = set(rule.between(min(candidates), max(candidates), inc=True))
    except TypeError:  # a floating UNTIL against an aware start, or the reverse
        return candidates
    return candidates & (produced | set(master.rdates))


def _etag(component: icalendar.Event) -> str:
    return hashlib.sha256(component.to_ical(sorted=False)).hexdigest()


def _text_etag(text: str) -> str:
    # Saving writes unchanged components back with CRLF line breaks (RFC 5545
    # section 3.1), so the etag must not depend on the file's line breaks.
    return hashlib.sha256(_LINE_BREAK.sub("\r\n", text).encode()).hexdigest()


# -- writing ------------------------------------------------------------------


def _value_like(moment: datetime, template: Any, zone: tzinfo) -> vDDDTypes:
    """Write `moment` in the value type and TZID of `template` (a DTSTART or DTEND).

    RFC 5545, 3.8.4.4 requires RECURRENCE-ID to have DTSTART's value type,
    and clients match instances by it, so a floating master gets a floating
    RECURRENCE-ID and a master with TZID gets the same TZID.
    """
    shape = template.dt
    if not isinstance(shape, datetime):
        return vDDDTypes(moment.astimezone(zone).date())
    if shape.tzinfo is None:
        return vDDDTypes(moment.astimezone(zone).replace(tzinfo=None))
    value = vDDDTypes(moment.astimezone(shape.tzinfo))
    tzid = template.params.get("TZID")
    if tzid:
        value.params["TZID"] = tzid
    return value


def _new_component(event: NewEvent, zone: tzinfo) -> icalendar.Event:
    component = icalendar.Event()
    component.add("UID", event.uid)
    component.add("DTSTAMP", datetime.now(UTC).replace(microsecond=0))
    component.add("DTSTART", event.start.astimezone(zone))
    component.add("DTEND", event.end.astimezone(zone))
    component.add("SUMMARY", event.summary)
    component.add("ORGANIZER", _address(event.organizer, rsvp=False))
    for attendee in event.attendees:
        component.add("ATTENDEE", _address(attendee, rsvp=True))
    if event.description:
        component.add("DESCRIPTION", event.description)
    component.add("STATUS", "CONFIRMED")
    component.add("SEQUENCE", 0)
    return component


def _address(person: Attendee, rsvp: bool) -> icalendar.vCalAddress:
    address = icalendar.vCalAddress(f"mailto:{person.email}")
    if person.name:
        address.params["CN"] = person.name
    if rsvp:
        address.params["ROLE"] = person.role.value
        address.params["PARTSTAT"] = person.partstat.value
        address.params["RSVP"] = "TRUE"
        if person.cutype is not CalendarUserType.INDIVIDUAL:
            address.params["CUTYPE"] = person.cutype.value
    return address


def _html_description(component: icalendar.Event) -> Any:
    """Return the X-ALT-DESC;FMTTYPE=text/html property, or None."""
    values = component.get("X-ALT-DESC")
    if values is None:
        return None
    for value in _as_list(values):
        fmttype = str(getattr(value, "params", {}).get("FMTTYPE", ""))
        if fmttype.strip().lower() == "text/html":
            return value
    return None


def _html_with_block(
    component: icalendar.Event,
    description: str,
    html_block: str | None,
    where: str,
) -> str | None:
    """Return the component's HTML description with the new block, or None.

    None means there is nothing to write: no HTML description, no change,
    or HTML that the block cannot go into (it ends inside an unclosed
    comment or <style>, where a browser would hide it).
    """
    prop = _html_description(component)
    if prop is None:
        return None
    current = _html_text(prop)
    block = html_block if html_block is not None else _block_as_html(description)
    try:
        if block is None:
            changed = merge.remove_block_html(current)
        else:
            changed = merge.merge_block_html(current, block)
    except ValueError:
        logger.warning(
            "Left the HTML description unchanged because the block cannot go into it",
            extra={"event": where},
        )
        return None
    return None if changed == current else changed


def _html_text(prop: Any) -> str:
    """Return the HTML of X-ALT-DESC, with the TEXT escapes of RFC 5545, 3.3.11 undone.

    The parser keeps the value of an X- property as the file writes it
    (vUnknown), escapes included; a value Tandem wrote is a vText and holds
    the HTML itself.
    """
    if isinstance(prop, vText):
        return str(prop)
    return _TEXT_ESCAPE.sub(_unescaped, str(prop))


def _unescaped(found: re.Match[str]) -> str:
    character = found.group(1)
    return "\n" if character in "nN" else character


def _block_as_html(description: str) -> str | None:
    """Return the body of the plain block as an HTML fragment, or None without one."""
    body = merge.block_body(description)
    if body is None:
        return None
    return "<br>".join(html.escape(line) for line in _LINE_BREAK.split(body))


def _replace_html_description(component: icalendar.Event, text: str) -> None:
    """Set the text of X-ALT-DESC;FMTTYPE=text/html, keeping its parameters."""
    old = _html_description(component)
    new = vText(text)
    new.params.update(old.params)
    values = component["X-ALT-DESC"]
    if isinstance(values, list):
        component["X-ALT-DESC"] = [new if v is old else v for v in values]
    else:
        component["X-ALT-DESC"] = new


# -- moving DTSTART ------------------------------------------------------------


def _rebased(
    component: icalendar.Event, start: datetime
) -> tuple[icalendar.Event, datetime]:
    """Return the master, or a copy whose DTSTART is moved forward towards `start`.

    The expander (dateutil) walks an RRULE from DTSTART, so a weekly series
    that began ten years ago costs 520 steps before the first occurrence in
    the window. A rule counts its INTERVAL periods from DTSTART (RFC 5545,
    3.3.10), so moving DTSTART and DTEND by a whole number of periods keeps
    every later occurrence. COUNT counts occurrences from DTSTART, so such
    rules stay as they are. The moved DTSTART lies at least the event's
    length and two days before `start`, so occurrences that overlap the
    window are still found. Also returns the earliest window start that the
    returned component is valid for.
    """
    step = _rebase_step(component)
    if step is None:
        return component, _EARLIEST
    first = component["DTSTART"].dt
    length = _length_of(component, first)
    latest = start - length - timedelta(days=2)
    periods = _whole_periods(first, latest, step)
    if periods <= 0:
        return component, _EARLIEST

    shift = relativedelta(**{step.unit: periods * step.interval})
    moved = copy.copy(component)
    for name in ("DTSTART", "DTEND"):
        if name in component:
            moved[name] = _shifted(component[name], shift)
    moved_start = _as_datetime(moved["DTSTART"].dt, start.tzinfo or UTC)
    return moved, moved_start + length + timedelta(days=2)


@dataclass(frozen=True, slots=True)
class _Step:
    unit: str
    interval: int


def _rebase_step(component: icalendar.Event) -> _Step | None:
    """Return the rule's period, or None when DTSTART must stay where it is."""
    rule = component.get("RRULE")
    if not isinstance(rule, icalendar.vRecur) or "COUNT" in rule:
        return None
    if "EXRULE" in component or not isinstance(component.get("DTSTART"), vDDDTypes):
        return None
    frequency = str(_as_list(rule.get("FREQ", [""]))[0]).upper()
    unit = _PERIOD_UNITS.get(frequency)
    first = component["DTSTART"].dt
    if unit is None or not isinstance(first, date):
        return None
    # A monthly or yearly rule without BYMONTHDAY takes the day from
    # DTSTART; moving the 31st by months could land on the 30th.
    if unit in ("months", "years") and first.day > 28:
        return None
    interval = int(_as_list(rule.get("INTERVAL", [1]))[0] or 1)
    return _Step(unit, max(interval, 1))


def _length_of(component: icalendar.Event, first: date) -> timedelta:
    end = component.get("DTEND")
    if end is not None and type(end.dt) is type(first):
        return max(end.dt - first, timedelta(0))
    duration = component.get("DURATION")
    if duration is not None and isinstance(duration.dt, timedelta):
        return max(duration.dt, timedelta(0))
    return timedelta(days=1)


def _whole_periods(first: date, latest: datetime, step: _Step) -> int:
    """Return how many whole steps fit between `first` and `latest`, maybe fewer."""
    begin = _as_datetime(first, latest.tzinfo or UTC)
    if begin >= latest:
        return 0
    days = (latest - begin).days
    per_step = {"days": 1, "weeks": 7, "months": 31, "years": 366}[step.unit]
    # Months and years are counted with their longest length, so the result
    # never overshoots; a few periods short only costs a few more steps.
    return days // (per_step * step.interval)


def _shifted(prop: Any, shift: relativedelta) -> vDDDTypes:
    # relativedelta adds wall-clock time and keeps the zone, as RRULE does.
    value = vDDDTypes(prop.dt + shift)
    value.params.update(prop.params)
    return value


# -- free/busy ----------------------------------------------------------------


def _busy_people(event: Event) -> set[str]:
    """Return the addresses that `event` makes busy."""
    if event.status is EventStatus.CANCELLED or _is_free_time(event):
        return set()
    people = {attendee.email for attendee in event.attendees}
    if event.organizer is not None:
        people.add(event.organizer.email)
    declined = {
        attendee.email
        for attendee in event.attendees
        if attendee.partstat is ParticipationStatus.DECLINED
    }
    return people - declined


def _is_free_time(event: Event) -> bool:
    """Return whether `event` leaves its people free.

    Outlook writes its own busy status, X-MICROSOFT-CDO-BUSYSTATUS (FREE,
    TENTATIVE, BUSY or OOF, MS-OXCICAL 2.1.3.1.1.20.31), often without
    TRANSP, and shows that status. So a known busy status decides, and
    otherwise TRANSP:TRANSPARENT (RFC 5545, 3.8.2.7) marks free time.
    """
    status = event.extra.get("X-MICROSOFT-CDO-BUSYSTATUS", "").strip().upper()
    if status == "FREE":
        return True
    if status in _BUSY_STATUSES:
        return False
    return event.extra.get("TRANSP", "").strip().upper() == "TRANSPARENT"


def _merge(spans: list[tuple[datetime, datetime]]) -> list[BusyInterval]:
    merged: list[list[datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [BusyInterval(start, end) for start, end in merged]


def _file_mode(target: Path) -> int:
    """Return the mode for the saved file: the existing file's, else the umask's.

    `tempfile.mkstemp` creates files readable by their owner only, which is
    right while writing but wrong for a calendar that others read.
    """
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
