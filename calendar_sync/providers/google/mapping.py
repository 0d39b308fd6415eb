"""Google Calendar Event resources to Tandem's `Event`, and new events back.

Identity: an event's `uid` is its Google event id, which is the same in the
organizer's and the attendees' calendars. An exception or an expanded
instance carries the series id (`recurringEventId`) as `uid` and its
`originalStartTime` as `recurrence_id`, as RFC 5545 RECURRENCE-ID does. The
resource's own id goes into `extra["google_id"]`.

Tandem's own bookkeeping lives in `extendedProperties.private`, which Google
keeps per calendar copy and never shows to attendees; its keys start with
`tandem`.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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

log = logging.getLogger(__name__)

SOURCE = "google"

#: extendedProperties.private keys of Tandem's state, by the state's own keys.
STATE_KEYS = {"format": "tandemFormat", "body_sha256": "tandemBodySha256"}

#: The NewEvent UID a created event came from, kept for a later lookup.
UID_KEY = "tandemUid"

_PARTSTAT = {
    "needsAction": ParticipationStatus.NEEDS_ACTION,
    "accepted": ParticipationStatus.ACCEPTED,
    "declined": ParticipationStatus.DECLINED,
    "tentative": ParticipationStatus.TENTATIVE,
}

_STATUS = {
    "confirmed": EventStatus.CONFIRMED,
    "tentative": EventStatus.TENTATIVE,
    "cancelled": EventStatus.CANCELLED,
}


def event_id_for(uid: str) -> str:
    """Return the Google event id Tandem uses for a NewEvent UID.

    Google accepts client-chosen ids of 5 to 1024 characters from base32hex
    (a-v and 0-9) and rejects a taken id with 409, so the same UID always
    names the same event and a retried create cannot make a second one.
    """
    digest = hashlib.sha256(uid.encode()).digest()[:20]
    return base64.b32hexencode(digest).decode("ascii").lower().rstrip("=")


def instance_id(series_id: str, original: datetime, all_day: bool) -> str:
    """Return the id Google gives the occurrence of `series_id` at `original`.

    NOTE: Google returns instance ids in the `<series>_<UTC start>` form
    (`<series>_<date>` for all-day series), but does not document it. So the
    provider prefers ids it has read from events.instances.
    """
    if all_day:
        return f"{series_id}_{original:%Y%m%d}"
    return f"{series_id}_{original.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    for candidate in (name, fallback, "UTC"):
        if not candidate:
            continue
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            log.info("unknown time zone", extra={"zone": candidate})
    return ZoneInfo("UTC")


def parse_when(value: dict[str, Any], default_zone: str) -> tuple[datetime, bool]:
    """Parse an EventDateTime into an aware datetime and whether it is all-day."""
    tz = zone(value.get("timeZone"), default_zone)
    if "date" in value and "dateTime" not in value:
        day = date.fromisoformat(value["date"])
        return datetime.combine(day, time(0), tz), True
    moment = datetime.fromisoformat(value["dateTime"])
    if moment.tzinfo is None:
        return moment.replace(tzinfo=tz), False
    return moment.astimezone(tz), False


def event_from_google(item: dict[str, Any], default_zone: str = "UTC") -> Event:
    """Build an Event from a Google Event resource that is not cancelled."""
    event_zone = item.get("start", {}).get("timeZone") or default_zone
    start, all_day = parse_when(item["start"], event_zone)
    end, _ = parse_when(item.get("end") or item["start"], event_zone)
    original = item.get("originalStartTime")
    recurrence_id = parse_when(original, event_zone)[0] if original else None
    rrule, rdates, exdates = parse_recurrence(item.get("recurrence") or [], event_zone)
    return Event(
        uid=str(item.get("recurringEventId") or item["id"]),
        summary=without_nul(str(item.get("summary", ""))),
        start=start,
        end=end,
        recurrence_id=recurrence_id,
        all_day=all_day,
        organizer=_organizer(item.get("organizer")),
        attendees=tuple(
            _attendee(a) for a in item.get("attendees", []) if a.get("email")
        ),
        status=_STATUS.get(str(item.get("status", "confirmed")), EventStatus.CONFIRMED),
        rrule=rrule,
        rdates=rdates,
        exdates=exdates,
        description=without_nul(str(item.get("description", ""))),
        timezone=str(zone(event_zone)),
        etag=str(item.get("etag", "")),
        source=SOURCE,
        extra=_extra(item),
    )


def removed_key(
    item: dict[str, Any], default_zone: str = "UTC"
) -> tuple[str, datetime | None]:
    """Return the (uid, recurrence id) that a cancelled item in a listing removes."""
    original = item.get("originalStartTime")
    if item.get("recurringEventId") and original:
        return str(item["recurringEventId"]), parse_when(original, default_zone)[0]
    return str(item["id"]), None


def _organizer(data: dict[str, Any] | None) -> Attendee | None:
    if not data or not data.get("email"):
        return None
    return Attendee(
        email=normalise_email(data["email"]),
        name=str(data.get("displayName", "")),
        role=AttendeeRole.CHAIR,
    )


def _attendee(data: dict[str, Any]) -> Attendee:
    # Google marks rooms and other bookable resources with `resource`.
    cutype = (
        CalendarUserType.ROOM if data.get("resource") else CalendarUserType.INDIVIDUAL
    )
    role = AttendeeRole.OPTIONAL if data.get("optional") else AttendeeRole.REQUIRED
    return Attendee(
        email=normalise_email(data["email"]),
        name=str(data.get("displayName", "")),
        role=role,
        cutype=cutype,
        partstat=_PARTSTAT.get(
            str(data.get("responseStatus", "")), ParticipationStatus.NEEDS_ACTION
        ),
    )


def _extra(item: dict[str, Any]) -> dict[str, str]:
    organizer = item.get("organizer") or {}
    extra = {
        "google_id": str(item["id"]),
        "organizer_self": "true" if organizer.get("self") else "false",
        "ical_uid": str(item.get("iCalUID", "")),
    }
    link = meet_url(item)
    if link:
        extra["meet_url"] = link
    private = (item.get("extendedProperties") or {}).get("private") or {}
    for name, key in STATE_KEYS.items():
        if key in private:
            extra[f"state_{name}"] = str(private[key])
    return extra


def state_properties(state: dict[str, str]) -> dict[str, str]:
    """Tandem's state as extendedProperties.private entries."""
    return {
        STATE_KEYS.get(name, "tandem" + name.title()): v for name, v in state.items()
    }


