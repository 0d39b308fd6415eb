"""The control API under /_emulator/: set up the world and inspect what happened.

Tests and local runs call these routes where a real setup would use Google's
admin console. They create users, calendars and events, register OAuth
clients and service account keys, and revoke grants. They also inject faults,
edit a description as the web UI would, expire sync tokens and return the
request log. None of them needs a token, because the emulator listens on
127.0.0.1 only.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from emulators.google import events, notify, oauth
from emulators.google.errors import ApiError, not_found
from emulators.google.state import (
    Calendar,
    EmulatorState,
    Fault,
    Grant,
    OAuthClient,
    ServiceAccount,
    User,
)

router = APIRouter(prefix="/_emulator", tags=["control"])

FaultKind = Literal[
    "rateLimitExceeded", "userRateLimitExceeded", "429", "500", "503", "concurrentEdit"
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewUser(_Strict):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    given_name: str = ""
    family_name: str = ""
    is_admin: bool = False
    manager: str | None = None
    suspended: bool = False
    time_zone: str = "UTC"


class NewCalendar(_Strict):
    owner: str
    summary: str
    time_zone: str | None = None


class NewClient(_Strict):
    client_id: str
    client_secret: str
    redirect_uris: list[str] = []


class NewCode(_Strict):
    client_id: str
    redirect_uri: str
    user: str
    scopes: list[str]
    code_challenge: str | None = None
    code_challenge_method: Literal["S256", "plain"] = "S256"
    access_type: Literal["offline", "online"] = "offline"


class NewToken(_Strict):
    user: str
    scopes: list[str]
    client_id: str = "emulator-control"


class Revocation(_Strict):
    refresh_token: str | None = None
    user: str | None = None


class NewServiceAccount(_Strict):
    client_email: str
    client_id: str = Field(default_factory=lambda: str(secrets.randbelow(10**20)))
    public_key_pem: str | None = None
    key_id: str | None = None
    # Domain-wide delegation: domain -> scopes the admin granted to client_id.
    delegated_scopes: dict[str, list[str]] = {}


class NewFault(_Strict):
    method: str = Field(description="Method id such as calendar.events.patch, or *.")
    kind: FaultKind
    count: int = Field(default=1, ge=1)
    retry_after: int | None = Field(default=None, ge=0, description="Seconds.")
    text: str = Field(
        default="",
        description="For concurrentEdit: HTML put before the event's description.",
    )


class UiEdit(_Strict):
    description: str | None = None


def _state(request: Request) -> EmulatorState:
    return request.app.state.emulator


def _calendar(state: EmulatorState, calendar_id: str) -> Calendar:
    calendar = state.calendars.get(calendar_id)
    if calendar is None:
        raise not_found(f"calendar {calendar_id!r}")
    return calendar


@router.post("/reset", status_code=204)
async def reset(request: Request) -> None:
    """Forget every user, event, token, channel, fault and log entry."""
    _state(request).reset()


@router.get("/state")
async def summary(request: Request) -> dict[str, Any]:
    return _state(request).to_json()


@router.post("/users", status_code=201)
async def create_user(request: Request, new: NewUser) -> dict[str, Any]:
    """Create a user with a primary calendar whose id is the email."""
    state = _state(request)
    if new.email in state.users:
        raise ApiError(409, "duplicate", f"User {new.email!r} already exists.")
    user = User(id=state.next_user_id(), **new.model_dump())
    calendar = state.add_user(user)
    return {"email": user.email, "id": user.id, "calendar_id": calendar.id}


@router.post("/calendars", status_code=201)
async def create_calendar(request: Request, new: NewCalendar) -> dict[str, Any]:
    """Create a secondary calendar owned by an existing user."""
    state = _state(request)
    owner = state.users.get(new.owner)
    if owner is None:
        raise not_found(f"user {new.owner!r}")
    calendar_id = f"c_{secrets.token_hex(16)}@group.calendar.google.com"
    state.calendars[calendar_id] = Calendar(
        id=calendar_id,
        owner=owner.email,
        summary=new.summary,
        time_zone=new.time_zone or owner.time_zone,
        primary=False,
    )
    return {"calendar_id": calendar_id}


@router.delete("/calendars/{calendar_id}", status_code=204)
async def delete_calendar(request: Request, calendar_id: str) -> None:
    """Delete a secondary calendar; its watch channels get `not_exists`."""
    state = _state(request)
    calendar = _calendar(state, calendar_id)
    if calendar.primary:
        raise ApiError(400, "cannotDeletePrimaryCalendar", "A primary calendar stays.")
    notify.gone(state, request.app.state.notifier, calendar_id)
    del state.calendars[calendar_id]


@router.post("/calendars/{calendar_id}/events", status_code=201)
async def seed_event(request: Request, calendar_id: str) -> dict[str, Any]:
    """Insert an event as the calendar's owner, without a token or a log entry."""
    state = _state(request)
    body = await request.json()
    return events.insert_event(state, _calendar(state, calendar_id), body, None)


