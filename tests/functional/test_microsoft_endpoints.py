"""One person's Microsoft 365 sign-in and Graph's lifecycle notifications.

Tandem's web app runs on uvicorn over loopback and the Graph emulator over
HTTPS. The emulator's authorize endpoint signs in the user named by
`login_hint` and redirects at once, so following the redirects of
`/microsoft/connect` is the whole browser round. Celery runs its tasks in
process (no broker is configured), so the tasks a request queued have
finished when it returns.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import uvicorn
from ms_fixtures import TenantSetup, ms_server_fixture, ms_tenant_fixture  # noqa: F401
from sqlalchemy import create_engine, select

from addon import db, models
from addon.crypto import Cipher
from addon.settings import get_settings
from addon.web.app import create_app

MILA = "mila@contoso.example"
RAVI = "ravi@contoso.example"


@dataclass
class Web:
    """Tandem's web app aimed at the emulator, and the database behind it."""

    url: str
    tenant: TenantSetup
    database_url: str
    app: Any

    def rows(self, model: type) -> list[Any]:
        engine = db.make_engine(self.database_url)
        try:
            with db.session_factory(engine)() as session:
                tenant_ids = select(models.Tenant.id).where(
                    models.Tenant.name == get_settings().tenant
                )
                query = select(model).where(model.tenant_id.in_(tenant_ids))
                return list(session.scalars(query.order_by(model.id)))
        finally:
            engine.dispose()

    def connection(self) -> models.MicrosoftConnection:
        rows = self.rows(models.MicrosoftConnection)
        assert len(rows) == 1, rows
        return rows[0]

    def mailbox(self) -> models.MicrosoftMailbox:
        rows = self.rows(models.MicrosoftMailbox)
        assert len(rows) == 1, rows
        return rows[0]

    def listed(self) -> list[dict[str, Any]]:
        response = requests.get(
            f"{self.url}/api/microsoft/connections",
            headers={"X-Tandem-Tenant": get_settings().tenant},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def web(
    ms_tenant: TenantSetup, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Web]:
    """Run the web app with a sign-in redirect URI registered at the emulator."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    application = ms_tenant.control(
        "POST", "/applications", {"redirect_uris": [f"{base}/microsoft/callback"]}
    ).json()
    environment = {
        "DATABASE_URL": database_url,
        "TANDEM_TENANT": f"msi-{uuid.uuid4().hex[:8]}",
        "TANDEM_DOMAINS": "contoso.example",
        "TANDEM_MS_CLIENT_ID": application["client_id"],
        "TANDEM_MS_CLIENT_SECRET": application["client_secret"],
        "TANDEM_MS_AUTHORITY_HOST": ms_tenant.server.base_url,
        "TANDEM_MS_GRAPH_URL": ms_tenant.server.base_url,
        "TANDEM_MS_CA_BUNDLE": str(ms_tenant.server.ca_path),
        "TANDEM_MS_REDIRECT_URI": f"{base}/microsoft/callback",
        "TANDEM_MS_NOTIFICATION_URL": f"{base}/microsoft/notifications",
        "TANDEM_PUBLIC_URL": base,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    app = create_app(get_settings())
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start within 20 seconds"
        time.sleep(0.05)
    yield Web(base, ms_tenant, database_url, app)
    server.should_exit = True
    thread.join(timeout=10)
    get_settings.cache_clear()


def seed_one_on_one(tenant: TenantSetup) -> tuple[str, datetime]:
    """Seed a weekly 1:1 whose first occurrence is tomorrow; return id and start."""
    first = (datetime.now(UTC) + timedelta(days=1)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    end = first + timedelta(minutes=30)
    body = {
        "subject": "Mila / Ravi",
        "body": {"contentType": "html", "content": "<p>Bring the roadmap.</p>"},
        "start": {"dateTime": first.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        "end": {"dateTime": end.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        "attendees": [{"emailAddress": {"address": RAVI}, "type": "required"}],
        "recurrence": {
            "pattern": {
                "type": "weekly",
                "interval": 1,
                "daysOfWeek": [first.strftime("%A").lower()],
            },
            "range": {"type": "noEnd", "startDate": first.date().isoformat()},
        },
    }
    response = tenant.graph(
        "POST", f"/users/{MILA}/events", tenant.app_token(), json=body
    )
    assert response.status_code == 201, response.text
    return response.json()["id"], first


def next_body(tenant: TenantSetup, master_id: str, first: datetime) -> str:
    params = {
        "startDateTime": first.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "endDateTime": (first + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    response = tenant.graph(
        "GET",
        f"/users/{MILA}/events/{master_id}/instances",
        tenant.app_token(),
        params=params,
    )
    return response.json()["value"][0]["body"]["content"]


def sign_in(web: Web) -> requests.Response:
    """Follow /microsoft/connect through the emulator's sign-in and back.

    Tandem's first agenda write makes the emulator notify Tandem, which syncs
    again, so this returns once the request log has been still for a second.
    """
    response = requests.get(
        f"{web.url}/microsoft/connect", params={"login_hint": MILA}, timeout=120
    )
    settle(web)
    return response


def settle(web: Web, quiet: float = 1.0, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    count, since = -1, time.monotonic()
    while time.monotonic() - since < quiet:
        assert time.monotonic() < deadline, "the emulator did not go quiet"
        current = len(web.tenant.requests_log())
        if current != count:
            count, since = current, time.monotonic()
        time.sleep(0.1)


def wait_for(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout} seconds.")
        time.sleep(0.1)


def graph_log(web: Web, method: str, path_part: str) -> list[dict[str, Any]]:
    return [
        row
        for row in web.tenant.requests_log()
        if row["method"] == method and path_part in row["path"]
    ]


# -- one person's sign-in -------------------------------------------------------


def test_sign_in_connects_mailbox(web: Web) -> None:
    master_id, first = seed_one_on_one(web.tenant)

    response = sign_in(web)

    assert response.status_code == 200, response.text
    assert response.text == f"Connected {MILA} to Tandem."
    connection = web.connection()
    assert connection.kind == "user"
    assert connection.state == "active"
    assert connection.mailbox == MILA
    assert connection.directory_id == web.tenant.tenant_id
    assert connection.auth_state is None
    assert connection.auth_flow is None
    body = next_body(web.tenant, master_id, first)
    assert "[Tandem agenda start v1" in body
    assert "Bring the roadmap." in body


def test_token_cache_stored_encrypted(web: Web) -> None:
    sign_in(web)

    stored = web.connection().token_cache or ""

    assert stored
    assert "RefreshToken" not in stored
    assert "secret" not in stored.lower()
    cache = json.loads(Cipher.from_settings(get_settings()).decrypt(stored))
    assert len(cache["RefreshToken"]) == 1
    assert [account["username"] for account in cache["Account"].values()] == [MILA]


def test_sign_in_flow_encrypted_until_callback(web: Web) -> None:
    response = requests.get(
        f"{web.url}/microsoft/connect",
        params={"login_hint": MILA},
        allow_redirects=False,
        timeout=10,
    )

    assert response.status_code == 302
    state = parse_qs(urlsplit(response.headers["location"]).query)["state"][0]
    pending = web.connection()
    assert pending.auth_state == state
    assert pending.state == "pending"
    assert "code_verifier" not in (pending.auth_flow or "")
    flow = json.loads(Cipher.from_settings(get_settings()).decrypt(pending.auth_flow))
    assert flow["state"] == state


def test_callback_state_used_once(web: Web) -> None:
    first = sign_in(web)
    callback = first.history[-1].headers["location"]

    replayed = requests.get(callback, timeout=30)

    assert replayed.status_code == 400
    assert "unknown or was already used" in replayed.json()["detail"]
    assert [row["state"] for row in web.listed()] == ["active"]


def test_declined_sign_in_needs_consent(web: Web) -> None:
    started = requests.get(
        f"{web.url}/microsoft/connect",
        params={"login_hint": MILA},
        allow_redirects=False,
        timeout=10,
    )
    state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]

    response = requests.get(
        f"{web.url}/microsoft/callback",
        params={
            "state": state,
            "error": "access_denied",
            "error_description": "AADSTS65004: User declined to consent.",
        },
        timeout=30,
    )

    assert response.status_code == 400
    assert "Start again from /microsoft/connect" in response.text
    listed = web.listed()
    assert [row["state"] for row in listed] == ["needs-consent"]
    assert "access_denied" in listed[0]["last_error"]
    assert "AADSTS65004" in listed[0]["last_error"]
    assert web.rows(models.MicrosoftMailbox) == []


@pytest.mark.parametrize(
    ("reason", "code"), [("consent", "AADSTS70000"), ("sessions", "AADSTS50173")]
)
def test_revoked_grant_needs_consent(
    web: Web, caplog: pytest.LogCaptureFixture, reason: str, code: str
) -> None:
    seed_one_on_one(web.tenant)
    sign_in(web)
    mailbox_id = web.mailbox().id
    web.tenant.control("POST", f"/users/{MILA}/revoke", {"reason": reason})
    web.tenant.control("POST", "/access-tokens/expire")
    from workers.microsoft_tasks import sync_mailbox

    with caplog.at_level(logging.INFO, logger="workers.microsoft_tasks"):
        result = sync_mailbox(mailbox_id)
    again = sync_mailbox(mailbox_id)

    assert result["skipped"] == "needs-consent"
    assert again["skipped"] == "needs-consent"
    listed = web.listed()
    assert [row["state"] for row in listed] == ["needs-consent"]
    assert "invalid_grant" in listed[0]["last_error"]
    assert code in listed[0]["last_error"]
    records = [
        record
        for record in caplog.records
        if record.getMessage() == "microsoft connection needs consent"
    ]
    assert len(records) == 1
    assert records[0].levelno == logging.WARNING
    assert records[0].code == code  # type: ignore[attr-defined]
    assert records[0].connection == listed[0]["id"]  # type: ignore[attr-defined]


def test_expired_access_token_refreshed(web: Web) -> None:
    seed_one_on_one(web.tenant)
    sign_in(web)
    mailbox_id = web.mailbox().id
    before = web.connection().token_cache
    web.tenant.control("POST", "/access-tokens/expire")
    from workers.microsoft_tasks import sync_mailbox

    result = sync_mailbox(mailbox_id)

    # The delta request with the forgotten token, then again after a refresh.
    assert result["requests"] == 2
    assert result["skipped"] == []
    assert web.connection().state == "active"
    assert web.connection().token_cache != before


# -- lifecycle notifications ----------------------------------------------------


def subscribed(web: Web) -> models.MicrosoftMailbox:
    """Sign Mila in and return her mailbox once its subscription exists."""
    seed_one_on_one(web.tenant)
    sign_in(web)
    mailbox = web.mailbox()
    assert mailbox.subscription_id is not None
    web.tenant.control("DELETE", "/requests")
    return mailbox


def send_lifecycle(web: Web, subscription_id: str, event: str) -> None:
    web.tenant.control(
        "POST", f"/subscriptions/{subscription_id}/lifecycle", {"event": event}
    )


def delivered(web: Web, event: str) -> list[dict[str, Any]]:
    """Return the lifecycle notifications of `event` the emulator delivered."""
    records = web.tenant.control("GET", "/notifications").json()["value"]
    return [
        record
        for record in records
        if record["notification"].get("lifecycleEvent") == event
        and record.get("status") is not None
    ]


def test_reauthorization_renews_subscription(web: Web) -> None:
    mailbox = subscribed(web)
    subscription_id = str(mailbox.subscription_id)

    send_lifecycle(web, subscription_id, "reauthorizationRequired")

    wait_for(
        lambda: bool(graph_log(web, "PATCH", f"/subscriptions/{subscription_id}")),
        "a renewal",
    )
    wait_for(lambda: bool(delivered(web, "reauthorizationRequired")), "delivery")
    assert delivered(web, "reauthorizationRequired")[0]["status"] == 202
    renewals = graph_log(web, "PATCH", f"/subscriptions/{subscription_id}")
    assert [row["status"] for row in renewals] == [200]
    assert web.mailbox().subscription_id == subscription_id
    assert graph_log(web, "POST", "/v1.0/subscriptions") == []


def test_removed_subscription_replaced(web: Web) -> None:
    mailbox = subscribed(web)
    old = str(mailbox.subscription_id)

    send_lifecycle(web, old, "subscriptionRemoved")

    wait_for(
        lambda: web.mailbox().subscription_id not in (None, old), "a new subscription"
    )
    created = graph_log(web, "POST", "/v1.0/subscriptions")
    assert [row["status"] for row in created] == [201]
    assert web.mailbox().client_state != mailbox.client_state


def test_missed_notifications_sync(web: Web) -> None:
    mailbox = subscribed(web)

    send_lifecycle(web, str(mailbox.subscription_id), "missed")

    wait_for(lambda: bool(delivered(web, "missed")), "delivery")
    assert delivered(web, "missed")[0]["status"] == 202
    assert len(graph_log(web, "GET", "/calendarView/delta")) == 1
    assert graph_log(web, "POST", "/v1.0/subscriptions") == []
    assert web.mailbox().subscription_id == mailbox.subscription_id
    assert web.mailbox().sync_queued is False


@pytest.mark.parametrize("endpoint", ["lifecycle", "notifications"])
def test_wrong_client_state_ignored(web: Web, endpoint: str) -> None:
    mailbox = subscribed(web)
    secret = Cipher.from_settings(get_settings()).decrypt(mailbox.client_state or "")
    forged = [
        "x" * len(secret),
        secret[:-1],
        secret + "x",
        "",
        None,
        12345,
        secret.upper() if secret.upper() != secret else secret.lower(),
    ]
    items = [
        {
            "subscriptionId": mailbox.subscription_id,
            "clientState": client_state,
            "lifecycleEvent": "subscriptionRemoved",
            "changeType": "updated",
        }
        for client_state in forged
    ]

    response = requests.post(
        f"{web.url}/microsoft/{endpoint}", json={"value": items}, timeout=30
    )

    assert response.status_code == 202
    assert web.tenant.requests_log() == []
    assert web.mailbox().subscription_id == mailbox.subscription_id
    assert web.mailbox().sync_queued is False


# -- the validation handshake -----------------------------------------------------


class StalledDatabase:
    """A database whose every connection waits until `release` is called."""

    def __init__(self) -> None:
        self.attempts = 0
        self._released = threading.Event()

    def connect(self) -> Any:
        import sqlite3

        self.attempts += 1
        self._released.wait(timeout=60)
        raise sqlite3.OperationalError("The test database was stalled on purpose.")

    def release(self) -> None:
        self._released.set()


@pytest.mark.parametrize("endpoint", ["notifications", "lifecycle"])
def test_handshake_with_stalled_database(web: Web, endpoint: str) -> None:
    stalled = StalledDatabase()
    web.app.state.sessions = db.session_factory(
        create_engine("sqlite://", creator=stalled.connect)
    )
    notified: list[int] = []
    # A notification whose database work hangs on the stalled database.
    blocked = threading.Thread(
        target=lambda: notified.append(
            requests.post(
                f"{web.url}/microsoft/{endpoint}",
                json={"value": [{"subscriptionId": "s", "clientState": "c"}]},
                timeout=90,
            ).status_code
        ),
        daemon=True,
    )
    blocked.start()
    wait_for(lambda: stalled.attempts == 1, "the first database connection")

    try:
        # Graph waits at most 10 seconds for the echoed token.
        response = requests.post(
            f"{web.url}/microsoft/{endpoint}",
            params={"validationToken": "Validation: Testing client application"},
            timeout=10,
        )
    finally:
        stalled.release()
        blocked.join(timeout=30)

    assert response.status_code == 200
    assert response.text == "Validation: Testing client application"
    assert response.headers["content-type"].startswith("text/plain")
    assert stalled.attempts == 1
    assert notified == [500]
