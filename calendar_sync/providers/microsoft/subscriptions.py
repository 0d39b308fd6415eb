"""Graph change-notification subscriptions on one mailbox's events.

Graph lets a subscription on Outlook events live at most 10,080 minutes
(7 days, learn.microsoft.com/graph/api/resources/subscription). Tandem asks
for a little less and renews once less than `RENEW_BEFORE` is left, going by
the expiry Graph returned, which may be earlier than the one requested.
Creating a subscription makes Graph call the notification URL with a
`validationToken` first, so the web app must be reachable when this runs.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from calendar_sync.errors import NotFoundError
from calendar_sync.providers.microsoft.graph import GraphClient
from calendar_sync.providers.microsoft.mapping import parse_offset

log = logging.getLogger(__name__)

#: Longest lifetime Graph allows for subscriptions on Outlook events.
MAX_LIFETIME = timedelta(minutes=10080)

#: Lifetime Tandem requests, below the maximum so clock skew cannot exceed it.
LIFETIME = MAX_LIFETIME - timedelta(hours=1)

#: Renew when less than this is left before Graph's expiry.
RENEW_BEFORE = timedelta(days=1)

#: Lifecycle events Graph sends, per
#: learn.microsoft.com/graph/change-notifications-lifecycle-events.
REAUTHORIZATION_REQUIRED = "reauthorizationRequired"
SUBSCRIPTION_REMOVED = "subscriptionRemoved"
MISSED = "missed"


@dataclass(frozen=True, slots=True)
class Subscription:
    """A live subscription as Graph returned it."""

    id: str
    client_state: str
    expires_at: datetime


def new_client_state() -> str:
    """Return a fresh secret for `clientState` (Graph allows up to 128 characters)."""
    return secrets.token_urlsafe(48)


def create(
    client: GraphClient,
    notification_url: str,
    lifecycle_url: str,
    client_state: str,
    now: datetime,
) -> Subscription:
    """Subscribe to created, updated and deleted events of the client's mailbox."""
    body = {
        "changeType": "created,updated,deleted",
        "notificationUrl": notification_url,
        "lifecycleNotificationUrl": lifecycle_url,
        "resource": f"{client.user_path}/events",
        "expirationDateTime": _expiry(now),
        "clientState": client_state,
    }
    data = client.send("POST", "/subscriptions", body=body).json()
    log.info(
        "subscription created",
        extra={"mailbox": client.mailbox, "subscription": data["id"]},
    )
    return Subscription(data["id"], client_state, _expires(data))


def renew(client: GraphClient, subscription_id: str, now: datetime) -> datetime:
    """Extend a subscription; return the new expiry. NotFoundError when it is gone."""
    data = client.send(
        "PATCH",
        f"/subscriptions/{subscription_id}",
        body={"expirationDateTime": _expiry(now)},
    ).json()
    log.info(
        "subscription renewed",
        extra={"mailbox": client.mailbox, "subscription": subscription_id},
    )
    return _expires(data)


def delete(client: GraphClient, subscription_id: str) -> None:
    """Remove a subscription; one that is already gone counts as removed."""
    try:
        client.send("DELETE", f"/subscriptions/{subscription_id}")
    except NotFoundError:
        log.info("subscription already gone", extra={"subscription": subscription_id})


def needs_renewal(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is None or expires_at - now < RENEW_BEFORE


def _expires(data: dict[str, str]) -> datetime:
    """Return `expirationDateTime`; Graph writes it in UTC, offset or not."""
    moment = parse_offset(data["expirationDateTime"])
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _expiry(now: datetime) -> str:
    return (now + LIFETIME).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
