"""The ASGI app: Calendar v3, Directory users.list, OAuth and the control API.

Calendar routes are served both under `/calendar/v3/...` (Google's own paths)
and at the root, because google-api-python-client puts the `api_endpoint` client
option in place of rootUrl plus servicePath. Every API call goes through
`_call`, which logs it, checks the bearer token and its scopes, applies an
injected fault, checks the query against the discovery document and, in
strict mode, checks the response body against its schema.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException

from emulators.google import control, directory, events, notify, oauth, queries, schemas
from emulators.google.errors import ApiError, EmulatorError, not_found
from emulators.google.params import check_body, parse_query
from emulators.google.state import Calendar, EmulatorState, Fault, Grant, LoggedRequest

logger = logging.getLogger(__name__)

_AUTH = "https://www.googleapis.com/auth/"
CALENDAR_READ = {
    _AUTH + s
    for s in (
        "calendar",
        "calendar.readonly",
        "calendar.events",
        "calendar.events.readonly",
    )
}
CALENDAR_WRITE = {_AUTH + "calendar", _AUTH + "calendar.events"}
FREEBUSY = CALENDAR_READ | {
    _AUTH + "calendar.freebusy",
    _AUTH + "calendar.events.freebusy",
}
CALENDAR_LIST = {
    _AUTH + s
    for s in (
        "calendar",
        "calendar.readonly",
        "calendar.calendarlist",
        "calendar.calendarlist.readonly",
    )
}
DIRECTORY_READ = {
    _AUTH + "admin.directory.user",
    _AUTH + "admin.directory.user.readonly",
}

Handler = Callable[[Grant, dict[str, Any], Any], Any]

#: The fault kind that edits an event just before a write to it is handled.
CONCURRENT_EDIT = "concurrentEdit"


def create_app(state: EmulatorState | None = None, strict: bool = True) -> FastAPI:
    """Build the emulator app around `state` (a fresh one when None).

    With `strict`, a response body that does not match its discovery schema
    is replaced by a 500 error naming the mismatch, and the mismatch is kept
    in `state.schema_violations`.
    """
    state = state or EmulatorState()
    notifier = notify.Notifier()
    state.on_change = lambda calendar_id: notify.changed(state, notifier, calendar_id)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        notifier.start()
        logger.info("google emulator started")
        yield
        notifier.stop()
        logger.info("google emulator stopped")

    app = FastAPI(title="Google Calendar API v3 emulator", lifespan=lifespan)
    app.state.emulator = state
    app.state.notifier = notifier
    app.state.strict = strict
    app.add_exception_handler(EmulatorError, _emulator_error)
    app.add_exception_handler(HTTPException, _http_error)

    for prefix in ("/calendar/v3", ""):
        _add_calendar_routes(app, prefix)
    _add_directory_routes(app)
    _add_oauth_routes(app)
    app.include_router(control.router)
    return app


async def _emulator_error(_request: Request, error: EmulatorError) -> Response:
    return JSONResponse(
        error.body(), status_code=error.status_code, headers=error.headers
    )


async def _http_error(_request: Request, error: HTTPException) -> Response:
    # Unknown paths and methods return errors in Google's format too.
    reason = "notFound" if error.status_code == 404 else "badRequest"
    api_error = ApiError(error.status_code, reason, f"{error.detail}")
    return JSONResponse(api_error.body(), status_code=error.status_code)


def _fault_error(fault: Fault) -> ApiError:
    """Build the error Google returns for an injected fault kind."""
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
    if fault.kind in ("rateLimitExceeded", "userRateLimitExceeded"):
        text = (
            "Rate Limit Exceeded"
            if fault.kind == "rateLimitExceeded"
            else "User Rate Limit Exceeded"
        )
        return ApiError(403, fault.kind, text, domain="usageLimits", headers=headers)
    if fault.kind == "429":
        return ApiError(
            429, "rateLimitExceeded", "Rate Limit Exceeded", "usageLimits", headers
        )
    if fault.kind == "500":
        return ApiError(500, "backendError", "Backend Error", headers=headers)
    return ApiError(
        503, "backendError", "The service is currently unavailable.", headers=headers
    )


async def _call(
    request: Request,
    method_id: str,
    scopes: set[str],
    handler: Handler,
    response_schema: str | None,
    body_schema: str | None = None,
) -> Response:
    state: EmulatorState = request.app.state.emulator
    document = (
        schemas.DIRECTORY if method_id.startswith("directory.") else schemas.CALENDAR
    )
    entry = LoggedRequest(
        method=method_id,
        http_method=request.method,
        path=request.url.path,
        query=_multi(request),
        if_match=request.headers.get("if-match"),
        send_updates=request.query_params.get("sendUpdates"),
        user=None,
    )
    state.requests.append(entry)
    try:
        result = await _run(
            request, state, document, method_id, scopes, handler, body_schema, entry
        )
    except EmulatorError as error:
        entry.status = error.status_code
        return await _emulator_error(request, error)

    entry.status = 204 if result is None else 200
    if result is None:
        return Response(status_code=204)
    return _checked(request, state, document, response_schema, result, entry)


async def _run(
    request: Request,
    state: EmulatorState,
    document: str,
    method_id: str,
    scopes: set[str],
    handler: Handler,
    body_schema: str | None,
    entry: LoggedRequest,
) -> Any:
    grant = oauth.check_bearer(state, request.headers.get("authorization"))
    entry.user = grant.user
    if not scopes & set(grant.scopes):
        raise ApiError(
            403,
            "insufficientPermissions",
            "Request had insufficient authentication scopes.",
        )
    fault = state.take_fault(method_id)
    if fault is not None and fault.kind == CONCURRENT_EDIT:
        # Not an error response: the write route edits the event first, so
        # the request's If-Match no longer matches, as with a person's edit.
        request.state.concurrent_edit = fault
    elif fault is not None:
        raise _fault_error(fault)

    query = parse_query(document, method_id, list(request.query_params.multi_items()))
    body = None
    if body_schema is not None:
        body = check_body(document, body_schema, await _json(request))
    return handler(grant, query, body)


async def _json(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw or b"{}")
    except ValueError:
        raise ApiError(
            400, "parseError", "Invalid JSON payload received: the body is not JSON."
        ) from None


def _multi(request: Request) -> dict[str, list[str]]:
    query: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        query.setdefault(key, []).append(value)
    return query


def _checked(
    request: Request,
    state: EmulatorState,
    document: str,
    schema_id: str | None,
    result: Any,
    entry: LoggedRequest,
) -> Response:
    problems = schemas.validate(document, schema_id, result) if schema_id else []
    if problems and request.app.state.strict:
        text = f"{entry.method} response does not match {schema_id}: " + "; ".join(
            str(p) for p in problems[:5]
        )
        state.schema_violations.append(text)
        logger.error(
            "schema violation",
            extra={"method": entry.method, "problems": len(problems)},
        )
        entry.status = 500
        return JSONResponse(ApiError(500, "backendError", text).body(), status_code=500)
    return JSONResponse(result)


def _own_calendar(state: EmulatorState, grant: Grant, calendar_id: str) -> Calendar:
    """Resolve a calendar id for the caller; others' calendars are not found."""
    wanted = grant.user if calendar_id == "primary" else calendar_id
    calendar = state.calendars.get(wanted)
    if calendar is None or calendar.owner != grant.user:
        raise not_found(f"calendar {calendar_id!r}")
    return calendar


