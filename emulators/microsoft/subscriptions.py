"""Subscriptions, the validation handshake, and change and lifecycle notifications.

As Graph documents: creating a subscription first POSTs
`?validationToken=<token>` to the notificationUrl (and to the
lifecycleNotificationUrl when one is given) and requires a 200 with the token
echoed as text/plain within 10 seconds. Change notifications are POSTed as
`{"value": [changeNotification, ...]}` with the subscription's clientState.
For Outlook events, a subscription may last at most 10,080 minutes.

Safety: the emulator only sends to loopback addresses (127.0.0.1, ::1,
localhost), because it must never reach another host. NOTE: Graph requires
an https notificationUrl; the emulator accepts http on loopback too.
"""

import asyncio
import logging
import secrets
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response

from .access import authenticate, resolve_mailbox
from .errors import GraphError
from .graph import json_body, json_response
from .identity import get_state
from .state import EmulatorState, Subscription, User, new_guid, utc_now
from .timezones import format_offset, parse_naive

logger = logging.getLogger(__name__)

router = APIRouter()

VALIDATION_TIMEOUT = 10.0  # seconds, Graph's documented limit for the handshake
NOTIFICATION_TIMEOUT = 3.0  # seconds Graph waits for a 2xx on a notification
MAX_LIFETIME = timedelta(minutes=10080)  # Outlook events, per Graph's limits
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}
CHANGE_TYPES = {"created", "updated", "deleted"}


def subscription_json(subscription: Subscription) -> dict[str, object]:
    """Return a subscription resource; clientState is returned as Graph does."""
    return {
        "id": subscription.id,
        "resource": subscription.resource,
        "applicationId": subscription.client_id,
        "changeType": ",".join(subscription.change_types),
        "clientState": subscription.client_state,
        "notificationUrl": subscription.notification_url,
        "lifecycleNotificationUrl": subscription.lifecycle_notification_url,
        "expirationDateTime": format_offset(subscription.expiration),
        "creatorId": subscription.creator_id,
        "includeResourceData": False,
        "latestSupportedTlsVersion": "v1_2",
        "encryptionCertificate": None,
        "encryptionCertificateId": None,
        "notificationQueryOptions": None,
        "notificationUrlAppId": None,
    }


def check_loopback(url: str, field: str) -> None:
    """Reject a notification URL outside loopback (the emulator's safety rule)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname not in LOOPBACK_HOSTS:
        raise GraphError(
            400,
            "InvalidRequest",
            f"The {field} {url!r} is not allowed: the emulator only sends to "
            "http(s)://127.0.0.1, [::1] or localhost.",
        )


def parse_expiration(value: object) -> datetime:
    """Parse and bound expirationDateTime to (now, now + 10,080 minutes]."""
    try:
        expiration = parse_naive(str(value))
    except ValueError as error:
        raise GraphError(
            400, "InvalidRequest", f"expirationDateTime {value!r} is not ISO 8601."
        ) from error
    if expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=utc_now().tzinfo)

    now = utc_now()
    if expiration <= now:
        raise GraphError(
            400,
            "InvalidRequest",
            f"Subscription expiration {value} is in the past; send a time within "
            "the next 10080 minutes.",
        )
    if expiration > now + MAX_LIFETIME:
        raise GraphError(
            400,
            "InvalidRequest",
            f"Subscription expiration {value} is too far in the future; it can "
            "only be 10080 minutes in the future for Outlook events.",
        )
    return expiration


def resource_owner(state: EmulatorState, request: Request, resource: str) -> User:
    """Return the mailbox of "/users/{id}/events" or "me/events"."""
    caller = authenticate(state, request)
    parts = [part for part in resource.strip("/").split("/") if part]
    if parts[:1] == ["me"] and parts[1:] == ["events"]:
        return resolve_mailbox(state, caller, "me")
    if len(parts) == 3 and parts[0].lower() == "users" and parts[2].lower() == "events":
        return resolve_mailbox(state, caller, parts[1])
    raise GraphError(
        400,
        "InvalidRequest",
        f"The resource {resource!r} is not supported by the emulator; subscribe "
        "to '/users/{id}/events' or 'me/events'.",
    )


async def validate_endpoint(url: str) -> None:
    """Run Graph's validation handshake against one notification URL."""
    token = secrets.token_urlsafe(32)
    separator = "&" if "?" in url else "?"
    failure = (
        f"Subscription validation request failed. Notification endpoint {url!r} "
        "must respond with 200 OK and the validationToken as text/plain within "
        "10 seconds."
    )
    try:
        async with httpx.AsyncClient(
            timeout=VALIDATION_TIMEOUT, verify=False
        ) as client:
            response = await client.post(
                f"{url}{separator}validationToken={token}",
                headers={"Content-Type": "text/plain; charset=utf-8"},
            )
    except httpx.HTTPError as error:
        logger.info("Validation of %s failed: %s.", url, error)
        raise GraphError(400, "ValidationError", failure) from error

    content_type = response.headers.get("content-type", "")
    if (
        response.status_code != 200
        or response.text != token
        or (not content_type.startswith("text/plain"))
    ):
        logger.info("Validation of %s failed with %s.", url, response.status_code)
        raise GraphError(400, "ValidationError", failure)


