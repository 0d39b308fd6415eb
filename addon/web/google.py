"""Google Workspace: the consent start and callback, and the push webhook.

- `GET /oauth/google/start` sends one person to Google's consent screen
  (authorization code flow with PKCE, offline access) and
  `GET /oauth/google/callback` stores their encrypted refresh token and adds
  their primary calendar.
- `POST /google/notifications` receives watch-channel notifications. One
  counts only when its channel id is known and its `X-Goog-Channel-Token`
  matches the stored SHA-256 (compared in constant time), and then only as a
  hint to sync. The endpoint responds at once and queues one sync per
  calendar, however many notifications arrive before that sync starts.
- `GET /api/google/connections` lists the tenant's connections with their
  state, so a connection that needs consent again shows up.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from addon import db, models
from addon.crypto import Cipher
from addon.service import get_or_create_tenant
from addon.settings import Settings
from addon.web.routes import authenticate, current_tenant, get_session
from calendar_sync.providers.google import auth
from calendar_sync.providers.google.client import GoogleClient, GoogleConfig
from calendar_sync.providers.google.errors import ConsentRequiredError

log = logging.getLogger(__name__)

router = APIRouter(tags=["google"])
api = APIRouter(prefix="/api/google", tags=["google"])

#: X-Goog-Resource-State values that report a change; "sync" only confirms
#: that a new channel works (Calendar API push notification guide).
CHANGE_STATES = frozenset({"exists", "not_exists"})


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _sessions(request: Request) -> sessionmaker[Session]:
    return request.app.state.sessions


# -- one person -------------------------------------------------------------


@router.get("/oauth/google/start")
def start(request: Request, login_hint: str = "") -> Response:
    """Start a person's consent; the browser is sent to Google."""
    settings = _settings(request)
    consent = auth.start_consent(GoogleConfig.from_settings(settings), login_hint)
    with db.transaction(_sessions(request)) as session:
        tenant = get_or_create_tenant(session, settings)
        session.add(
            models.GoogleConnection(
                tenant_id=tenant.id,
                kind="user",
                auth_state=consent.state,
                code_verifier=Cipher.from_settings(settings).encrypt(
                    consent.code_verifier
                ),
            )
        )
    return RedirectResponse(consent.url, status_code=status.HTTP_302_FOUND)


@router.get("/oauth/google/callback")
def callback(request: Request) -> PlainTextResponse:
    """Finish a consent: store the encrypted refresh token, add the calendar."""
    settings = _settings(request)
    query = request.query_params
    cipher = Cipher.from_settings(settings)
    with db.transaction(_sessions(request)) as session:
        connection = _pending(session, query.get("state", ""))
        verifier = cipher.decrypt(connection.code_verifier or "")
        connection.auth_state = connection.code_verifier = None
        try:
            email, refresh = _finish(
                settings, query.get("code", ""), verifier, query.get("error", "")
            )
        except ConsentRequiredError as error:
            connection.state, connection.last_error = "needs-consent", str(error)
            log.info("google consent refused", extra={"connection": connection.id})
            return PlainTextResponse(
                "Google did not grant Tandem access, so nothing was connected. "
                "Start again from /oauth/google/start.",
                status_code=status.HTTP_400_BAD_REQUEST,
            )
        connection = _merge_connection(session, connection, email)
        connection.secret = cipher.encrypt(refresh)
        connection.state, connection.last_error = "active", ""
        google_calendar_id = _add_calendar(session, connection, email)
    _after_connect(google_calendar_id)
    log.info("google calendar connected", extra={"connection": connection.id})
    return PlainTextResponse(f"Connected the calendar of {email} to Tandem.")


def _finish(
    settings: Settings, code: str, verifier: str, error: str
) -> tuple[str, str]:
    """Exchange the code and find whose calendar it opens; return (email, token)."""
    if error or not code:
        raise ConsentRequiredError("the new connection", error or "no_code")
    config = GoogleConfig.from_settings(settings)
    grant = auth.exchange_code(config, code, verifier)
    client = GoogleClient(
        config, auth.user_credentials(config, grant.refresh_token), ""
    )
    listing = client.execute(
        client.calendar.calendarList().list(), "calendar.calendarList.list"
    )
    primary = [item for item in listing.get("items", []) if item.get("primary")]
    if not primary:
        raise ConsentRequiredError("the new connection", "no_primary_calendar")
    return str(primary[0]["id"]).lower(), grant.refresh_token