def _add_calendar_routes(app: FastAPI, prefix: str) -> None:
    state: EmulatorState = app.state.emulator
    notifier: notify.Notifier = app.state.notifier
    events_path = prefix + "/calendars/{calendar_id}/events"

    @app.get(events_path, include_in_schema=not prefix)
    async def events_list(request: Request, calendar_id: str) -> Response:
        def handle(grant: Grant, query: dict, _body: Any) -> Any:
            return queries.list_events(
                state, _own_calendar(state, grant, calendar_id), query
            )

        return await _call(
            request, "calendar.events.list", CALENDAR_READ, handle, "Events"
        )

    @app.post(events_path, include_in_schema=not prefix)
    async def events_insert(request: Request, calendar_id: str) -> Response:
        def handle(grant: Grant, query: dict, body: Any) -> Any:
            calendar = _own_calendar(state, grant, calendar_id)
            return events.insert_event(
                state,
                calendar,
                body,
                _send_updates(query),
                query.get("conferenceDataVersion", 0),
            )

        return await _call(
            request, "calendar.events.insert", CALENDAR_WRITE, handle, "Event", "Event"
        )

    @app.post(events_path + "/import", include_in_schema=not prefix)
    async def events_import(request: Request, calendar_id: str) -> Response:
        def handle(grant: Grant, query: dict, body: Any) -> Any:
            calendar = _own_calendar(state, grant, calendar_id)
            return events.import_event(
                state, calendar, body, query.get("conferenceDataVersion", 0)
            )

        return await _call(
            request, "calendar.events.import", CALENDAR_WRITE, handle, "Event", "Event"
        )

    @app.post(events_path + "/watch", include_in_schema=not prefix)
    async def events_watch(request: Request, calendar_id: str) -> Response:
        def handle(grant: Grant, _query: dict, body: Any) -> Any:
            calendar = _own_calendar(state, grant, calendar_id)
            channel = notify.open_channel(
                state, notifier, calendar.id, grant.user, body
            )
            return _channel_resource(channel)

        return await _call(
            request,
            "calendar.events.watch",
            CALENDAR_READ,
            handle,
            "Channel",
            "Channel",
        )

    @app.get(events_path + "/{event_id}", include_in_schema=not prefix)
    async def events_get(request: Request, calendar_id: str, event_id: str) -> Response:
        def handle(grant: Grant, _query: dict, _body: Any) -> Any:
            return events.get_event(_own_calendar(state, grant, calendar_id), event_id)

        return await _call(
            request, "calendar.events.get", CALENDAR_READ, handle, "Event"
        )

    @app.get(events_path + "/{event_id}/instances", include_in_schema=not prefix)
    async def events_instances(
        request: Request, calendar_id: str, event_id: str
    ) -> Response:
        def handle(grant: Grant, query: dict, _body: Any) -> Any:
            calendar = _own_calendar(state, grant, calendar_id)
            return queries.list_instances(state, calendar, event_id, query)

        return await _call(
            request, "calendar.events.instances", CALENDAR_READ, handle, "Events"
        )

    for verb, method_id in (
        ("patch", "calendar.events.patch"),
        ("put", "calendar.events.update"),
    ):
        _add_write_route(app, events_path + "/{event_id}", verb, method_id, not prefix)

    @app.delete(events_path + "/{event_id}", include_in_schema=not prefix)
    async def events_delete(
        request: Request, calendar_id: str, event_id: str
    ) -> Response:
        def handle(grant: Grant, query: dict, _body: Any) -> Any:
            calendar = _own_calendar(state, grant, calendar_id)
            if_match = request.headers.get("if-match")
            events.delete_event(
                state, calendar, event_id, if_match, _send_updates(query)
            )

        return await _call(
            request, "calendar.events.delete", CALENDAR_WRITE, handle, None
        )

    @app.post(prefix + "/channels/stop", include_in_schema=not prefix)
    async def channels_stop(request: Request) -> Response:
        def handle(_grant: Grant, _query: dict, body: Any) -> Any:
            notify.stop_channel(state, body)

        return await _call(
            request, "calendar.channels.stop", CALENDAR_READ, handle, None, "Channel"
        )

    @app.post(prefix + "/freeBusy", include_in_schema=not prefix)
    async def freebusy_query(request: Request) -> Response:
        def handle(grant: Grant, _query: dict, body: Any) -> Any:
            return queries.free_busy(state, grant.user, body)

        return await _call(
            request,
            "calendar.freebusy.query",
            FREEBUSY,
            handle,
            "FreeBusyResponse",
            "FreeBusyRequest",
        )

    @app.get(prefix + "/users/me/calendarList", include_in_schema=not prefix)
    async def calendar_list(request: Request) -> Response:
        def handle(grant: Grant, _query: dict, _body: Any) -> Any:
            return queries.calendar_list(state, grant.user)

        return await _call(
            request, "calendar.calendarList.list", CALENDAR_LIST, handle, "CalendarList"
        )