@router.post("/v1.0/subscriptions")
async def create_subscription(request: Request) -> Response:
    """Create a subscription after the validation handshake succeeds."""
    state = get_state(request)
    caller = authenticate(state, request)
    payload = await json_body(request)
    for field in ("changeType", "notificationUrl", "resource", "expirationDateTime"):
        if not payload.get(field):
            raise GraphError(
                400, "InvalidRequest", f"The subscription needs a '{field}'."
            )

    change_types = [kind.strip() for kind in str(payload["changeType"]).split(",")]
    unknown = [kind for kind in change_types if kind not in CHANGE_TYPES]
    if unknown:
        raise GraphError(
            400,
            "InvalidRequest",
            f"The changeType {unknown[0]!r} is invalid; "
            "use created, updated or deleted.",
        )
    user = resource_owner(state, request, str(payload["resource"]))
    expiration = parse_expiration(payload["expirationDateTime"])
    check_loopback(str(payload["notificationUrl"]), "notificationUrl")
    lifecycle_url = payload.get("lifecycleNotificationUrl")
    if lifecycle_url:
        check_loopback(str(lifecycle_url), "lifecycleNotificationUrl")

    await validate_endpoint(str(payload["notificationUrl"]))
    if lifecycle_url and lifecycle_url != payload["notificationUrl"]:
        await validate_endpoint(str(lifecycle_url))

    subscription = Subscription(
        id=new_guid(),
        resource=str(payload["resource"]),
        user_id=user.id,
        tenant_id=user.tenant_id,
        client_id=caller.grant.client_id,
        change_types=change_types,
        notification_url=str(payload["notificationUrl"]),
        lifecycle_notification_url=str(lifecycle_url) if lifecycle_url else None,
        client_state=payload.get("clientState"),
        expiration=expiration,
        creator_id=caller.grant.user_id,
    )
    state.subscriptions[subscription.id] = subscription
    logger.info("Created subscription %s on mailbox %s.", subscription.id, user.id)
    return json_response(subscription_json(subscription), status=201)


def find_subscription(
    state: EmulatorState, request: Request, subscription_id: str
) -> Subscription:
    """Return a live subscription the caller's app created, or raise a 404."""
    caller = authenticate(state, request)
    subscription = state.subscriptions.get(subscription_id)
    if subscription is not None and subscription.expiration <= utc_now():
        state.subscriptions.pop(subscription_id)
        subscription = None
    if subscription is None or subscription.client_id != caller.grant.client_id:
        raise GraphError(
            404,
            "ResourceNotFound",
            f"The object '{subscription_id}' was not found.",
        )
    return subscription


@router.get("/v1.0/subscriptions")
async def list_subscriptions(request: Request) -> Response:
    """List the caller's app's live subscriptions."""
    state = get_state(request)
    caller = authenticate(state, request)
    now = utc_now()
    items = [
        subscription_json(item)
        for item in state.subscriptions.values()
        if item.client_id == caller.grant.client_id and item.expiration > now
    ]
    return json_response({"value": items})


@router.get("/v1.0/subscriptions/{subscription_id}")
async def get_subscription(request: Request, subscription_id: str) -> Response:
    """Return one subscription."""
    state = get_state(request)
    subscription = find_subscription(state, request, subscription_id)
    return json_response(subscription_json(subscription))


