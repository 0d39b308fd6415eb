"""Graph v1.0 routes for users, calendars and events.

Every route exists under `/v1.0/users/{id-or-mail}` and under `/v1.0/me`, and
the event routes also under `/calendar` and `/calendars/{calendar-id}`.
"""

import json
import logging
from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from . import events as store
from .access import Caller, authenticate, resolve_mailbox
from .errors import GraphError
from .event_json import EventOptions, etag, event_json, options_from
from .identity import base_url, get_state
from .paging import collection
from .state import EmulatorState, StoredEvent, User
from .timezones import parse_naive, resolve_zone

logger = logging.getLogger(__name__)

router = APIRouter()

MAILBOX_PREFIXES = ("/v1.0/users/{user_key}", "/v1.0/me")
CALENDAR_PREFIXES = ("", "/calendar", "/calendars/{calendar_id}")


def route(method: str, suffix: str, with_calendar: bool = False) -> Callable:
    """Register a handler under every mailbox (and calendar) prefix."""
    calendars = CALENDAR_PREFIXES if with_calendar else ("",)

    def register(handler: Callable) -> Callable:
        for prefix in MAILBOX_PREFIXES:
            for calendar in calendars:
                router.add_api_route(
                    prefix + calendar + suffix, handler, methods=[method]
                )
        return handler

    return register


def mailbox(request: Request, user_key: str) -> tuple[EmulatorState, Caller, User]:
    """Authenticate the request and return the mailbox it addresses."""
    state = get_state(request)
    caller = authenticate(state, request)
    return state, caller, resolve_mailbox(state, caller, user_key)


def check_calendar(user: User, calendar_id: str | None) -> None:
    """Reject a calendar id that is not the mailbox's calendar."""
    if calendar_id is not None and calendar_id != user.calendar_id:
        raise store.item_not_found()


def json_response(
    body: object, options: EventOptions | None = None, status: int = 200
) -> JSONResponse:
    """Return JSON with Preference-Applied when a Prefer header was honoured."""
    headers = {}
    if options is not None and options.preference_applied:
        headers["Preference-Applied"] = options.preference_applied
    return JSONResponse(body, status_code=status, headers=headers)


def user_json(user: User) -> dict[str, object]:
    """Return a user resource with the default properties Graph returns."""
    first, _, last = user.display_name.partition(" ")
    return {
        "id": user.id,
        "businessPhones": [],
        "displayName": user.display_name,
        "givenName": first,
        "surname": last,
        "jobTitle": None,
        "mail": user.mail,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": "en-US",
        "userPrincipalName": user.mail,
    }


@router.get("/v1.0/users")
async def list_users(request: Request) -> Response:
    """List the users of the caller's tenant, 100 a page unless $top says otherwise."""
    state = get_state(request)
    caller = authenticate(state, request)
    tenant = state.tenants[caller.grant.tenant_id]
    users = [user_json(user) for user in tenant.users.values()]
    return json_response(collection(request, users, "users", default_top=100))


@route("GET", "")
async def get_user(request: Request, user_key: str = "me") -> Response:
    """Return one user."""
    _, _, user = mailbox(request, user_key)
    return json_response(user_json(user))


@route("GET", "/mailboxSettings")
async def get_mailbox_settings(request: Request, user_key: str = "me") -> Response:
    """Return the mailbox's time zone and working hours."""
    _, _, user = mailbox(request, user_key)
    hours = user.working_hours
    return json_response(
        {
            "timeZone": user.time_zone,
            "workingHours": {
                "daysOfWeek": hours.days_of_week,
                "startTime": f"{hours.start_time}.0000000",
                "endTime": f"{hours.end_time}.0000000",
                "timeZone": {"name": user.time_zone},
            },
        }
    )


def calendar_json(user: User) -> dict[str, object]:
    """Return the mailbox's default calendar resource."""
    return {
        "id": user.calendar_id,
        "name": "Calendar",
        "color": "auto",
        "hexColor": "",
        "isDefaultCalendar": True,
        "changeKey": user.calendar_change_key,
        "canShare": True,
        "canViewPrivateItems": True,
        "canEdit": True,
        "allowedOnlineMeetingProviders": ["teamsForBusiness"],
        "defaultOnlineMeetingProvider": "teamsForBusiness",
        "isTallyingResponses": True,
        "isRemovable": False,
        "owner": {"name": user.display_name, "address": user.mail},
    }


@route("GET", "/calendars")
async def list_calendars(request: Request, user_key: str = "me") -> Response:
    """List the mailbox's calendars (the emulator keeps one per mailbox)."""
    _, _, user = mailbox(request, user_key)
    return json_response(collection(request, [calendar_json(user)], "calendars"))


@route("GET", "/calendar")
@route("GET", "/calendars/{calendar_id}")
async def get_calendar(
    request: Request, user_key: str = "me", calendar_id: str | None = None
) -> Response:
    """Return the default calendar, or the calendar with this id."""
    _, _, user = mailbox(request, user_key)
    check_calendar(user, calendar_id)
    return json_response(calendar_json(user))


@route("GET", "/events", with_calendar=True)
async def list_events(
    request: Request, user_key: str = "me", calendar_id: str | None = None
) -> Response:
    """List single events and series masters (occurrences are not listed)."""
    state, _, user = mailbox(request, user_key)
    check_calendar(user, calendar_id)
    reject_unsupported_query(request)
    options = options_from(request)
    base = base_url(request)
    stored = [
        event
        for event in state.mailbox_events(user.id)
        if event.type in ("singleInstance", "seriesMaster")
    ]
    items = [event_json(state, base, event, options) for event in stored]
    return json_response(collection(request, items, "Collection(event)"), options)


