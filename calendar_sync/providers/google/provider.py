"""`GoogleCalendarProvider`: the provider contract for one person's primary calendar.

Changes come from `events.list` with the stored `syncToken`; the first
listing (and any after Google returns 410 Gone) starts at `lookback` before
now, so a calendar's old single events are not read at all. Writes go to the
organizer's copy only, with `If-Match` on the ETag and `sendUpdates=none`;
new events are created with a deterministic id and `sendUpdates=all`.

Reads are cut where the round already has the data. On a full round, the
instances of the calendar's own series come from one windowed `events.list`
with singleEvents=true. An instance just listed is not read again before it
is written, because the write's If-Match catches a change in between.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from googleapiclient.http import HttpRequest

from calendar_sync.errors import ConflictError, NotFoundError
from calendar_sync.models import (
    MAX_UID_LENGTH,
    BusyInterval,
    Event,
    EventKey,
    NewEvent,
    normalise_email,
)
from calendar_sync.providers.base import CalendarProvider, ChangeSet
from calendar_sync.providers.google import mapping
from calendar_sync.providers.google.client import GoogleClient
from calendar_sync.providers.google.errors import GoogleApiError, NotOrganizerError

log = logging.getLogger(__name__)

#: maxResults of events.list and events.instances; 250 is Google's default.
PAGE_SIZE = 250

#: maxResults of the one windowed listing of a full round; 2500 is the
#: largest value the events.list reference allows.
WINDOW_PAGE_SIZE = 2500

#: The least number of series this calendar organizes for which a full round
#: reads their instances with one windowed events.list (singleEvents=true)
#: instead of one events.instances call per series.
WINDOW_MIN_SERIES = 2

#: A windowed listing: its timeMin, its timeMax and its items by series id.
_Window = tuple[datetime, datetime, dict[str, list[dict[str, Any]]]]

#: Statuses with which Google reports that an event or a token is gone.
_GONE = (404, 410)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class GoogleCalendarProvider(CalendarProvider):
    """The primary calendar of the person `client` acts for."""

    name = "google"
    description_format = "html"
    persistent = True

    def __init__(
        self,
        client: GoogleClient,
        *,
        default_timezone: str = "UTC",
        lookback: timedelta = timedelta(days=28),
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        meet_links: bool = False,
    ) -> None:
        self.client = client
        #: Whether created events (follow-ups) get a Google Meet conference.
        self.meet_links = meet_links
        self.address = client.person
        self.default_timezone = default_timezone
        self.lookback = lookback
        self.now = now
        # The latest resource read per key: its id, ETag and organizer.
        self._read: dict[EventKey, dict[str, Any]] = {}
        # Instances listed in this round that `get_event` has not returned yet.
        self._fresh: dict[EventKey, Event] = {}
        # On a full round: the series this calendar organizes, and once read,
        # the window of the singleEvents listing with its items by series.
        self._own_series: set[str] = set()
        self._window: _Window | None = None

    @property
    def owner(self) -> str:
        return normalise_email(self.address)

    @property
    def _events(self) -> Any:
        return self.client.calendar.events()

    # -- changes ----------------------------------------------------------

    def list_changes(self, cursor: str | None) -> ChangeSet:
        """List what changed since the sync token `cursor`, or everything."""
        self._fresh.clear()
        self._own_series.clear()
        self._window = None
        if cursor is None:
            return self._full_listing()
        try:
            items, token = self._collect({"syncToken": cursor})
        except GoogleApiError as error:
            if error.status != 410:
                raise
            # Google documents 410 on a sync token as "wipe the store and
            # sync in full", and `full=True` makes the caller do so.
            log.info("sync token expired, listing in full", extra=self._ids())
            return self._full_listing()
        return self._change_set(items, token, full=False)

    def _full_listing(self) -> ChangeSet:
        since = _rfc3339(self.now() - self.lookback)
        items, token = self._collect({"timeMin": since})
        self._own_series = {
            str(item["id"])
            for item in items
            if item.get("recurrence") and (item.get("organizer") or {}).get("self")
        }
        return self._change_set(items, token, full=True)

    def _collect(self, params: dict[str, str]) -> tuple[list[dict[str, Any]], str]:
        request: HttpRequest | None = self._events.list(
            calendarId="primary", maxResults=PAGE_SIZE, **params
        )
        items: list[dict[str, Any]] = []
        token = ""
        while request is not None:
            page = self.client.execute(request, "calendar.events.list")
            items.extend(page.get("items", []))
            token = page.get("nextSyncToken", token)
            request = self._events.list_next(request, page)
        if not token:
            raise GoogleApiError("calendar.events.list", 200, "noNextSyncToken")
        return items, token

    def _change_set(
        self, items: list[dict[str, Any]], token: str, full: bool
    ) -> ChangeSet:
        events, removed = [], []
        for item in items:
            series_id = str(item.get("recurringEventId") or item.get("id") or "")
            if len(series_id) > MAX_UID_LENGTH:
                # Google allows ids of up to 1,024 characters; Tandem's UID
                # columns are shorter, so such an event is left out.
                log.warning(
                    "event id too long, skipped",
                    extra={**self._ids(), "length": len(series_id)},
                )
                continue
            if item.get("status") == "cancelled":
                uid, recurrence_id = mapping.removed_key(item, self.default_timezone)
                removed.append(EventKey(uid, recurrence_id))
            else:
                events.append(self._remember(item))
        log.info(
            "listed changes",
            extra={**self._ids(), "items": len(items), "full": full},
        )
        return ChangeSet(tuple(events), tuple(removed), token, full)

    # -- reading ----------------------------------------------------------

    def list_instances(self, uid: str, start: datetime, end: datetime) -> list[Event]:
        """List the occurrences of series `uid` that start in [start, end)."""
        items = self._window_items(uid, start, end)
        if items is None:
            items = self._read_instances(uid, start, end)

        instances = []
        for item in items:
            if item.get("status") == "cancelled":
                continue
            event = self._remember(item)
            if start <= event.start < end:
                instances.append(event)
        self._fresh.update((event.key, event) for event in instances)
        return sorted(instances, key=lambda event: event.start)

    def _read_instances(
        self, uid: str, start: datetime, end: datetime
    ) -> list[dict[str, Any]]:
        request: HttpRequest | None = self._events.instances(
            calendarId="primary",
            eventId=uid,
            timeMin=_rfc3339(start),
            timeMax=_rfc3339(end),
            maxResults=PAGE_SIZE,
        )
        items: list[dict[str, Any]] = []
        while request is not None:
            try:
                page = self.client.execute(request, "calendar.events.instances")
            except GoogleApiError as error:
                if error.status in _GONE:
                    return []
                raise
            items.extend(page.get("items", []))
            request = self._events.instances_next(request, page)
        return items

    def _window_items(
        self, uid: str, start: datetime, end: datetime
    ) -> list[dict[str, Any]] | None:
        """Return the items of series `uid` from this round's windowed listing.

        Only a full round lists every series this calendar organizes, so
        only then does one events.list with singleEvents=true, sent at the
        first request, replace the events.instances calls. The events.list
        reference has singleEvents return the instances of each series
        (exceptions included) and leave cancelled ones out unless
        showDeleted is set. Returns None where the listing does not cover
        the request.
        """
        if uid not in self._own_series or len(self._own_series) < WINDOW_MIN_SERIES:
            return None
        if self._window is None:
            self._window = (start, end, self._list_window(start, end))
        window_start, window_end, by_series = self._window
        if start < window_start or end > window_end:
            return None
        return by_series.get(uid, [])

    def _list_window(
        self, start: datetime, end: datetime
    ) -> dict[str, list[dict[str, Any]]]:
        request: HttpRequest | None = self._events.list(
            calendarId="primary",
            singleEvents=True,
            timeMin=_rfc3339(start),
            timeMax=_rfc3339(end),
            maxResults=WINDOW_PAGE_SIZE,
        )
        by_series: dict[str, list[dict[str, Any]]] = {}
        while request is not None:
            page = self.client.execute(request, "calendar.events.list")
            for item in page.get("items", []):
                series = item.get("recurringEventId")
                if series:
                    by_series.setdefault(str(series), []).append(item)
            request = self._events.list_next(request, page)
        log.info(
            "listed window instances",
            extra={**self._ids(), "series": len(by_series)},
        )
        return by_series

    def get_event(self, key: EventKey) -> Event | None:
        """Read one event or instance, or return None when it is gone.

        An instance that `list_instances` returned in this round is returned
        once without a request. If it changed since, the write's If-Match
        fails with 412, and the retry reads it from Google.
        """
        fresh = self._fresh.pop(key, None)
        if fresh is not None:
            return fresh
        request = self._events.get(calendarId="primary", eventId=self._google_id(key))
        try:
            item = self.client.execute(request, "calendar.events.get")
        except GoogleApiError as error:
            if error.status in _GONE:
                return None
            raise
        if item.get("status") == "cancelled":
            return None
        return self._remember(item)

    def _google_id(self, key: EventKey) -> str:
        known = self._read.get(key)
        if known is not None:
            return str(known["id"])
        if key.recurrence_id is None:
            return key.uid
        master = self._read.get(EventKey(key.uid))
        all_day = bool(master and "date" in master.get("start", {}))
        return mapping.instance_id(key.uid, key.recurrence_id, all_day)

    def _remember(self, item: dict[str, Any]) -> Event:
        event = mapping.event_from_google(item, self.default_timezone)
        self._read[event.key] = item
        return event

    # -- writing ----------------------------------------------------------

    def update_description(
        self,
        key: EventKey,
        description: str,
        etag: str,
        state: dict[str, str] | None = None,
    ) -> Event:
        """PATCH the description (and Tandem's state) of the organizer's copy."""
        self._fresh.pop(key, None)
        item = self._read.get(key)
        if item is None and self.get_event(key) is None:
            raise NotFoundError(str(key))
        item = self._read[key]
        self._check_organizer(key, item)

        body: dict[str, Any] = {"description": description}
        if state:
            body["extendedProperties"] = {"private": mapping.state_properties(state)}
        # sendUpdates=none: an agenda refresh must not mail the attendees.
        request = self._events.patch(
            calendarId="primary", eventId=item["id"], body=body, sendUpdates="none"
        )
        request.headers["If-Match"] = etag
        try:
            written = self.client.execute(request, "calendar.events.patch")
        except GoogleApiError as error:
            raise self._write_error(error, key, etag) from None
        log.info("wrote description", extra={**self._ids(), "event": str(key)})
        return self._remember(written)

    def _check_organizer(self, key: EventKey, item: dict[str, Any]) -> None:
        """Raise unless this calendar organizes the event: Tandem writes as organizer.

        Google marks the organizer's own copy with `organizer.self`; edits to
        an attendee's copy are not seen by the organizer or other attendees.
        """
        organizer = item.get("organizer") or {}
        if not organizer.get("self"):
            raise NotOrganizerError(
                str(key), self.address, str(organizer.get("email", ""))
            )

    def _write_error(
        self, error: GoogleApiError, key: EventKey, etag: str
    ) -> Exception:
        if error.status == 412:
            return ConflictError(str(key), etag, "")
        if error.status in _GONE:
            return NotFoundError(str(key))
        if error.reason == "forbiddenForNonOrganizer":
            return NotOrganizerError(str(key), self.address, "")
        return error

    def create_event(self, event: NewEvent) -> Event:
        """Create `event` and invite its attendees; a repeated UID returns the first.

        The id is derived from `event.uid`, so a retry after a lost response
        meets 409 and reads the event the first attempt created.
        """
        if event.organizer.email and event.organizer.email != self.address:
            raise NotOrganizerError(event.uid, self.address, event.organizer.email)
        body = mapping.new_event_body(event, meet_link=self.meet_links)
        # conferenceDataVersion=1 makes Google act on conferenceData; with the
        # default 0 it drops the createRequest silently.
        request = self._events.insert(
            calendarId="primary",
            body=body,
            sendUpdates="all",
            conferenceDataVersion=1 if self.meet_links else 0,
        )
        try:
            created = self.client.execute(request, "calendar.events.insert")
        except GoogleApiError as error:
            if error.status != 409:
                raise
            log.info("event exists already", extra={**self._ids(), "id": body["id"]})
            found = self._events.get(calendarId="primary", eventId=body["id"])
            created = self.client.execute(found, "calendar.events.get")
        else:
            log.info("created event", extra={**self._ids(), "id": body["id"]})
        return self._remember(created)

    # -- free/busy --------------------------------------------------------

    def busy_intervals(
        self, emails: Iterable[str], start: datetime, end: datetime
    ) -> dict[str, list[BusyInterval]]:
        """Return each person's busy periods in [start, end) from freebusy.query."""
        addresses = [email.lower() for email in emails]
        body = {
            "timeMin": _rfc3339(start),
            "timeMax": _rfc3339(end),
            "items": [{"id": address} for address in addresses],
        }
        request = self.client.calendar.freebusy().query(body=body)
        reply = self.client.execute(request, "calendar.freebusy.query")
        result: dict[str, list[BusyInterval]] = {}
        for address, calendar in (reply.get("calendars") or {}).items():
            if calendar.get("errors"):
                # Google returns `notFound` for a calendar outside the domain
                # or not shared, so that person is left out, as unknown.
                reasons = [e.get("reason", "") for e in calendar["errors"]]
                log.info("no free/busy", extra={**self._ids(), "reasons": reasons})
                continue
            result[address.lower()] = [
                BusyInterval(
                    datetime.fromisoformat(period["start"]),
                    datetime.fromisoformat(period["end"]),
                )
                for period in calendar.get("busy", [])
            ]
        return result

    def _ids(self) -> dict[str, str]:
        return {"calendar": self.address}
