"""The Google Workspace flow end to end, each part in its own process.

The Google emulator, Tandem's web app (uvicorn) and a Celery worker on Redis
run as child processes on 127.0.0.1; the test talks to them over HTTP and
Redis and reads the shared database. A domain of three people is enabled
through domain-wide delegation, Anna and Bram have a weekly 1:1, and the test
follows it through push, agenda writes, a topic, faults and a revoked grant.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import redis
from celery import Celery
from celery.result import allow_join_result
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from addon import db, models
from addon.service import get_or_create_tenant
from addon.settings import Settings
from calendar_sync import merge
from calendar_sync.providers.google import auth, mapping

REDIS_URL = os.environ.get("TANDEM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ROOT = Path(__file__).resolve().parents[2]
DOMAIN = "tandem.test"
ANNA = f"anna@{DOMAIN}"
BRAM = f"bram@{DOMAIN}"
CARO = f"caro@{DOMAIN}"
DAAN = f"daan@{DOMAIN}"
CLIENT_ID = "tandem-flow"
CLIENT_SECRET = "tandem-flow-secret"

pytestmark = pytest.mark.celery

# Both child processes send follow-on tasks to the test's own queue, so a
# shared Redis database never hands them to another worker.
_WEB = """
import sys, uvicorn
from workers.app import app as celery
celery.conf.task_default_queue = sys.argv[2]
from addon.web import google
from addon.web.app import create_app
web = create_app()
web.include_router(google.router)
web.include_router(google.api)
uvicorn.run(web, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""

_WORKER = """
import sys
from workers.app import app
import workers.google_tasks
app.conf.task_default_queue = sys.argv[1]
app.worker_main(["worker", "--loglevel=INFO", "--pool=solo", "-Q", sys.argv[1],
                 "--without-gossip", "--without-mingle"])
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(check: Callable[[], Any], what: str, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = check()
        except (httpx.HTTPError, OSError):
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {seconds} s")


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, *args], env=env, cwd=ROOT, stdout=out, stderr=out
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def broker() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {REDIS_URL}; CI must provide it.")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    return REDIS_URL


class World:
    """The running processes and what the test needs to reach them."""

    def __init__(
        self, emulator: str, web: str, celery: Celery, queue: str, tenant: str
    ) -> None:
        self.emulator = emulator
        self.tenant = tenant
        self.web = web
        self.celery = celery
        self.queue = queue
        self.control = httpx.Client(base_url=emulator, timeout=10, trust_env=False)
        self.http = httpx.Client(base_url=web, timeout=10, trust_env=False)

    def run(self, task: str, *args: object) -> Any:
        result = self.celery.send_task(task, args=list(args), queue=self.queue)
        # Eager-mode tests earlier in the same process leave Celery believing
        # it is inside a task, where a blocking get() is refused.
        with allow_join_result():
            return result.get(timeout=180)

    def sync(self, google_calendar_id: int, now: datetime) -> dict[str, Any]:
        """Run one sync on the worker that takes `now` as the current time."""
        return self.run(
            "tandem.sync_google_calendar", google_calendar_id, now.isoformat()
        )

    def api(self, user: str) -> httpx.Client:
        """Return a client of the emulator's Calendar API that acts as `user`."""
        token = self.control.post(
            "/_emulator/tokens", json={"user": user, "scopes": [auth.CALENDAR_SCOPE]}
        ).json()["access_token"]
        return httpx.Client(
            base_url=self.emulator + "calendar/v3/",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
            trust_env=False,
        )

    def requests(self, method: str | None = None) -> list[dict[str, Any]]:
        params = {"method": method} if method else {}
        reply = self.control.get("/_emulator/requests", params=params)
        return reply.json()

    def forget_requests(self) -> None:
        self.control.delete("/_emulator/requests").raise_for_status()

    def settle(self, quiet: float = 2.0, seconds: float = 120.0) -> None:
        """Wait until the worker has sent no request for `quiet` seconds.

        A write makes Google notify every channel on the event, so syncs the
        test did not ask for may still be queued after the one it waited for.
        """
        deadline = time.monotonic() + seconds
        count, since = -1, time.monotonic()
        while time.monotonic() - since < quiet:
            if time.monotonic() > deadline:
                raise AssertionError(f"the worker did not go quiet within {seconds} s")
            now_count = len(self.requests())
            if now_count != count:
                count, since = now_count, time.monotonic()
            time.sleep(0.2)


@pytest.fixture
def world(broker: str, database_url: str, tmp_path: Path) -> Iterator[World]:
    emulator_port, web_port = _free_port(), _free_port()
    emulator = f"http://127.0.0.1:{emulator_port}/"
    web = f"http://127.0.0.1:{web_port}"
    queue = f"google-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CELERY_BROKER_URL": broker,
        "DATABASE_URL": database_url,
        "TANDEM_TENANT": f"google-{uuid.uuid4().hex[:8]}",
        "TANDEM_DOMAINS": DOMAIN,
        "TANDEM_LOG_FORMAT": "text",
        "TANDEM_GOOGLE_CLIENT_ID": CLIENT_ID,
        "TANDEM_GOOGLE_CLIENT_SECRET": CLIENT_SECRET,
        "TANDEM_GOOGLE_API_ENDPOINT": emulator,
        "TANDEM_GOOGLE_TOKEN_URI": emulator + "token",
        "TANDEM_GOOGLE_AUTH_URI": emulator + "o/oauth2/v2/auth",
        "TANDEM_GOOGLE_REVOKE_URI": emulator + "revoke",
        "TANDEM_GOOGLE_REDIRECT_URI": f"{web}/oauth/google/callback",
        "TANDEM_GOOGLE_PUSH_URL": f"{web}/google/notifications",
        "TANDEM_GOOGLE_MAX_BACKOFF": "0.2",
        "TANDEM_GOOGLE_USER_REQUESTS_PER_SECOND": "0",
    }
    processes = [
        _start(
            ["-m", "emulators.google", "--port", str(emulator_port)],
            env,
            tmp_path / "emulator.log",
        ),
        _start(["-c", _WEB, str(web_port), queue], env, tmp_path / "web.log"),
        _start(["-c", _WORKER, queue], env, tmp_path / "worker.log"),
    ]
    celery = Celery("tandem-google-test", broker=broker, backend=broker)
    try:
        created = World(emulator, web, celery, queue, env["TANDEM_TENANT"])
        _wait_for(
            lambda: created.control.get("/_emulator/state").is_success, "emulator start"
        )
        _wait_for(lambda: created.http.get("/healthz").is_success, "web app start")
        _seed(created, env)
        yield created
    finally:
        celery.close()
        for process in reversed(processes):
            _stop(process)


