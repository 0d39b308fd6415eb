"""`GraphProvider`: the provider contract for one Microsoft 365 mailbox.

Changes come from `calendarView/delta` over a window around now. Its delta
link is the cursor, with the window's start and end kept in the URL fragment
(which is never sent), so a window that time has used up is replaced by a
full round. Delta lists instances only, so the masters of the series it
names are read with `$batch`, up to 20 per request.

Given Tandem's stored copy (`StoredCopy`), an incremental round costs fewer
reads. An exception that matches its stored copy is Tandem's own write coming
back, so it is dropped and its master is not read again. It matches on the
ETag that the PATCH returned, and where Graph has changed the ETag since, on
`mapping.content_hash`, a hash of the fields Tandem reads. `@removed` carries
only instance ids, which the stored copy maps back to their series, so a
deleted series is found gone. A changed series whose master is stored takes
the master's new fields from its occurrences (`series.py`) instead of a read.

The instances a round listed answer `list_instances` for the round's window
when they are complete: always after a full round, and after an incremental
round when every unlisted instance is stored. The other changed series have
their instances read together, in one `$batch`, on the first `list_instances`
call. The first `get_event` of an instance read in this round returns that
read; a second one (after a 412, say) asks Graph again.

Does a body-only PATCH notify attendees?
    Yes, going by the evidence. Graph's v1.0 "Update event" reference
    (learn.microsoft.com/graph/api/event-update) documents meeting updates
    only for changes to `attendees` and has no parameter that suppresses
    them, unlike Google's `sendUpdates=none`. Reports against Microsoft's own
    docs repository (microsoftgraph/microsoft-graph-docs issues 12244 and
    13736) show that attendees receive a meeting update when the organizer's
    body is PATCHed, and msgraph-sdk-dotnet issue 1549 asks for a switch to
    prevent it. So Tandem keeps such writes as rare as it can. It writes only
    the organizer's copy of one occurrence, PATCHes the body and its private
    extended property and nothing else, and sends no request at all when the
    merged body equals the stored one.
    NOTE: Graph v1.0 documents no write that leaves attendees unnotified, so
    each agenda change does produce one meeting update on a real tenant. The
    emulator does not model meeting messages and cannot show this.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any, Protocol
from urllib.parse import parse_qs, urlencode, urlsplit

from calendar_sync.errors import ConflictError, NotFoundError, ProviderError
from calendar_sync.models import (
    BusyInterval,
    Event,
    EventKey,
    EventStatus,
    NewEvent,
    normalise_email,
)
from calendar_sync.providers.base import CalendarProvider, ChangeSet
from calendar_sync.providers.microsoft import mapping, series
from calendar_sync.providers.microsoft.auth import (
    MicrosoftConfig,
    TokenSource,
    UserTokens,
    app_tokens,
)
from calendar_sync.providers.microsoft.errors import SyncStateGoneError
from calendar_sync.providers.microsoft.graph import (
    BatchItem,
    GraphClient,
    make_connection,
)

log = logging.getLogger(__name__)

#: Graph returns times in the zone this header names; Tandem reads UTC.
PREFER_UTC = 'outlook.timezone="UTC"'

#: Delta page size requested with `Prefer: odata.maxpagesize`.
DELTA_PAGE_SIZE = 100

#: Instances page size (`$top`) of `/instances`.
INSTANCES_PAGE_SIZE = 100

#: How far from its original start an occurrence is searched for when only
#: its RECURRENCE-ID is known.
INSTANCE_SEARCH = timedelta(days=7)

#: getSchedule statuses that make a person unavailable.
_BUSY = {"busy", "oof", "tentative"}

_WEEKDAYS = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
]


class StoredCopy(Protocol):
    """Read access to Tandem's stored copy of the mailbox's calendar."""

    def event(self, key: EventKey) -> Event | None:
        """Return the stored master, single event or exception with `key`."""
        ...

    def owners(self, graph_ids: list[str]) -> dict[str, EventKey]:
        """Map Graph instance ids to the stored event they belong to.

        An exception's id maps to its own key; a plain occurrence's id maps
        to its series (a key without a recurrence id).
        """
        ...

    def series(self, uid: str) -> list[Event]:
        """Return the stored master of `uid` (if any), then its exceptions."""
        ...


def _expand_state() -> str:
    return f"singleValueExtendedProperties($filter=id eq '{mapping.STATE_PROPERTY_ID}')"


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cursor_window(cursor: str) -> tuple[datetime, datetime] | None:
    """Return the window kept in a delta link's fragment, if it contains both ends."""
    values = parse_qs(urlsplit(cursor).fragment)
    if "window-start" not in values or "window-end" not in values:
        return None
    return (
        mapping.parse_offset(values["window-start"][0]),
        mapping.parse_offset(values["window-end"][0]),
    )


