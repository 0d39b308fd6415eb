"""Watch channels on a calendar's events (events.watch and channels.stop).

Google POSTs a notification to the channel's address whenever the calendar
changes. A notification carries no event data, only headers naming the
channel, so it is a hint to run an incremental sync. A channel expires at
the time Google grants (at most the requested one) and is never renewed in
place. A new channel is opened before the old one expires, then the old one
is stopped.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from calendar_sync.providers.google.client import GoogleClient
from calendar_sync.providers.google.errors import GoogleApiError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Channel:
    """An open watch channel; `token` is the secret Google echoes back."""

    id: str
    resource_id: str
    token: str
    expires_at: datetime


def open_channel(
    client: GoogleClient, address: str, lifetime: timedelta, now: datetime
) -> Channel:
    """Open a channel on the primary calendar that notifies `address`."""
    # Channel ids may hold up to 64 characters of [A-Za-z0-9-_+/=] and tokens
    # up to 256, per the Calendar API push notification guide.
    channel_id = str(uuid.uuid4())
    token = secrets.token_urlsafe(32)
    requested = int((now + lifetime).timestamp() * 1000)
    body = {
        "id": channel_id,
        "type": "web_hook",
        "address": address,
        "token": token,
        "expiration": str(requested),
    }
    request = client.calendar.events().watch(calendarId="primary", body=body)
    reply = client.execute(request, "calendar.events.watch")
    expires_at = datetime.fromtimestamp(int(reply["expiration"]) / 1000, UTC)
    log.info(
        "opened watch channel",
        extra={"calendar": client.person, "channel": channel_id},
    )
    return Channel(channel_id, str(reply["resourceId"]), token, expires_at)


def stop_channel(client: GoogleClient, channel_id: str, resource_id: str) -> bool:
    """Stop a channel; return False when Google has no such channel any more."""
    body = {"id": channel_id, "resourceId": resource_id}
    request = client.calendar.channels().stop(body=body)
    try:
        client.execute(request, "calendar.channels.stop")
    except GoogleApiError as error:
        if error.status != 404:
            raise
        return False
    log.info(
        "stopped watch channel",
        extra={"calendar": client.person, "channel": channel_id},
    )
    return True


def needs_renewal(expires_at: datetime, now: datetime, margin: timedelta) -> bool:
    """Whether a channel expiring at `expires_at` must be replaced by now."""
    return expires_at - now <= margin
