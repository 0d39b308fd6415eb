"""In-memory state of the emulator: directory, grants, tokens, mailboxes.

Every route handler is an `async def`, so all reads and writes of this state
happen on the server's event loop thread and need no locks.
"""

import base64
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

# The class id that starts every Exchange global object id (MS-OXOCAL,
# PidLidGlobalObjectId), 16 bytes in hexadecimal.
_GLOBAL_OBJECT_CLASS = "040000008200E00074C5B7101A82E008"
# Marker that starts the data of a global object id made from another
# system's UID (MS-OXOCAL 2.2.1.27). The UID and a zero byte follow it.
_VCAL_UID_MARKER = b"vCal-Uid\x01\x00\x00\x00"


def global_object_id(uid: str) -> str:
    """Return the iCalUId Graph shows for an invitation whose UID is `uid`.

    An Exchange id is kept. Any other UID (Google's `...@google.com`, say) is
    wrapped as Exchange stores it: class id, zero instance date, zero
    creation time and reserved bytes, the data size (little-endian) and the
    data, all in upper-case hexadecimal.
    """
    if uid.upper().startswith(_GLOBAL_OBJECT_CLASS):
        return uid.upper()
    data = _VCAL_UID_MARKER + uid.encode() + b"\x00"
    header = bytes.fromhex(_GLOBAL_OBJECT_CLASS) + bytes(20)
    return (header + len(data).to_bytes(4, "little") + data).hex().upper()


def utc_now() -> datetime:
    """Return the current time, aware and in UTC."""
    return datetime.now(UTC)


def new_guid() -> str:
    """Return a random GUID in the lowercase form Entra ID uses."""
    return str(uuid.uuid4())


def new_graph_id() -> str:
    """Return an opaque, URL-safe item id in the style of Exchange ids."""
    raw = b"\x00\x00" + secrets.token_bytes(40)
    return base64.urlsafe_b64encode(raw).decode("ascii")


def new_change_key() -> str:
    """Return a new changeKey, which Exchange changes on every write."""
    return base64.b64encode(secrets.token_bytes(16)).decode("ascii")


@dataclass
class WorkingHours:
    """A user's working hours as mailbox settings store them."""

    days_of_week: list[str] = field(
        default_factory=lambda: ["monday", "tuesday", "wednesday", "thursday", "friday"]
    )
    start_time: str = "08:00:00"
    end_time: str = "17:00:00"


@dataclass
class User:
    """A directory user with a mailbox and one default calendar."""

    id: str
    tenant_id: str
    display_name: str
    mail: str
    time_zone: str = "UTC"
    working_hours: WorkingHours = field(default_factory=WorkingHours)
    calendar_id: str = field(default_factory=new_graph_id)
    calendar_change_key: str = field(default_factory=new_change_key)


@dataclass
class Tenant:
    """A directory (Entra ID tenant) with its users."""

    id: str
    domain: str
    users: dict[str, User] = field(default_factory=dict)


@dataclass
class Application:
    """An app registration: client id, secret and allowed redirect URIs."""

    client_id: str
    client_secret: str
    redirect_uris: list[str] = field(default_factory=list)


@dataclass
class Grant:
    """Consent for one app: delegated (one user) or application (one tenant)."""

    id: str
    kind: str  # "delegated" or "application"
    client_id: str
    tenant_id: str
    user_id: str | None
    scopes: list[str]
    revoked_reason: str | None = None


@dataclass
class AccessToken:
    """An issued access token and the grant it depends on."""

    grant_id: str
    expires_at: datetime


@dataclass
class AuthorizationCode:
    """A code from /authorize that the token endpoint redeems once."""

    grant_id: str
    client_id: str
    redirect_uri: str
    scopes: list[str]
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: datetime


@dataclass
class StoredEvent:
    """An event as the mailbox stores it: single, series master or exception.

    Occurrences of a series are not stored; they are computed from the
    master's recurrence. An exception is stored under its occurrence id.
    """

    id: str
    user_id: str
    type: str
    subject: str
    body_html: str
    start: datetime
    end: datetime
    start_zone: str
    end_zone: str
    organizer: dict[str, str]
    attendees: list[dict] = field(default_factory=list)
    is_all_day: bool = False
    location: dict = field(default_factory=dict)
    show_as: str = "busy"
    sensitivity: str = "normal"
    importance: str = "normal"
    categories: list[str] = field(default_factory=list)
    recurrence: dict | None = None
    series_master_id: str | None = None
    original_start: datetime | None = None
    cancelled_starts: set[datetime] = field(default_factory=set)
    is_cancelled: bool = False
    is_online_meeting: bool = False
    online_meeting_provider: str = "unknown"
    join_url: str | None = None
    extended_properties: dict[str, dict[str, str]] = field(default_factory=dict)
    transaction_id: str | None = None
    reminder_minutes: int = 15
    change_key: str = field(default_factory=new_change_key)
    created: datetime = field(default_factory=utc_now)
    modified: datetime = field(default_factory=utc_now)
    # Exchange's ids start with a fixed class id and keep the instance date
    # (zero in a master) in bytes 16 to 19; the rest is random here.
    ical_uid: str = field(
        default_factory=lambda: (
            _GLOBAL_OBJECT_CLASS + "00000000" + secrets.token_hex(36).upper()
        )
    )

    def touch(self) -> None:
        """Record a write: a new changeKey and modification time."""
        self.change_key = new_change_key()
        self.modified = utc_now()


