"""The sync task on a real Celery worker process, with Redis as broker and backend."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery
from celery.result import allow_join_result
from sqlalchemy import select

from addon import db, models
from addon.service import get_or_create_calendar, get_or_create_tenant
from addon.settings import Settings

OFFICE = Path(__file__).parents[1] / "functional" / "data" / "office.ics"
REDIS_URL = os.environ.get("TANDEM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="module")
def broker() -> str:
    if not _redis_available():
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {REDIS_URL}; CI must provide it.")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    return REDIS_URL


@pytest.fixture
def worker(broker: str, database_url: str, tmp_path: Path) -> Iterator[Celery]:
    """Start `tandem worker` as a child process; yield a client on the same broker."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "CELERY_BROKER_URL": broker,
        "DATABASE_URL": database_url,
        "TANDEM_LOG_FORMAT": "text",
    }
    tandem = shutil.which("tandem") or f"{sys.executable} -m addon.cli"
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(
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
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    client = Celery("tandem-test", broker=broker, backend=broker)
    client.conf.task_default_queue = queue
    try:
        yield client
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        client.close()


def test_sync_task_runs_on_worker(
    worker: Celery, database_url: str, tmp_path: Path
) -> None:
    engine = db.make_engine(database_url)
    sessions = db.session_factory(engine)
    tenant_name = f"worker-{uuid.uuid4().hex[:8]}"
    with db.transaction(sessions) as session:
        tenant = get_or_create_tenant(
            session, Settings(tenant=tenant_name, domains=["office.test"]), tenant_name
        )
        calendar_id = get_or_create_calendar(session, tenant, "ics", "office").id
    source = tmp_path / "office.ics"
    shutil.copy(OFFICE, source)
    target = tmp_path / "synced.ics"

    result = worker.send_task(
        "tandem.sync_ics_calendar", args=[calendar_id, str(source), str(target)]
    )
    # Eager-mode tests earlier in the same process leave Celery believing it is
    # inside a task, where a blocking get() is refused.
    with allow_join_result():
        summary = result.get(timeout=120)

    assert summary["calendar_id"] == calendar_id
    assert summary["one_on_ones"] == 3
    assert target.exists()
    with sessions() as session:
        rows = session.scalars(
            select(models.Series).where(
                models.Series.calendar_id == calendar_id,
                models.Series.is_one_on_one.is_(True),
            )
        ).all()
        assert sorted(row.uid for row in rows) == [
            "pair-anna-bram@office.test",
            "pair-anna-chris@office.test",
            "pair-anna-eva@office.test",
        ]
        calendar = session.get(models.Calendar, calendar_id)
        assert calendar is not None and calendar.last_synced_at is not None
    engine.dispose()
