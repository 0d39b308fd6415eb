"""Watch channels and the thread that POSTs their notifications.

A notification is a POST with an empty body and X-Goog-* headers, as the
Calendar API v3 guide "Push notifications" describes. A channel first gets a
`sync` message when it opens, then `exists` after each change to the watched
events, and `not_exists` when the watched calendar is gone. Messages are
numbered per channel from 1.

The emulator delivers only to loopback addresses, so a test or a local run
can never make it send requests to another host.
"""

from __future__ import annotations

import email.utils
import ipaddress
import logging
import queue
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from emulators.google.errors import ApiError, bad_request
from emulators.google.state import Channel, EmulatorState

logger = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 7 * 24 * 3600  # NOTE: the emulator's default, not Google's
DELIVERY_TIMEOUT_SECONDS = 5.0
_LOOPBACK_NAMES = {"localhost"}


@dataclass(frozen=True, slots=True)
class Delivery:
    """One notification sent, and the HTTP status the receiver returned."""

    channel_id: str
    resource_state: str
    message_number: int
    status: int | None
    error: str | None


class Notifier:
    """Send channel notifications in order from one background thread."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[str, dict[str, str], str, str, int] | None] = (
            queue.Queue()
        )
        self.deliveries: list[Delivery] = []
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="google-emulator-notifier", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=DELIVERY_TIMEOUT_SECONDS * 2)
            self._thread = None

    def send(self, channel: Channel, resource_state: str) -> None:
        channel.message_number += 1
        expires = email.utils.formatdate(channel.expiration_ms / 1000, usegmt=True)
        headers = {
            "X-Goog-Channel-ID": channel.id,
            "X-Goog-Channel-Expiration": expires,
            "X-Goog-Message-Number": str(channel.message_number),
            "X-Goog-Resource-ID": channel.resource_id,
            "X-Goog-Resource-State": resource_state,
            "X-Goog-Resource-URI": _resource_uri(channel.calendar_id),
        }
        if channel.token is not None:
            headers["X-Goog-Channel-Token"] = channel.token
        self._queue.put(
            (
                channel.address,
                headers,
                channel.id,
                resource_state,
                channel.message_number,
            )
        )

    def _run(self) -> None:
        with httpx.Client(timeout=DELIVERY_TIMEOUT_SECONDS, trust_env=False) as client:
            while (item := self._queue.get()) is not None:
                self._deliver(client, *item)

    def _deliver(
        self,
        client: httpx.Client,
        address: str,
        headers: dict[str, str],
        channel_id: str,
        resource_state: str,
        number: int,
    ) -> None:
        try:
            status: int | None = client.post(address, headers=headers).status_code
            error = None
        except httpx.HTTPError as failure:
            status, error = None, f"{type(failure).__name__}: {failure}"
            logger.warning(
                "notification delivery failed",
                extra={"channel": channel_id, "error": error},
            )
        self.deliveries.append(
            Delivery(channel_id, resource_state, number, status, error)
        )


def _resource_uri(calendar_id: str) -> str:
    return f"https://www.googleapis.com/calendar/v3/calendars/{calendar_id}/events?alt=json"


def open_channel(
    state: EmulatorState, notifier: Notifier, calendar_id: str, user: str, body: dict
) -> Channel:
    """Create a channel from an events.watch body and send its `sync` message."""
    for field in ("id", "type", "address"):
        if not body.get(field):
            raise bad_request(f"Missing channel {field}.", reason="required")
    if body["type"] not in ("web_hook", "webhook"):
        raise bad_request(f"Unsupported channel type {body['type']!r}; use web_hook.")
    if body["id"] in state.channels:
        raise ApiError(
            400, "channelIdNotUnique", f"Channel id {body['id']!r} not unique."
        )
    _check_address(body["address"])

    now_ms = int(time.time() * 1000)
    requested = int(body.get("expiration") or now_ms + DEFAULT_TTL_SECONDS * 1000)
    channel = Channel(
        id=body["id"],
        resource_id=_resource_id(state, calendar_id),
        calendar_id=calendar_id,
        address=body["address"],
        token=body.get("token"),
        expiration_ms=min(requested, now_ms + DEFAULT_TTL_SECONDS * 1000),
        user=user,
    )
    state.channels[channel.id] = channel
    notifier.send(channel, "sync")
    return channel


def _resource_id(state: EmulatorState, calendar_id: str) -> str:
    # Google names the watched resource with one opaque id, the same for every
    # channel on it; channels.stop needs it together with the channel id.
    for channel in state.channels.values():
        if channel.calendar_id == calendar_id:
            return channel.resource_id
    return secrets.token_urlsafe(20)


def _check_address(address: str) -> None:
    parts = urlsplit(address)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not _is_loopback(host):
        raise ApiError(
            400,
            "push.webhookUrlUnauthorized",
            f"Unauthorized WebHook callback channel: {address!r}. The emulator "
            "delivers only to http(s) URLs on 127.0.0.1, ::1 or localhost.",
        )


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def changed(state: EmulatorState, notifier: Notifier, calendar_id: str) -> None:
    """Send `exists` on every live channel watching `calendar_id`."""
    now_ms = int(time.time() * 1000)
    for channel in list(state.channels.values()):
        if channel.calendar_id != calendar_id:
            continue
        if channel.expiration_ms < now_ms:
            del state.channels[channel.id]  # expired channels stop silently
            continue
        notifier.send(channel, "exists")


def gone(state: EmulatorState, notifier: Notifier, calendar_id: str) -> None:
    """Send `not_exists` and close every channel on a deleted calendar."""
    for channel in list(state.channels.values()):
        if channel.calendar_id == calendar_id:
            notifier.send(channel, "not_exists")
            del state.channels[channel.id]


def stop_channel(state: EmulatorState, body: dict) -> None:
    """Close a channel (channels.stop); both its id and resourceId must match."""
    channel = state.channels.get(body.get("id", ""))
    if channel is None or channel.resource_id != body.get("resourceId"):
        raise ApiError(
            404,
            "notFound",
            f"Channel {body.get('id')!r} with resourceId {body.get('resourceId')!r} "
            "not found.",
        )
    del state.channels[channel.id]