@router.post("/calendars/{calendar_id}/events/{event_id}/ui-edit")
async def ui_edit(
    request: Request, calendar_id: str, event_id: str, edit: UiEdit
) -> dict[str, Any]:
    """Save the description as the Calendar web UI would (current one if omitted)."""
    state = _state(request)
    calendar = _calendar(state, calendar_id)
    text = edit.description
    if text is None:
        text = events.get_event(calendar, event_id).get("description", "")
    return events.edit_in_ui(state, calendar, event_id, text)


@router.post("/oauth-clients", status_code=201)
async def register_client(request: Request, new: NewClient) -> dict[str, str]:
    _state(request).clients[new.client_id] = OAuthClient(**new.model_dump())
    return {"client_id": new.client_id}


@router.post("/authorization-codes", status_code=201)
async def create_code(request: Request, new: NewCode) -> dict[str, str]:
    """Issue an authorization code as if the user had consented in a browser."""
    state = _state(request)
    if new.user not in state.users:
        raise not_found(f"user {new.user!r}")
    query = {"scope": " ".join(new.scopes), "access_type": new.access_type}
    if new.code_challenge:
        query["code_challenge"] = new.code_challenge
        query["code_challenge_method"] = new.code_challenge_method
    code = oauth.issue_code(state, new.client_id, new.redirect_uri, new.user, query)
    return {"code": code}


@router.post("/tokens", status_code=201)
async def create_token(request: Request, new: NewToken) -> dict[str, Any]:
    """Issue an access token for a user directly, skipping the OAuth flow."""
    state = _state(request)
    if new.user not in state.users:
        raise not_found(f"user {new.user!r}")
    grant = Grant(new.user, new.scopes, new.client_id)
    return oauth._access_token(state, grant)


@router.post("/refresh-tokens/revoke")
async def revoke_refresh(request: Request, revocation: Revocation) -> dict[str, int]:
    """Revoke one refresh token, or every refresh token of a user."""
    state = _state(request)
    revoked = 0
    for token, grant in state.refresh_tokens.items():
        if token == revocation.refresh_token or grant.user == revocation.user:
            grant.revoked = True
            revoked += 1
    return {"revoked": revoked}


@router.post("/access-tokens/expire")
async def expire_access_tokens(request: Request) -> dict[str, int]:
    """Expire every access token, so the next call returns 401."""
    state = _state(request)
    for grant in state.access_tokens.values():
        grant.expires_at = time.time() - 1
    return {"expired": len(state.access_tokens)}


@router.post("/service-accounts", status_code=201)
async def register_service_account(
    request: Request, new: NewServiceAccount
) -> dict[str, Any]:
    """Register a service account key; without a public key, make a key file.

    The returned `key_file` is a JSON key like the one the Cloud console hands
    out, with `token_uri` pointing at this emulator.
    """
    state = _state(request)
    reply: dict[str, Any] = {"client_id": new.client_id}
    public_pem, key_id = new.public_key_pem, new.key_id
    if public_pem is None:
        token_uri = str(request.base_url) + "token"
        info, public_pem = oauth.new_service_account_key(
            new.client_email, new.client_id, token_uri
        )
        key_id = info["private_key_id"]
        reply["key_file"] = info
    state.service_accounts[new.client_email] = ServiceAccount(
        client_email=new.client_email,
        client_id=new.client_id,
        key_id=key_id or "",
        public_key_pem=public_pem,
        delegated_scopes=new.delegated_scopes,
    )
    return reply


@router.post("/faults", status_code=201)
async def inject_fault(request: Request, new: NewFault) -> dict[str, Any]:
    """Make the next `count` calls to `method` fail with `kind`."""
    fault = Fault(new.method, new.kind, new.count, new.retry_after, new.text)
    _state(request).faults.append(fault)
    return dataclasses.asdict(fault)


@router.delete("/faults", status_code=204)
async def clear_faults(request: Request) -> None:
    _state(request).faults.clear()


@router.get("/requests")
async def read_requests(
    request: Request, method: str | None = None
) -> list[dict[str, Any]]:
    """List logged API calls, oldest first, optionally for one method id."""
    logged = _state(request).requests
    return [
        dataclasses.asdict(r) for r in logged if method is None or r.method == method
    ]


@router.delete("/requests", status_code=204)
async def clear_requests(request: Request) -> None:
    _state(request).requests.clear()


@router.get("/sent-updates")
async def read_sent_updates(request: Request) -> list[dict[str, Any]]:
    """List the guest emails Google would have sent because of sendUpdates."""
    return [dataclasses.asdict(u) for u in _state(request).sent_updates]


@router.get("/deliveries")
async def read_deliveries(request: Request) -> list[dict[str, Any]]:
    """List the watch-channel notifications sent so far."""
    notifier: notify.Notifier = request.app.state.notifier
    return [dataclasses.asdict(d) for d in notifier.deliveries]


@router.post("/sync-tokens/expire")
async def expire_sync_tokens(request: Request) -> dict[str, int]:
    """Invalidate every sync token, so the next incremental sync gets 410."""
    state = _state(request)
    count = len(state.sync_tokens)
    state.sync_tokens.clear()
    return {"expired": count}


@router.get("/schema-violations")
async def read_schema_violations(request: Request) -> list[str]:
    return list(_state(request).schema_violations)