def _add_write_route(
    app: FastAPI, path: str, verb: str, method_id: str, documented: bool
) -> None:
    state: EmulatorState = app.state.emulator

    async def write(request: Request, calendar_id: str, event_id: str) -> Response:
        def handle(grant: Grant, query: dict, body: Any) -> Any:
            calendar = _own_calendar(state, grant, calendar_id)
            edit = getattr(request.state, "concurrent_edit", None)
            if edit is not None:
                _edit_first(state, calendar, event_id, edit.text)
            if_match = request.headers.get("if-match")
            replace = verb == "put"
            return events.write_event(
                state, calendar, event_id, body, if_match, _send_updates(query), replace
            )

        return await _call(request, method_id, CALENDAR_WRITE, handle, "Event", "Event")

    app.add_api_route(path, write, methods=[verb.upper()], include_in_schema=documented)


def _edit_first(
    state: EmulatorState, calendar: Calendar, event_id: str, text: str
) -> None:
    """Save `text` before the event's description, as its owner in the web UI."""
    current = events.get_event(calendar, event_id).get("description", "")
    events.edit_in_ui(state, calendar, event_id, text + current)


def _send_updates(query: dict[str, Any]) -> str | None:
    # sendNotifications is the deprecated boolean form of sendUpdates.
    if "sendUpdates" in query:
        return query["sendUpdates"]
    if "sendNotifications" in query:
        return "all" if query["sendNotifications"] else "none"
    return None


