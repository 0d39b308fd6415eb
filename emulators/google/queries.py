"""events.list, events.instances, freebusy.query and calendarList.list.

Paging and sync follow Google's documented behaviour. A result larger than
`maxResults` is cut into pages joined by `nextPageToken`, and only the last
page carries `nextSyncToken`. A sync token lists everything changed since it
was issued, deletions included. An unknown or expired one fails with 410
`fullSyncRequired`.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from typing import Any

from emulators.google import events, times
from emulators.google.errors import ApiError, bad_request
from emulators.google.state import Calendar, EmulatorState, PageSnapshot, Record

DEFAULT_PAGE_SIZE = 250  # events.list and events.instances default maxResults
MAX_PAGE_SIZE = 2500  # the largest maxResults Google honours for events

# Parameters that events.list rejects together with syncToken, as listed in
# the description of its `syncToken` parameter.
_NOT_WITH_SYNC = (
    "iCalUID",
    "orderBy",
    "privateExtendedProperty",
    "q",
    "sharedExtendedProperty",
    "timeMin",
    "timeMax",
    "updatedMin",
)


def list_events(
    state: EmulatorState, calendar: Calendar, query: dict[str, Any]
) -> dict[str, Any]:
    """List the events of one calendar (events.list)."""
    if "pageToken" in query:
        return _next_page(state, calendar, query, "events.list")

    since_change = _sync_start(state, calendar, query)
    _check_list_query(query, syncing=since_change is not None)
    items = _collect(calendar, query, since_change)
    items = _order(items, query.get("orderBy"), calendar)
    snapshot = PageSnapshot(
        key=_page_key(calendar, query, "events.list"),
        items=items,
        next_sync_token=state.issue_sync_token(calendar.id),
    )
    return _page(state, calendar, snapshot, query)


def _sync_start(
    state: EmulatorState, calendar: Calendar, query: dict[str, Any]
) -> int | None:
    token = query.get("syncToken")
    if token is None:
        return None
    stored = state.sync_tokens.get(token)
    if stored is None or stored.calendar_id != calendar.id:
        raise ApiError(
            410,
            "fullSyncRequired",
            "Sync token is no longer valid, a full sync is required: "
            "list again without syncToken.",
        )
    return stored.change


def _check_list_query(query: dict[str, Any], syncing: bool) -> None:
    if syncing:
        clashing = [name for name in _NOT_WITH_SYNC if name in query]
        if clashing:
            raise bad_request(
                f"syncToken cannot be combined with {', '.join(clashing)}; "
                "drop them or list without syncToken."
            )
        # Deletions are always part of an incremental sync.
        if query.get("showDeleted") is False:
            raise bad_request("showDeleted=false cannot be combined with syncToken.")
    if query.get("orderBy") == "startTime" and not query.get("singleEvents"):
        raise bad_request(
            "The requested ordering is not available: orderBy=startTime "
            "needs singleEvents=true."
        )
    _window(query)


def _window(query: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    low = query.get("timeMin")
    high = query.get("timeMax")
    since = times.parse_rfc3339(low, "timeMin") if low else None
    until = times.parse_rfc3339(high, "timeMax") if high else None
    if since and until and until < since:
        raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.")
    return since, until


def _collect(
    calendar: Calendar, query: dict[str, Any], since_change: int | None
) -> list[dict[str, Any]]:
    syncing = since_change is not None
    show_cancelled = bool(query.get("showDeleted")) or syncing
    since, until = _window(query)
    found: list[dict[str, Any]] = []
    for record in calendar.records.values():
        if query.get("singleEvents"):
            found.extend(
                _single_events(calendar, record, since_change, show_cancelled, query)
            )
        elif _changed(record, since_change) and _listed(
            record, calendar, show_cancelled, since, until
        ):
            found.append(events.render(record, calendar, listing=True))
    return [item for item in found if _matches(item, query)]


def _changed(record: Record, since_change: int | None) -> bool:
    return since_change is None or record.change > since_change


def _listed(
    record: Record,
    calendar: Calendar,
    show_cancelled: bool,
    since: datetime | None,
    until: datetime | None,
) -> bool:
    gone = record.cancelled or record.id in calendar.removed
    if gone:
        return show_cancelled
    if record.resource.get("recurrence"):
        if since is None and until is None:
            return True
        # One occurrence in the window is enough to list the series. The first
        # few starts are expanded, in case some of them were cancelled.
        entries = events.expand_series(record, calendar, since, until, False, limit=50)
        return bool(entries)
    return events.overlaps(record.resource, calendar, since, until)


def _single_events(
    calendar: Calendar,
    record: Record,
    since_change: int | None,
    show_cancelled: bool,
    query: dict[str, Any],
) -> list[dict[str, Any]]:
    """Expand one record for singleEvents=true."""
    since, until = _window(query)
    if "recurringEventId" in record.resource:
        master = calendar.records.get(record.resource["recurringEventId"])
        # An exception comes with its series' expansion, unless a sync lists
        # only the exception because the series itself did not change.
        if master is not None and _changed(master, since_change):
            return []
    if not _changed(record, since_change):
        return []

    gone = record.cancelled or record.id in calendar.removed
    if gone or not record.resource.get("recurrence"):
        if _listed(record, calendar, show_cancelled, since, until):
            return [events.render(record, calendar, listing=True)]
        return []
    entries = events.expand_series(record, calendar, since, until, show_cancelled)
    return [body for _start, body, _exception in entries]


def _matches(item: dict[str, Any], query: dict[str, Any]) -> bool:
    if "iCalUID" in query and item.get("iCalUID") != query["iCalUID"]:
        return False
    if "updatedMin" in query and item.get("updated", "") < _utc(query["updatedMin"]):
        return False
    if "q" in query and not _contains_text(item, query["q"]):
        return False
    extended = item.get("extendedProperties", {})
    for scope in ("private", "shared"):
        for condition in query.get(f"{scope}ExtendedProperty", []):
            key, _, value = condition.partition("=")
            if extended.get(scope, {}).get(key) != value:
                return False
    return True


def _utc(value: str) -> str:
    return times.format_utc(times.parse_rfc3339(value, "updatedMin"))


def _contains_text(item: dict[str, Any], text: str) -> bool:
    haystack = " ".join(
        str(item.get(key, "")) for key in ("summary", "description", "location")
    )
    attendees = " ".join(a.get("email", "") for a in item.get("attendees", []))
    return all(
        word in f"{haystack} {attendees}".lower() for word in text.lower().split()
    )


def _order(
    items: list[dict[str, Any]], order_by: str | None, calendar: Calendar
) -> list[dict[str, Any]]:
    if order_by == "updated":
        return sorted(items, key=lambda item: item.get("updated", ""))
    if order_by == "startTime":
        return sorted(items, key=lambda item: _start_key(item, calendar))
    return items


def _start_key(item: dict[str, Any], calendar: Calendar) -> datetime:
    when = item.get("start") or item.get("originalStartTime")
    if not when:
        return datetime.min.replace(tzinfo=UTC)
    return times.to_slot(when, when, calendar.time_zone).start


def _page_key(
    calendar: Calendar, query: dict[str, Any], method: str
) -> tuple[str, ...]:
    # A page token is valid only with the query that produced it.
    fixed = {k: v for k, v in query.items() if k not in ("pageToken", "maxResults")}
    return (method, calendar.id, repr(sorted(fixed.items())))


def _next_page(
    state: EmulatorState, calendar: Calendar, query: dict[str, Any], method: str
) -> dict[str, Any]:
    snapshot = state.pages.pop(query["pageToken"], None)
    if snapshot is None or snapshot.key != _page_key(calendar, query, method):
        raise bad_request(
            f"Invalid page token {query['pageToken']!r}: pass the token from the "
            "previous page with the same query parameters."
        )
    return _page(state, calendar, snapshot, query)


def _page(
    state: EmulatorState,
    calendar: Calendar,
    snapshot: PageSnapshot,
    query: dict[str, Any],
) -> dict[str, Any]:
    size = min(query.get("maxResults", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)
    body = _collection(state, calendar, query)
    body["items"] = snapshot.items[:size]
    rest = snapshot.items[size:]
    if rest:
        body["nextPageToken"] = state.issue_page(
            PageSnapshot(snapshot.key, rest, snapshot.next_sync_token)
        )
    elif snapshot.next_sync_token:
        body["nextSyncToken"] = snapshot.next_sync_token
    return body


def _collection(
    state: EmulatorState, calendar: Calendar, query: dict[str, Any]
) -> dict[str, Any]:
    return {
        "kind": "calendar#events",
        "etag": state.collection_etag(calendar),
        "summary": calendar.summary,
        "description": "",
        "updated": calendar.updated,
        "timeZone": query.get("timeZone", calendar.time_zone),
        "accessRole": "owner",
        "defaultReminders": [],
    }


def list_instances(
    state: EmulatorState, calendar: Calendar, event_id: str, query: dict[str, Any]
) -> dict[str, Any]:
    """List the occurrences of one series with exceptions applied (events.instances)."""
    if "pageToken" in query:
        return _next_page(state, calendar, query, f"events.instances/{event_id}")

    record, _master, _original = events.resolve(calendar, event_id)
    if record is None or "recurringEventId" in record.resource:
        raise ApiError(404, "notFound", f"Not Found: series {event_id!r}.")
    since, until = _window(query)
    if not record.resource.get("recurrence"):
        # NOTE: for a single event Google returns the event itself as its one
        # instance; this follows that reading of the reference.
        items = [events.render(record, calendar, listing=True)]
    else:
        entries = events.expand_series(
            record, calendar, since, until, bool(query.get("showDeleted"))
        )
        items = [body for _start, body, _exception in entries]
    if "originalStart" in query:
        items = [
            i for i in items if _same_original(i, query["originalStart"], calendar)
        ]

    key = _page_key(calendar, query, f"events.instances/{event_id}")
    return _page(state, calendar, PageSnapshot(key, items, None), query)


def _same_original(item: dict[str, Any], original: str, calendar: Calendar) -> bool:
    when = item.get("originalStartTime")
    if not when:
        return False
    wanted = times.parse_rfc3339(original, "originalStart")
    return times.to_slot(when, when, calendar.time_zone).start == wanted


def free_busy(
    state: EmulatorState, requester: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Compute merged busy periods per calendar in UTC (freebusy.query)."""
    for field in ("timeMin", "timeMax"):
        if field not in body:
            raise bad_request(f"Missing {field}.", reason="required")
    since = times.parse_rfc3339(body["timeMin"], "timeMin")
    until = times.parse_rfc3339(body["timeMax"], "timeMax")
    if until < since:
        raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.")

    calendars = {}
    for item in body.get("items", []):
        calendars[item["id"]] = _busy_of(state, requester, item["id"], since, until)
    return {
        "kind": "calendar#freeBusy",
        "timeMin": times.format_utc(since),
        "timeMax": times.format_utc(until),
        "calendars": calendars,
    }


