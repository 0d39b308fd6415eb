"""Graph event JSON to Tandem's `Event` and back.

Graph's model (learn.microsoft.com/graph/api/resources/event) has four event
types. A `seriesMaster` becomes a Tandem series master with an RRULE, an
`exception` becomes an override (`recurrence_id` = its `originalStart`), an
`occurrence` becomes an expanded instance, and a `singleInstance` a single
event. Tandem's UID of a series and of its instances is the master's Graph
id, because Graph gives every occurrence its own `iCalUId`.

Times are requested in UTC (`Prefer: outlook.timezone="UTC"`) and shown in
the event's own zone, `originalStartTimeZone`, which Graph gives as a Windows
name ("W. Europe Standard Time") or an IANA name.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from calendar_sync.models import (
    Attendee,
    AttendeeRole,
    CalendarUserType,
    Event,
    EventStatus,
    NewEvent,
    ParticipationStatus,
    normalise_email,
    without_nul,
)
from calendar_sync.timezones import WINDOWS_TO_IANA, resolve_timezone

log = logging.getLogger(__name__)

SOURCE = "microsoft"

#: The one single-value extended property that holds Tandem's state (JSON).
#: The GUID is Tandem's own property set; Graph requires the
#: "String {guid} Name name" form for named string properties.
STATE_PROPERTY_ID = "String {6c1d3e52-8a4f-4b1e-9d2a-7f5e0c3b9a18} Name TandemState"

#: Key in a master's `extra`: the Graph ids of its instances seen, space
#: separated, which is how a `@removed` instance id finds its series.
INSTANCE_IDS = "instance_ids"

#: `Event` fields left out of `content_hash`: the ETag, and the provider's
#: own bookkeeping in `extra`.
_UNHASHED = ("etag", "extra")

_DAYS = {
    "monday": "MO",
    "tuesday": "TU",
    "wednesday": "WE",
    "thursday": "TH",
    "friday": "FR",
    "saturday": "SA",
    "sunday": "SU",
}
_INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
_FREQUENCY = {
    "daily": "DAILY",
    "weekly": "WEEKLY",
    "absoluteMonthly": "MONTHLY",
    "relativeMonthly": "MONTHLY",
    "absoluteYearly": "YEARLY",
    "relativeYearly": "YEARLY",
}
_RESPONSE = {
    "accepted": ParticipationStatus.ACCEPTED,
    "organizer": ParticipationStatus.ACCEPTED,
    "declined": ParticipationStatus.DECLINED,
    "tentativelyAccepted": ParticipationStatus.TENTATIVE,
}
_IANA_TO_WINDOWS = {iana: windows for windows, iana in WINDOWS_TO_IANA.items()}


# -- times ----------------------------------------------------------------


def zone_of(name: str | None) -> ZoneInfo:
    """Resolve a Graph time-zone name, falling back to UTC for unknown names."""
    zone = resolve_timezone(name or "") if name else None
    if zone is None:
        if name:
            log.info("unknown time zone, using UTC", extra={"zone": name})
        return ZoneInfo("UTC")
    return zone


def parse_time(value: dict[str, Any] | None, zone: tzinfo) -> datetime:
    """Parse a `dateTimeTimeZone` and show it in `zone`."""
    if not value or not value.get("dateTime"):
        raise ValueError(f"The Graph time {value!r} has no dateTime.")
    text = str(value["dateTime"])
    main, _, fraction = text.partition(".")
    moment = datetime.fromisoformat(main)
    if fraction:
        moment += timedelta(microseconds=int(fraction[:6].ljust(6, "0")))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone_of(value.get("timeZone") or "UTC"))
    return moment.astimezone(zone)


def parse_offset(text: str) -> datetime:
    """Parse an ISO 8601 time with an offset, such as `originalStart`."""
    main = text.replace("Z", "+00:00")
    if "." in main:
        head, _, rest = main.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())
        offset = rest[len(digits) :]
        main = f"{head}.{digits[:6].ljust(6, '0')}{offset}"
    return datetime.fromisoformat(main)


def graph_time(moment: datetime, zone_name: str) -> dict[str, str]:
    """Return a `dateTimeTimeZone` for `moment` in the zone `zone_name`."""
    local = moment.astimezone(zone_of(zone_name)).replace(tzinfo=None)
    return {
        "dateTime": local.isoformat(timespec="seconds"),
        "timeZone": windows_name(zone_name),
    }


def windows_name(iana_name: str) -> str:
    """Return the Windows name Graph prefers, or the IANA name when none is known."""
    return _IANA_TO_WINDOWS.get(iana_name, iana_name)


def iana_name(zone: ZoneInfo) -> str:
    return zone.key


# -- events ---------------------------------------------------------------


def event_from_graph(data: dict[str, Any]) -> Event:
    """Map one Graph event (any of the four types) onto Tandem's `Event`."""
    zone = zone_of(data.get("originalStartTimeZone") or "UTC")
    kind = str(data.get("type") or "singleInstance")
    all_day = bool(data.get("isAllDay"))
    start = parse_time(data.get("start"), zone)
    end = parse_time(data.get("end"), zone)
    if all_day:
        start, end = _midnight(start, zone), _midnight(end, zone)

    uid, recurrence_id = _identity(data, kind, zone)
    return Event(
        uid=uid,
        summary=without_nul(str(data.get("subject") or "")),
        start=start,
        end=end,
        recurrence_id=recurrence_id,
        all_day=all_day,
        organizer=_organizer(data),
        attendees=tuple(_attendee(item) for item in data.get("attendees") or []),
        status=EventStatus.CANCELLED if data.get("isCancelled") else _status(data),
        rrule=rrule_from(data.get("recurrence"), start)
        if kind == "seriesMaster"
        else None,
        exdates=_exdates(data, start) if kind == "seriesMaster" else (),
        description=without_nul(str((data.get("body") or {}).get("content") or "")),
        timezone=iana_name(zone),
        etag=str(data.get("@odata.etag") or data.get("changeKey") or ""),
        source=SOURCE,
        extra=_extra(data, kind),
    )


