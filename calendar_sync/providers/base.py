"""The contract every calendar provider implements.

A provider hides one calendar backend (an iCalendar file, Google Calendar,
Microsoft Graph) behind the same few calls. The sync engine only talks to this
interface, so a provider must never import the web app or the database layer.

Terms used below:

cursor
    An opaque string the provider returns after listing changes: a Google
    `syncToken`, a Graph delta link, or a content hash for files. Passing it
    back lists only what changed since.
etag
    The provider's concurrency token for one event. A write names the etag it
    was based on and fails with `ConflictError` when the event changed since.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from calendar_sync.models import BusyInterval, Event, EventKey, NewEvent


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """What changed in one calendar since a cursor.

    `events` contains series masters, single events and overrides, not expanded
    occurrences. `removed` names events that were deleted. `full` is True when
    the provider could not continue from the cursor and listed everything, so
    the caller must treat anything it did not see as gone.
    """

    events: tuple[Event, ...]
    removed: tuple[EventKey, ...]
    cursor: str
    full: bool


@dataclass(frozen=True, slots=True)
class SkippedEvent:
    """An event the provider could not read, with the reason shown to the user."""

    where: str
    reason: str


class CalendarProvider(abc.ABC):
    """One calendar backend."""

    #: Short name used in logs and in the API ("ics", "google", "microsoft").
    name: str = ""

    #: How descriptions are stored: "text" (iCalendar DESCRIPTION) or "html"
    #: (Google Calendar and Outlook bodies). The agenda block is rendered and
    #: merged in the same format.
    description_format: str = "text"

    #: Whether the calendar keeps Tandem's writes between syncs. True for the
    #: API providers, whose calendars live on a server, so the sync engine
    #: requests only the changes since the stored cursor and writes only where
    #: something changed. False for files, which are read whole on every run
    #: and written out again.
    persistent: bool = False

    @property
    def owner(self) -> str | None:
        """The normalised address of the person whose calendar this is, if known.

        Tandem writes only as the organizer, so a 1:1 that this person does
        not organize is left to the organizer's own calendar. Files have no
        owner and return None.
        """
        return None

    @abc.abstractmethod
    def list_changes(self, cursor: str | None) -> ChangeSet:
        """List events changed since `cursor`, or all events when it is None."""

    @abc.abstractmethod
    def list_instances(self, uid: str, start: datetime, end: datetime) -> list[Event]:
        """Expand the series `uid` into its occurrences that start in [start, end).

        Overrides replace the occurrence they modify; cancelled and excluded
        instances are left out. Each returned event has `recurrence_id` set.
        """

    @abc.abstractmethod
    def get_event(self, key: EventKey) -> Event | None:
        """Read one event or one instance, or return None when it does not exist."""

    @abc.abstractmethod
    def update_description(
        self,
        key: EventKey,
        description: str,
        etag: str,
        state: dict[str, str] | None = None,
    ) -> Event:
        """Replace the description of one event or instance and return the result.

        Writing an instance that has no override yet creates the override. The
        write must not notify attendees. `state` is Tandem's own bookkeeping
        (block version and hash), kept where the backend stores private
        per-event data (Google `extendedProperties.private`, a Graph
        single-value extended property); providers without such a place may
        ignore it. Raises `ConflictError` when `etag` no longer matches and
        `NotFoundError` when the event is gone.
        """

    @abc.abstractmethod
    def create_event(self, event: NewEvent) -> Event:
        """Create an event, or return the existing one when `event.uid` exists.

        Creating twice with the same UID must leave one event.
        """

    @abc.abstractmethod
    def busy_intervals(
        self, emails: Iterable[str], start: datetime, end: datetime
    ) -> dict[str, list[BusyInterval]]:
        """Return, per address, the times in [start, end) when that person is busy.

        An address whose free/busy the backend does not show (someone outside
        the Workspace domain or the Microsoft 365 tenant) is left out, so the
        caller can tell "free" from "unknown" and query another calendar.
        """

    def start_push(self, address: str) -> None:  # noqa: B027 - optional hook
        """Ask the backend to report changes; providers without push do nothing."""

    def stop_push(self, address: str) -> None:  # noqa: B027 - optional hook
        """Stop notifications started by `start_push`."""