def _seed(world: World, env: dict[str, str]) -> None:
    control = world.control
    for email, extra in (
        (ANNA, {"is_admin": True, "given_name": "Anna"}),
        (BRAM, {"manager": ANNA, "given_name": "Bram"}),
        (CARO, {"manager": ANNA, "given_name": "Caro"}),
        (DAAN, {"given_name": "Daan"}),
    ):
        body = {"email": email, "time_zone": "Europe/Amsterdam", **extra}
        control.post("/_emulator/users", json=body).raise_for_status()
    control.post(
        "/_emulator/oauth-clients",
        json={
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [env["TANDEM_GOOGLE_REDIRECT_URI"]],
        },
    ).raise_for_status()


def _weekly_one_on_one(
    world: World, organizer: str = ANNA, attendee: str = BRAM
) -> dict[str, Any]:
    """A weekly 1:1 (Anna and Bram by default) whose next occurrence is in two days."""
    first = (datetime.now(UTC) + timedelta(days=2)).date() - timedelta(weeks=2)
    body = {
        "summary": "Anna / Bram 1:1",
        "description": "Our weekly check-in.",
        "start": {"dateTime": f"{first}T10:00:00", "timeZone": "Europe/Amsterdam"},
        "end": {"dateTime": f"{first}T10:30:00", "timeZone": "Europe/Amsterdam"},
        "recurrence": ["RRULE:FREQ=WEEKLY"],
        "attendees": [
            {"email": organizer, "responseStatus": "accepted"},
            {"email": attendee, "responseStatus": "accepted"},
        ],
    }
    reply = world.control.post(f"/_emulator/calendars/{organizer}/events", json=body)
    reply.raise_for_status()
    return reply.json()