def _channel_resource(channel: notify.Channel) -> dict[str, Any]:
    body = {
        "kind": "api#channel",
        "id": channel.id,
        "resourceId": channel.resource_id,
        "resourceUri": notify._resource_uri(channel.calendar_id),
        "expiration": str(channel.expiration_ms),
    }
    if channel.token is not None:
        body["token"] = channel.token
    return body


def _add_directory_routes(app: FastAPI) -> None:
    state: EmulatorState = app.state.emulator

    @app.get("/admin/directory/v1/users")
    async def users_list(request: Request) -> Response:
        def handle(grant: Grant, query: dict, _body: Any) -> Any:
            return directory.list_users(state, grant.user, query)

        return await _call(
            request, "directory.users.list", DIRECTORY_READ, handle, "Users"
        )


def _add_oauth_routes(app: FastAPI) -> None:
    state: EmulatorState = app.state.emulator

    async def token(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        state.requests.append(
            LoggedRequest("oauth.token", "POST", request.url.path, {}, None, None, None)
        )
        fault = state.take_fault("oauth.token")
        if fault is not None:
            raise _fault_error(fault)
        reply = oauth.exchange(state, form, str(request.url))
        return JSONResponse(reply, headers={"Cache-Control": "no-store"})

    for path in ("/token", "/o/oauth2/token"):
        app.add_api_route(path, token, methods=["POST"])

    async def authorize(request: Request) -> Response:
        url = oauth.authorize(state, dict(request.query_params))
        return RedirectResponse(url, status_code=302)

    for path in ("/o/oauth2/auth", "/o/oauth2/v2/auth"):
        app.add_api_route(path, authorize, methods=["GET"])

    @app.post("/revoke")
    async def revoke(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        oauth.revoke(state, form.get("token") or request.query_params.get("token", ""))
        return Response(status_code=200)