@router.patch("/v1.0/subscriptions/{subscription_id}")
async def renew_subscription(request: Request, subscription_id: str) -> Response:
    """Renew a subscription with a new expirationDateTime."""
    state = get_state(request)
    subscription = find_subscription(state, request, subscription_id)
    payload = await json_body(request)
    if "expirationDateTime" not in payload:
        raise GraphError(
            400, "InvalidRequest", "Send a new 'expirationDateTime' to renew."
        )
    subscription.expiration = parse_expiration(payload["expirationDateTime"])
    logger.info("Renewed subscription %s.", subscription.id)
    return json_response(subscription_json(subscription))


@router.post("/v1.0/subscriptions/{subscription_id}/reauthorize")
async def reauthorize_subscription(request: Request, subscription_id: str) -> Response:
    """Acknowledge a reauthorizationRequired lifecycle notification."""
    state = get_state(request)
    find_subscription(state, request, subscription_id)
    return Response(status_code=204)


@router.delete("/v1.0/subscriptions/{subscription_id}")
async def delete_subscription(request: Request, subscription_id: str) -> Response:
    """Delete a subscription."""
    state = get_state(request)
    subscription = find_subscription(state, request, subscription_id)
    state.subscriptions.pop(subscription.id)
    return Response(status_code=204)


class Notifier:
    """Sends change and lifecycle notifications in the background."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.tasks: set[asyncio.Task] = set()

    def event_changed(self, user: User, event_id: str, change_type: str) -> None:
        """Queue a notification for each live subscription on the mailbox."""
        now = utc_now()
        for subscription in list(self.state.subscriptions.values()):
            if subscription.user_id != user.id or subscription.expiration <= now:
                continue
            if change_type not in subscription.change_types:
                continue
            notification = change_notification(subscription, event_id, change_type)
            self.send(subscription.notification_url, notification)

    def lifecycle(self, subscription: Subscription, lifecycle_event: str) -> None:
        """Send a lifecycle notification (reauthorizationRequired, missed, ...)."""
        if subscription.lifecycle_notification_url is None:
            raise GraphError(
                400,
                "InvalidRequest",
                f"Subscription {subscription.id} has no lifecycleNotificationUrl.",
            )
        notification = {
            "subscriptionId": subscription.id,
            "subscriptionExpirationDateTime": format_offset(subscription.expiration),
            "tenantId": subscription.tenant_id,
            "clientState": subscription.client_state,
            "lifecycleEvent": lifecycle_event,
        }
        self.send(subscription.lifecycle_notification_url, notification)

    def send(self, url: str, notification: dict[str, object]) -> None:
        """POST one notification without blocking the request that caused it."""
        task = asyncio.get_running_loop().create_task(self.deliver(url, notification))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def deliver(self, url: str, notification: dict[str, object]) -> None:
        """POST a notification and record the outcome for the control API.

        NOTE: Graph retries failed deliveries for up to four hours; the
        emulator tries once and records the failure.
        """
        record: dict[str, object] = {"url": url, "notification": notification}
        try:
            async with httpx.AsyncClient(
                timeout=NOTIFICATION_TIMEOUT, verify=False
            ) as client:
                response = await client.post(url, json={"value": [notification]})
            record["status"] = response.status_code
        except httpx.HTTPError as error:
            logger.info("Notification to %s failed: %s.", url, error)
            record["status"] = None
            record["error"] = str(error)
        self.state.notifications.append(record)


def change_notification(
    subscription: Subscription, event_id: str, change_type: str
) -> dict[str, object]:
    """Return a change notification for one event."""
    resource = f"Users/{subscription.user_id}/Events/{event_id}"
    return {
        "id": new_guid(),
        "subscriptionId": subscription.id,
        "subscriptionExpirationDateTime": format_offset(subscription.expiration),
        "clientState": subscription.client_state,
        "changeType": change_type,
        "resource": resource,
        "tenantId": subscription.tenant_id,
        "resourceData": {
            "@odata.type": "#Microsoft.Graph.Event",
            "@odata.id": resource,
            "id": event_id,
        },
    }
