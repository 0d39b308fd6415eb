"""The emulator's in-memory world: users, calendars, events, tokens and logs.

All state is changed from the ASGI event loop only (every handler is an
`async def` that never awaits while it changes state), so no lock is needed.
The notifier thread reads nothing here; it only receives finished messages.

Terms:

record
    One stored event (a single event, a series master or an exception of a
    series). Attendee copies are the same record listed in several calendars,
    except for `extendedProperties.private`, which Google keeps per copy.
change number
    A counter bumped on every write. A record remembers the number of its last
    write; a sync token remembers the number at the time it was issued.
"""

from __future__ import annotations

import base64
import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class User:
    """A Workspace user; each one gets a primary calendar named by the email."""

    email: str
    given_name: str
    family_name: str
    id: str
    is_admin: bool = False
    manager: str | None = None
    suspended: bool = False
    time_zone: str = "UTC"

    @property
    def domain(self) -> str:
        return self.email.rsplit("@", 1)[1]


@dataclass
class Calendar:
    """One calendar and the records listed in it, in insertion order."""

    id: str
    owner: str
    summary: str
    time_zone: str
    primary: bool
    records: dict[str, Record] = field(default_factory=dict)
    # Record ids dropped from this calendar (an attendee removed from the
    # invite): still listed, but shown as cancelled, as Google does.
    removed: set[str] = field(default_factory=set)
    updated: str = "1970-01-01T00:00:00.000Z"


@dataclass
class Record:
    """One stored event resource and the bookkeeping Google keeps beside it."""

    resource: dict[str, Any]
    calendar_id: str
    change: int
    private: dict[str, dict[str, str]] = field(default_factory=dict)
    exceptions: dict[str, Record] = field(default_factory=dict)
    calendar_ids: set[str] = field(default_factory=set)

    @property
    def id(self) -> str:
        return self.resource["id"]

    @property
    def cancelled(self) -> bool:
        return self.resource.get("status") == "cancelled"

    @property
    def etag(self) -> str:
        return self.resource["etag"]


@dataclass
class SyncToken:
    calendar_id: str
    change: int


@dataclass
class PageSnapshot:
    """The rest of a list result, kept so later pages stay consistent."""

    key: tuple[str, ...]
    items: list[dict[str, Any]]
    next_sync_token: str | None


@dataclass
class OAuthClient:
    client_id: str
    client_secret: str
    redirect_uris: list[str]


@dataclass
class AuthorizationCode:
    client_id: str
    redirect_uri: str
    user: str
    scopes: list[str]
    code_challenge: str | None
    code_challenge_method: str
    offline: bool
    expires_at: float


@dataclass
class Grant:
    """The user and scopes behind an access or refresh token."""

    user: str
    scopes: list[str]
    client_id: str
    expires_at: float = 0.0
    revoked: bool = False


@dataclass
class ServiceAccount:
    client_email: str
    client_id: str
    key_id: str
    public_key_pem: str
    # Domain-wide delegation: the scopes a Workspace admin granted to this
    # client id, per domain. `sub` may name a user only in these domains.
    delegated_scopes: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Channel:
    id: str
    resource_id: str
    calendar_id: str
    address: str
    token: str | None
    expiration_ms: int
    user: str
    message_number: int = 0


@dataclass
class Fault:
    method: str
    kind: str
    remaining: int
    retry_after: int | None = None
    #: The text a "concurrentEdit" fault puts before the description.
    text: str = ""


@dataclass
class LoggedRequest:
    method: str
    http_method: str
    path: str
    query: dict[str, list[str]]
    if_match: str | None
    send_updates: str | None
    user: str | None
    status: int = 0


@dataclass
class SentUpdate:
    """An email Google would have sent to attendees because of sendUpdates."""

    method: str
    event_id: str
    send_updates: str
    recipients: list[str]


class EmulatorState:
    """Everything the emulator stores, shared by all handlers of one app."""

    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.calendars: dict[str, Calendar] = {}
        self.clock = 0
        self._last_etag = 0
        self._user_ids = itertools.count(100000000000000000001)

        self.sync_tokens: dict[str, SyncToken] = {}
        self.pages: dict[str, PageSnapshot] = {}

        self.clients: dict[str, OAuthClient] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.access_tokens: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, Grant] = {}
        self.service_accounts: dict[str, ServiceAccount] = {}

        self.channels: dict[str, Channel] = {}
        self.faults: list[Fault] = []
        self.requests: list[LoggedRequest] = []
        self.sent_updates: list[SentUpdate] = []
        self.schema_violations: list[str] = []
        # Called with a calendar id after every write to it; the app points
        # this at the watch-channel notifier.
        self.on_change: Callable[[str], None] = lambda calendar_id: None

    def reset(self) -> None:
        """Forget everything, keeping the change callback the app installed."""
        on_change = self.on_change
        self.__init__()  # type: ignore[misc]
        self.on_change = on_change

    # -- users and calendars -------------------------------------------------

    def add_user(self, user: User) -> Calendar:
        self.users[user.email] = user
        calendar = Calendar(
            id=user.email,
            owner=user.email,
            summary=user.email,
            time_zone=user.time_zone,
            primary=True,
        )
        self.calendars[calendar.id] = calendar
        return calendar

    def next_user_id(self) -> str:
        return str(next(self._user_ids))

    def calendars_of(self, email: str) -> list[Calendar]:
        return [c for c in self.calendars.values() if c.owner == email]

    # -- clocks and tokens ---------------------------------------------------

    def tick(self) -> int:
        self.clock += 1
        return self.clock

    def new_etag(self) -> str:
        """Return a fresh event ETag in Google's form: a quoted 16-digit number."""
        self._last_etag = max(self._last_etag + 1, int(time.time() * 1_000_000))
        return f'"{self._last_etag}"'

    def collection_etag(self, calendar: Calendar) -> str:
        """Return the ETag of a calendar's event collection for its current state."""
        raw = calendar.id.encode() + self.clock.to_bytes(8, "big")
        digest = base64.b32hexencode(raw[-10:]).decode().lower().rstrip("=")
        return f'"p3{digest[:14]}"'

    def issue_sync_token(self, calendar_id: str) -> str:
        token = "CP" + secrets.token_urlsafe(24)
        self.sync_tokens[token] = SyncToken(calendar_id, self.clock)
        return token

    def issue_page(self, snapshot: PageSnapshot) -> str:
        token = "EiQ" + secrets.token_urlsafe(24)
        self.pages[token] = snapshot
        return token

    def take_fault(self, method: str) -> Fault | None:
        """Consume one pending fault aimed at `method` (or at every method)."""
        for fault in self.faults:
            if fault.remaining > 0 and fault.method in (method, "*"):
                fault.remaining -= 1
                return fault
        return None

    def to_json(self) -> dict[str, Any]:
        """Summarise the state for the control API."""
        return {
            "users": sorted(self.users),
            "calendars": sorted(self.calendars),
            "clock": self.clock,
            "channels": sorted(self.channels),
            "pending_faults": [vars(f) for f in self.faults if f.remaining],
        }
