"""Microsoft 365: sign-in and admin consent callbacks, and Graph's notifications.

- `GET /microsoft/connect` starts one person's sign-in (authorization code
  flow) and `GET /microsoft/callback` finishes it.
- `GET /microsoft/admin-consent` sends a tenant admin to grant Tandem's
  application permissions and `GET /microsoft/admin-consent/callback`
  records the tenant.
- `POST /microsoft/notifications` and `POST /microsoft/lifecycle` receive
  Graph's change and lifecycle notifications. Graph first sends a
  `validationToken`, which must come back as text/plain within 10 seconds.
  A notification counts only when its `clientState` matches the stored
  secret (compared in constant time), and then only as a hint to sync: the
  endpoint answers 202 at once and queues one sync per mailbox.
- `GET /api/microsoft/connections` lists the tenant's connections with their
  state, so a connection that needs consent again shows up.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from addon import db, models
from addon.crypto import Cipher, DecryptionError
from addon.service import get_or_create_tenant
from addon.settings import Settings
from addon.web.routes import authenticate, current_tenant, get_session
from calendar_sync.providers.microsoft import auth
from calendar_sync.providers.microsoft.errors import ConsentRequiredError

log = logging.getLogger(__name__)

router = APIRouter(prefix="/microsoft", tags=["microsoft"])
api = APIRouter(prefix="/api/microsoft", tags=["microsoft"])


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _sessions(request: Request) -> sessionmaker[Session]:
    return request.app.state.sessions


def _config(settings: Settings) -> auth.MicrosoftConfig:
    from workers.microsoft_tasks import microsoft_config

    return microsoft_config(settings)


# -- one person -------------------------------------------------------------


@router.get("/connect")
def connect(request: Request, login_hint: str = "") -> Response:
    """Start a person's sign-in; the browser is sent to the identity platform."""
    settings = _settings(request)
    flow = auth.start_sign_in(_config(settings), login_hint)
    with db.transaction(_sessions(request)) as session:
        tenant = get_or_create_tenant(session, settings)
        session.add(
            models.MicrosoftConnection(
                tenant_id=tenant.id,
                kind="user",
                auth_state=flow["state"],
                auth_flow=Cipher.from_settings(settings).encrypt(json.dumps(flow)),
            )
        )
    return RedirectResponse(flow["auth_uri"], status_code=status.HTTP_302_FOUND)


@router.get("/callback")
def callback(request: Request) -> PlainTextResponse:
    """Finish a person's sign-in: store the encrypted token cache, add the mailbox."""
    settings = _settings(request)
    query = dict(request.query_params)
    cipher = Cipher.from_settings(settings)
    with db.transaction(_sessions(request)) as session:
        connection = _pending(session, query.get("state", ""), "user")
        flow = json.loads(cipher.decrypt(connection.auth_flow or ""))
        connection.auth_state, connection.auth_flow = None, None
        try:
            signed_in = auth.finish_sign_in(_config(settings), flow, query, cipher)
        except ConsentRequiredError as error:
            connection.state, connection.last_error = "needs-consent", str(error)
            log.info("sign-in refused", extra={"connection": connection.id})
            return PlainTextResponse(
                "Microsoft did not grant Tandem access, so nothing was connected. "
                "Start again from /microsoft/connect.",
                status_code=status.HTTP_400_BAD_REQUEST,
            )
        connection.state, connection.last_error = "active", ""
        connection.directory_id = signed_in.tenant_id
        connection.mailbox = signed_in.mailbox
        connection.token_cache = signed_in.token_cache
        mailbox_id = _add_mailbox(session, connection, signed_in.mailbox)
    _after_connect([mailbox_id])
    return PlainTextResponse(f"Connected {signed_in.mailbox} to Tandem.")


# -- a whole tenant -----------------------------------------------------------


