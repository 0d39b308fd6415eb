"""Event resources: storing, rendering and expanding them as Calendar API v3 does.

The rules followed here come from the Calendar API v3 reference and from
responses Google returns:

- An instance of a series has the id `<seriesId>_<start>`, where `<start>` is
  the original start in UTC (`20250303T090000Z`) or the date of an all-day
  series (`20250303`). It carries `recurringEventId` and `originalStartTime`.
- Writing an instance stores an exception: its own resource with its own ETag.
  Deleting an instance stores a cancelled exception.
- Deleted events stay listed with `status: cancelled` and only the fields that
  identify them, but only for `showDeleted=true` or in an incremental sync.
- `extendedProperties.private` belongs to one calendar's copy of the event;
  `shared` is the same for every attendee's copy.
"""

from __future__ import annotations

import copy
import logging
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from emulators.google import conference, params, schemas, times
from emulators.google.errors import ApiError, bad_request, not_found
from emulators.google.html import rewrite_as_ui
from emulators.google.state import Calendar, EmulatorState, Record, SentUpdate

logger = logging.getLogger(__name__)

# Event ids: base32hex characters (a-v, 0-9), 5 to 1024 long, as the
# description of Event.id in the discovery document states.
_EVENT_ID = re.compile(r"[a-v0-9]{5,1024}")
_INSTANCE_SUFFIX = re.compile(r"(\d{8})(T\d{6}Z)?")

# Fields a client may send but that the server sets itself; Google ignores
# them on insert, update and patch instead of rejecting the request.
_SERVER_FIELDS = {
    "kind",
    "etag",
    "htmlLink",
    "created",
    "updated",
    "creator",
    "organizer",
    "hangoutLink",
    "recurringEventId",
    "privateCopy",
    "locked",
}
# Fields that identify an event and cannot change after insert.
_FIXED_FIELDS = {"id", "iCalUID", "recurringEventId", "originalStartTime"}
# A change to one of these raises `sequence` (RFC 5545 section 3.8.7.4).
_SEQUENCE_FIELDS = ("start", "end", "recurrence", "location")
_TOMBSTONE_FIELDS = ("kind", "etag", "id", "status", "recurringEventId")


# -- reading -------------------------------------------------------------------


def render(record: Record, calendar: Calendar, listing: bool) -> dict[str, Any]:
    """Render `record` for the owner of `calendar`.

    In a list, a cancelled event (or one this calendar was removed from) is
    reduced to the fields that identify it, as Google lists deletions.
    """
    if record.id in calendar.removed or (listing and record.cancelled):
        return _tombstone(record)

    body = copy.deepcopy(record.resource)
    _mark_self(body, calendar.owner)
    private = record.private.get(calendar.id)
    if private:
        body.setdefault("extendedProperties", {})["private"] = dict(private)
    return body


def _tombstone(record: Record) -> dict[str, Any]:
    body = {
        key: record.resource[key] for key in _TOMBSTONE_FIELDS if key in record.resource
    }
    body["status"] = "cancelled"
    if "originalStartTime" in record.resource:
        body["originalStartTime"] = record.resource["originalStartTime"]
    return body


def _mark_self(body: dict[str, Any], owner: str) -> None:
    # `self` is relative to the calendar being read, so it is added on output.
    for key in ("organizer", "creator"):
        if body.get(key, {}).get("email") == owner:
            body[key]["self"] = True
    for attendee in body.get("attendees", []):
        if attendee.get("email") == owner:
            attendee["self"] = True


def series_slot(record: Record, calendar: Calendar) -> times.Slot:
    return times.to_slot(
        record.resource["start"], record.resource["end"], calendar.time_zone
    )


def series_zone(record: Record, calendar: Calendar) -> str:
    return record.resource["start"].get("timeZone") or calendar.time_zone


def occurrence_time(moment: datetime, all_day: bool, zone: str) -> dict[str, str]:
    """Build an EventDateTime for one occurrence of a series."""
    if all_day:
        return {"date": moment.date().isoformat()}
    return {"dateTime": times.format_datetime(moment, zone), "timeZone": zone}