def content_hash(event: Event) -> str:
    """Return a SHA-256 hex digest of the event fields Tandem reads.

    Two reads of an unchanged event give the same hash even when Graph gave
    them different ETags.
    """
    data = event.to_dict()
    for name in _UNHASHED:
        data.pop(name, None)
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _identity(
    data: dict[str, Any], kind: str, zone: tzinfo
) -> tuple[str, datetime | None]:
    if kind in ("occurrence", "exception") and data.get("seriesMasterId"):
        original = data.get("originalStart")
        if original:
            recurrence_id = parse_offset(str(original)).astimezone(zone)
        else:
            recurrence_id = parse_time(data.get("start"), zone)
        return str(data["seriesMasterId"]), recurrence_id
    return str(data["id"]), None


def _midnight(moment: datetime, zone: tzinfo) -> datetime:
    return datetime.combine(moment.astimezone(zone).date(), time(0), zone)


def _status(data: dict[str, Any]) -> EventStatus:
    if data.get("showAs") == "tentative":
        return EventStatus.TENTATIVE
    return EventStatus.CONFIRMED


def _organizer(data: dict[str, Any]) -> Attendee | None:
    address = ((data.get("organizer") or {}).get("emailAddress") or {}).get("address")
    if not address:
        return None
    name = data["organizer"]["emailAddress"].get("name") or ""
    return Attendee(
        normalise_email(address),
        name,
        AttendeeRole.CHAIR,
        partstat=ParticipationStatus.ACCEPTED,
    )