def _pending(session: Session, state: str) -> models.GoogleConnection:
    connection = session.scalar(
        select(models.GoogleConnection).where(
            models.GoogleConnection.auth_state == state,
            models.GoogleConnection.kind == "user",
        )
    )
    if not state or connection is None:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            "The consent state is unknown or was already used; start again from "
            "/oauth/google/start.",
        )
    return connection


def _merge_connection(
    session: Session, pending: models.GoogleConnection, email: str
) -> models.GoogleConnection:
    """Reuse the person's earlier connection, so consenting again revives it."""
    earlier = session.scalar(
        select(models.GoogleConnection).where(
            models.GoogleConnection.tenant_id == pending.tenant_id,
            models.GoogleConnection.kind == "user",
            models.GoogleConnection.email == email,
            models.GoogleConnection.id != pending.id,
        )
    )
    if earlier is None:
        pending.email = email
        return pending
    session.delete(pending)
    return earlier


def _add_calendar(
    session: Session, connection: models.GoogleConnection, email: str
) -> int:
    from workers.google_tasks import add_calendar, queue_sync

    google_calendar_id = add_calendar(session, connection, email)
    queue_sync(session, [google_calendar_id])
    return google_calendar_id


def _after_connect(google_calendar_id: int) -> None:
    from workers.google_tasks import ensure_google_channel, sync_google_calendar

    ensure_google_channel.delay(google_calendar_id)
    sync_google_calendar.delay(google_calendar_id)


# -- push -------------------------------------------------------------------


@router.post("/google/notifications", status_code=status.HTTP_204_NO_CONTENT)
def notification(request: Request) -> Response:
    """Queue one sync for a genuine change notification and respond at once."""
    headers = request.headers
    channel_id = headers.get("x-goog-channel-id", "")
    token = headers.get("x-goog-channel-token", "")
    resource_state = headers.get("x-goog-resource-state", "")
    with db.transaction(_sessions(request)) as session:
        channel = _genuine_channel(session, channel_id, token)
        if channel is None:
            log.info("notification rejected", extra={"channel": channel_id[:64]})
            return Response(status_code=status.HTTP_403_FORBIDDEN)
        queued = _note(session, channel, resource_state)
    if queued:
        from workers.google_tasks import send_syncs

        send_syncs(queued)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _genuine_channel(
    session: Session, channel_id: str, token: str
) -> models.GoogleWatchChannel | None:
    channel = session.scalar(
        select(models.GoogleWatchChannel).where(
            models.GoogleWatchChannel.channel_id == channel_id
        )
    )
    received = hashlib.sha256(token.encode()).hexdigest()
    expected = channel.token_sha256 if channel is not None else "0" * 64
    # Compare even for an unknown channel, so timing does not tell ids apart.
    matches = hmac.compare_digest(received.encode(), expected.encode())
    return channel if channel is not None and matches else None


def _note(
    session: Session, channel: models.GoogleWatchChannel, resource_state: str
) -> list[int]:
    from workers.google_tasks import queue_sync

    row = session.get(models.GoogleCalendar, channel.google_calendar_id)
    if row is None or resource_state not in CHANGE_STATES:
        return []
    row.last_notified_at = datetime.now(UTC)
    return queue_sync(session, [row.id])


# -- API --------------------------------------------------------------------


@api.get("/connections", dependencies=[Depends(authenticate)])
def list_connections(
    session: Annotated[Session, Depends(get_session)],
    tenant: Annotated[models.Tenant, Depends(current_tenant)],
) -> list[dict[str, object]]:
    """List the tenant's Google connections and their state."""
    rows = session.scalars(
        select(models.GoogleConnection)
        .where(models.GoogleConnection.tenant_id == tenant.id)
        .order_by(models.GoogleConnection.id)
    )
    return [
        {
            "id": row.id,
            "kind": row.kind,
            "email": row.email,
            "domain": row.domain,
            "state": row.state,
            "last_error": row.last_error,
        }
        for row in rows
    ]