class GraphProvider(CalendarProvider):
    """One mailbox's default calendar in Microsoft 365."""

    name = "microsoft"
    description_format = "html"
    persistent = True

    def __init__(
        self,
        client: GraphClient,
        *,
        past: timedelta = timedelta(days=28),
        ahead: timedelta = timedelta(days=92),
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        stored: StoredCopy | None = None,
    ) -> None:
        self.client = client
        self.stored = stored
        self.past = past
        self.ahead = ahead
        self.now = now
        # Graph ids of the instances seen, by Tandem key (uid, recurrence id).
        self._instance_ids: dict[EventKey, str] = {}
        # The latest read of each event, by Graph id, for the organizer check.
        self._read: dict[str, Event] = {}
        # This round's window, the complete instance lists known for a window
        # by series, the series the round changed, and the instances read in
        # this round that `get_event` has not returned yet.
        self._window: tuple[datetime, datetime] | None = None
        self._listings: dict[str, tuple[datetime, datetime, list[Event]]] = {}
        self._changed: set[str] = set()
        self._fresh: dict[EventKey, Event] = {}

    @property
    def owner(self) -> str:
        return normalise_email(self.client.mailbox)

    # -- changes ----------------------------------------------------------

    def list_changes(self, cursor: str | None) -> ChangeSet:
        """List what changed since the delta link `cursor`, or everything."""
        self._start_round()
        if cursor is None or self._window_used_up(cursor):
            return self._full_round()
        try:
            items, link = self._collect(cursor, None)
        except SyncStateGoneError:
            # Graph documents 410 syncStateNotFound as "start a new round
            # without a token"; the caller must treat unseen events as gone.
            log.info("delta link expired, syncing in full", extra=self._ids())
            return self._full_round()
        self._window = _cursor_window(cursor)
        return self._change_set(items, self._cursor(link, cursor), full=False)

    def _start_round(self) -> None:
        self._window = None
        self._listings.clear()
        self._changed.clear()
        self._fresh.clear()

    def _full_round(self) -> ChangeSet:
        now = self.now()
        window_start, window_end = now - self.past, now + self.ahead
        params = {
            "startDateTime": _utc_text(window_start),
            "endDateTime": _utc_text(window_end),
        }
        items, link = self._collect("/calendarView/delta", params)
        self._window = (window_start, window_end)
        fragment = urlencode(
            {
                "window-end": _utc_text(window_end),
                "window-start": _utc_text(window_start),
            }
        )
        return self._change_set(items, f"{link}#{fragment}", full=True)

    def _collect(
        self, start: str, params: dict[str, str] | None
    ) -> tuple[list[dict[str, Any]], str]:
        path = start if start.startswith("http") else self.client.user_path + start
        headers = {"Prefer": f"{PREFER_UTC}, odata.maxpagesize={DELTA_PAGE_SIZE}"}
        items: list[dict[str, Any]] = []
        link = ""
        for page in self.client.pages(path, params=params, headers=headers):
            items.extend(page.get("value", []))
            link = page.get("@odata.deltaLink", link)
        if not link:
            raise ProviderError(
                f"Graph ended a delta round for {self.client.mailbox} without a "
                "delta link; the next sync starts a new round."
            )
        return items, link

    def _cursor(self, link: str, previous: str) -> str:
        fragment = urlsplit(previous).fragment
        return f"{link}#{fragment}" if fragment else link

    def _window_used_up(self, cursor: str) -> bool:
        """Return whether less than half of the cursor's look-ahead window is left."""
        values = parse_qs(urlsplit(cursor).fragment).get("window-end")
        if not values:
            return False
        window_end = mapping.parse_offset(values[0])
        return window_end - self.now() < self.ahead / 2

    def _change_set(
        self, items: list[dict[str, Any]], cursor: str, full: bool
    ) -> ChangeSet:
        removed, reread = self._removals(items)
        events, instances, changed, skipped = self._sort_items(items, full)
        series_ids = reread + [uid for uid in changed if uid not in reread]

        derived = {} if full else self._derived_masters(changed, instances, reread)
        read, gone = self._read_masters(
            [uid for uid in series_ids if uid not in derived]
        )
        found = {**derived, **{master.uid: master for master in read}}
        removed_ids = {str(item["id"]) for item in items if "@removed" in item}
        masters = [
            self._with_instance_ids(found[uid], instances, full, removed_ids)
            for uid in series_ids
            if uid in found
        ]
        listed = [uid for uid in series_ids if uid in found]
        self._plan_listings(listed, instances, removed_ids, full)
        removed.extend(EventKey(uid) for uid in gone)

        log.info(
            "listed changes",
            extra={
                **self._ids(),
                "items": len(items),
                "series": len(series_ids),
                "masters_read": len(series_ids) - len(derived),
                "own_writes": skipped,
                "full": full,
            },
        )
        return ChangeSet(tuple(masters + events), tuple(removed), cursor, full)

    def _sort_items(
        self, items: list[dict[str, Any]], full: bool
    ) -> tuple[list[Event], dict[str, list[Event]], list[str], int]:
        """Map the round's items; return the events to report, instances by series,
        the changed series and the count of Tandem's own writes dropped."""
        events: list[Event] = []
        instances: dict[str, list[Event]] = {}
        changed: list[str] = []
        skipped = 0
        for item in items:
            if "@removed" in item:
                continue
            event = self._remember(mapping.event_from_graph(item))
            kind = item.get("type")
            if kind not in ("occurrence", "exception"):
                events.append(event)
                continue
            instances.setdefault(event.uid, []).append(event)
            self._fresh[event.key] = event
            # A full round must list every stored event, or the caller takes
            # the missing ones for deleted.
            if kind == "exception" and not full and self._is_stored(event):
                skipped += 1
                continue
            if event.uid not in changed:
                changed.append(event.uid)
            if kind == "exception":
                events.append(event)
        return events, instances, changed, skipped

    def _removals(
        self, items: list[dict[str, Any]]
    ) -> tuple[list[EventKey], list[str]]:
        """Return the removed keys and the series whose masters must be read.

        Graph reports a deleted series, or one cancelled occurrence, as
        `@removed` entries with instance ids only. Their series is read
        again: a 404 marks it gone, otherwise its cancelled occurrences are
        current again.
        """
        graph_ids = [str(item["id"]) for item in items if "@removed" in item]
        owners = self.stored.owners(graph_ids) if self.stored and graph_ids else {}
        removed: list[EventKey] = []
        series_ids: list[str] = []
        for graph_id in graph_ids:
            owner = owners.get(graph_id)
            if owner is None:
                removed.append(EventKey(graph_id))
                continue
            if owner.recurrence_id is not None:
                removed.append(owner)
            if owner.uid not in series_ids:
                series_ids.append(owner.uid)
        return removed, series_ids

    def _is_stored(self, event: Event) -> bool:
        """Whether `event` equals Tandem's stored copy (by ETag, else by content)."""
        stored = self.stored.event(event.key) if self.stored else None
        if stored is None:
            return False
        if stored.etag and stored.etag == event.etag:
            return True
        return mapping.content_hash(stored) == mapping.content_hash(event)

    def _derived_masters(
        self, changed: list[str], instances: dict[str, list[Event]], reread: list[str]
    ) -> dict[str, Event]:
        """Return the changed series' masters that need no read, by series id."""
        if self.stored is None:
            return {}
        derived = {}
        for uid in changed:
            if uid in reread:
                continue
            master = self._stored_master(uid, instances[uid])
            if master is not None:
                derived[uid] = master
        return derived

    def _stored_master(self, uid: str, listed: list[Event]) -> Event | None:
        """Return the stored master of `uid` brought up to date, or None to read it.

        An instance id the stored master does not list means the series has
        instances it did not have before, so its recurrence changed.
        """
        stored = self.stored.event(EventKey(uid)) if self.stored else None
        if stored is None or not stored.is_recurring:
            return None
        known = set(stored.extra.get(mapping.INSTANCE_IDS, "").split())
        if any(event.extra.get("graph_id") not in known for event in listed):
            return None

        occurrences = [
            event for event in listed if event.extra.get("graph_type") == "occurrence"
        ]
        updated = [series.master_from_occurrence(stored, item) for item in occurrences]
        if None in updated:
            return None
        return updated[-1] if updated else stored

    def _with_instance_ids(
        self,
        master: Event,
        instances: dict[str, list[Event]],
        full: bool,
        removed_ids: set[str],
    ) -> Event:
        """Keep the ids of the master's instances, so `@removed` can be mapped.

        A full round lists every instance in the window; an incremental round
        adds the ones it saw to those stored and drops the removed ones.
        """
        ids = {
            event.extra.get("graph_id", "") for event in instances.get(master.uid, [])
        }
        stored = None if full or not self.stored else self.stored.event(master.key)
        if stored is not None:
            ids.update(stored.extra.get(mapping.INSTANCE_IDS, "").split())
        ids -= removed_ids | {""}
        if not ids:
            return master
        extra = {**master.extra, mapping.INSTANCE_IDS: " ".join(sorted(ids))}
        return replace(master, extra=extra)

    def _plan_listings(
        self,
        uids: list[str],
        instances: dict[str, list[Event]],
        removed_ids: set[str],
        full: bool,
    ) -> None:
        """Keep each changed series' complete instance list where the round has it."""
        self._changed.update(uids)
        for uid in uids:
            listing = self._round_listing(
                uid, instances.get(uid, []), removed_ids, full
            )
            if listing is not None and self._window is not None:
                self._listings[uid] = (*self._window, listing)

    def _round_listing(
        self, uid: str, listed: list[Event], removed_ids: set[str], full: bool
    ) -> list[Event] | None:
        """Return every instance of `uid` in the round's window, if the round shows it.

        A full round lists them all. After an incremental round the stored
        copy completes the list, without the instances the round removed. A
        series moved in Outlook is one: Graph removes its old occurrences and
        lists the new ones, so it needs no read of its instances.
        """
        if full:
            return listed
        if self.stored is None:
            return None
        return series.complete_instances(
            self.stored.series(uid), listed, frozenset(removed_ids)
        )

    def _read_masters(self, series_ids: list[str]) -> tuple[list[Event], list[str]]:
        """Read the series masters in `$batch` requests; return them and the gone."""
        items = [
            BatchItem(
                "GET",
                f"{self.client.user_path}/events/{uid}?$expand={_expand_state()}",
                headers={"Prefer": PREFER_UTC},
            )
            for uid in series_ids
        ]
        masters, gone = [], []
        for uid, response in zip(series_ids, self.client.batch(items), strict=True):
            if response["status"] == 404:
                gone.append(uid)
            elif response["status"] >= 400:
                raise ProviderError(
                    f"Graph answered {response['status']} when reading series {uid} "
                    f"of {self.client.mailbox}; the sync will try again later."
                )
            else:
                masters.append(
                    self._remember(mapping.event_from_graph(response["body"]))
                )
        return masters, gone

    # -- reading ----------------------------------------------------------

    def list_instances(self, uid: str, start: datetime, end: datetime) -> list[Event]:
        """List the occurrences and exceptions of `uid` that start in [start, end)."""
        return self._instances(uid, start, end, batch_changed=True)

    def _instances(
        self, uid: str, start: datetime, end: datetime, batch_changed: bool
    ) -> list[Event]:
        listing = self._known_instances(uid, start, end)
        if listing is None and batch_changed and uid in self._changed:
            self._read_changed_instances(start, end)
            listing = self._known_instances(uid, start, end)
        if listing is None:
            listing = self._read_instances(uid, start, end)

        instances = [
            self._remember(event)
            for event in listing
            if event.status is not EventStatus.CANCELLED and start <= event.start < end
        ]
        self._fresh.update((event.key, event) for event in instances)
        return sorted(instances, key=lambda event: event.start)

    def _known_instances(
        self, uid: str, start: datetime, end: datetime
    ) -> list[Event] | None:
        """Return the instance list of `uid` kept for a window that covers the range."""
        known = self._listings.get(uid)
        if known is None:
            return None
        window_start, window_end, listing = known
        return listing if window_start <= start and end <= window_end else None

    def _read_instances(self, uid: str, start: datetime, end: datetime) -> list[Event]:
        params = {
            "startDateTime": _utc_text(start),
            "endDateTime": _utc_text(end),
            "$top": str(INSTANCES_PAGE_SIZE),
        }
        path = f"{self.client.user_path}/events/{uid}/instances"
        try:
            pages = list(
                self.client.pages(path, params=params, headers={"Prefer": PREFER_UTC})
            )
        except NotFoundError:
            return []
        return [
            mapping.event_from_graph(item)
            for page in pages
            for item in page.get("value", [])
        ]

    def _read_changed_instances(self, start: datetime, end: datetime) -> None:
        """Read the instances of the changed series in `$batch`es of up to 20.

        The sync engine requests the same window for each series, so one read
        of that window serves every changed series not yet listed for it.
        """
        uids = sorted(
            uid
            for uid in self._changed
            if self._known_instances(uid, start, end) is None
        )
        query = urlencode(
            {
                "startDateTime": _utc_text(start),
                "endDateTime": _utc_text(end),
                "$top": str(INSTANCES_PAGE_SIZE),
            },
            safe="$",
        )
        items = [
            BatchItem(
                "GET",
                f"{self.client.user_path}/events/{uid}/instances?{query}",
                headers={"Prefer": PREFER_UTC},
            )
            for uid in uids
        ]
        for uid, response in zip(uids, self.client.batch(items), strict=True):
            if response["status"] == 404:
                listing = []
            elif response["status"] >= 400:
                raise ProviderError(
                    f"Graph answered {response['status']} when listing the instances "
                    f"of series {uid} of {self.client.mailbox}; the sync will try "
                    "again later."
                )
            else:
                listing = self._instance_pages(response["body"])
            self._listings[uid] = (start, end, listing)

    def _instance_pages(self, first: dict[str, Any]) -> list[Event]:
        """Map a page of instances and the pages its `@odata.nextLink` leads to."""
        page, events = first, []
        while True:
            events.extend(
                mapping.event_from_graph(item) for item in page.get("value", [])
            )
            link = page.get("@odata.nextLink")
            if not link:
                return events
            page = self.client.get(link, headers={"Prefer": PREFER_UTC})

    def get_event(self, key: EventKey) -> Event | None:
        """Read one event or instance, or return None when it is gone.

        An instance read earlier in this round is returned once without a
        request; a read sent now also carries Tandem's extended property.
        """
        graph_id = self._graph_id(key)
        if graph_id is None:
            return None
        fresh = self._fresh.pop(key, None)
        if fresh is not None:
            return fresh
        try:
            data = self.client.get(
                f"{self.client.user_path}/events/{graph_id}",
                params={"$expand": _expand_state()},
                headers={"Prefer": PREFER_UTC},
            )
        except NotFoundError:
            return None
        return self._remember(mapping.event_from_graph(data))

    def _graph_id(self, key: EventKey) -> str | None:
        if key.recurrence_id is None:
            return key.uid
        known = self._instance_ids.get(key)
        if known is not None:
            return known
        self._instances(
            key.uid,
            key.recurrence_id - INSTANCE_SEARCH,
            key.recurrence_id + INSTANCE_SEARCH,
            batch_changed=False,
        )
        return self._instance_ids.get(key)

    def _remember(self, event: Event) -> Event:
        graph_id = event.extra.get("graph_id", "")
        if event.recurrence_id is not None:
            self._instance_ids[event.key] = graph_id
        self._read[graph_id] = event
        return event

    def _replace_listed(self, written: Event) -> None:
        """Put an event Tandem just wrote into the instance list kept for its series."""
        self._fresh.pop(written.key, None)
        known = self._listings.get(written.uid)
        if known is None:
            return
        window_start, window_end, listing = known
        kept = [event for event in listing if event.key != written.key]
        self._listings[written.uid] = (window_start, window_end, [*kept, written])

    # -- writing ----------------------------------------------------------

    def update_description(
        self,
        key: EventKey,
        description: str,
        etag: str,
        state: dict[str, str] | None = None,
    ) -> Event:
        """PATCH the body (and Tandem's state) of the organizer's copy of `key`."""
        graph_id = self._graph_id(key)
        if graph_id is None:
            raise NotFoundError(str(key))
        self._check_organizer(key, graph_id)

        body: dict[str, Any] = {"body": {"contentType": "html", "content": description}}
        if state is not None:
            body["singleValueExtendedProperties"] = [mapping.state_property(state)]
        headers = {"If-Match": etag, "Prefer": PREFER_UTC}
        try:
            response = self.client.send(
                "PATCH",
                f"{self.client.user_path}/events/{graph_id}",
                body=body,
                headers=headers,
            )
        except ConflictError:
            raise ConflictError(str(key), etag, "") from None
        except NotFoundError:
            raise NotFoundError(str(key)) from None

        data = response.json()
        if state is not None:
            data["singleValueExtendedProperties"] = [mapping.state_property(state)]
        written = self._remember(mapping.event_from_graph(data))
        self._replace_listed(written)
        log.info("wrote body", extra={**self._ids(), "event": str(key)})
        return written

    def _check_organizer(self, key: EventKey, graph_id: str) -> None:
        """Raise unless this mailbox organizes the event: Tandem writes as organizer.

        An attendee's copy is the attendee's own: Exchange does not pass edits
        of it to the organizer or the other attendees.
        """
        event = self._read.get(graph_id) or self.get_event(key)
        if event is None:
            raise NotFoundError(str(key))
        if event.extra.get("is_organizer") != "true":
            raise ProviderError(
                f"Event {key} in {self.client.mailbox} is an attendee's copy; Tandem "
                "writes only the organizer's copy, so sync the organizer's mailbox."
            )

    def create_event(self, event: NewEvent) -> Event:
        """Create `event`, inviting its attendees; a repeated UID returns the first."""
        transaction_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"tandem:{event.uid}"))
        response = self.client.send(
            "POST",
            f"{self.client.user_path}/events",
            body=mapping.new_event_json(event, transaction_id),
            headers={"Prefer": PREFER_UTC},
        )
        created = self._remember(mapping.event_from_graph(response.json()))
        log.info("created event", extra={**self._ids(), "event": created.uid})
        return created

    # -- free/busy --------------------------------------------------------

    def busy_intervals(
        self, emails: Iterable[str], start: datetime, end: datetime
    ) -> dict[str, list[BusyInterval]]:
        """Return busy times from getSchedule; hours outside working hours are busy."""
        addresses = [email.lower() for email in emails]
        body = {
            "schedules": addresses,
            "startTime": {"dateTime": _utc_text(start)[:-1], "timeZone": "UTC"},
            "endTime": {"dateTime": _utc_text(end)[:-1], "timeZone": "UTC"},
            "availabilityViewInterval": 15,
        }
        response = self.client.send(
            "POST",
            f"{self.client.user_path}/calendar/getSchedule",
            body=body,
            headers={"Prefer": PREFER_UTC},
        )
        result: dict[str, list[BusyInterval]] = {}
        for schedule in response.json().get("value", []):
            address = str(schedule.get("scheduleId", "")).lower()
            if "error" in schedule:
                log.info(
                    "no schedule for address",
                    extra={
                        **self._ids(),
                        "code": schedule["error"].get("responseCode"),
                    },
                )
                continue
            result[address] = _merge(
                _busy_items(schedule)
                + _off_hours(schedule.get("workingHours"), start, end)
            )
        return result

    def _ids(self) -> dict[str, str]:
        return {"mailbox": self.client.mailbox}


