"""The inbound webhook and the one-click unsubscribe, on uvicorn over loopback."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from mail_fixtures import EMPLOYEE, MAX_BYTES, World, free_port
from sqlalchemy import select

from addon import models
from addon.mail.reminders import unsubscribe_url
from addon.mail.store import message_key
from addon.models import InboundEmail, InboundStatus
from addon.settings import Settings, get_settings
from addon.web.app import create_app

SECRET = "webhook-secret-" + "s" * 20


@pytest.fixture
def web_settings(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    # Tasks read the process-wide settings, so the environment names the
    # same database and key as the app.
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TANDEM_REPLY_KEY", settings.reply_key)
    monkeypatch.setenv("TANDEM_INBOUND_DOMAIN", settings.inbound_domain)
    monkeypatch.setenv("TANDEM_SMTP_PORT", str(settings.smtp_port))
    get_settings.cache_clear()
    yield settings.model_copy(
        update={"inbound_webhook_secret": SECRET, "max_message_bytes": MAX_BYTES}
    )
    get_settings.cache_clear()


@pytest.fixture
def client(web_settings: Settings) -> Iterator[httpx.Client]:
    port = free_port()
    config = uvicorn.Config(
        create_app(web_settings), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start within 20 seconds")
        time.sleep(0.05)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        yield http
    server.should_exit = True
    thread.join(timeout=10)


def _signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Tandem-Signature": f"sha256={digest}", "Content-Type": "message/rfc822"}


def _message(marker: str) -> bytes:
    return (
        f"From: {EMPLOYEE}\r\nTo: reply+x@in.tandem.test\r\nSubject: Re: Agenda\r\n"
        f"Message-ID: <{marker}@example.test>\r\n\r\n- a topic\r\n"
    ).encode()


def _row(factory, raw: bytes) -> InboundEmail | None:  # type: ignore[no-untyped-def]
    with factory() as session:
        return session.scalar(
            select(InboundEmail).where(InboundEmail.message_key == message_key(raw))
        )


def test_webhook_stores_signed(client: httpx.Client, factory) -> None:
    raw = _message(f"hook-{time.time_ns()}")

    response = client.post("/inbound/email", content=raw, headers=_signed(raw))

    row = _row(factory, raw)
    assert response.status_code == 202
    assert response.json() == {"id": row.id, "duplicate": False}
    assert row.source == "webhook"


def test_webhook_processes_after_answer(client: httpx.Client, factory) -> None:
    raw = _message(f"hook-processed-{time.time_ns()}")

    client.post("/inbound/email", content=raw, headers=_signed(raw))
    deadline = time.monotonic() + 10
    while (
        _row(factory, raw).status is InboundStatus.PENDING
        and time.monotonic() < deadline
    ):
        time.sleep(0.1)

    row = _row(factory, raw)
    assert row.status is InboundStatus.REJECTED
    assert row.outcome == "invalid_token"


def test_webhook_duplicate(client: httpx.Client) -> None:
    raw = _message(f"hook-twice-{time.time_ns()}")

    first = client.post("/inbound/email", content=raw, headers=_signed(raw))
    second = client.post("/inbound/email", content=raw, headers=_signed(raw))

    assert second.json() == {"id": first.json()["id"], "duplicate": True}


def test_webhook_bad_signature(client: httpx.Client, factory) -> None:
    raw = _message(f"hook-forged-{time.time_ns()}")

    response = client.post("/inbound/email", content=raw, headers=_signed(raw, "wrong"))

    assert response.status_code == 401
    assert "X-Tandem-Signature" in response.json()["detail"]
    assert _row(factory, raw) is None


def test_webhook_too_large(client: httpx.Client) -> None:
    raw = _message("big") + b"x" * (MAX_BYTES + 1)

    response = client.post("/inbound/email", content=raw, headers=_signed(raw))

    assert response.status_code == 413


def test_unsubscribe_one_click(
    client: httpx.Client, factory, web_settings, world: World
) -> None:
    with factory() as session:
        tenant = session.get(models.Tenant, world.tenant_id)
        person = session.get(models.Person, world.people[EMPLOYEE])
        url = unsubscribe_url(tenant, person, web_settings)
    path = url.removeprefix(web_settings.public_url)

    page = client.get(path)
    with factory() as session:
        after_get = session.get(models.Person, world.people[EMPLOYEE]).opted_out
    response = client.post(path, content=b"List-Unsubscribe=One-Click")

    with factory() as session:
        person = session.get(models.Person, world.people[EMPLOYEE])
    assert page.status_code == 200
    assert after_get is False
    assert response.status_code == 200
    assert person.opted_out is True


def test_unsubscribe_bad_token(client: httpx.Client) -> None:
    response = client.post("/inbound/unsubscribe/notatoken")

    assert response.status_code == 404
