"""calendar/getSchedule: free/busy of several mailboxes in one window.

availabilityView has one digit per availabilityViewInterval minutes:
0 free, 1 tentative, 2 busy, 3 out of office, 4 working elsewhere. Where
events overlap in one slot the digit of the strongest status wins.
"""

from datetime import datetime, timedelta

from fastapi import Request
from fastapi.responses import Response

from . import events as store
from .errors import GraphError
from .event_json import options_from
from .graph import json_body, json_response, mailbox, route
from .state import EmulatorState, StoredEvent, User
from .timezones import (
    UnknownTimeZoneError,
    format_date_time_time_zone,
    parse_date_time_time_zone,
)

STATUS_DIGITS = {
    "free": "0",
    "tentative": "1",
    "busy": "2",
    "oof": "3",
    "workingElsewhere": "4",
}
# Status order by strength. Where events overlap in a slot, the strongest shows.
STATUS_STRENGTH = ["free", "workingElsewhere", "tentative", "busy", "oof"]


def parse_window(payload: dict) -> tuple[datetime, datetime, int]:
    """Return window start, end and slot length (minutes) from the request body."""
    try:
        start = parse_date_time_time_zone(payload.get("startTime"))
        end = parse_date_time_time_zone(payload.get("endTime"))
    except (UnknownTimeZoneError, ValueError) as error:
        raise GraphError(400, "ErrorInvalidRequest", str(error)) from error

    interval = int(payload.get("availabilityViewInterval") or 30)
    if not 5 <= interval <= 1440:
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            f"availabilityViewInterval {interval} is out of range; "
            "send 5 to 1440 minutes.",
        )
    if end <= start:
        raise GraphError(
            400, "ErrorInvalidParameter", "endTime must be after startTime."
        )
    return start, end, interval


def availability_view(
    instances: list[StoredEvent], start: datetime, end: datetime, interval: int
) -> str:
    """Return one status digit per slot of `interval` minutes."""
    digits = []
    slot = timedelta(minutes=interval)
    slot_start = start
    while slot_start < end:
        slot_end = slot_start + slot
        statuses = [
            event.show_as
            for event in instances
            if event.start < slot_end
            and event.end > slot_start
            and event.show_as in STATUS_DIGITS
        ]
        strongest = max(statuses, key=STATUS_STRENGTH.index, default="free")
        digits.append(STATUS_DIGITS[strongest])
        slot_start = slot_end
    return "".join(digits)


def schedule_information(
    state: EmulatorState,
    caller_user: User,
    address: str,
    window: tuple[datetime, datetime, int],
    zone: str,
) -> dict[str, object]:
    """Return the scheduleInformation object for one address."""
    user = state.find_user(address)
    if user is None or user.tenant_id != caller_user.tenant_id:
        return {
            "scheduleId": address,
            "availabilityView": "",
            "scheduleItems": [],
            "error": {
                "message": f"The mailbox {address!r} was not found.",
                "responseCode": "ErrorMailRecipientNotFound",
            },
        }

    start, end, interval = window
    instances = [
        event
        for event in store.calendar_view(state, user, start, end)
        if not event.is_cancelled
    ]
    hours = user.working_hours
    return {
        "scheduleId": address,
        "availabilityView": availability_view(instances, start, end, interval),
        "scheduleItems": [schedule_item(event, zone) for event in instances],
        "workingHours": {
            "daysOfWeek": hours.days_of_week,
            "startTime": f"{hours.start_time}.0000000",
            "endTime": f"{hours.end_time}.0000000",
            "timeZone": {"name": user.time_zone},
        },
    }


def schedule_item(event: StoredEvent, zone: str) -> dict[str, object]:
    """Return one scheduleItem."""
    return {
        "isPrivate": event.sensitivity == "private",
        "status": event.show_as,
        "subject": event.subject,
        "location": event.location.get("displayName", ""),
        "start": format_date_time_time_zone(event.start, zone),
        "end": format_date_time_time_zone(event.end, zone),
    }


@route("POST", "/calendar/getSchedule")
async def get_schedule(request: Request, user_key: str = "me") -> Response:
    """Return free/busy for each address in `schedules`."""
    state, _, user = mailbox(request, user_key)
    payload = await json_body(request)
    schedules = payload.get("schedules")
    if not isinstance(schedules, list) or not schedules:
        raise GraphError(
            400, "ErrorInvalidParameter", "Send 'schedules' as a list of addresses."
        )

    window = parse_window(payload)
    options = options_from(request)
    value = [
        schedule_information(state, user, str(address), window, options.time_zone)
        for address in schedules
    ]
    return json_response({"value": value}, options)