def reject_unsupported_query(request: Request) -> None:
    """Reject $filter and $orderby so no test silently gets unfiltered data."""
    for name in ("$filter", "$orderby", "$search"):
        if name in request.query_params:
            raise GraphError(
                400,
                "BadRequest",
                f"The emulator does not implement the {name} query option; "
                "list with calendarView and filter in the client instead.",
            )


@route("POST", "/events", with_calendar=True)
async def create_event(
    request: Request, user_key: str = "me", calendar_id: str | None = None
) -> Response:
    """Create an event; the response is 201 with the stored event."""
    state, _, user = mailbox(request, user_key)
    check_calendar(user, calendar_id)
    payload = await json_body(request)
    event = store.create_event(state, user, payload)
    request.app.state.notifier.event_changed(user, event.id, "created")

    options = options_from(request)
    body = event_json(state, base_url(request), event, options)
    return json_response(body, options, status=201)


async def json_body(request: Request) -> dict:
    """Return the request's JSON object or raise Graph's 400."""
    try:
        payload = json.loads(await request.body() or b"{}")
    except json.JSONDecodeError as error:
        raise GraphError(
            400, "BadRequest", f"The request body is not valid JSON: {error}."
        ) from error
    if not isinstance(payload, dict):
        raise GraphError(400, "BadRequest", "The request body must be a JSON object.")
    return payload


@route("GET", "/events/{event_id}", with_calendar=True)
async def get_event(
    request: Request,
    event_id: str,
    user_key: str = "me",
    calendar_id: str | None = None,
) -> Response:
    """Return one event, occurrence or exception."""
    state, _, user = mailbox(request, user_key)
    check_calendar(user, calendar_id)
    event = store.find_event(state, user, event_id)
    options = options_from(request)
    return json_response(event_json(state, base_url(request), event, options), options)


def check_if_match(request: Request, event: StoredEvent) -> None:
    """Reject a write whose If-Match names an older version (RFC 9110 13.1.1)."""
    expected = request.headers.get("if-match")
    if expected is None or expected.strip() == "*":
        return
    accepted = {etag(event), event.change_key, f'"{event.change_key}"'}
    if expected.strip() not in accepted:
        raise GraphError(
            412,
            "ErrorIrresolvableConflict",
            "The send or update operation could not be performed because the change "
            "key passed in the request does not match the current change key for "
            "the item.",
        )


@route("PATCH", "/events/{event_id}", with_calendar=True)
async def update_event(
    request: Request,
    event_id: str,
    user_key: str = "me",
    calendar_id: str | None = None,
) -> Response:
    """Update an event; If-Match with an old ETag fails with 412."""
    state, _, user = mailbox(request, user_key)
    check_calendar(user, calendar_id)
    event = store.find_event(state, user, event_id)
    check_if_match(request, event)
    payload = await json_body(request)
    event = store.update_event(state, event, payload)
    request.app.state.notifier.event_changed(user, event.id, "updated")

    options = options_from(request)
    return json_response(event_json(state, base_url(request), event, options), options)


@route("DELETE", "/events/{event_id}", with_calendar=True)
async def delete_event(
    request: Request,
    event_id: str,
    user_key: str = "me",
    calendar_id: str | None = None,
) -> Response:
    """Delete an event; deleting an occurrence cancels it."""
    state, _, user = mailbox(request, user_key)
    check_calendar(user, calendar_id)
    event = store.find_event(state, user, event_id)
    check_if_match(request, event)
    for removed_id in store.delete_event(state, event):
        request.app.state.notifier.event_changed(user, removed_id, "deleted")
    return Response(status_code=204)


def window_from(request: Request) -> tuple[datetime, datetime]:
    """Return the startDateTime/endDateTime window; Graph requires both."""
    start_text = request.query_params.get("startDateTime")
    end_text = request.query_params.get("endDateTime")
    if not start_text or not end_text:
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            "This request requires a time window specified by the query string "
            "parameters StartDateTime and EndDateTime.",
        )
    try:
        return parse_window_bound(start_text), parse_window_bound(end_text)
    except ValueError as error:
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            f"The window {start_text!r} to {end_text!r} is not ISO 8601.",
        ) from error


def parse_window_bound(text: str) -> datetime:
    """Parse a window bound; Graph reads one without an offset as UTC."""
    moment = parse_naive(text.replace(" ", "+"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=resolve_zone("UTC"))
    return moment


@route("GET", "/calendarView", with_calendar=True)
async def calendar_view(
    request: Request, user_key: str = "me", calendar_id: str | None = None
) -> Response:
    """List occurrences, exceptions and single events in a window."""
    state, _, user = mailbox(request, user_key)
    check_calendar(user, calendar_id)
    reject_unsupported_query(request)
    window_start, window_end = window_from(request)
    options = options_from(request)
    base = base_url(request)
    instances = store.calendar_view(state, user, window_start, window_end)
    items = [event_json(state, base, event, options) for event in instances]
    return json_response(collection(request, items, "Collection(event)"), options)


@route("GET", "/events/{event_id}/instances", with_calendar=True)
async def list_instances(
    request: Request,
    event_id: str,
    user_key: str = "me",
    calendar_id: str | None = None,
) -> Response:
    """List a series' occurrences and exceptions in a window."""
    state, _, user = mailbox(request, user_key)
    check_calendar(user, calendar_id)
    master = store.find_event(state, user, event_id)
    window_start, window_end = window_from(request)
    options = options_from(request)
    instances = []
    if master.type == "seriesMaster":
        instances = store.series_instances(state, master, window_start, window_end)
    base = base_url(request)
    items = [event_json(state, base, event, options) for event in instances]
    return json_response(collection(request, items, "Collection(event)"), options)
