"""Mailbox event store: create, update, delete, and series expansion.

A series is stored as its master plus its exceptions. Occurrences are views
computed from the master. An occurrence's id is the master id, a dot, and
its original start in UTC. Graph keeps occurrence ids stable, so the id
stays the same when a write turns the occurrence into an exception.
"""

import dataclasses
import logging
from datetime import UTC, datetime, timedelta

from .bodies import rewrite_body
from .errors import GraphError
from .recurrence import occurrence_starts, validate_recurrence
from .state import EmulatorState, StoredEvent, User, new_graph_id
from .timezones import UnknownTimeZoneError, parse_date_time_time_zone

logger = logging.getLogger(__name__)

OCCURRENCE_SEPARATOR = "."
OCCURRENCE_STAMP = "%Y%m%dT%H%M%SZ"
# A series master with no end is expanded at most this far from its start.
SERIES_HORIZON = timedelta(days=366 * 5)

WRITABLE_PROPERTIES = {
    "subject", "body", "start", "end", "location", "locations", "attendees",
    "categories", "showAs", "sensitivity", "importance", "isAllDay", "recurrence",
    "singleValueExtendedProperties", "isReminderOn", "reminderMinutesBeforeStart",
    "responseRequested", "isOnlineMeeting", "onlineMeetingProvider",
    "transactionId", "allowNewTimeProposals", "hideAttendees",
}  # fmt: skip
# Read-only properties a client may echo back; Graph ignores them on write.
IGNORED_PROPERTIES = {
    "id", "@odata.etag", "@odata.type", "@odata.context", "changeKey",
    "createdDateTime", "lastModifiedDateTime", "type", "seriesMasterId",
    "iCalUId", "bodyPreview", "organizer", "isOrganizer", "webLink",
    "originalStart", "originalStartTimeZone", "originalEndTimeZone",
    "responseStatus", "hasAttachments", "isCancelled", "isDraft",
    "onlineMeeting", "onlineMeetingUrl", "cancelledOccurrences",
}  # fmt: skip
ENUMS = {
    "showAs": {"free", "tentative", "busy", "oof", "workingElsewhere", "unknown"},
    "sensitivity": {"normal", "personal", "private", "confidential"},
    "importance": {"low", "normal", "high"},
    "onlineMeetingProvider": {
        "unknown",
        "skypeForBusiness",
        "skypeForConsumer",
        "teamsForBusiness",
    },
}


def item_not_found() -> GraphError:
    """Return Exchange's 404 for an id that names no item."""
    return GraphError(
        404, "ErrorItemNotFound", "The specified object was not found in the store."
    )


def occurrence_id(master_id: str, original_start: datetime) -> str:
    """Return the stable id of one occurrence of a series."""
    stamp = original_start.astimezone(UTC).strftime(OCCURRENCE_STAMP)
    return f"{master_id}{OCCURRENCE_SEPARATOR}{stamp}"


def check_properties(payload: dict) -> None:
    """Reject property names the event type does not define, as OData does."""
    for name in payload:
        if name in WRITABLE_PROPERTIES or name in IGNORED_PROPERTIES:
            continue
        if name.startswith("@") or "@odata." in name:
            continue
        raise GraphError(
            400,
            "RequestBodyRead",
            f"The property '{name}' does not exist on type 'microsoft.graph.event'. "
            "Make sure to only use property names that are defined by the type.",
        )
    for name, allowed in ENUMS.items():
        if name in payload and payload[name] not in allowed:
            raise GraphError(
                400,
                "RequestBodyRead",
                f"The value {payload[name]!r} is not valid for {name}; "
                f"use one of {sorted(allowed)}.",
            )


def parse_when(payload: dict, key: str) -> tuple[datetime, str]:
    """Return the aware time and the zone name of `start` or `end`."""
    value = payload.get(key)
    try:
        moment = parse_date_time_time_zone(value)
    except (UnknownTimeZoneError, ValueError) as error:
        raise GraphError(400, "ErrorInvalidRequest", str(error)) from error
    return moment, str(value.get("timeZone") or "UTC")  # type: ignore[union-attr]