@router.get("/admin-consent")
def admin_consent(request: Request, tenant: str = "") -> Response:
    """Send a tenant admin to grant Tandem's application permissions."""
    settings = _settings(request)
    state = secrets.token_urlsafe(32)
    with db.transaction(_sessions(request)) as session:
        row = get_or_create_tenant(session, settings)
        session.add(
            models.MicrosoftConnection(
                tenant_id=row.id, kind="tenant", auth_state=state
            )
        )
    url = auth.admin_consent_url(_config(settings), state, tenant)
    return RedirectResponse(url, status_code=status.HTTP_302_FOUND)


@router.get("/admin-consent/callback")
def admin_consent_callback(request: Request) -> PlainTextResponse:
    """Record the tenant whose admin consented, then add its mailboxes."""
    query = request.query_params
    with db.transaction(_sessions(request)) as session:
        connection = _pending(session, query.get("state", ""), "tenant")
        connection.auth_state = None
        if query.get("admin_consent", "").lower() != "true" or not query.get("tenant"):
            connection.state = "needs-consent"
            connection.last_error = f"admin consent refused: {query.get('error', '')}"
            log.info("admin consent refused", extra={"connection": connection.id})
            return PlainTextResponse(
                "The tenant admin did not grant Tandem's permissions; start again "
                "from /microsoft/admin-consent.",
                status_code=status.HTTP_400_BAD_REQUEST,
            )
        connection.state, connection.last_error = "active", ""
        connection.directory_id = query["tenant"]
        connection_id = connection.id
    from workers.microsoft_tasks import discover_mailboxes

    discover_mailboxes.delay(connection_id)
    log.info("admin consent recorded", extra={"connection": connection_id})
    return PlainTextResponse("Tandem is enabled for your tenant.")


def _pending(session: Session, state: str, kind: str) -> models.MicrosoftConnection:
    connection = session.scalar(
        select(models.MicrosoftConnection).where(
            models.MicrosoftConnection.auth_state == state,
            models.MicrosoftConnection.kind == kind,
        )
    )
    if not state or connection is None:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            "The sign-in state is unknown or was already used; start the sign-in "
            "again.",
        )
    return connection


def _add_mailbox(
    session: Session, connection: models.MicrosoftConnection, address: str
) -> int:
    from workers.microsoft_tasks import add_mailbox, queue_sync

    mailbox_id = add_mailbox(session, connection, address)
    queue_sync(session, [mailbox_id])
    return mailbox_id


def _after_connect(mailbox_ids: list[int]) -> None:
    from workers.microsoft_tasks import ensure_subscription, sync_mailbox

    for mailbox_id in mailbox_ids:
        ensure_subscription.delay(mailbox_id)
        sync_mailbox.delay(mailbox_id)


# -- notifications ------------------------------------------------------------


@router.post("/notifications")
async def notifications(request: Request) -> Response:
    """Answer Graph's validation, or queue a sync for each genuine notification."""
    # Graph drops a subscription whose endpoint takes over 10 seconds to echo
    # the token, so the token is returned before any database work.
    token = request.query_params.get("validationToken")
    if token is not None:
        return PlainTextResponse(token)

    items = await _notification_items(request)
    # The database work blocks, so it runs in a worker thread: a slow
    # database then holds up this request only, never the event loop that
    # answers other handshakes.
    await run_in_threadpool(_queue_changes, request, items)
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post("/lifecycle")
async def lifecycle(request: Request) -> Response:
    """Handle reauthorizationRequired, subscriptionRemoved and missed."""
    token = request.query_params.get("validationToken")
    if token is not None:
        return PlainTextResponse(token)

    items = await _notification_items(request)
    await run_in_threadpool(_handle_lifecycle, request, items)
    return Response(status_code=status.HTTP_202_ACCEPTED)


def _queue_changes(request: Request, items: list[dict[str, Any]]) -> None:
    cipher = Cipher.from_settings(_settings(request))
    with db.transaction(_sessions(request)) as session:
        mailboxes = _genuine(session, cipher, items)
        from workers.microsoft_tasks import queue_sync

        queued = queue_sync(session, sorted({mailbox.id for mailbox, _ in mailboxes}))
    _send_syncs(queued)


