"""Fixtures of the email tests: committed data, settings and a local SMTP sink.

The email flow runs across transactions and processes (the outbox claims in
a transaction of its own, `tandem smtpd` runs in a subprocess), so these
fixtures commit their rows instead of using the rolled-back `session`.
Each test gets a tenant of its own, so committed rows never meet.
"""

from __future__ import annotations

import email
import email.policy
import os
import smtplib
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from addon import db, models
from addon.service import SyncService, get_or_create_calendar, get_or_create_tenant
from addon.settings import Settings
from calendar_sync.providers.ical import ICalendarProvider

MANAGER = "manager@example.test"
#: Inbound size limit of the `tandem smtpd` under test, in bytes.
MAX_BYTES = 4096
EMPLOYEE = "employee@example.test"

ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Tandem tests//email//EN
BEGIN:VEVENT
UID:{uid}
DTSTAMP:20260101T000000Z
DTSTART:{start}
DTEND:{end}
RRULE:FREQ=WEEKLY
SUMMARY:1:1 Mira / Ravi
DESCRIPTION:Keep this line.
ORGANIZER;CN=Mira Manager:mailto:{manager}
ATTENDEE;CN=Mira Manager;PARTSTAT=ACCEPTED:mailto:{manager}
ATTENDEE;CN=Ravi Employee;PARTSTAT=ACCEPTED:mailto:{employee}
END:VEVENT
END:VCALENDAR
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class SinkHandler:
    """Records every message; `codes` are the replies to the next DATA commands."""

    received: list[Received] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        if self.codes:
            return self.codes.pop(0)
        message = email.message_from_bytes(
            envelope.original_content, policy=email.policy.default
        )
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), message)
        )
        return "250 OK"


@pytest.fixture
def sink() -> Iterator[tuple[SinkHandler, int]]:
    """A local SMTP server that keeps what Tandem sends."""
    handler = SinkHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return db.session_factory(engine)


@pytest.fixture
def settings(database_url: str, sink: tuple[SinkHandler, int]) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        tenant=f"mail-{uuid.uuid4().hex[:8]}",
        inbound_domain="in.tandem.test",
        reply_key="test-key-" + "x" * 32,
        sender_address="tandem@tandem.test",
        smtp_host="127.0.0.1",
        smtp_port=sink[1],
        public_url="https://tandem.test",
    )


@dataclass(frozen=True)
class World:
    """One tenant with one weekly 1:1, synced from an iCalendar file."""

    tenant_id: int
    calendar_id: int
    series_id: int
    occurrence_id: int
    people: dict[str, int]
    ics: Path
    start: datetime


def weekly_ics(path: Path, start: datetime, uid: str) -> None:
    stamp = "%Y%m%dT%H%M%SZ"
    text = ICS.format(
        uid=uid,
        start=start.strftime(stamp),
        end=(start + timedelta(minutes=30)).strftime(stamp),
        manager=MANAGER,
        employee=EMPLOYEE,
    )
    path.write_text(text.replace("\n", "\r\n"), encoding="utf-8")


def sync_file(
    factory: sessionmaker[Session], settings: Settings, path: Path, now: datetime
) -> int:
    """Run the normal sync on `path`, write it back and return the calendar id."""
    provider = ICalendarProvider(path)
    with db.transaction(factory) as session:
        tenant = get_or_create_tenant(session, settings)
        calendar = get_or_create_calendar(session, tenant, "ics", str(path))
        SyncService(session, tenant, settings, now).sync(provider, calendar)
        calendar_id = calendar.id
    provider.save()
    return calendar_id


def build_world(
    factory: sessionmaker[Session], settings: Settings, folder: Path, start: datetime
) -> World:
    path = folder / "team.ics"
    weekly_ics(path, start, f"weekly-{uuid.uuid4().hex[:8]}@example.test")
    calendar_id = sync_file(factory, settings, path, start - timedelta(days=1))
    with factory() as session:
        series = session.scalar(
            select(models.Series).where(models.Series.calendar_id == calendar_id)
        )
        assert series is not None and series.is_one_on_one
        occurrence = session.scalar(
            select(models.Occurrence).where(models.Occurrence.series_id == series.id)
        )
        assert occurrence is not None
        people = session.scalars(
            select(models.Person).where(models.Person.tenant_id == series.tenant_id)
        )
        return World(
            tenant_id=series.tenant_id,
            calendar_id=calendar_id,
            series_id=series.id,
            occurrence_id=occurrence.id,
            people={person.email: person.id for person in people},
            ics=path,
            start=occurrence.start,
        )


def next_start() -> datetime:
    """Two days from now at 10:00 UTC, so the next occurrence is upcoming."""
    day = datetime.now(UTC).date() + timedelta(days=2)
    return datetime(day.year, day.month, day.day, 10, tzinfo=UTC)


@pytest.fixture
def world(factory: sessionmaker[Session], settings: Settings, tmp_path: Path) -> World:
    return build_world(factory, settings, tmp_path, next_start())


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"tandem smtpd exited with {process.returncode}")
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=2) as client:
                client.noop()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"tandem smtpd did not listen on port {port} within 30 s")


@pytest.fixture
def smtpd_port(settings: Settings, tmp_path: Path) -> Iterator[int]:
    """`tandem smtpd` in a subprocess, on a free loopback port."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "TANDEM_INBOUND_DOMAIN": settings.inbound_domain,
        "TANDEM_REPLY_KEY": settings.reply_key,
        "TANDEM_MAX_MESSAGE_BYTES": str(MAX_BYTES),
        "TANDEM_SMTP_PORT": str(settings.smtp_port),
        "TANDEM_SENDER_ADDRESS": settings.sender_address,
    }
    env.pop("CELERY_BROKER_URL", None)
    command = [
        str(Path(sys.executable).with_name("tandem")),
        "-v",
        "smtpd",
        "--port",
        str(port),
    ]
    log_path = tmp_path / "smtpd.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    try:
        _wait_for_port(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
        # Shown by pytest when the test fails.
        print(log_path.read_text(errors="replace"))