# -- recurrence lines (RFC 5545 section 3.8.5, as Google returns them) -------


def parse_recurrence(
    lines: list[str], default_zone: str
) -> tuple[str | None, tuple[datetime, ...], tuple[datetime, ...]]:
    """Split Google's `recurrence` lines into RRULE text, RDATEs and EXDATEs."""
    rrule: str | None = None
    rdates: list[datetime] = []
    exdates: list[datetime] = []
    for line in lines:
        head, _, value = line.partition(":")
        name, *params = head.split(";")
        name = name.upper()
        if name == "RRULE":
            rrule = value
        elif name in ("RDATE", "EXDATE"):
            target = rdates if name == "RDATE" else exdates
            target.extend(_date_values(params, value, default_zone))
        else:
            # EXRULE is deprecated by RFC 5545 and Google does not write it.
            log.info("recurrence line ignored", extra={"property": name})
    return rrule, tuple(rdates), tuple(exdates)


def _date_values(params: list[str], value: str, default_zone: str) -> list[datetime]:
    options = dict(param.partition("=")[::2] for param in params)
    tz = zone(options.get("TZID"), default_zone)
    moments = []
    for text in value.split(","):
        text = text.strip()
        if not text or "/" in text:  # RDATE periods are not used by Google
            continue
        if options.get("VALUE") == "DATE" or len(text) == 8:
            moments.append(datetime.combine(date.fromisoformat(text), time(0), tz))
        elif text.endswith("Z"):
            parsed = datetime.strptime(text, "%Y%m%dT%H%M%SZ")
            moments.append(parsed.replace(tzinfo=UTC).astimezone(tz))
        else:
            moments.append(datetime.strptime(text, "%Y%m%dT%H%M%S").replace(tzinfo=tz))
    return moments


# -- writing ----------------------------------------------------------------


def _when(moment: datetime, timezone: str) -> dict[str, str]:
    return {"dateTime": moment.isoformat(), "timeZone": timezone}


def new_event_body(event: NewEvent, meet_link: bool = False) -> dict[str, Any]:
    """Build the events.insert body of a NewEvent, with its deterministic id.

    With `meet_link`, the body asks Google to add a Meet conference; the
    request must then be sent with conferenceDataVersion=1, or Google ignores
    conferenceData.
    """
    attendees = [
        {"email": person.email, **({"displayName": person.name} if person.name else {})}
        for person in event.attendees
    ]
    body: dict[str, Any] = {
        "id": event_id_for(event.uid),
        "summary": event.summary,
        "description": event.description,
        "start": _when(event.start, event.timezone),
        "end": _when(event.end, event.timezone),
        "attendees": attendees,
        "extendedProperties": {"private": {UID_KEY: event.uid}},
    }
    if meet_link:
        body["conferenceData"] = meet_request(event.uid)
    return body


def meet_request(uid: str) -> dict[str, Any]:
    """Build a conferenceData createRequest for a Google Meet conference.

    Google ignores a createRequest whose requestId it has seen before, so the
    id is derived from the UID and a retried create asks for no second
    conference.
    """
    return {
        "createRequest": {
            "requestId": event_id_for(uid),
            "conferenceSolutionKey": {"type": "hangoutsMeet"},
        }
    }


def meet_url(item: dict[str, Any]) -> str:
    """Return the Meet link of an Event resource, or "" when it has none."""
    points = (item.get("conferenceData") or {}).get("entryPoints") or []
    for point in points:
        if point.get("entryPointType") == "video" and point.get("uri"):
            return str(point["uri"])
    return str(item.get("hangoutLink", ""))
