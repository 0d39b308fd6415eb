"""Control API under /_emulator/ for tests and local trials.

It sets up directories and mailboxes, grants and revokes consent, injects
faults and reports what clients sent. It has no authentication, which is
why the server binds to 127.0.0.1 only.
"""

import logging
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from . import events as store
from .errors import GraphError
from .event_json import EventOptions, event_json
from .graph import json_body
from .identity import base_url, get_state, grant_admin_consent
from .state import (
    Application,
    EmulatorState,
    Fault,
    Tenant,
    User,
    WorkingHours,
    global_object_id,
    new_guid,
)

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/_emulator")

REVOKE_REASONS = {"consent", "sessions"}
LIFECYCLE_EVENTS = {"reauthorizationRequired", "subscriptionRemoved", "missed"}


def control_error(status: int, message: str) -> GraphError:
    """Return an error of the control API (same JSON shape as Graph's)."""
    return GraphError(status, "EmulatorControlError", message)


def tenant_or_404(state: EmulatorState, key: str) -> Tenant:
    """Return the tenant with this id or domain."""
    tenant = state.find_tenant(key)
    if tenant is None:
        raise control_error(
            404, f"No tenant {key!r}; create it with POST /_emulator/tenants."
        )
    return tenant


def user_or_404(state: EmulatorState, key: str) -> User:
    """Return the user with this id or mail."""
    user = state.find_user(key)
    if user is None:
        raise control_error(
            404,
            f"No user {key!r}; create it with "
            "POST /_emulator/tenants/{tenant}/users.",
        )
    return user


@router.post("/reset")
async def reset(request: Request) -> Response:
    """Forget everything: directories, grants, mailboxes, faults and logs."""
    request.app.state.emulator = EmulatorState()
    request.app.state.notifier.state = request.app.state.emulator
    return Response(status_code=204)


@router.post("/tenants")
async def create_tenant(request: Request) -> Response:
    """Create a tenant: {"domain": "contoso.example", "id": optional GUID}."""
    state = get_state(request)
    payload = await json_body(request)
    domain = str(payload.get("domain") or "")
    if not domain:
        raise control_error(400, "A tenant needs a 'domain' such as 'contoso.example'.")
    tenant = Tenant(id=str(payload.get("id") or new_guid()).lower(), domain=domain)
    state.tenants[tenant.id] = tenant
    return JSONResponse({"id": tenant.id, "domain": tenant.domain}, status_code=201)


@router.post("/applications")
async def create_application(request: Request) -> Response:
    """Register an app: {"client_id", "client_secret", "redirect_uris"}."""
    state = get_state(request)
    payload = await json_body(request)
    application = Application(
        client_id=str(payload.get("client_id") or new_guid()),
        client_secret=str(payload.get("client_secret") or secrets.token_urlsafe(30)),
        redirect_uris=list(payload.get("redirect_uris") or []),
    )
    state.applications[application.client_id] = application
    body = {
        "client_id": application.client_id,
        "client_secret": application.client_secret,
        "redirect_uris": application.redirect_uris,
    }
    return JSONResponse(body, status_code=201)


@router.post("/tenants/{tenant_key}/users")
async def create_user(request: Request, tenant_key: str) -> Response:
    """Create a user with a mailbox.

    Body: {"mail", "display_name", "time_zone", "working_hours"}; only mail is
    required.
    """
    state = get_state(request)
    tenant = tenant_or_404(state, tenant_key)
    payload = await json_body(request)
    mail = str(payload.get("mail") or "")
    if "@" not in mail:
        raise control_error(400, f"A user needs a 'mail' address, got {mail!r}.")

    hours = payload.get("working_hours") or {}
    user = User(
        id=str(payload.get("id") or new_guid()),
        tenant_id=tenant.id,
        display_name=str(payload.get("display_name") or mail.split("@")[0]),
        mail=mail,
        time_zone=str(payload.get("time_zone") or "UTC"),
        working_hours=WorkingHours(**hours) if hours else WorkingHours(),
    )
    tenant.users[user.id] = user
    return JSONResponse(
        {"id": user.id, "mail": user.mail, "calendar_id": user.calendar_id},
        status_code=201,
    )


@router.post("/tenants/{tenant_key}/admin-consent")
async def give_admin_consent(request: Request, tenant_key: str) -> Response:
    """Grant an app's application permissions in a tenant: {"client_id"}."""
    state = get_state(request)
    tenant = tenant_or_404(state, tenant_key)
    payload = await json_body(request)
    client_id = str(payload.get("client_id") or "")
    if client_id not in state.applications:
        raise control_error(404, f"No application {client_id!r}; register it first.")
    grant = grant_admin_consent(state, client_id, tenant.id)
    return JSONResponse({"grant_id": grant.id}, status_code=201)