def _enable_domain(world: World, database_url: str) -> int:
    key = world.control.post(
        "/_emulator/service-accounts",
        json={
            "client_email": "tandem@flow.iam.gserviceaccount.com",
            "delegated_scopes": {DOMAIN: list(auth.DOMAIN_SCOPES)},
        },
    ).json()["key_file"]
    from workers.google_tasks import connect_domain

    settings = Settings(tenant=world.tenant, domains=[DOMAIN])
    engine = db.make_engine(database_url)
    try:
        with db.transaction(db.session_factory(engine)) as session:
            tenant = get_or_create_tenant(session, settings)
            return connect_domain(session, settings, tenant, key, ANNA, DOMAIN)
    finally:
        engine.dispose()


def _rows(database_url: str, read: Callable[[Session], Any]) -> Any:
    engine = db.make_engine(database_url)
    try:
        with db.session_factory(engine)() as session:
            return read(session)
    finally:
        engine.dispose()


def _tenant_ids(world: World) -> Any:
    """Select the id of this test's tenant; the database is shared by the module."""
    return select(models.Tenant.id).where(models.Tenant.name == world.tenant)


def _google_calendar_id(world: World, database_url: str, address: str) -> int:
    def read(session: Session) -> int | None:
        return session.scalar(
            select(models.GoogleCalendar.id)
            .join(
                models.Calendar, models.Calendar.id == models.GoogleCalendar.calendar_id
            )
            .where(
                models.Calendar.address == address,
                models.Calendar.tenant_id.in_(_tenant_ids(world)),
            )
        )

    return _wait_for(lambda: _rows(database_url, read), f"calendar row of {address}")