class EventTable(dict[str, StoredEvent]):
    """Every stored event by id, indexed by mailbox and by series master.

    A tenant of a thousand mailboxes contains tens of thousands of events,
    and most requests read one mailbox or one series. The indexes keep those
    reads from scanning them all.
    """

    def __init__(self) -> None:
        super().__init__()
        self._by_mailbox: dict[str, dict[str, StoredEvent]] = {}
        self._by_master: dict[str, dict[str, StoredEvent]] = {}

    def __setitem__(self, key: str, event: StoredEvent) -> None:
        self._unindex(key)
        super().__setitem__(key, event)
        self._by_mailbox.setdefault(event.user_id, {})[key] = event
        if event.series_master_id:
            self._by_master.setdefault(event.series_master_id, {})[key] = event

    def __delitem__(self, key: str) -> None:
        self._unindex(key)
        super().__delitem__(key)

    def pop(self, key: str, *default: StoredEvent | None) -> StoredEvent | None:  # type: ignore[override]
        self._unindex(key)
        return super().pop(key, *default)

    def clear(self) -> None:
        super().clear()
        self._by_mailbox.clear()
        self._by_master.clear()

    def of_mailbox(self, user_id: str) -> list[StoredEvent]:
        """Return one mailbox's events, in the order they were stored."""
        return list(self._by_mailbox.get(user_id, {}).values())

    def of_master(self, master_id: str) -> list[StoredEvent]:
        """Return the stored exceptions (and other children) of one series."""
        return list(self._by_master.get(master_id, {}).values())

    def _unindex(self, key: str) -> None:
        old = self.get(key)
        if old is None:
            return
        self._by_mailbox.get(old.user_id, {}).pop(key, None)
        if old.series_master_id:
            self._by_master.get(old.series_master_id, {}).pop(key, None)


@dataclass
class SyncState:
    """The server side of a delta token: what the client has already seen."""

    user_id: str
    window_start: datetime
    window_end: datetime
    seen: dict[str, str]  # instance id -> changeKey


@dataclass
class DeltaPage:
    """The rest of a delta round that a $skiptoken points at."""

    items: list[dict]
    final_state: SyncState
    page_size: int


@dataclass
class Subscription:
    """A change-notification subscription on one mailbox's events."""

    id: str
    resource: str
    user_id: str
    tenant_id: str
    client_id: str
    change_types: list[str]
    notification_url: str
    lifecycle_notification_url: str | None
    client_state: str | None
    expiration: datetime
    creator_id: str | None


@dataclass
class Fault:
    """An injected failure for the next `remaining` matching Graph requests."""

    status: int
    remaining: int
    retry_after: int
    method: str | None = None
    path_contains: str | None = None


@dataclass
class LoggedRequest:
    """One request as the control API reports it."""

    method: str
    path: str
    query: str
    if_match: str | None
    prefer: str | None
    status: int
    in_batch: bool

    def as_json(self) -> dict[str, object]:
        """Return the entry as the control API's JSON object."""
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "ifMatch": self.if_match,
            "prefer": self.prefer,
            "status": self.status,
            "inBatch": self.in_batch,
        }


@dataclass
class EmulatorState:
    """Everything the emulator holds, for one process, in memory."""

    tenants: dict[str, Tenant] = field(default_factory=dict)
    applications: dict[str, Application] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # token -> grant
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    events: EventTable = field(default_factory=lambda: EventTable())
    sync_states: dict[str, SyncState] = field(default_factory=dict)
    delta_pages: dict[str, DeltaPage] = field(default_factory=dict)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    requests: list[LoggedRequest] = field(default_factory=list)
    notifications: list[dict] = field(default_factory=list)
    access_token_lifetime: int = 3599
    _users: tuple[int, dict[str, User]] | None = field(default=None, repr=False)

    def find_user(self, key: str) -> User | None:
        """Return the user with this id, mail or user principal name."""
        index = self._user_index()
        return index.get(key) or index.get(key.lower())

    def _user_index(self) -> dict[str, User]:
        # Users are only ever added, so the index is rebuilt when the count
        # changes. Rendering an event looks its owner up, which without the
        # index would scan every user of every tenant.
        count = sum(len(tenant.users) for tenant in self.tenants.values())
        if self._users is None or self._users[0] != count:
            index: dict[str, User] = {}
            for tenant in self.tenants.values():
                for user in tenant.users.values():
                    index.setdefault(user.mail.lower(), user)
                    index.setdefault(user.id, user)
            self._users = (count, index)
        return self._users[1]

    def find_tenant(self, key: str) -> Tenant | None:
        """Return the tenant with this id or domain name."""
        lowered = key.lower()
        for tenant in self.tenants.values():
            if tenant.id == lowered or tenant.domain.lower() == lowered:
                return tenant
        return None

    def application_grant(self, client_id: str, tenant_id: str) -> Grant | None:
        """Return the live admin consent of this app in this tenant, if any."""
        for grant in self.grants.values():
            if (
                grant.kind == "application"
                and grant.client_id == client_id
                and grant.tenant_id == tenant_id
                and grant.revoked_reason is None
            ):
                return grant
        return None

    def mailbox_events(self, user_id: str) -> list[StoredEvent]:
        """Return the stored events of one mailbox, in creation order."""
        return self.events.of_mailbox(user_id)
