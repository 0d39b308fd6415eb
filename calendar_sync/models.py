"""Tandem's provider-neutral view of calendar events.

Every provider turns what its API or file returns into these types, and the
rest of Tandem (1:1 detection, agenda injection, follow-up planning) reads
only these. Addresses are stored normalised (see `normalise_email`), and every
`datetime` here is time-zone aware, except that all-day events carry midnight
in the zone the provider reported, with `all_day` set.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any


class AttendeeRole(enum.StrEnum):
    """ROLE parameter of RFC 5545, section 3.2.16."""

    CHAIR = "CHAIR"
    REQUIRED = "REQ-PARTICIPANT"
    OPTIONAL = "OPT-PARTICIPANT"
    NON_PARTICIPANT = "NON-PARTICIPANT"


class CalendarUserType(enum.StrEnum):
    """CUTYPE parameter of RFC 5545, section 3.2.3."""

    INDIVIDUAL = "INDIVIDUAL"
    GROUP = "GROUP"
    RESOURCE = "RESOURCE"
    ROOM = "ROOM"
    UNKNOWN = "UNKNOWN"


class ParticipationStatus(enum.StrEnum):
    """PARTSTAT parameter of RFC 5545, section 3.2.12, for events."""

    NEEDS_ACTION = "NEEDS-ACTION"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"
    TENTATIVE = "TENTATIVE"
    DELEGATED = "DELEGATED"


class EventStatus(enum.StrEnum):
    """STATUS property of RFC 5545, section 3.8.1.11, for events."""

    CONFIRMED = "CONFIRMED"
    TENTATIVE = "TENTATIVE"
    CANCELLED = "CANCELLED"


#: The longest UID Tandem stores, in characters: the size of its UID columns.
#: RFC 5545 sets no limit; Google allows event ids of up to 1,024 characters.
MAX_UID_LENGTH = 1000


def without_nul(text: str) -> str:
    """Return `text` without NUL characters.

    RFC 5545 (3.3.11) allows no control characters in TEXT, and PostgreSQL
    stores no NUL, so a stray NUL from any provider is dropped instead of
    failing the sync.
    """
    return text.replace("\x00", "")


def normalise_email(address: str) -> str:
    """Return an address in the form Tandem compares: no `mailto:`, lower case.

    Calendar exports write `mailto:Anna@Example.NL`, `MAILTO:anna@example.nl`
    and plain addresses for the same person; all three compare equal here.
    """
    value = address.strip()
    if value[:7].lower() == "mailto:":
        value = value[7:]
    # No address has whitespace in it (RFC 5322 allows it only in quoted local
    # parts, which calendars never use), but exports and hand-edited files
    # write "bram @example.nl" or wrap an address across a folded line.
    return "".join(value.split()).strip("<>").lower()


def email_domain(address: str) -> str:
    """Return the domain part of a normalised address, or "" when it has none."""
    _, at, domain = address.rpartition("@")
    return domain if at else ""


@dataclass(frozen=True, slots=True)
class Attendee:
    """One ATTENDEE (or the ORGANIZER) of an event."""

    email: str
    name: str = ""
    role: AttendeeRole = AttendeeRole.REQUIRED
    cutype: CalendarUserType = CalendarUserType.INDIVIDUAL
    partstat: ParticipationStatus = ParticipationStatus.NEEDS_ACTION

    @property
    def is_person(self) -> bool:
        """Whether this attendee is a person, not a room, resource or group."""
        return self.cutype in (CalendarUserType.INDIVIDUAL, CalendarUserType.UNKNOWN)


@dataclass(frozen=True, slots=True)
class Event:
    """One VEVENT: a single event, a series master or an override of one instance.

    `recurrence_id` is set on an override (RFC 5545 RECURRENCE-ID) and on an
    expanded occurrence, and is None on a series master and a single event.
    `rrule` holds the RRULE value as text (for example
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"), `rdates` and `exdates` the extra and
    excluded start times. `etag` is the provider's concurrency token, or a hash
    of the component for files.
    """

    uid: str
    summary: str
    start: datetime
    end: datetime
    recurrence_id: datetime | None = None
    all_day: bool = False
    organizer: Attendee | None = None
    attendees: tuple[Attendee, ...] = ()
    status: EventStatus = EventStatus.CONFIRMED
    rrule: str | None = None
    rdates: tuple[datetime, ...] = ()
    exdates: tuple[datetime, ...] = ()
    description: str = ""
    timezone: str = "UTC"
    etag: str = ""
    source: str = ""
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_recurring(self) -> bool:
        """Whether this is a series master (it has an RRULE or RDATEs)."""
        return self.recurrence_id is None and (bool(self.rrule) or bool(self.rdates))

    @property
    def ical_uid(self) -> str:
        """The iCalendar UID (RFC 5545) that every attendee's copy shares.

        Providers whose own id differs from it (Google, Graph) put it in
        `extra["ical_uid"]`; for iCalendar files `uid` is that UID.
        """
        return self.extra.get("ical_uid") or self.uid

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    @property
    def key(self) -> EventKey:
        return EventKey(self.uid, self.recurrence_id)

    def with_description(self, description: str) -> Event:
        return replace(self, description=description)

    def to_dict(self) -> dict[str, Any]:
        """Return the event as JSON-compatible values; `from_dict` reverses it."""
        data = asdict(self)
        for name in ("start", "end", "recurrence_id"):
            data[name] = data[name].isoformat() if data[name] else None
        data["rdates"] = [moment.isoformat() for moment in self.rdates]
        data["exdates"] = [moment.isoformat() for moment in self.exdates]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        values = dict(data)
        for name in ("start", "end", "recurrence_id"):
            values[name] = (
                datetime.fromisoformat(values[name]) if values[name] else None
            )
        values["rdates"] = tuple(datetime.fromisoformat(v) for v in values["rdates"])
        values["exdates"] = tuple(datetime.fromisoformat(v) for v in values["exdates"])
        values["organizer"] = (
            _attendee(values["organizer"]) if values["organizer"] else None
        )
        values["attendees"] = tuple(_attendee(item) for item in values["attendees"])
        values["status"] = EventStatus(values["status"])
        return cls(**values)


def _attendee(data: dict[str, Any]) -> Attendee:
    return Attendee(
        email=data["email"],
        name=data["name"],
        role=AttendeeRole(data["role"]),
        cutype=CalendarUserType(data["cutype"]),
        partstat=ParticipationStatus(data["partstat"]),
    )


@dataclass(frozen=True, slots=True)
class EventKey:
    """The identity of one event: its UID and, for one instance, its RECURRENCE-ID."""

    uid: str
    recurrence_id: datetime | None = None

    def __str__(self) -> str:
        if self.recurrence_id is None:
            return self.uid
        return f"{self.uid}@{self.recurrence_id.isoformat()}"


@dataclass(frozen=True, slots=True)
class BusyInterval:
    """A span of time in which one person is busy."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event that Tandem asks a provider to create, such as a follow-up 1:1."""

    uid: str
    summary: str
    start: datetime
    end: datetime
    timezone: str
    organizer: Attendee
    attendees: tuple[Attendee, ...]
    description: str = ""
