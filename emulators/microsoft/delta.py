"""calendarView/delta: incremental sync with $skiptoken and $deltatoken.

The first round needs startDateTime and endDateTime; its pages link on with
`@odata.nextLink` (`$skiptoken`) and the last page carries
`@odata.deltaLink` (`$deltatoken`). A later round with the delta token returns
only the instances added or changed since, plus `@removed` entries for those
that left the window or were deleted. A token the server no longer has
fails with 410 Gone and `syncStateNotFound`, after which Graph documents that
the client must start a new round without a token.
"""

import secrets
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from . import events as store
from .errors import GraphError
from .event_json import event_json, options_from, page_size_from
from .graph import check_calendar, json_response, mailbox, route, window_from
from .identity import base_url
from .state import DeltaPage, EmulatorState, StoredEvent, SyncState, User

# NOTE: Graph does not document a default page size for calendarView/delta;
# 10 is what the emulator uses unless `Prefer: odata.maxpagesize` sets another size.
DEFAULT_DELTA_PAGE_SIZE = 10


def sync_state_not_found() -> GraphError:
    """Return the 410 Graph sends for an unknown or expired delta or skip token."""
    return GraphError(
        410,
        "syncStateNotFound",
        "The sync state generation is not found. Start a new sync without a "
        "delta token.",
    )


@route("GET", "/calendarView/delta", with_calendar=True)
async def calendar_view_delta(
    request: Request, user_key: str = "me", calendar_id: str | None = None
) -> Response:
    """Return one page of a delta round."""
    state, _, user = mailbox(request, user_key)
    check_calendar(user, calendar_id)
    params = request.query_params

    if "$skiptoken" in params:
        page = state.delta_pages.pop(params["$skiptoken"], None)
        if page is None or page.final_state.user_id != user.id:
            raise sync_state_not_found()
    elif "$deltatoken" in params:
        previous = state.sync_states.get(params["$deltatoken"])
        if previous is None or previous.user_id != user.id:
            raise sync_state_not_found()
        page = start_round(state, request, user, previous)
    else:
        window_start, window_end = window_from(request)
        empty = SyncState(user.id, window_start, window_end, seen={})
        page = start_round(state, request, user, empty)
    return page_response(state, request, page)


def start_round(
    state: EmulatorState, request: Request, user: User, previous: SyncState
) -> DeltaPage:
    """Compute every change since `previous` and the state after them."""
    current = store.calendar_view(
        state, user, previous.window_start, previous.window_end
    )
    options = options_from(request)
    base = base_url(request)
    items = [
        event_json(state, base, event, options)
        for event in current
        if previous.seen.get(event.id) != event.change_key
    ]
    current_ids = {event.id for event in current}
    items.extend(
        removed_entry(event_id)
        for event_id in previous.seen
        if event_id not in current_ids
    )

    final_state = SyncState(
        user.id,
        previous.window_start,
        previous.window_end,
        seen=seen_map(current),
    )
    page_size = page_size_from(request, DEFAULT_DELTA_PAGE_SIZE)
    return DeltaPage(items=items, final_state=final_state, page_size=page_size)


def seen_map(events: list[StoredEvent]) -> dict[str, str]:
    """Return instance id to changeKey, what a finished round has shown."""
    return {event.id: event.change_key for event in events}


def removed_entry(event_id: str) -> dict[str, object]:
    """Return the entry delta sends for an instance that is gone."""
    return {
        "@odata.type": "#microsoft.graph.event",
        "id": event_id,
        "@removed": {"reason": "deleted"},
    }


def page_response(
    state: EmulatorState, request: Request, page: DeltaPage
) -> JSONResponse:
    """Return the next page and store what the following link points at."""
    head, rest = page.items[: page.page_size], page.items[page.page_size :]
    link_base = str(request.url).split("?")[0]
    body: dict[str, object] = {
        "@odata.context": f"{base_url(request)}/v1.0/$metadata#Collection(event)",
    }
    if rest:
        token = secrets.token_urlsafe(24)
        state.delta_pages[token] = DeltaPage(rest, page.final_state, page.page_size)
        body["@odata.nextLink"] = (
            f"{link_base}?{urlencode({'$skiptoken': token}, safe='$')}"
        )
    else:
        token = secrets.token_urlsafe(24)
        state.sync_states[token] = page.final_state
        body["@odata.deltaLink"] = (
            f"{link_base}?{urlencode({'$deltatoken': token}, safe='$')}"
        )
    body["value"] = head
    return json_response(body, options_from(request))