def _attendee(item: dict[str, Any]) -> Attendee:
    email = item.get("emailAddress") or {}
    kind = str(item.get("type") or "required")
    response = str((item.get("status") or {}).get("response") or "none")
    role = AttendeeRole.OPTIONAL if kind == "optional" else AttendeeRole.REQUIRED
    if kind == "resource":
        role = AttendeeRole.NON_PARTICIPANT
    return Attendee(
        normalise_email(str(email.get("address") or "")),
        str(email.get("name") or ""),
        role,
        CalendarUserType.RESOURCE
        if kind == "resource"
        else CalendarUserType.INDIVIDUAL,
        _RESPONSE.get(response, ParticipationStatus.NEEDS_ACTION),
    )


def _extra(data: dict[str, Any], kind: str) -> dict[str, str]:
    extra = {
        "graph_id": str(data.get("id") or ""),
        "graph_type": kind,
        "is_organizer": "true" if data.get("isOrganizer") else "false",
    }
    # Graph gives each occurrence an iCalUId of its own; the master's (and a
    # single event's) is the UID that invitations carry to other calendars.
    if kind in ("seriesMaster", "singleInstance") and data.get("iCalUId"):
        extra["ical_uid"] = invitation_uid(str(data["iCalUId"]))
    state = state_from(data)
    if state is not None:
        extra["tandem_state"] = json.dumps(state, sort_keys=True)
    return extra


#: The first 16 bytes of every Exchange global object id (MS-OXOCAL 2.2.1.27).
_GLOBAL_OBJECT_CLASS = bytes.fromhex("040000008200E00074C5B7101A82E008")
#: Marker at the start of the data of a global object id made from another
#: system's UID.
_VCAL_UID_MARKER = b"vCal-Uid\x01\x00\x00\x00"


def invitation_uid(ical_uid: str) -> str:
    """Return the iCalendar UID that an invitation for this event carries.

    Graph shows an event's global object id in hexadecimal. For a meeting
    made in Exchange that hex string is itself the UID its invitations
    carry. For an invitation from another system (a Google organizer, say)
    Exchange wraps the original UID (MS-OXCICAL 2.1.3.1.1.20.26 maps UID to
    the id, and MS-OXOCAL 2.2.1.27, PidLidGlobalObjectId, gives its layout).
    The 16-byte class id is followed by the instance date (4 bytes), the
    creation time (8), reserved bytes (8), the data size (4, little-endian)
    and the data. The data is "vCal-Uid", 1 as a 4-byte number, the UID and a
    zero byte. That original UID is returned, so the copy matches its
    organizer's event.
    """
    if len(ical_uid) < 80 or len(ical_uid) % 2:
        return ical_uid
    try:
        raw = bytes.fromhex(ical_uid)
    except ValueError:
        return ical_uid
    if not raw.startswith(_GLOBAL_OBJECT_CLASS):
        return ical_uid
    size = int.from_bytes(raw[36:40], "little")
    data = raw[40 : 40 + size]
    if not data.startswith(_VCAL_UID_MARKER):
        return ical_uid
    uid = data[len(_VCAL_UID_MARKER) :].split(b"\x00", 1)[0]
    try:
        return uid.decode("utf-8") or ical_uid
    except UnicodeDecodeError:
        return ical_uid


def state_from(data: dict[str, Any]) -> dict[str, str] | None:
    """Return Tandem's state from the expanded extended property, if present."""
    for item in data.get("singleValueExtendedProperties") or []:
        if str(item.get("id", "")).lower() == STATE_PROPERTY_ID.lower():
            try:
                value = json.loads(str(item.get("value") or "{}"))
            except json.JSONDecodeError:
                log.info(
                    "unreadable Tandem state ignored", extra={"id": data.get("id")}
                )
                return None
            return {str(key): str(val) for key, val in value.items()}
    return None


def state_property(state: dict[str, str]) -> dict[str, str]:
    """Return the extended property that stores `state`."""
    return {"id": STATE_PROPERTY_ID, "value": json.dumps(state, sort_keys=True)}