def create_event(state: EmulatorState, user: User, payload: dict) -> StoredEvent:
    """Store a new event from a POST body and return it."""
    check_properties(payload)
    duplicate = find_by_transaction_id(state, user, payload.get("transactionId"))
    if duplicate is not None:
        return duplicate
    if "start" not in payload or "end" not in payload:
        raise GraphError(
            400, "ErrorInvalidRequest", "An event needs both 'start' and 'end'."
        )

    start, start_zone = parse_when(payload, "start")
    end, end_zone = parse_when(payload, "end")
    event = StoredEvent(
        id=new_graph_id(),
        user_id=user.id,
        type="seriesMaster" if payload.get("recurrence") else "singleInstance",
        subject="",
        body_html=rewrite_body("", "html"),
        start=start,
        end=end,
        start_zone=start_zone,
        end_zone=end_zone,
        organizer={"name": user.display_name, "address": user.mail},
    )
    apply_properties(event, payload)
    check_times(event)
    state.events[event.id] = event
    logger.info("Created event %s in mailbox %s.", event.id, user.id)
    return event


def find_by_transaction_id(
    state: EmulatorState, user: User, transaction_id: str | None
) -> StoredEvent | None:
    """Return the event an earlier POST with this transactionId created.

    Graph documents transactionId as the way to avoid duplicate events when a
    client retries a POST.
    """
    if not transaction_id:
        return None
    for event in state.mailbox_events(user.id):
        if event.transaction_id == transaction_id:
            return event
    return None


def check_times(event: StoredEvent) -> None:
    """Reject an event that ends before it starts."""
    if event.end < event.start:
        raise GraphError(
            400,
            "ErrorInvalidRequest",
            f"The event ends ({event.end.isoformat()}) before it starts "
            f"({event.start.isoformat()}); send an end after the start.",
        )


def apply_properties(event: StoredEvent, payload: dict) -> None:
    """Copy writable properties from a request body onto a stored event."""
    simple = {
        "subject": "subject",
        "categories": "categories",
        "showAs": "show_as",
        "sensitivity": "sensitivity",
        "importance": "importance",
        "isAllDay": "is_all_day",
        "transactionId": "transaction_id",
        "reminderMinutesBeforeStart": "reminder_minutes",
        "isOnlineMeeting": "is_online_meeting",
        "onlineMeetingProvider": "online_meeting_provider",
    }
    for key, attribute in simple.items():
        if key in payload:
            setattr(event, attribute, payload[key])

    if "body" in payload:
        body = payload["body"] or {}
        event.body_html = rewrite_body(
            str(body.get("content") or ""), str(body.get("contentType") or "text")
        )
    if "start" in payload:
        event.start, event.start_zone = parse_when(payload, "start")
    if "end" in payload:
        event.end, event.end_zone = parse_when(payload, "end")
    if "location" in payload:
        event.location = dict(payload["location"] or {})
    if "attendees" in payload:
        event.attendees = [stored_attendee(item) for item in payload["attendees"]]
    if "recurrence" in payload:
        apply_recurrence(event, payload["recurrence"])
    if "singleValueExtendedProperties" in payload:
        apply_extended_properties(event, payload["singleValueExtendedProperties"])


def stored_attendee(item: dict) -> dict:
    """Return an attendee as stored, with the response status Graph adds."""
    return {
        "type": item.get("type", "required"),
        "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
        "emailAddress": dict(item.get("emailAddress") or {}),
    }


def apply_recurrence(event: StoredEvent, recurrence: dict | None) -> None:
    """Set or clear a recurrence; only series masters and single events take one."""
    if event.type in ("occurrence", "exception"):
        raise GraphError(
            400,
            "ErrorInvalidRequest",
            "An occurrence or exception cannot have its own recurrence; "
            "change the series master instead.",
        )
    if recurrence is None:
        event.recurrence = None
        event.type = "singleInstance"
        return
    validate_recurrence(recurrence)
    event.recurrence = recurrence
    event.type = "seriesMaster"


def apply_extended_properties(event: StoredEvent, items: list[dict]) -> None:
    """Set single-value extended properties; ids match case-insensitively."""
    for item in items:
        property_id = str(item.get("id") or "")
        if not property_id or "value" not in item:
            raise GraphError(
                400,
                "ErrorInvalidRequest",
                "Each singleValueExtendedProperty needs an 'id' and a 'value'.",
            )
        event.extended_properties[property_id.lower()] = {
            "id": property_id,
            "value": str(item["value"]),
        }


def find_event(state: EmulatorState, user: User, event_id: str) -> StoredEvent:
    """Return a stored event or a computed occurrence of this mailbox by id."""
    stored = state.events.get(event_id)
    if stored is not None and stored.user_id == user.id:
        return stored

    master_id, separator, stamp = event_id.rpartition(OCCURRENCE_SEPARATOR)
    master = state.events.get(master_id) if separator else None
    if master is None or master.user_id != user.id or master.recurrence is None:
        raise item_not_found()
    try:
        original = datetime.strptime(stamp, OCCURRENCE_STAMP).replace(tzinfo=UTC)
    except ValueError as error:
        raise item_not_found() from error
    if not is_occurrence_start(master, original):
        raise item_not_found()
    return occurrence_view(master, original)


