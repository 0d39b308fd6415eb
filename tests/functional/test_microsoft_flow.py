"""The Microsoft 365 flow end to end: admin consent, notifications, agendas.

Tandem's web app runs on uvicorn over loopback and the Graph emulator over
HTTPS; Celery runs its tasks in process (no broker is configured), so each
step's tasks have finished when the request that queued them returns.
`test_microsoft_worker.py` runs the flow on a real worker with Redis.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
import uvicorn
from ms_fixtures import TenantSetup, ms_server_fixture, ms_tenant_fixture  # noqa: F401
from sqlalchemy import select

from addon import db, models
from addon.settings import get_settings
from addon.web.app import create_app

MILA = "mila@contoso.example"
RAVI = "ravi@contoso.example"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def app_url(
    ms_tenant: TenantSetup, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Run Tandem's web app with settings aimed at the emulator."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    application = ms_tenant.control(
        "POST",
        "/applications",
        {"redirect_uris": [f"{base}/microsoft/admin-consent/callback"]},
    ).json()
    environment = {
        "DATABASE_URL": database_url,
        "TANDEM_TENANT": f"ms-{uuid.uuid4().hex[:8]}",
        "TANDEM_DOMAINS": "contoso.example",
        "TANDEM_MS_CLIENT_ID": application["client_id"],
        "TANDEM_MS_CLIENT_SECRET": application["client_secret"],
        "TANDEM_MS_AUTHORITY_HOST": ms_tenant.server.base_url,
        "TANDEM_MS_GRAPH_URL": ms_tenant.server.base_url,
        "TANDEM_MS_CA_BUNDLE": str(ms_tenant.server.ca_path),
        "TANDEM_MS_ADMIN_CONSENT_REDIRECT_URI": (
            f"{base}/microsoft/admin-consent/callback"
        ),
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
    yield base
    server.should_exit = True
    thread.join(timeout=10)
    get_settings.cache_clear()


def seed_one_on_one(tenant: TenantSetup) -> tuple[str, datetime]:
    """Seed a weekly 1:1 whose first occurrence is tomorrow; return id and start."""
    first = (datetime.now(UTC) + timedelta(days=1)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    body = {
        "subject": "Mila / Ravi",
        "body": {"contentType": "html", "content": "<p>Bring the roadmap.</p>"},
        "start": {"dateTime": first.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        "end": {
            "dateTime": (first + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S"),
            "timeZone": "UTC",
        },
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


def test_tenant_consent_to_agenda(
    ms_tenant: TenantSetup, app_url: str, database_url: str
) -> None:
    master_id, first = seed_one_on_one(ms_tenant)

    response = requests.get(
        f"{app_url}/microsoft/admin-consent",
        params={"tenant": ms_tenant.tenant_id},
        timeout=120,
    )

    assert response.status_code == 200, response.text
    body = next_body(ms_tenant, master_id, first)
    assert "[Tandem agenda start v1" in body
    assert "Bring the roadmap." in body
    validations = ms_tenant.control("GET", "/notifications").json()
    assert validations
    sessions = db.session_factory(db.make_engine(database_url))
    with sessions() as session:
        mailboxes = session.scalars(select(models.MicrosoftMailbox)).all()
        mine = [row for row in mailboxes if row.subscription_id]
        assert mine


def test_revoked_consent_marks_connection(
    ms_tenant: TenantSetup, app_url: str, database_url: str
) -> None:
    seed_one_on_one(ms_tenant)
    requests.get(
        f"{app_url}/microsoft/admin-consent",
        params={"tenant": ms_tenant.tenant_id},
        timeout=120,
    )
    settings = get_settings()
    ms_tenant.control(
        "DELETE",
        f"/tenants/{ms_tenant.tenant_id}/admin-consent/{settings.ms_client_id}",
    )
    from workers.microsoft_tasks import sync_mailbox

    sessions = db.session_factory(db.make_engine(database_url))
    with sessions() as session:
        tenant = session.scalar(
            select(models.Tenant).where(models.Tenant.name == settings.tenant)
        )
        assert tenant is not None
        mailbox_id = session.scalar(
            select(models.MicrosoftMailbox.id).where(
                models.MicrosoftMailbox.tenant_id == tenant.id
            )
        )

    result = sync_mailbox(mailbox_id)
    again = sync_mailbox(mailbox_id)

    assert result["skipped"] == "needs-consent"
    assert again["skipped"] == "needs-consent"
    listed = requests.get(
        f"{app_url}/api/microsoft/connections",
        headers={"X-Tandem-Tenant": settings.tenant},
        timeout=10,
    ).json()
    assert [row["state"] for row in listed] == ["needs-consent"]
