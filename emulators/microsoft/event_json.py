"""Event resources as Graph v1.0 returns them, shaped by the request's options.

Options come from two headers and two query parameters:
`Prefer: outlook.timezone="..."` (start/end in that zone, else UTC),
`Prefer: outlook.body-content-type="text"` (plain-text body, else HTML),
`$select` and `$expand=singleValueExtendedProperties($filter=id eq '...')`.
"""

import re
from dataclasses import dataclass

from fastapi import Request

from .bodies import body_preview, html_to_text
from .state import EmulatorState, StoredEvent
from .timezones import format_date_time_time_zone, format_offset, windows_name

PREFER_TIMEZONE = re.compile(r'outlook\.timezone="([^"]+)"', re.IGNORECASE)
PREFER_BODY = re.compile(r'outlook\.body-content-type="?(text|html)"?', re.IGNORECASE)
PREFER_PAGE_SIZE = re.compile(r"odata\.maxpagesize=(\d+)", re.IGNORECASE)
EXPAND_EXTENDED = re.compile(
    r"singleValueExtendedProperties(?:\(\$filter=(?P<filter>.*)\))?", re.IGNORECASE
)
FILTER_ID = re.compile(r"id\s+eq\s+'([^']*)'", re.IGNORECASE)
NULL_TIME = "0001-01-01T00:00:00Z"


@dataclass
class EventOptions:
    """How one request wants events rendered."""

    time_zone: str = "UTC"
    body_type: str = "html"
    extended_ids: list[str] | None = None  # None: not expanded; []: all
    select: list[str] | None = None

    @property
    def preference_applied(self) -> str | None:
        """Return the Preference-Applied header value Graph sends back."""
        if self.time_zone == "UTC":
            return None
        return f'outlook.timezone="{self.time_zone}"'


def options_from(request: Request) -> EventOptions:
    """Read the Prefer header and OData query options of a request."""
    prefer = request.headers.get("prefer", "")
    options = EventOptions()
    zone = PREFER_TIMEZONE.search(prefer)
    if zone:
        options.time_zone = zone.group(1)
    body = PREFER_BODY.search(prefer)
    if body:
        options.body_type = body.group(1).lower()

    expand = request.query_params.get("$expand", "")
    match = EXPAND_EXTENDED.search(expand)
    if match:
        options.extended_ids = FILTER_ID.findall(match.group("filter") or "")
    select = request.query_params.get("$select")
    if select:
        options.select = [name.strip() for name in select.split(",") if name.strip()]
    return options


def page_size_from(request: Request, default: int) -> int:
    """Return the page size from `Prefer: odata.maxpagesize` or a default."""
    match = PREFER_PAGE_SIZE.search(request.headers.get("prefer", ""))
    return max(1, int(match.group(1))) if match else default


def etag(event: StoredEvent) -> str:
    """Return the weak ETag Graph derives from the changeKey."""
    return f'W/"{event.change_key}"'


def event_json(
    state: EmulatorState, base: str, event: StoredEvent, options: EventOptions
) -> dict[str, object]:
    """Return one event as a Graph JSON object."""
    owner = state.find_user(event.user_id)
    owner_mail = owner.mail.lower() if owner else ""
    is_organizer = event.organizer.get("address", "").lower() == owner_mail
    body_content = event.body_html
    if options.body_type == "text":
        body_content = html_to_text(event.body_html)

    data: dict[str, object] = {
        "@odata.etag": etag(event),
        "id": event.id,
        "createdDateTime": format_offset(event.created),
        "lastModifiedDateTime": format_offset(event.modified),
        "changeKey": event.change_key,
        "categories": list(event.categories),
        "transactionId": event.transaction_id,
        "originalStartTimeZone": windows_name(event.start_zone),
        "originalEndTimeZone": windows_name(event.end_zone),
        "iCalUId": event.ical_uid,
        "reminderMinutesBeforeStart": event.reminder_minutes,
        "isReminderOn": True,
        "hasAttachments": False,
        "subject": event.subject,
        "bodyPreview": body_preview(event.body_html),
        "importance": event.importance,
        "sensitivity": event.sensitivity,
        "isAllDay": event.is_all_day,
        "isCancelled": event.is_cancelled,
        "isOrganizer": is_organizer,
        "responseRequested": True,
        "seriesMasterId": event.series_master_id,
        "showAs": event.show_as,
        "type": event.type,
        "webLink": f"{base}/owa/?itemid={event.id}&exvsurl=1&path=/calendar/item",
        "onlineMeetingUrl": None,
        "isOnlineMeeting": event.is_online_meeting,
        "onlineMeetingProvider": event.online_meeting_provider,
        "allowNewTimeProposals": True,
        "isDraft": False,
        "hideAttendees": False,
        "responseStatus": {
            "response": "organizer" if is_organizer else "notResponded",
            "time": NULL_TIME,
        },
        "body": {"contentType": options.body_type, "content": body_content},
        "start": format_date_time_time_zone(event.start, options.time_zone),
        "end": format_date_time_time_zone(event.end, options.time_zone),
        "location": location_json(event.location),
        "locations": [location_json(event.location)] if event.location else [],
        "recurrence": event.recurrence,
        "attendees": [dict(attendee) for attendee in event.attendees],
        "organizer": {"emailAddress": dict(event.organizer)},
        "onlineMeeting": {"joinUrl": event.join_url} if event.join_url else None,
    }
    add_series_fields(data, event)
    add_extended_properties(data, event, options)
    return apply_select(data, options)


def location_json(location: dict) -> dict[str, object]:
    """Return a location with the defaults Graph fills in."""
    return {
        "displayName": location.get("displayName", ""),
        "locationType": location.get("locationType", "default"),
        "uniqueIdType": location.get("uniqueIdType", "unknown"),
        **{key: value for key, value in location.items() if key != "displayName"},
    }


def add_series_fields(data: dict[str, object], event: StoredEvent) -> None:
    """Add originalStart to instances and cancelledOccurrences to masters."""
    if event.original_start is not None:
        data["originalStart"] = format_offset(event.original_start)
    if event.type == "seriesMaster":
        data["cancelledOccurrences"] = [
            f"OID.{event.id}.{start.date().isoformat()}"
            for start in sorted(event.cancelled_starts)
        ]


def add_extended_properties(
    data: dict[str, object], event: StoredEvent, options: EventOptions
) -> None:
    """Add expanded single-value extended properties; Graph omits the key when
    none match."""
    if options.extended_ids is None:
        return
    wanted = {property_id.lower() for property_id in options.extended_ids}
    matches = [
        dict(item)
        for key, item in event.extended_properties.items()
        if not wanted or key in wanted
    ]
    if matches:
        data["singleValueExtendedProperties"] = matches


def apply_select(data: dict[str, object], options: EventOptions) -> dict[str, object]:
    """Keep only the $select-ed properties (plus id and the ETag, as Graph does)."""
    if options.select is None:
        return data
    keep = set(options.select) | {"id", "@odata.etag", "singleValueExtendedProperties"}
    return {key: value for key, value in data.items() if key in keep}
