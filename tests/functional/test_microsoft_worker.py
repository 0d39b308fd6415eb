"""The Microsoft 365 flow with a real Celery worker on Redis.

The Graph emulator (HTTPS) and Tandem's web app (uvicorn) run in this
process on 127.0.0.1, and `tandem worker` runs as a child process on the
same database. Tasks the web app queues (discovery, subscriptions, syncs
after a notification) go through Redis to that worker. Explicit syncs are
sent with a `now`, so a test can let a meeting pass.

Tandem's own writes make the emulator notify Tandem again, as Graph does, so
the worker also runs syncs nobody sent by hand. Each count is taken after
`settle`, once the worker has gone quiet.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
import uvicorn
from celery import Celery
from celery.result import allow_join_result
from ms_fixtures import TenantSetup, ms_server_fixture, ms_tenant_fixture  # noqa: F401
from sqlalchemy import select

from addon import db, models
from addon.settings import get_settings
from addon.web.app import create_app
from workers.app import app as tandem_celery

MILA = "mila@contoso.example"
RAVI = "ravi@contoso.example"
REDIS_URL = os.environ.get("TANDEM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TOPIC = "Feedback on the quarterly plan"


@dataclass
class World:
    """The emulator tenant, Tandem's web app and a client of the worker's queue."""

    tenant: TenantSetup
    app_url: str
    client: Celery
    database_url: str

    def sync(self, mailbox_id: int, now: datetime) -> dict[str, Any]:
        """Run one sync on the worker at `now` and return its summary."""
        result = self.client.send_task(
            "tandem.sync_microsoft_mailbox", args=[mailbox_id, now.isoformat()]
        )
        with allow_join_result():
            return result.get(timeout=240)

    def rows(self, query: Any) -> list[Any]:
        engine = db.make_engine(self.database_url)
        try:
            with db.session_factory(engine)() as session:
                return list(session.scalars(query))
        finally:
            engine.dispose()

    def find_mailbox(self) -> models.MicrosoftMailbox | None:
        """Return Mila's mailbox row in this test's tenant, once discovered."""
        tenants = select(models.Tenant.id).where(
            models.Tenant.name == get_settings().tenant
        )
        calendars = select(models.Calendar.id).where(
            models.Calendar.address == MILA, models.Calendar.tenant_id.in_(tenants)
        )
        rows = self.rows(
            select(models.MicrosoftMailbox).where(
                models.MicrosoftMailbox.calendar_id.in_(calendars)
            )
        )
        assert len(rows) <= 1, rows
        return rows[0] if rows else None

    def mailbox(self) -> models.MicrosoftMailbox:
        mailbox = self.find_mailbox()
        assert mailbox is not None, "Mila's mailbox was not discovered"
        return mailbox

    def series_id(self) -> int:
        mailbox = self.mailbox()
        rows = self.rows(
            select(models.Series.id).where(
                models.Series.calendar_id == mailbox.calendar_id,
                models.Series.is_one_on_one.is_(True),
            )
        )
        assert len(rows) == 1, rows
        return rows[0]


def _redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {REDIS_URL}; CI must provide it.")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    return REDIS_URL


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(tenant: TenantSetup, base: str, database_url: str) -> dict[str, str]:
    application = tenant.control(
        "POST",
        "/applications",
        {"redirect_uris": [f"{base}/microsoft/admin-consent/callback"]},
    ).json()
    return {
        "CELERY_BROKER_URL": _redis_url(),
        "DATABASE_URL": database_url,
        "TANDEM_LOG_FORMAT": "text",
        "TANDEM_TENANT": f"msw-{uuid.uuid4().hex[:8]}",
        "TANDEM_DOMAINS": "contoso.example",
        "TANDEM_MS_CLIENT_ID": application["client_id"],
        "TANDEM_MS_CLIENT_SECRET": application["client_secret"],
        "TANDEM_MS_AUTHORITY_HOST": tenant.server.base_url,
        "TANDEM_MS_GRAPH_URL": tenant.server.base_url,
        "TANDEM_MS_CA_BUNDLE": str(tenant.server.ca_path),
        "TANDEM_MS_ADMIN_CONSENT_REDIRECT_URI": (
            f"{base}/microsoft/admin-consent/callback"
        ),
        "TANDEM_MS_NOTIFICATION_URL": f"{base}/microsoft/notifications",
        "TANDEM_MS_MAX_RETRY_WAIT": "30",
        "TANDEM_PUBLIC_URL": base,
        "REQUESTS_CA_BUNDLE": str(tenant.server.bundle_path),
    }


@pytest.fixture
def tasks_on_queue() -> Iterator[Callable[[str, str], None]]:
    """Send the tasks this process queues to a broker queue, then undo it.

    The Celery app is built once per process, eager when no broker was set
    when it was first imported. Its cached producer and connection pools
    would keep the memory transport, so they are dropped as well.
    """
    keys = ("broker_url", "result_backend", "task_always_eager", "task_default_queue")
    saved = {key: tandem_celery.conf[key] for key in keys}

    def route(broker: str, queue: str) -> None:
        tandem_celery.conf.update(
            broker_url=broker,
            result_backend=broker,
            task_always_eager=False,
            task_default_queue=queue,
        )
        tandem_celery.amqp.__dict__.pop("_producer_pool", None)
        tandem_celery._pool = None

    yield route
    tandem_celery.conf.update(saved)
    tandem_celery.amqp.__dict__.pop("_producer_pool", None)
    tandem_celery._pool = None


@pytest.fixture
def world(
    ms_tenant: TenantSetup,
    database_url: str,
    tasks_on_queue: Callable[[str, str], None],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[World]:
    """Start the web app here and `tandem worker` as a child, both on one queue."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    # A queue of this test's own, so a parallel run on the same Redis database
    # or tasks left by an interrupted one never reach this worker.
    queue = f"test-{uuid.uuid4().hex[:8]}"
    environment = {
        **_environment(ms_tenant, base, database_url),
        "TANDEM_CELERY_QUEUE": queue,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    tasks_on_queue(environment["CELERY_BROKER_URL"], queue)

    worker = _start_worker(environment, queue, tmp_path / "worker.log")
    server = _start_web(port)
    client = Celery("tandem-test", broker=REDIS_URL, backend=REDIS_URL)
    client.conf.task_default_queue = queue
    try:
        yield World(ms_tenant, base, client, database_url)
    finally:
        server.should_exit = True
        worker.terminate()
        worker.wait(timeout=30)
        client.close()
        get_settings.cache_clear()


def _start_worker(
    environment: dict[str, str], queue: str, log_path: Path
) -> subprocess.Popen[bytes]:
    tandem = shutil.which("tandem") or f"{sys.executable} -m addon.cli"
    log = log_path.open("w")
    return subprocess.Popen(
        [
            *tandem.split(),
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
        ],
        env={**os.environ, **environment},
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _start_web(port: int) -> uvicorn.Server:
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(get_settings()), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start within 20 seconds"
        time.sleep(0.05)
    return server


# -- helpers ------------------------------------------------------------------


# Generous limits: on a loaded 2-core machine one sync on the worker can take
# tens of seconds, and the tests are about outcomes, not speed.
def wait_for(check: Callable[[], bool], what: str, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout} seconds.")
        time.sleep(0.25)


def settle(world: World, quiet: float = 2.0, timeout: float = 300.0) -> None:
    """Wait until the worker has sent no Graph request for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    count, since = -1, time.monotonic()
    while time.monotonic() - since < quiet:
        assert time.monotonic() < deadline, "the worker did not go quiet"
        current = len(world.tenant.requests_log())
        # Only this test's tenant: earlier tests in the same database leave
        # mailboxes whose queued sync no worker ever ran.
        mailboxes = (
            select(models.MicrosoftMailbox)
            .join(models.Tenant)
            .where(models.Tenant.name == os.environ["TANDEM_TENANT"])
        )
        queued = any(row.sync_queued for row in world.rows(mailboxes))
        if current != count or queued:
            count, since = current, time.monotonic()
        time.sleep(0.25)


def graph_log(world: World, method: str | None = None) -> list[dict[str, Any]]:
    rows = [row for row in world.tenant.requests_log() if "/v1.0/" in row["path"]]
    return [row for row in rows if method is None or row["method"] == method]


def event_writes(world: World) -> list[dict[str, Any]]:
    """Tandem's successful PATCHes of events (it always sends If-Match)."""
    return [
        row
        for row in graph_log(world, "PATCH")
        if "/events/" in row["path"] and row["status"] == 200 and row["ifMatch"]
    ]


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


def instance(tenant: TenantSetup, master_id: str, start: datetime) -> dict[str, Any]:
    params = {
        "startDateTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "endDateTime": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    response = tenant.graph(
        "GET",
        f"/users/{MILA}/events/{master_id}/instances",
        tenant.app_token(),
        params=params,
    )
    assert response.status_code == 200, response.text
    return response.json()["value"][0]


def body_of(tenant: TenantSetup, master_id: str, start: datetime) -> str:
    return instance(tenant, master_id, start)["body"]["content"]


def consent(world: World) -> None:
    response = requests.get(
        f"{world.app_url}/microsoft/admin-consent",
        params={"tenant": world.tenant.tenant_id},
        timeout=60,
    )
    assert response.status_code == 200, response.text


def add_topic(world: World, text: str) -> None:
    response = requests.post(
        f"{world.app_url}/api/series/{world.series_id()}/topics",
        json={"text": text, "section": "role", "author": MILA},
        headers={"X-Tandem-Tenant": get_settings().tenant},
        timeout=10,
    )
    assert response.status_code == 201, response.text


def enabled_world(world: World) -> tuple[str, datetime]:
    """Seed the 1:1, let the admin consent and wait for its first agenda."""
    master_id, first = seed_one_on_one(world.tenant)
    consent(world)
    wait_for(
        lambda: "[Tandem agenda start" in body_of(world.tenant, master_id, first),
        "the first agenda",
    )
    settle(world)
    return master_id, first


# -- the flow -----------------------------------------------------------------


def test_worker_consent_to_followup(world: World) -> None:
    master_id, first = seed_one_on_one(world.tenant)

    consent(world)

    # The worker subscribed the mailbox; Graph (and the emulator) create a
    # subscription only after the endpoint echoed the validationToken.
    wait_for(
        lambda: getattr(world.find_mailbox(), "subscription_id", None) is not None,
        "a subscription",
    )
    subscribes = [
        row for row in graph_log(world, "POST") if "subscriptions" in row["path"]
    ]
    assert subscribes
    assert {row["status"] for row in subscribes} == {201}
    wait_for(
        lambda: "[Tandem agenda start" in body_of(world.tenant, master_id, first),
        "the first agenda",
    )
    settle(world)
    body = body_of(world.tenant, master_id, first)
    assert "Bring the roadmap." in body
    assert body.count("[Tandem agenda start") == 1

    # A change made in Outlook comes back as a notification and a sync.
    world.tenant.control("DELETE", "/requests")
    world.tenant.graph(
        "PATCH",
        f"/users/{MILA}/events/{master_id}",
        world.tenant.app_token(),
        json={"location": {"displayName": "Room 4"}},
    )
    wait_for(
        lambda: any("/calendarView/delta" in row["path"] for row in graph_log(world)),
        "a sync after the notification",
    )
    settle(world)
    assert event_writes(world) == []

    # A topic added through the API: exactly one PATCH, then nothing.
    add_topic(world, TOPIC)
    world.tenant.control("DELETE", "/requests")
    now = datetime.now(UTC)
    summary = world.sync(world.mailbox().id, now)
    settle(world)
    assert summary["written"] == 1
    assert len(event_writes(world)) == 1
    assert TOPIC in body_of(world.tenant, master_id, first)
    assert "Bring the roadmap." in body_of(world.tenant, master_id, first)

    world.tenant.control("DELETE", "/requests")
    again = world.sync(world.mailbox().id, now)
    assert again["written"] == 0
    assert event_writes(world) == []
    assert len(graph_log(world)) == 1

    # The meeting passes: the next occurrence gets the topic carried over.
    second = first + timedelta(weeks=1)
    later = world.sync(world.mailbox().id, first + timedelta(hours=1))
    assert later["written"] == 1
    assert TOPIC in body_of(world.tenant, master_id, second)

    # A goal review in the series leads to exactly one follow-up event.
    review = instance(world.tenant, master_id, second + timedelta(weeks=1))
    world.tenant.graph(
        "PATCH",
        f"/users/{MILA}/events/{review['id']}",
        world.tenant.app_token(),
        json={"subject": "Mila / Ravi goal review"},
    )
    world.tenant.control("DELETE", "/requests")
    world.sync(world.mailbox().id, first + timedelta(hours=1))
    world.sync(world.mailbox().id, first + timedelta(hours=2))
    settle(world)
    created = [
        row
        for row in graph_log(world, "POST")
        if row["path"].endswith("/events") and row["status"] == 201
    ]
    assert len(created) == 1
    followups = world.rows(
        select(models.FollowUp).where(models.FollowUp.series_id == world.series_id())
    )
    assert len(followups) == 1


def test_worker_faults_survived(world: World) -> None:
    master_id, first = enabled_world(world)
    mailbox_id = world.mailbox().id
    now = datetime.now(UTC)

    # 412 on the write: Tandem reads again and writes once.
    add_topic(world, TOPIC)
    world.tenant.control("DELETE", "/requests")
    world.tenant.control(
        "POST", "/faults", {"status": 412, "count": 1, "method": "PATCH"}
    )
    conflict = world.sync(mailbox_id, now)
    assert conflict["written"] == 1
    assert len(event_writes(world)) == 1
    body = body_of(world.tenant, master_id, first)
    assert body.count(TOPIC) == 1
    assert body.count("[Tandem agenda start") == 1

    # A 429 storm with Retry-After: the sync waits it out and writes once.
    add_topic(world, "Training budget")
    settle(world)
    world.tenant.control("DELETE", "/requests")
    world.tenant.control(
        "POST", "/faults", {"status": 429, "count": 4, "retry_after": 1}
    )
    storm = world.sync(mailbox_id, now)
    assert storm["written"] == 1
    assert len(event_writes(world)) == 1
    assert len([row for row in graph_log(world) if row["status"] == 429]) == 4
    assert "Training budget" in body_of(world.tenant, master_id, first)

    # A lost delta token: a full round, nothing written, nothing lost.
    settle(world)
    world.tenant.control("POST", "/delta-tokens/expire")
    world.tenant.control("DELETE", "/requests")
    full = world.sync(mailbox_id, now)
    assert full["written"] == 0
    assert event_writes(world) == []
    assert world.series_id()
    body = body_of(world.tenant, master_id, first)
    assert TOPIC in body
    assert "Training budget" in body

    # A removed subscription: the lifecycle notification makes Tandem subscribe
    # again, and the sync it queues writes nothing.
    old = world.mailbox().subscription_id
    world.tenant.control("DELETE", "/requests")
    world.tenant.control("DELETE", f"/subscriptions/{old}")
    wait_for(
        lambda: world.mailbox().subscription_id not in (None, old),
        "a new subscription",
    )
    settle(world)
    assert event_writes(world) == []

    # A revoked consent: the connection needs consent, nothing is written, and
    # the topics stay in Tandem.
    world.tenant.control(
        "DELETE",
        f"/tenants/{world.tenant.tenant_id}/admin-consent/{get_settings().ms_client_id}",
    )
    world.tenant.control("DELETE", "/requests")
    revoked = world.sync(mailbox_id, now)
    assert revoked["skipped"] == "needs-consent"
    assert event_writes(world) == []
    listed = requests.get(
        f"{world.app_url}/api/microsoft/connections",
        headers={"X-Tandem-Tenant": get_settings().tenant},
        timeout=10,
    ).json()
    assert [row["state"] for row in listed] == ["needs-consent"]
    topics = world.rows(
        select(models.Topic.text).where(models.Topic.series_id == world.series_id())
    )
    assert sorted(topics) == sorted([TOPIC, "Training budget"])