def is_occurrence_start(master: StoredEvent, original: datetime) -> bool:
    """Return True when the series has a live occurrence starting then."""
    if original in master.cancelled_starts:
        return False
    starts = occurrence_starts(
        master.recurrence or {},
        master.start,
        master.start_zone,
        timedelta(seconds=1),
        original,
        original + timedelta(seconds=1),
    )
    return original in starts


def occurrence_view(master: StoredEvent, original: datetime) -> StoredEvent:
    """Return one occurrence of a series as an unsaved event."""
    return dataclasses.replace(
        master,
        id=occurrence_id(master.id, original),
        type="occurrence",
        start=original,
        end=original + (master.end - master.start),
        recurrence=None,
        series_master_id=master.id,
        original_start=original,
        cancelled_starts=set(),
        extended_properties=dict(master.extended_properties),
        transaction_id=None,
        ical_uid=occurrence_ical_uid(master.ical_uid, original),
    )


def occurrence_ical_uid(master_uid: str, original: datetime) -> str:
    """Return an occurrence's iCalUId, which Graph makes differ per occurrence.

    Exchange's global object id (MS-OXOCAL, PidLidGlobalObjectId) stores the
    instance date in bytes 16 to 19: two for the year, one each for the
    month and day. A series master has zeros there. In hexadecimal those
    bytes are characters 32 to 39.
    """
    if len(master_uid) < 40:
        return master_uid
    stamp = f"{original.year:04X}{original.month:02X}{original.day:02X}"
    return master_uid[:32] + stamp + master_uid[40:]


def update_event(
    state: EmulatorState, event: StoredEvent, payload: dict
) -> StoredEvent:
    """Apply a PATCH; an occurrence becomes a stored exception first."""
    check_properties(payload)
    if event.type == "occurrence":
        event = dataclasses.replace(event, type="exception")
        state.events[event.id] = event

    apply_properties(event, payload)
    check_times(event)
    event.touch()
    logger.info("Updated event %s in mailbox %s.", event.id, event.user_id)
    return event


def delete_event(state: EmulatorState, event: StoredEvent) -> list[str]:
    """Delete an event and return the ids that disappeared from the mailbox.

    Deleting an occurrence or exception cancels it on its master; deleting a
    master deletes its exceptions too.
    """
    if event.type in ("occurrence", "exception"):
        master = state.events[str(event.series_master_id)]
        master.cancelled_starts.add(event.original_start)  # type: ignore[arg-type]
        state.events.pop(event.id, None)
        return [event.id]

    removed = [event.id]
    state.events.pop(event.id, None)
    for other in state.events.of_master(event.id):
        removed.append(other.id)
        state.events.pop(other.id)
    logger.info("Deleted event %s from mailbox %s.", event.id, event.user_id)
    return removed


def series_instances(
    state: EmulatorState,
    master: StoredEvent,
    window_start: datetime,
    window_end: datetime,
) -> list[StoredEvent]:
    """Return the occurrences and exceptions of a series within a window."""
    exceptions = {
        other.original_start: other
        for other in state.events.of_master(master.id)
        if other.type == "exception"
    }
    duration = master.end - master.start
    horizon_end = min(window_end, master.start + SERIES_HORIZON)
    instances = []
    for original in occurrence_starts(
        master.recurrence or {},
        master.start,
        master.start_zone,
        duration,
        window_start - timedelta(days=1),
        horizon_end + timedelta(days=1),
    ):
        if original in master.cancelled_starts:
            continue
        instance = exceptions.get(original) or occurrence_view(master, original)
        if instance.start < window_end and instance.end > window_start:
            instances.append(instance)
    return instances


def calendar_view(
    state: EmulatorState, user: User, window_start: datetime, window_end: datetime
) -> list[StoredEvent]:
    """Return the instances (no masters) in a window, ordered by start."""
    instances = []
    for event in state.mailbox_events(user.id):
        if event.type == "seriesMaster":
            instances.extend(series_instances(state, event, window_start, window_end))
        elif event.type == "singleInstance" and overlaps(
            event, window_start, window_end
        ):
            instances.append(event)
    return sorted(instances, key=lambda item: (item.start, item.id))


def overlaps(event: StoredEvent, window_start: datetime, window_end: datetime) -> bool:
    """Return True when the event overlaps [window_start, window_end)."""
    if event.start == event.end:
        return window_start <= event.start < window_end
    return event.start < window_end and event.end > window_start