def _busy_items(schedule: dict[str, Any]) -> list[BusyInterval]:
    intervals = []
    for item in schedule.get("scheduleItems") or []:
        if item.get("status") in _BUSY:
            intervals.append(
                BusyInterval(
                    mapping.parse_time(item["start"], UTC),
                    mapping.parse_time(item["end"], UTC),
                )
            )
    return intervals


def _off_hours(
    hours: dict[str, Any] | None, start: datetime, end: datetime
) -> list[BusyInterval]:
    """Return the parts of [start, end) outside the person's working hours."""
    if not hours or not hours.get("daysOfWeek"):
        return []
    zone = mapping.zone_of((hours.get("timeZone") or {}).get("name"))
    days = {str(day).lower() for day in hours["daysOfWeek"]}
    day_start = time.fromisoformat(str(hours.get("startTime", "00:00:00"))[:8])
    day_end = time.fromisoformat(str(hours.get("endTime", "23:59:59"))[:8])

    intervals = []
    day = start.astimezone(zone).date() - timedelta(days=1)
    while datetime.combine(day, time(0), zone) < end:
        midnight = datetime.combine(day, time(0), zone)
        next_midnight = datetime.combine(day + timedelta(days=1), time(0), zone)
        if _WEEKDAYS[day.weekday()] in days:
            intervals.append(
                BusyInterval(midnight, datetime.combine(day, day_start, zone))
            )
            intervals.append(
                BusyInterval(datetime.combine(day, day_end, zone), next_midnight)
            )
        else:
            intervals.append(BusyInterval(midnight, next_midnight))
        day += timedelta(days=1)
    return [
        BusyInterval(max(item.start, start), min(item.end, end))
        for item in intervals
        if item.end > start and item.start < end and item.end > item.start
    ]


def _merge(intervals: list[BusyInterval]) -> list[BusyInterval]:
    merged: list[BusyInterval] = []
    for item in sorted(intervals, key=lambda interval: interval.start):
        if merged and item.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = BusyInterval(last.start, max(last.end, item.end))
        else:
            merged.append(item)
    return merged


def tenant_provider(
    config: MicrosoftConfig, tenant_id: str, mailbox: str, **options: Any
) -> GraphProvider:
    """Return a provider for `mailbox` on the client credentials of its tenant."""
    tokens = app_tokens(config, tenant_id)
    return _provider(
        config, tokens, make_connection(config, tokens, tenant_id), mailbox, **options
    )


def user_provider(
    config: MicrosoftConfig,
    tokens: UserTokens,
    tenant_id: str,
    mailbox: str,
    **options: Any,
) -> GraphProvider:
    """Return a provider for the signed-in person's own mailbox."""
    return _provider(
        config, tokens, make_connection(config, tokens, tenant_id), mailbox, **options
    )


def _provider(
    config: MicrosoftConfig,
    tokens: TokenSource,
    connection: Any,
    mailbox: str,
    **options: Any,
) -> GraphProvider:
    return GraphProvider(GraphClient(config, connection, tokens, mailbox), **options)