def _exdates(data: dict[str, Any], start: datetime) -> tuple[datetime, ...]:
    """Return the start times of cancelled occurrences.

    Graph lists them in `cancelledOccurrences` as "OID.<master id>.<date>",
    the date of the occurrence in the series' zone; the time of day is the
    master's.
    """
    starts = []
    for text in data.get("cancelledOccurrences") or []:
        stamp = str(text).rsplit(".", 1)[-1]
        try:
            day = date.fromisoformat(stamp[:10])
        except ValueError:
            log.info(
                "unreadable cancelled occurrence ignored", extra={"id": data.get("id")}
            )
            continue
        starts.append(
            datetime.combine(day, start.timetz().replace(tzinfo=None), start.tzinfo)
        )
    return tuple(sorted(starts))


# -- recurrence -----------------------------------------------------------


def rrule_from(recurrence: dict[str, Any] | None, start: datetime) -> str | None:
    """Translate a Graph `patternedRecurrence` into RRULE text (RFC 5545 3.3.10)."""
    if not recurrence:
        return None
    pattern = recurrence.get("pattern") or {}
    frequency = _FREQUENCY.get(str(pattern.get("type")))
    if frequency is None:
        log.info("unknown recurrence pattern", extra={"type": pattern.get("type")})
        return None

    parts = [f"FREQ={frequency}"]
    interval = int(pattern.get("interval") or 1)
    if interval > 1:
        parts.append(f"INTERVAL={interval}")
    parts.extend(_pattern_parts(str(pattern["type"]), pattern))
    parts.extend(_range_parts(recurrence.get("range") or {}, start))
    return ";".join(parts)


def _pattern_parts(kind: str, pattern: dict[str, Any]) -> list[str]:
    days = [
        _DAYS[day.lower()]
        for day in pattern.get("daysOfWeek") or []
        if day.lower() in _DAYS
    ]
    parts = []
    if kind == "weekly":
        parts.append(f"BYDAY={','.join(days)}")
        first = str(pattern.get("firstDayOfWeek") or "sunday").lower()
        parts.append(f"WKST={_DAYS.get(first, 'SU')}")
    if kind.startswith("relative"):
        index = _INDEX.get(str(pattern.get("index") or "first"), 1)
        parts.append(f"BYDAY={','.join(days)}")
        parts.append(f"BYSETPOS={index}")
    if kind in ("absoluteMonthly", "absoluteYearly"):
        parts.append(f"BYMONTHDAY={int(pattern.get('dayOfMonth') or 1)}")
    if kind.endswith("Yearly"):
        parts.append(f"BYMONTH={int(pattern.get('month') or 1)}")
    return parts


def _range_parts(range_: dict[str, Any], start: datetime) -> list[str]:
    kind = range_.get("type")
    if kind == "numbered":
        return [f"COUNT={int(range_.get('numberOfOccurrences') or 1)}"]
    if kind == "endDate" and range_.get("endDate"):
        # Graph's endDate is inclusive: the series may have an occurrence on
        # that day, so UNTIL is the end of that day in the series' zone.
        last_day = date.fromisoformat(str(range_["endDate"]))
        until = datetime.combine(last_day, time(23, 59, 59), start.tzinfo)
        return [f"UNTIL={until.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"]
    return []


# -- writing ----------------------------------------------------------------


def new_event_json(event: NewEvent, transaction_id: str) -> dict[str, Any]:
    """Return the POST body that creates `event`, invitations included.

    Graph sends an invitation to every attendee of an event created with
    attendees; `transactionId` lets Graph return the first event when the
    same POST is retried.
    """
    return {
        "subject": event.summary,
        # Tandem's follow-up text is plain; Graph turns it into an HTML body.
        "body": {"contentType": "text", "content": event.description},
        "start": graph_time(event.start, event.timezone),
        "end": graph_time(event.end, event.timezone),
        "attendees": [
            {
                "emailAddress": {"address": person.email, "name": person.name},
                "type": "optional"
                if person.role is AttendeeRole.OPTIONAL
                else "required",
            }
            for person in event.attendees
            if person.email != event.organizer.email
        ],
        "transactionId": transaction_id,
        "singleValueExtendedProperties": [state_property({"uid": event.uid})],
    }