@router.delete("/tenants/{tenant_key}/admin-consent/{client_id}")
async def withdraw_admin_consent(
    request: Request, tenant_key: str, client_id: str
) -> Response:
    """Withdraw a tenant's admin consent; its application tokens stop working."""
    state = get_state(request)
    tenant = tenant_or_404(state, tenant_key)
    grant = state.application_grant(client_id, tenant.id)
    if grant is None:
        raise control_error(
            404, f"Tenant {tenant.domain} has no admin consent for {client_id}."
        )
    grant.revoked_reason = "consent"
    return Response(status_code=204)


@router.post("/users/{user_key}/revoke")
async def revoke_user_grants(request: Request, user_key: str) -> Response:
    """Revoke a user's delegated grants: {"reason": "consent" | "sessions"}.

    "consent" makes refresh fail with AADSTS70000 and "sessions" (a password
    reset or revoked sign-in sessions) with AADSTS50173.
    """
    state = get_state(request)
    user = user_or_404(state, user_key)
    payload = await json_body(request)
    reason = str(payload.get("reason") or "sessions")
    if reason not in REVOKE_REASONS:
        raise control_error(
            400, f"Unknown reason {reason!r}; use 'consent' or 'sessions'."
        )

    revoked = 0
    for grant in state.grants.values():
        if grant.user_id == user.id and grant.revoked_reason is None:
            grant.revoked_reason = reason
            revoked += 1
    return JSONResponse({"revoked": revoked})


@router.post("/users/{user_key}/events")
async def seed_event(request: Request, user_key: str) -> Response:
    """Store an event as if another client had written it.

    The body is a Graph event with extra keys. `teamsMeeting: true` adds a
    Teams meeting block to the body as Teams does. `organizer` (an
    emailAddress) makes the event an attendee's copy, and `iCalUId` gives it
    the UID of the invitation it came from, wrapped as Exchange stores a UID
    from another system.
    """
    state = get_state(request)
    user = user_or_404(state, user_key)
    payload = await json_body(request)
    teams = bool(payload.pop("teamsMeeting", False))
    organizer = payload.pop("organizer", None)
    ical_uid = payload.pop("iCalUId", None)
    if teams:
        add_teams_meeting(payload)

    event = store.create_event(state, user, payload)
    if teams:
        event.is_online_meeting = True
        event.online_meeting_provider = "teamsForBusiness"
        event.join_url = TEAMS_JOIN_URL
    if organizer:
        event.organizer = dict(organizer)
    if ical_uid:
        event.ical_uid = global_object_id(str(ical_uid))
    request.app.state.notifier.event_changed(user, event.id, "created")
    return JSONResponse(
        event_json(state, base_url(request), event, EventOptions()), status_code=201
    )


TEAMS_JOIN_URL = (
    "https://teams.microsoft.com/l/meetup-join/19%3ameeting_emulator%40thread.v2/0"
)
TEAMS_BLOCK = (
    '<div style="width:100%"><span style="white-space:nowrap;color:#5F5F5F;'
    'opacity:.36">________________________________________________________________'
    "________________</span></div>"
    '<div class="me-email-text" lang="en-US" style="color:#252424;'
    "font-family:'Segoe UI','Helvetica Neue',Helvetica,Arial,sans-serif\">"
    '<div style="margin-top:24px;margin-bottom:20px"><span style="font-size:24px;'
    'color:#252424">Microsoft Teams meeting</span></div>'
    '<div style="margin-bottom:20px"><div style="margin-top:0px;margin-bottom:0px;'
    'font-weight:bold"><span style="font-size:14px;color:#252424">Join on your '
    "computer, mobile app or room device</span></div>"
    f'<a class="me-email-headline" href="{TEAMS_JOIN_URL}" target="_blank" '
    'rel="noreferrer noopener" style="font-size:14px;font-family:\'Segoe UI Semibold\','
    "'Segoe UI','Helvetica Neue',Helvetica,Arial,sans-serif;text-decoration:underline;"
    'color:#6264a7">Click here to join the meeting</a></div>'
    '<div style="margin-bottom:20px;margin-top:20px"><div style="margin-bottom:4px">'
    '<span data-tid="meeting-code" style="font-size:14px;color:#252424">Meeting ID: '
    '<span style="font-size:16px;color:#252424">123 456 789 012</span></span><br>'
    '<span style="font-size:14px;color:#252424">Passcode: </span>'
    '<span style="font-size:16px;color:#252424">Ab3cDe</span></div></div>'
    '<div style="margin-bottom:24px;max-width:532px;margin-top:0px"><hr '
    'style="border:0;background:#D1D1D1;height:1px"></div></div>'
    '<div style="width:100%"><span style="white-space:nowrap;color:#5F5F5F;'
    'opacity:.36">________________________________________________________________'
    "________________</span></div>"
)