def render_instance(
    master: Record, original: datetime, calendar: Calendar
) -> dict[str, Any]:
    """Build the unmodified occurrence of `master` that starts at `original`."""
    slot = series_slot(master, calendar)
    zone = series_zone(master, calendar)
    body = render(master, calendar, listing=False)
    body.pop("recurrence", None)

    body["id"] = f"{master.id}_{times.instance_suffix(original, slot.all_day)}"
    body["recurringEventId"] = master.id
    body["originalStartTime"] = occurrence_time(original, slot.all_day, zone)
    body["start"] = occurrence_time(original, slot.all_day, zone)
    body["end"] = occurrence_time(
        original + (slot.end - slot.start), slot.all_day, zone
    )
    return body


def original_instant(record: Record, calendar: Calendar) -> datetime:
    original = record.resource["originalStartTime"]
    return times.to_slot(original, original, calendar.time_zone).start


def expand_series(
    master: Record,
    calendar: Calendar,
    since: datetime | None,
    until: datetime | None,
    show_cancelled: bool,
    limit: int = times.MAX_OCCURRENCES,
) -> list[tuple[datetime, dict[str, Any], Record | None]]:
    """List the occurrences of `master` overlapping [since, until), sorted.

    Each entry is (start, rendered resource, exception record or None).
    Exceptions replace the occurrence they modify, also when moved.
    """
    slot = series_slot(master, calendar)
    duration = slot.end - slot.start
    lower = since - duration if since is not None else None
    rules = master.resource.get("recurrence", [])
    starts = times.expand(rules, slot, until, lower, limit)
    exceptions = {original_instant(e, calendar): e for e in master.exceptions.values()}

    found = []
    for original in starts:
        exception = exceptions.get(original)
        if exception is None:
            found.append((original, render_instance(master, original, calendar), None))
            continue
        if exception.cancelled and not show_cancelled:
            continue
        start = _start_of(exception, calendar) or original
        found.append((start, render(exception, calendar, listing=True), exception))
    return [entry for entry in found if overlaps(entry[1], calendar, since, until)]


def _start_of(record: Record, calendar: Calendar) -> datetime | None:
    if "start" not in record.resource:
        return None
    return times.to_slot(
        record.resource["start"], record.resource["end"], calendar.time_zone
    ).start


def overlaps(
    body: dict[str, Any],
    calendar: Calendar,
    since: datetime | None,
    until: datetime | None,
) -> bool:
    # timeMin bounds an event's end and timeMax its start, both exclusive.
    if "start" not in body:
        return True
    slot = times.to_slot(body["start"], body["end"], calendar.time_zone)
    if since is not None and slot.end <= since:
        return False
    return not (until is not None and slot.start >= until)


def resolve(
    calendar: Calendar, event_id: str
) -> tuple[Record | None, Record | None, datetime | None]:
    """Find an event id: a stored record, or an unmodified series occurrence.

    Returns (record, master, original); `record` is None for an occurrence
    that has no exception yet, and everything is None when nothing matches.
    """
    record = calendar.records.get(event_id)
    if record is not None:
        return record, None, None
    if "_" not in event_id:
        return None, None, None

    master_id, suffix = event_id.rsplit("_", 1)
    master = calendar.records.get(master_id)
    if master is None or not master.resource.get("recurrence"):
        return None, None, None
    original = _match_occurrence(master, calendar, suffix)
    return (None, master, original) if original else (None, None, None)


