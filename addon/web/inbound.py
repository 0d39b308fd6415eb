"""Inbound email over HTTP, and the one-click unsubscribe of agenda emails.

`POST /inbound/email` takes the raw MIME message as the request body, the
way mail providers' inbound webhooks can forward it, signed with
`X-Tandem-Signature: sha256=<hex HMAC-SHA256 of the body>` under
TANDEM_INBOUND_WEBHOOK_SECRET. The message is committed before the 202
response, and processed after it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Header, HTTPException, Request, status
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from addon import db, models, records
from addon.mail import tokens
from addon.mail.errors import TokenError
from addon.mail.store import store_inbound
from addon.settings import Settings

log = logging.getLogger(__name__)

router = APIRouter(prefix="/inbound", tags=["inbound"])


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _sessions(request: Request) -> sessionmaker[Session]:
    return request.app.state.sessions


def _check_signature(secret: str, body: bytes, header: str) -> None:
    if not secret:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "The inbound webhook is off; set TANDEM_INBOUND_WEBHOOK_SECRET to use it.",
        )
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(header.strip().lower().encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Missing or wrong X-Tandem-Signature; send sha256=<hex HMAC-SHA256 of "
            "the body> under the shared webhook secret.",
        )


@router.post("/email", status_code=status.HTTP_202_ACCEPTED)
async def receive_email(
    request: Request,
    background: BackgroundTasks,
    x_tandem_signature: Annotated[str, Header()] = "",
) -> dict[str, object]:
    """Store one raw inbound message, to be processed after the response."""
    settings = _settings(request)
    body = await request.body()
    _check_signature(settings.inbound_webhook_secret, body, x_tandem_signature)
    if len(body) > settings.max_message_bytes:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"The message has {len(body)} bytes; the limit is "
            f"{settings.max_message_bytes} (TANDEM_MAX_MESSAGE_BYTES).",
        )

    stored = store_inbound(_sessions(request), body, "webhook")
    if not stored.duplicate:
        background.add_task(_process, stored.inbound_id)
    return {"id": stored.inbound_id, "duplicate": stored.duplicate}


def _process(inbound_id: int) -> None:
    from workers.mail_tasks import process_inbound_email

    process_inbound_email.delay(inbound_id)


def _unsubscribe_token(token: str, settings: Settings) -> tokens.Token:
    try:
        parsed = tokens.read_token(token, settings.reply_key)
    except TokenError:
        parsed = None
    if parsed is None or parsed.purpose is not tokens.Purpose.UNSUBSCRIBE:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "This unsubscribe link is not valid; use the link of a recent email.",
        )
    return parsed


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(token: str, request: Request) -> str:
    """Show a button, because link scanners follow GET links on their own."""
    _unsubscribe_token(token, _settings(request))
    return (
        "<!doctype html><title>Tandem</title>"
        '<form method="post"><button type="submit">'
        "Stop Tandem's agenda emails and invite blocks</button></form>"
    )


@router.post("/unsubscribe/{token}")
def unsubscribe(token: str, request: Request) -> dict[str, str]:
    """Opt the person out (RFC 8058 one-click: a POST to the List-Unsubscribe URL)."""
    parsed = _unsubscribe_token(token, _settings(request))
    with db.transaction(_sessions(request)) as session:
        person = session.scalar(
            select(models.Person).where(
                models.Person.tenant_id == parsed.tenant_id,
                models.Person.id == parsed.person_id,
            )
        )
        tenant = session.get(models.Tenant, parsed.tenant_id)
        if person is None or tenant is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "This person is not known.")
        records.set_opt_out(session, tenant, person.email, True)
    log.info("person opted out by email link", extra={"person": parsed.person_id})
    return {"status": "unsubscribed"}
