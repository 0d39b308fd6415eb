"""Errors raised by calendar_sync.

CalendarSyncError
 ├── CalendarFileError        a calendar file cannot be read at all (the user's fault)
 ├── EventError               one event is invalid; it is skipped, the rest go on
 └── ProviderError            a backend refused or failed a call
      ├── ConflictError       the event changed since the etag that was read
      └── NotFoundError       the event no longer exists
"""

from __future__ import annotations


class CalendarSyncError(Exception):
    """Base class of every error in calendar_sync."""


class CalendarFileError(CalendarSyncError):
    """A calendar file cannot be read; nothing from it is used."""

    def __init__(self, path: str, reason: str, line: int | None = None) -> None:
        self.path = path
        self.reason = reason
        self.line = line
        where = f"{path}, line {line}" if line else path
        super().__init__(f"{where}: {reason}")


class EventError(CalendarSyncError):
    """One event is invalid and is skipped; `where` names its UID or line."""

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(f"{where}: {reason}")


class ProviderError(CalendarSyncError):
    """A calendar backend refused or failed a request."""


class ConflictError(ProviderError):
    """The event changed since the etag the write was based on."""

    def __init__(self, key: str, expected_etag: str, actual_etag: str) -> None:
        self.key = key
        self.expected_etag = expected_etag
        self.actual_etag = actual_etag
        super().__init__(
            f"Event {key} changed since it was read (etag {expected_etag!r}, now "
            f"{actual_etag!r}); read it again and merge before writing."
        )


class NotFoundError(ProviderError):
    """The event does not exist (any more)."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"Event {key} was not found; it may have been deleted.")