def _match_occurrence(
    master: Record, calendar: Calendar, suffix: str
) -> datetime | None:
    if not _INSTANCE_SUFFIX.fullmatch(suffix):
        return None
    slot = series_slot(master, calendar)
    if slot.all_day:
        day = datetime.strptime(suffix[:8], "%Y%m%d")
        moment = day.replace(tzinfo=slot.start.tzinfo)
    elif len(suffix) == 16:
        moment = datetime.strptime(suffix, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    else:
        return None
    starts = times.expand(
        master.resource["recurrence"], slot, moment + timedelta(seconds=1), moment, 1
    )
    return starts[0] if starts else None


def get_event(calendar: Calendar, event_id: str) -> dict[str, Any]:
    """Read one event or occurrence (events.get)."""
    record, master, original = resolve(calendar, event_id)
    if record is not None:
        return render(record, calendar, listing=False)
    if master is not None and original is not None:
        if master.cancelled:
            return _tombstone_instance(master, original, calendar)
        return render_instance(master, original, calendar)
    raise not_found(f"event {event_id!r} in calendar {calendar.id!r}")


def _tombstone_instance(master: Record, original: datetime, calendar: Calendar) -> dict:
    body = render_instance(master, original, calendar)
    keep = ("kind", "etag", "id", "recurringEventId", "originalStartTime")
    return {**{k: body[k] for k in keep if k in body}, "status": "cancelled"}


# -- writing -------------------------------------------------------------------


def insert_event(
    state: EmulatorState,
    calendar: Calendar,
    body: dict[str, Any],
    send_updates: str | None,
    conference_version: int = 1,
) -> dict[str, Any]:
    """Store a new event (events.insert) and return it as the caller sees it.

    `conference_version` is the request's conferenceDataVersion; the control
    API seeds with 1, so seeded conference data is kept as given.
    """
    params.check_body(schemas.CALENDAR, "Event", body)
    event_id = body.get("id") or _new_event_id()
    _check_new_id(state, calendar, event_id)

    resource = _writable(body)
    resource["id"] = event_id
    resource["iCalUID"] = body.get("iCalUID") or f"{event_id}@google.com"
    _check_times(resource, calendar)
    conference.apply(resource, conference_version)
    resource.update(_server_fields(state, calendar, event_id))
    private = _take_private(resource)

    record = Record(resource=resource, calendar_id=calendar.id, change=0)
    record.private[calendar.id] = private
    _normalise_attendees(resource, calendar.owner)
    _place(state, record, calendar)
    _touch(state, record)
    _record_updates(state, "calendar.events.insert", record, send_updates)
    logger.info("event inserted", extra={"calendar": calendar.id, "event": event_id})
    return render(record, calendar, listing=False)


def import_event(
    state: EmulatorState,
    calendar: Calendar,
    body: dict[str, Any],
    conference_version: int = 0,
) -> dict[str, Any]:
    """Add a private copy of an existing event to one calendar (events.import).

    The discovery document makes `iCalUID`, `start` and `end` required here
    and lets `organizer` be written only by this method, so an invitation
    from another system (a Microsoft 365 organizer, say) is stored with that
    organizer. The copy lives in this calendar alone and no guest gets an update.
    Importing the iCalUID of an earlier import replaces that copy, as a
    calendar client re-importing an updated invitation expects. The iCalUID
    of any other event in the calendar (an invitation, or an event the owner
    shares with guests) gets 409, so an import never changes what other
    calendars show.
    """
    params.check_body(schemas.CALENDAR, "Event", body)
    ical_uid = body.get("iCalUID")
    if not isinstance(ical_uid, str) or not ical_uid.strip():
        raise bad_request("Missing iCalUID.", reason="required")
    organizer = body.get("organizer") or {"email": calendar.owner}
    if not organizer.get("email"):
        raise bad_request("Missing organizer email.", reason="required")

    existing = next(
        (
            record
            for record in calendar.records.values()
            if record.resource.get("iCalUID") == ical_uid
            and record.id not in calendar.removed
            and not record.cancelled
        ),
        None,
    )
    if existing is not None and existing.calendar_ids != {calendar.id}:
        raise ApiError(
            409,
            "duplicate",
            f"Calendar {calendar.id!r} already has event {existing.id!r} with "
            f"iCalUID {ical_uid!r}; change that event instead of importing.",
        )
    event_id = existing.id if existing else body.get("id") or _new_event_id()
    if existing is None:
        _check_new_id(state, calendar, event_id)

    resource = _writable(body)
    resource["id"] = event_id
    resource["iCalUID"] = ical_uid
    _check_times(resource, calendar)
    conference.apply(resource, conference_version)
    resource.update(_server_fields(state, calendar, event_id))
    resource["organizer"] = {
        key: organizer[key] for key in ("email", "displayName") if key in organizer
    }
    if existing is not None:
        resource["created"] = existing.resource["created"]
        resource["sequence"] = existing.resource.get("sequence", 0)
    private = _take_private(resource)

    record = existing or Record(resource=resource, calendar_id=calendar.id, change=0)
    record.resource = resource
    record.private[calendar.id] = private
    _normalise_attendees(resource, resource["organizer"]["email"])
    record.calendar_ids.add(calendar.id)
    calendar.records[event_id] = record
    calendar.removed.discard(event_id)
    _touch(state, record)
    logger.info("event imported", extra={"calendar": calendar.id, "event": event_id})
    return render(record, calendar, listing=False)


def _new_event_id() -> str:
    alphabet = "0123456789abcdefghijklmnopqrstuv"
    return "".join(secrets.choice(alphabet) for _ in range(26))


def _check_new_id(state: EmulatorState, calendar: Calendar, event_id: str) -> None:
    if not _EVENT_ID.fullmatch(event_id):
        raise bad_request(
            f"Invalid resource id value {event_id!r}: use 5 to 1024 characters "
            "from a-v and 0-9."
        )
    # Ids stay taken after a delete, as at Google.
    if event_id in calendar.records:
        raise ApiError(
            409, "duplicate", f"The requested identifier {event_id!r} already exists."
        )


def _writable(body: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in body.items() if k not in _SERVER_FIELDS}


def _server_fields(
    state: EmulatorState, calendar: Calendar, event_id: str
) -> dict[str, Any]:
    now = times.format_utc(datetime.now(UTC))
    return {
        "kind": "calendar#event",
        "status": "confirmed",
        "htmlLink": f"https://www.google.com/calendar/event?eid={event_id}",
        "created": now,
        "creator": {"email": calendar.owner},
        "organizer": {"email": calendar.owner},
        "sequence": 0,
        "reminders": {"useDefault": True},
        "eventType": "default",
    }


def _check_times(resource: dict[str, Any], calendar: Calendar) -> None:
    for field in ("start", "end"):
        if field not in resource or not resource[field]:
            raise bad_request(f"Missing {field} time.", reason="required")
    start, end = resource["start"], resource["end"]
    if ("date" in start) != ("date" in end):
        raise bad_request("Start and end must both be a date or both be a dateTime.")
    slot = times.to_slot(start, end, calendar.time_zone)
    _add_offsets(resource, calendar)
    if slot.end < slot.start:
        raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.")
    if resource.get("recurrence"):
        _check_recurrence(resource, slot)


def _add_offsets(resource: dict[str, Any], calendar: Calendar) -> None:
    # A request may send a local dateTime with a timeZone; Google stores and
    # returns it with the zone's UTC offset added.
    for field in ("start", "end", "originalStartTime"):
        when = resource.get(field, {})
        if "dateTime" in when and not times.has_offset(when["dateTime"]):
            moment = times.to_slot(when, when, calendar.time_zone).start
            when["dateTime"] = times.format_datetime(
                moment, when.get("timeZone") or calendar.time_zone
            )


def _check_recurrence(resource: dict[str, Any], slot: times.Slot) -> None:
    # Google needs a zone to expand a timed series across DST changes.
    if not slot.all_day and not resource["start"].get("timeZone"):
        raise bad_request(
            "Missing time zone definition for start time.", reason="required"
        )
    for line in resource["recurrence"]:
        if not re.match(r"(RRULE|EXRULE|RDATE|EXDATE)[:;]", line):
            raise bad_request(f"Invalid recurrence rule {line!r}.")
    # Parsing the rules and taking one start is enough to reject a bad rule.
    times.expand(resource["recurrence"], slot, None, limit=1)


def _take_private(resource: dict[str, Any]) -> dict[str, str]:
    extended = resource.get("extendedProperties")
    if not extended:
        resource.pop("extendedProperties", None)
        return {}
    private = extended.pop("private", None) or {}
    if not extended.get("shared"):
        resource.pop("extendedProperties")
    return private


def _normalise_attendees(resource: dict[str, Any], organizer: str) -> None:
    for attendee in resource.get("attendees", []):
        if not attendee.get("email"):
            raise bad_request("Missing attendee email.", reason="required")
        attendee.pop("self", None)
        attendee.setdefault("responseStatus", "needsAction")
        if attendee["email"] == organizer:
            attendee["organizer"] = True


def _place(state: EmulatorState, record: Record, organizer_calendar: Calendar) -> None:
    """List `record` in the organizer's calendar and its attendees' primary ones."""
    wanted = {organizer_calendar.id}
    for attendee in record.resource.get("attendees", []):
        invited = state.calendars.get(attendee["email"])
        if invited is not None and invited.primary:
            wanted.add(invited.id)

    for calendar_id in wanted | record.calendar_ids:
        calendar = state.calendars[calendar_id]
        calendar.records[record.id] = record
        if calendar_id in wanted:
            calendar.removed.discard(record.id)
        else:
            calendar.removed.add(record.id)
    record.calendar_ids |= wanted


def _touch(state: EmulatorState, record: Record) -> None:
    now = times.format_utc(datetime.now(UTC))
    record.change = state.tick()
    record.resource["etag"] = state.new_etag()
    record.resource["updated"] = now
    for calendar_id in sorted(record.calendar_ids):
        state.calendars[calendar_id].updated = now
        state.on_change(calendar_id)


def _record_updates(
    state: EmulatorState, method: str, record: Record, send_updates: str | None
) -> None:
    """Note the emails Google would send to guests for this write."""
    if send_updates not in ("all", "externalOnly"):
        return
    organizer = record.resource.get("organizer", {}).get("email", "")
    domain = organizer.rsplit("@", 1)[-1]
    recipients = [
        a["email"]
        for a in record.resource.get("attendees", [])
        if a["email"] != organizer
        and (send_updates == "all" or not a["email"].endswith("@" + domain))
    ]
    state.sent_updates.append(SentUpdate(method, record.id, send_updates, recipients))


def write_event(
    state: EmulatorState,
    calendar: Calendar,
    event_id: str,
    body: dict[str, Any],
    if_match: str | None,
    send_updates: str | None,
    replace: bool,
) -> dict[str, Any]:
    """Apply events.patch (merge) or events.update (replace) to an event."""
    params.check_body(schemas.CALENDAR, "Event", body)
    record, master, original = resolve(calendar, event_id)
    if record is None and master is None:
        raise not_found(f"event {event_id!r} in calendar {calendar.id!r}")

    current = record.resource if record else render_instance(master, original, calendar)
    current_private = record.private.get(calendar.id, {}) if record else {}
    _check_if_match(if_match, current["etag"])
    if _organizer(current) != calendar.owner:
        return _write_attendee_copy(state, calendar, record, body)

    merged = _merge(current, current_private, body, replace)
    if record is None:
        record = _new_exception(master, merged)
    _apply(state, record, calendar, merged, before=current, body=body)
    method = "calendar.events.update" if replace else "calendar.events.patch"
    _record_updates(state, method, record, send_updates)
    logger.info("event written", extra={"calendar": calendar.id, "event": event_id})
    return render(record, calendar, listing=False)


def _check_if_match(if_match: str | None, etag: str) -> None:
    if if_match is None:
        return
    candidates = [value.strip() for value in if_match.split(",")]
    if "*" not in candidates and etag not in candidates:
        raise ApiError(
            412, "conditionNotMet", "Precondition Failed", location="If-Match"
        )


def _organizer(resource: dict[str, Any]) -> str:
    return resource.get("organizer", {}).get("email", "")


def _write_attendee_copy(
    state: EmulatorState,
    calendar: Calendar,
    record: Record | None,
    body: dict[str, Any],
) -> dict[str, Any]:
    # An attendee may change only their own copy's private properties here.
    # NOTE: Google also lets an attendee keep other local edits on their copy.
    # The emulator rejects them, so that a write as a non-organizer shows up.
    extended = body.get("extendedProperties", {})
    if (
        record is None
        or set(body) - {"extendedProperties"}
        or set(extended) - {"private"}
    ):
        raise ApiError(
            403,
            "forbiddenForNonOrganizer",
            f"Calendar {calendar.id!r} is not the organizer's; only the organizer "
            "can change this event.",
        )
    record.private[calendar.id] = {
        **record.private.get(calendar.id, {}),
        **(extended.get("private") or {}),
    }
    record.private[calendar.id] = {
        k: v for k, v in record.private[calendar.id].items() if v is not None
    }
    _touch(state, record)
    return render(record, calendar, listing=False)


def _merge(
    current: dict[str, Any],
    current_private: dict[str, str],
    body: dict[str, Any],
    replace: bool,
) -> dict[str, Any]:
    """Combine the stored event with a patch (recursive) or a full update."""
    base = copy.deepcopy(current)
    if current_private:
        base.setdefault("extendedProperties", {})["private"] = dict(current_private)
    incoming = _writable(body)
    if replace:
        kept = {k: v for k, v in base.items() if k in _SERVER_FIELDS | _FIXED_FIELDS}
        kept["sequence"] = base.get("sequence", 0)
        return {**kept, **incoming, **{k: base[k] for k in _FIXED_FIELDS if k in base}}
    merged = _merge_dicts(base, incoming)
    for key in _FIXED_FIELDS & set(base):
        merged[key] = base[key]
    return merged


def _merge_dicts(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    # Patch semantics: objects merge field by field, arrays are replaced, and
    # null clears a field.
    result = dict(base)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merge_dicts(result[key], value)
        else:
            result[key] = value
    return result


def _new_exception(master: Record, resource: dict[str, Any]) -> Record:
    record = Record(resource={}, calendar_id=master.calendar_id, change=0)
    record.calendar_ids = set(master.calendar_ids)
    record.private = copy.deepcopy(master.private)
    master.exceptions[resource["id"]] = record
    return record


def _apply(
    state: EmulatorState,
    record: Record,
    calendar: Calendar,
    merged: dict[str, Any],
    before: dict[str, Any],
    body: dict[str, Any],
) -> None:
    _check_times(merged, calendar)
    if any(before.get(f) != merged.get(f) for f in _SEQUENCE_FIELDS):
        merged["sequence"] = max(
            int(before.get("sequence", 0)) + 1, body.get("sequence", 0)
        )
    for key in ("organizer", "creator"):
        merged.get(key, {}).pop("self", None)
    record.private[calendar.id] = _take_private(merged)
    _normalise_attendees(merged, calendar.owner)
    record.resource = merged
    master = calendar.records.get(merged.get("recurringEventId", ""))
    _place(state, record, state.calendars[record.calendar_id])
    if master is not None:
        _align_exception(state, master, record)
    _touch(state, record)


def _align_exception(state: EmulatorState, master: Record, record: Record) -> None:
    # An exception is listed in every calendar of its series, whatever its guests.
    for calendar_id in master.calendar_ids:
        calendar = state.calendars[calendar_id]
        calendar.records[record.id] = record
    record.calendar_ids |= master.calendar_ids


def delete_event(
    state: EmulatorState,
    calendar: Calendar,
    event_id: str,
    if_match: str | None,
    send_updates: str | None,
) -> None:
    """Cancel an event, a whole series or one occurrence (events.delete)."""
    record, master, original = resolve(calendar, event_id)
    if record is None and master is None:
        raise not_found(f"event {event_id!r} in calendar {calendar.id!r}")
    if (record and record.cancelled) or (master and master.cancelled):
        raise ApiError(410, "deleted", "Resource has been deleted")

    current = record.resource if record else render_instance(master, original, calendar)
    _check_if_match(if_match, current["etag"])
    if _organizer(current) != calendar.owner:
        _leave(state, calendar, record or master)
        return

    if record is None:
        record = _new_exception(master, current)
        record.resource = {
            k: v for k, v in current.items() if k != "extendedProperties"
        }
        _align_exception(state, master, record)
    _cancel(state, record)
    _record_updates(state, "calendar.events.delete", record, send_updates)
    logger.info("event deleted", extra={"calendar": calendar.id, "event": event_id})


def _leave(state: EmulatorState, calendar: Calendar, record: Record) -> None:
    # An attendee deleting an invite only takes it off their own calendar.
    calendar.removed.add(record.id)
    _touch(state, record)


def _cancel(state: EmulatorState, record: Record) -> None:
    record.resource["status"] = "cancelled"
    _touch(state, record)
    for exception in record.exceptions.values():
        if not exception.cancelled:
            exception.resource["status"] = "cancelled"
            _touch(state, exception)


def edit_in_ui(
    state: EmulatorState, calendar: Calendar, event_id: str, description: str
) -> dict[str, Any]:
    """Save a description the way the Calendar web UI does, as the calendar owner."""
    body = {"description": rewrite_as_ui(description)}
    return write_event(state, calendar, event_id, body, None, None, replace=False)