def _busy_of(
    state: EmulatorState,
    requester: str,
    calendar_id: str,
    since: datetime,
    until: datetime,
) -> dict[str, Any]:
    calendar_id = requester if calendar_id == "primary" else calendar_id
    calendar = state.calendars.get(calendar_id)
    owner = state.users.get(calendar.owner) if calendar else None
    # Workspace shares free/busy inside the domain by default. Outside it, the
    # emulator returns the notFound error of a calendar the caller cannot see.
    if calendar is None or owner is None or owner.domain != _domain(requester):
        return {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}

    periods = []
    for record in calendar.records.values():
        periods.extend(_busy_periods(calendar, record, since, until))
    return {"busy": [_period(start, end) for start, end in _merge_periods(periods)]}


def _domain(email: str) -> str:
    return email.rsplit("@", 1)[-1]


def _busy_periods(
    calendar: Calendar, record: Record, since: datetime, until: datetime
) -> list[tuple[datetime, datetime]]:
    if "recurringEventId" in record.resource:
        return []  # counted through the series expansion
    if record.resource.get("recurrence") and not record.cancelled:
        bodies = [
            b
            for _s, b, _e in events.expand_series(record, calendar, since, until, False)
        ]
    else:
        bodies = [events.render(record, calendar, listing=True)]
    return [p for body in bodies if (p := _blocking(body, calendar, since, until))]