def add_teams_meeting(payload: dict) -> None:
    """Append the Teams meeting block to the body, as Teams does on create."""
    body = payload.get("body") or {"contentType": "html", "content": ""}
    content = str(body.get("content") or "")
    if str(body.get("contentType", "text")).lower() == "text":
        content = (
            content.replace("&", "&amp;").replace("<", "&lt;").replace("\n", "<br>")
        )
    payload["body"] = {"contentType": "html", "content": content + TEAMS_BLOCK}


@router.post("/faults")
async def inject_fault(request: Request) -> Response:
    """Fail the next `count` Graph requests: {"status": 412|429|500|503|504,
    "count", "retry_after", "method", "path_contains"}."""
    state = get_state(request)
    payload = await json_body(request)
    status = int(payload.get("status") or 429)
    if status not in (412, 429, 500, 503, 504):
        raise control_error(
            400,
            f"Fault status {status} is not supported; use 412, 429, 500, 503 or 504.",
        )
    fault = Fault(
        status=status,
        remaining=int(payload.get("count") or 1),
        retry_after=int(payload.get("retry_after", 1)),
        method=str(payload["method"]).upper() if payload.get("method") else None,
        path_contains=payload.get("path_contains"),
    )
    state.faults.append(fault)
    return Response(status_code=204)


@router.delete("/faults")
async def clear_faults(request: Request) -> Response:
    """Drop all pending faults."""
    get_state(request).faults.clear()
    return Response(status_code=204)


@router.get("/requests")
async def list_requests(request: Request) -> Response:
    """Return the Graph request log: method, path, query, If-Match, Prefer, status."""
    entries = [entry.as_json() for entry in get_state(request).requests]
    return JSONResponse({"value": entries})


@router.delete("/requests")
async def clear_requests(request: Request) -> Response:
    """Empty the request log."""
    get_state(request).requests.clear()
    return Response(status_code=204)


@router.post("/delta-tokens/expire")
async def expire_delta_tokens(request: Request) -> Response:
    """Forget every delta and skip token, so the next use gets 410 syncStateNotFound."""
    state = get_state(request)
    expired = len(state.sync_states) + len(state.delta_pages)
    state.sync_states.clear()
    state.delta_pages.clear()
    return JSONResponse({"expired": expired})


@router.post("/access-tokens/expire")
async def expire_access_tokens(request: Request) -> Response:
    """Forget every access token, so clients must refresh."""
    state = get_state(request)
    expired = len(state.access_tokens)
    state.access_tokens.clear()
    return JSONResponse({"expired": expired})


@router.post("/subscriptions/{subscription_id}/lifecycle")
async def send_lifecycle(request: Request, subscription_id: str) -> Response:
    """Send a lifecycle notification: {"event": "reauthorizationRequired" | "missed" |
    "subscriptionRemoved"}; subscriptionRemoved also removes the subscription."""
    state = get_state(request)
    payload = await json_body(request)
    lifecycle_event = str(payload.get("event") or "")
    if lifecycle_event not in LIFECYCLE_EVENTS:
        raise control_error(
            400,
            f"Unknown lifecycle event {lifecycle_event!r}; "
            f"use one of {sorted(LIFECYCLE_EVENTS)}.",
        )
    subscription = state.subscriptions.get(subscription_id)
    if subscription is None:
        raise control_error(404, f"No subscription {subscription_id!r}.")

    request.app.state.notifier.lifecycle(subscription, lifecycle_event)
    if lifecycle_event == "subscriptionRemoved":
        state.subscriptions.pop(subscription_id)
    return Response(status_code=204)


@router.delete("/subscriptions/{subscription_id}")
async def remove_subscription(request: Request, subscription_id: str) -> Response:
    """Remove a subscription and send subscriptionRemoved to its lifecycle URL."""
    state = get_state(request)
    subscription = state.subscriptions.pop(subscription_id, None)
    if subscription is None:
        raise control_error(404, f"No subscription {subscription_id!r}.")
    if subscription.lifecycle_notification_url:
        request.app.state.notifier.lifecycle(subscription, "subscriptionRemoved")
    return Response(status_code=204)


@router.get("/notifications")
async def list_notifications(request: Request) -> Response:
    """Return every notification sent, with the listener's status code."""
    return JSONResponse({"value": get_state(request).notifications})


@router.post("/settings")
async def change_settings(request: Request) -> Response:
    """Change settings: {"access_token_lifetime": seconds}."""
    state = get_state(request)
    payload = await json_body(request)
    if "access_token_lifetime" in payload:
        state.access_token_lifetime = int(payload["access_token_lifetime"])
    return JSONResponse({"access_token_lifetime": state.access_token_lifetime})