def _handle_lifecycle(request: Request, items: list[dict[str, Any]]) -> None:
    cipher = Cipher.from_settings(_settings(request))
    resubscribe, renew = [], []
    with db.transaction(_sessions(request)) as session:
        genuine = _genuine(session, cipher, items)
        for mailbox, item in genuine:
            event = str(item.get("lifecycleEvent", ""))
            log.info(
                "lifecycle notification", extra={"mailbox": mailbox.id, "event": event}
            )
            if event == "subscriptionRemoved":
                mailbox.subscription_id = None
                resubscribe.append(mailbox.id)
            elif event == "reauthorizationRequired":
                renew.append(mailbox.id)
        from workers.microsoft_tasks import queue_sync

        # Every lifecycle event may hide lost changes ("missed" says so
        # outright), so each one also queues a sync.
        queued = queue_sync(session, sorted({mailbox.id for mailbox, _ in genuine}))
    _send_lifecycle(resubscribe, renew)
    _send_syncs(queued)


async def _notification_items(request: Request) -> list[dict[str, Any]]:
    try:
        payload = json.loads(await request.body() or b"{}")
    except json.JSONDecodeError:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            'The notification body is not JSON; Graph sends {"value": [...]}.',
        ) from None
    items = payload.get("value") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            "The notification body has no 'value' list; Graph sends "
            '{"value": [...]}.',
        )
    return [item for item in items if isinstance(item, dict)]


def _genuine(
    session: Session, cipher: Cipher, items: list[dict[str, Any]]
) -> list[tuple[models.MicrosoftMailbox, dict[str, Any]]]:
    """Return the items whose subscription is known and whose clientState matches."""
    genuine = []
    for item in items:
        subscription_id = str(item.get("subscriptionId", ""))
        mailbox = (
            session.scalar(
                select(models.MicrosoftMailbox).where(
                    models.MicrosoftMailbox.subscription_id == subscription_id
                )
            )
            if subscription_id
            else None
        )
        if mailbox is None or not _state_matches(cipher, mailbox, item):
            log.info(
                "notification ignored", extra={"subscription": subscription_id[:64]}
            )
            continue
        genuine.append((mailbox, item))
    return genuine


def _state_matches(
    cipher: Cipher, mailbox: models.MicrosoftMailbox, item: dict[str, Any]
) -> bool:
    try:
        expected = cipher.decrypt(mailbox.client_state or "")
    except DecryptionError:
        return False
    received = str(item.get("clientState") or "")
    return bool(expected) and hmac.compare_digest(received.encode(), expected.encode())


def _send_syncs(mailbox_ids: list[int]) -> None:
    from workers.microsoft_tasks import sync_mailbox

    for mailbox_id in mailbox_ids:
        sync_mailbox.delay(mailbox_id)


def _send_lifecycle(resubscribe: list[int], renew: list[int]) -> None:
    from workers.microsoft_tasks import ensure_subscription

    for mailbox_id in resubscribe:
        ensure_subscription.delay(mailbox_id, True)
    # Graph accepts a renewal as the answer to reauthorizationRequired
    # (learn.microsoft.com/graph/change-notifications-lifecycle-events).
    for mailbox_id in renew:
        ensure_subscription.delay(mailbox_id, renew=True)


# -- API ----------------------------------------------------------------------


@api.get("/connections", dependencies=[Depends(authenticate)])
def list_connections(
    session: Annotated[Session, Depends(get_session)],
    tenant: Annotated[models.Tenant, Depends(current_tenant)],
) -> list[dict[str, object]]:
    """List the tenant's Microsoft 365 connections and their state."""
    rows = session.scalars(
        select(models.MicrosoftConnection)
        .where(models.MicrosoftConnection.tenant_id == tenant.id)
        .order_by(models.MicrosoftConnection.id)
    )
    return [
        {
            "id": row.id,
            "kind": row.kind,
            "directory_id": row.directory_id,
            "mailbox": row.mailbox,
            "state": row.state,
            "last_error": row.last_error,
        }
        for row in rows
    ]