def _next_instance(world: World, series: dict[str, Any]) -> dict[str, Any]:
    token = world.control.post(
        "/_emulator/tokens", json={"user": ANNA, "scopes": [auth.CALENDAR_SCOPE]}
    ).json()["access_token"]
    now = datetime.now(UTC)
    reply = world.control.get(
        f"/calendar/v3/calendars/{ANNA}/events/{series['id']}/instances",
        params={
            "timeMin": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "timeMax": (now + timedelta(days=8)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    reply.raise_for_status()
    return reply.json()["items"][0]


def test_domain_one_on_one_flow(world: World, database_url: str) -> None:
    series = _weekly_one_on_one(world)
    connection_id = _enable_domain(world, database_url)

    # A domain enabled by delegation: every person gets a calendar and a channel.
    people = world.run("tandem.enable_google_domain", connection_id)
    anna_id = _google_calendar_id(world, database_url, ANNA)
    _wait_for(lambda: world.requests("calendar.events.patch"), "first agenda write")
    _wait_for(
        lambda: (
            len(
                [
                    r
                    for r in world.requests("calendar.events.watch")
                    if r["status"] == 200
                ]
            )
            == 4
        ),
        "watch channels",
    )
    assert people == 4

    # The next occurrence carries the agenda and the organizer's own text.
    instance = _next_instance(world, series)
    assert "Our weekly check-in." in instance["description"]
    assert merge.find_block_html(instance["description"]) is not None
    patch = world.requests("calendar.events.patch")[0]
    assert patch["send_updates"] == "none"
    assert patch["if_match"]
    assert patch["user"] == ANNA
    assert [
        r for r in world.requests("calendar.events.patch") if r["user"] == BRAM
    ] == []

    # A change in the calendar reaches Tandem by push and leads to a sync.
    world.forget_requests()
    world.control.post(
        f"/_emulator/calendars/{ANNA}/events",
        json={
            "summary": "Lunch",
            "start": {"dateTime": "2030-01-07T12:00:00Z"},
            "end": {"dateTime": "2030-01-07T13:00:00Z"},
        },
    ).raise_for_status()
    _wait_for(
        lambda: any(r["user"] == ANNA for r in world.requests("calendar.events.list")),
        "sync after the push notification",
    )

    # A topic added through the API costs exactly one PATCH.
    def one_on_one(session: Session) -> int | None:
        return session.scalar(
            select(models.Series.id).where(
                models.Series.is_one_on_one.is_(True),
                models.Series.organizer_email == ANNA,
            )
        )

    series_id = _rows(database_url, one_on_one)
    world.settle()
    world.http.post(
        f"/api/series/{series_id}/topics",
        json={"text": "Werkdruk", "section": "personal"},
        headers={"X-Tandem-Tenant": world.tenant},
    ).raise_for_status()
    world.forget_requests()
    report = world.run("tandem.sync_google_calendar", anna_id)
    assert report["written"] == 1, report
    assert len(world.requests("calendar.events.patch")) == 1
    assert "Werkdruk" in _next_instance(world, series)["description"]

    # A second sync writes nothing and costs one request.
    world.forget_requests()
    report = world.run("tandem.sync_google_calendar", anna_id)
    assert report["written"] == 0
    assert report["requests"] == 1
    assert world.requests("calendar.events.patch") == []

    # A 429 storm is waited out; nothing is written twice.
    world.control.post(
        "/_emulator/faults",
        json={"method": "calendar.events.list", "kind": "429", "count": 3},
    ).raise_for_status()
    world.forget_requests()
    report = world.run("tandem.sync_google_calendar", anna_id)
    # Tandem's own writes notify the channel too, so another sync may follow.
    statuses = [r["status"] for r in world.requests("calendar.events.list")]
    assert statuses[:4] == [429, 429, 429, 200]
    assert report["written"] == 0
    assert world.requests("calendar.events.patch") == []

    # An expired sync token leads to a full listing, still without a write.
    world.control.post("/_emulator/sync-tokens/expire").raise_for_status()
    world.forget_requests()
    report = world.run("tandem.sync_google_calendar", anna_id)
    statuses = [r["status"] for r in world.requests("calendar.events.list")]
    assert 410 in statuses
    assert report["written"] == 0
    assert world.requests("calendar.events.patch") == []
    assert "Werkdruk" in _next_instance(world, series)["description"]


def _connect(world: World, email: str) -> None:
    """Let `email` consent through the web app's OAuth flow."""
    start = world.http.get("/oauth/google/start", params={"login_hint": email})
    consent = httpx.get(start.headers["location"], trust_env=False)
    finished = world.http.get(consent.headers["location"].removeprefix(world.web))
    assert finished.status_code == 200, finished.text


def test_revoked_grant_needs_consent(world: World, database_url: str) -> None:
    series = _weekly_one_on_one(world, DAAN, CARO)
    _connect(world, DAAN)
    daan_id = _google_calendar_id(world, database_url, DAAN)
    _wait_for(lambda: _writes(world), "first agenda write")
    _settle(world, database_url)
    _add_topic(world, database_url, TOPIC, DAAN)

    world.control.post(
        "/_emulator/refresh-tokens/revoke", json={"user": DAAN}
    ).raise_for_status()
    world.forget_requests()
    report = world.run("tandem.sync_google_calendar", daan_id)
    again = world.run("tandem.sync_google_calendar", daan_id)

    assert report["skipped"] == "needs-consent"
    assert again["skipped"] == "needs-consent"
    assert world.requests("calendar.events.patch") == []
    listed = world.http.get(
        "/api/google/connections",
        headers={"X-Tandem-Tenant": world.tenant},
    ).json()
    assert [(row["email"], row["state"]) for row in listed] == [(DAAN, "needs-consent")]

    # Consenting again revives the connection; the topic kept in Tandem is
    # written with one PATCH, and the block appears once.
    _connect(world, DAAN)
    _settle(world, database_url)
    description = _instance_at(world, series, _next_start(), DAAN)["description"]
    listed = world.http.get(
        "/api/google/connections",
        headers={"X-Tandem-Tenant": world.tenant},
    ).json()
    assert [(row["email"], row["state"]) for row in listed] == [(DAAN, "active")]
    assert len(_writes(world)) == 1
    assert description.count(TOPIC) == 1
    assert description.count("Our weekly check-in.") == 1


# -- time passing, follow-ups and conflicts ---------------------------------

TOPIC = "Werkdruk"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def _settle(world: World, database_url: str, quiet: float = 2.0) -> None:
    """Wait until no sync is queued and the emulator saw no request for `quiet` s.

    Tandem's own writes notify its watch channels, as at Google, so the worker
    also runs syncs that nobody sent; counts are taken once it is quiet.
    """

    def queued(session: Session) -> bool:
        rows = session.scalars(
            select(models.GoogleCalendar.sync_queued).where(
                models.GoogleCalendar.tenant_id.in_(_tenant_ids(world))
            )
        )
        return any(rows)

    deadline = time.monotonic() + 90
    count, since = -1, time.monotonic()
    while time.monotonic() - since < quiet:
        assert time.monotonic() < deadline, "the worker did not go quiet"
        current = len(world.requests())
        if current != count or _rows(database_url, queued):
            count, since = current, time.monotonic()
        time.sleep(0.25)


def _next_start() -> datetime:
    """The start of the occurrence `_weekly_one_on_one` makes the next one."""
    day = (datetime.now(UTC) + timedelta(days=2)).date()
    return datetime.combine(day, dt_time(10), AMSTERDAM)


def _instance_at(
    world: World, series: dict[str, Any], start: datetime, owner: str = ANNA
) -> dict:
    with world.api(owner) as api:
        reply = api.get(
            f"calendars/{owner}/events/{series['id']}/instances",
            params={
                "timeMin": _utc(start - timedelta(minutes=1)),
                "timeMax": _utc(start + timedelta(minutes=1)),
            },
        )
    reply.raise_for_status()
    [item] = reply.json()["items"]
    return item


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _writes(world: World) -> list[dict[str, Any]]:
    return [r for r in world.requests("calendar.events.patch") if r["status"] == 200]


def _add_topic(
    world: World, database_url: str, text: str, organizer: str = ANNA
) -> None:
    def one_on_one(session: Session) -> int | None:
        return session.scalar(
            select(models.Series.id).where(
                models.Series.is_one_on_one.is_(True),
                models.Series.organizer_email == organizer,
                models.Series.tenant_id.in_(_tenant_ids(world)),
            )
        )

    world.http.post(
        f"/api/series/{_rows(database_url, one_on_one)}/topics",
        json={"text": text, "section": "personal"},
        headers={"X-Tandem-Tenant": world.tenant},
    ).raise_for_status()


def _busy(world: World, start: datetime, end: datetime) -> list[tuple[str, str]]:
    """Return the busy periods of Anna and Bram in [start, end) from freebusy."""
    body = {
        "timeMin": _utc(start),
        "timeMax": _utc(end),
        "items": [{"id": ANNA}, {"id": BRAM}],
    }
    with world.api(ANNA) as api:
        reply = api.post("freeBusy", json=body)
    reply.raise_for_status()
    calendars = reply.json()["calendars"]
    return [
        (period["start"], period["end"])
        for person in (ANNA, BRAM)
        for period in calendars[person]["busy"]
    ]


def _overlaps(start: datetime, end: datetime, periods: list[tuple[str, str]]) -> bool:
    return any(
        datetime.fromisoformat(a) < end and start < datetime.fromisoformat(b)
        for a, b in periods
    )


def _followups(world: World, database_url: str) -> list[tuple[str, datetime, datetime]]:
    def read(session: Session) -> list[tuple[str, datetime, datetime]]:
        rows = session.execute(
            select(
                models.FollowUp.uid, models.FollowUp.start, models.FollowUp.end
            ).where(models.FollowUp.tenant_id.in_(_tenant_ids(world)))
        )
        return [tuple(row) for row in rows]

    return _rows(database_url, read)


def _forget_followups(world: World, database_url: str) -> None:
    engine = db.make_engine(database_url)
    try:
        with db.transaction(db.session_factory(engine)) as session:
            session.execute(
                delete(models.FollowUp).where(
                    models.FollowUp.tenant_id.in_(_tenant_ids(world))
                )
            )
    finally:
        engine.dispose()


def _rename(world: World, event: dict[str, Any], summary: str) -> None:
    with world.api(ANNA) as api:
        reply = api.patch(
            f"calendars/{ANNA}/events/{event['id']}", json={"summary": summary}
        )
    reply.raise_for_status()


def test_meeting_passes_and_followup(world: World, database_url: str) -> None:
    series = _weekly_one_on_one(world)
    world.run("tandem.enable_google_domain", _enable_domain(world, database_url))
    anna_id = _google_calendar_id(world, database_url, ANNA)
    _wait_for(lambda: _writes(world), "first agenda write")
    _settle(world, database_url)
    now, upcoming = datetime.now(UTC), _next_start()

    # A person edits the invite between Tandem's read and its write: the
    # PATCH meets 412, Tandem reads again and merges, and writes once.
    _add_topic(world, database_url, TOPIC)
    world.control.post(
        "/_emulator/faults",
        json={
            "method": "calendar.events.patch",
            "kind": "concurrentEdit",
            "text": "<p>Room 4.12</p>",
        },
    ).raise_for_status()
    world.forget_requests()
    report = world.sync(anna_id, now)
    statuses = [r["status"] for r in world.requests("calendar.events.patch")]
    description = _instance_at(world, series, upcoming)["description"]
    assert report["written"] == 1
    assert statuses == [412, 200]
    assert "Room 4.12" in description
    assert "Our weekly check-in." in description
    assert description.count(TOPIC) == 1
    assert merge.find_block_html(description) is not None
    _settle(world, database_url)

    # The meeting passes: the next occurrence gets the topic carried over.
    after = upcoming + timedelta(hours=1)
    world.forget_requests()
    report = world.sync(anna_id, after)
    following = _instance_at(world, series, upcoming + timedelta(weeks=1))
    assert report["written"] == 1
    assert TOPIC in following["description"]
    assert [r["user"] for r in _writes(world)] == [ANNA]
    _settle(world, database_url)

    # A goal review two weeks on leads to one follow-up in a free slot.
    review = _instance_at(world, series, upcoming + timedelta(weeks=2))
    target = upcoming + timedelta(weeks=8)
    busy = _busy(world, target - timedelta(days=7), target + timedelta(days=14))
    _rename(world, review, "Anna / Bram goal review")
    world.forget_requests()
    world.sync(anna_id, after)
    world.sync(anna_id, after)
    _settle(world, database_url)
    inserts = world.requests("calendar.events.insert")
    [(uid, start, end)] = _followups(world, database_url)
    assert [(r["status"], r["send_updates"]) for r in inserts] == [(200, "all")]
    assert not _overlaps(start, end, busy)
    with world.api(ANNA) as api:
        created = api.get(f"calendars/{ANNA}/events/{mapping.event_id_for(uid)}")
    created.raise_for_status()
    followup = created.json()
    assert {a["email"] for a in followup["attendees"]} == {ANNA, BRAM}
    assert merge.find_block(followup["description"]) is not None
    assert TOPIC in followup["description"]

    # The task is retried after its record of the follow-up was lost (as when
    # a worker dies between the insert and its commit): Google answers 409
    # for the same id, and Tandem takes the event it made before.
    _forget_followups(world, database_url)
    _rename(world, review, "Goal review: Anna / Bram")
    world.forget_requests()
    world.sync(anna_id, after)
    _settle(world, database_url)
    statuses = [r["status"] for r in world.requests("calendar.events.insert")]
    sent = [
        update
        for update in world.control.get("/_emulator/sent-updates").json()
        if update["method"] == "calendar.events.insert"
    ]
    assert statuses == [409]
    assert [row[0] for row in _followups(world, database_url)] == [uid]
    assert len(sent) == 1