def _blocking(
    body: dict[str, Any], calendar: Calendar, since: datetime, until: datetime
) -> tuple[datetime, datetime] | None:
    # Free time: cancelled events, "show as available" ones and invites the
    # calendar's owner declined.
    if body.get("status") == "cancelled" or body.get("transparency") == "transparent":
        return None
    for attendee in body.get("attendees", []):
        if (
            attendee.get("email") == calendar.owner
            and attendee.get("responseStatus") == "declined"
        ):
            return None
    slot = times.to_slot(body["start"], body["end"], calendar.time_zone)
    if slot.end <= since or slot.start >= until:
        return None
    return max(slot.start, since), min(slot.end, until)


def _merge_periods(
    periods: list[tuple[datetime, datetime]],
) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(periods):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _period(start: datetime, end: datetime) -> dict[str, str]:
    return {
        "start": start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def calendar_list(state: EmulatorState, user: str) -> dict[str, Any]:
    """List the calendars the user owns (calendarList.list)."""
    items = [_list_entry(state, c) for c in state.calendars_of(user)]
    return {
        "kind": "calendar#calendarList",
        "etag": f'"p3{state.clock:014d}"',
        "items": items,
    }


def _list_entry(state: EmulatorState, calendar: Calendar) -> dict[str, Any]:
    entry = {
        "kind": "calendar#calendarListEntry",
        "etag": f'"{zlib.crc32(calendar.id.encode()):016d}"',
        "id": calendar.id,
        "summary": calendar.summary,
        "timeZone": calendar.time_zone,
        "accessRole": "owner",
        "defaultReminders": [],
        "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]},
    }
    if calendar.primary:
        entry["primary"] = True
    return entry
