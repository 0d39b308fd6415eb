"""Invite refresh after a reply: named file calendars and provider calendars."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from mail_fixtures import next_start, weekly_ics
from sqlalchemy.orm import Session, sessionmaker

from addon import db, models
from addon.agenda import Section
from addon.mail.models import CalendarFiles
from addon.mail.refresh import (
    SyncTarget,
    refresh_calendar,
    remember_calendar_files,
    sync_target,
)
from addon.service import SyncService, get_or_create_calendar, get_or_create_tenant
from addon.settings import Settings, get_settings
from calendar_sync.providers.ical import ICalendarProvider
from workers.mail_tasks import refresh_invites

TOPIC = "the hiring plan for spring"


def _named_calendar(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> tuple[int, Path, Path]:
    """Sync a file under a calendar name, as `tandem sync --calendar team` does."""
    source, output = tmp_path / "in" / "team.ics", tmp_path / "out" / "team.ics"
    source.parent.mkdir()
    output.parent.mkdir()
    start = next_start()
    weekly_ics(source, start, f"named-{uuid.uuid4().hex[:8]}@example.test")
    provider = ICalendarProvider(source)
    with db.transaction(factory) as session:
        tenant = get_or_create_tenant(session, settings)
        calendar = get_or_create_calendar(session, tenant, "ics", "team")
        SyncService(session, tenant, settings, start - timedelta(days=1)).sync(
            provider, calendar
        )
        remember_calendar_files(session, calendar, source, output)
        calendar_id = calendar.id
    provider.save(output)
    return calendar_id, source, output


def _unfolded(path: Path) -> str:
    # RFC 5545 section 3.1: long lines are folded with a newline and a space.
    return path.read_text(encoding="utf-8").replace("\r\n ", "").replace("\n ", "")


def _add_topic(factory: sessionmaker[Session], calendar_id: int) -> None:
    with db.transaction(factory) as session:
        series = session.query(models.Series).filter_by(calendar_id=calendar_id).one()
        occurrence = (
            session.query(models.Occurrence).filter_by(series_id=series.id).first()
        )
        session.add(
            models.Topic(
                tenant_id=series.tenant_id,
                series_id=series.id,
                raised_for=occurrence.start,
                section=Section.ROLE,
                text=TOPIC,
                source="email",
            )
        )


def test_refresh_named_file_calendar(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    calendar_id, source, output = _named_calendar(factory, settings, tmp_path)
    source_before = source.read_bytes()
    _add_topic(factory, calendar_id)
    start = next_start()

    written = refresh_calendar(
        factory, settings, calendar_id, start - timedelta(hours=1)
    )

    assert written == 1
    assert TOPIC in _unfolded(output)
    assert source.read_bytes() == source_before


def test_refresh_paths_stored_absolute(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    calendar_id, source, output = _named_calendar(factory, settings, tmp_path)

    with factory() as session:
        row = session.get(CalendarFiles, calendar_id)

    assert row is not None
    assert row.source_path == str(source.resolve())
    assert row.output_path == str(output.resolve())


def test_refresh_missing_source_skips(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    calendar_id, source, output = _named_calendar(factory, settings, tmp_path)
    source.unlink()
    output_before = output.read_bytes()

    written = refresh_calendar(factory, settings, calendar_id, next_start())

    assert written is None
    assert output.read_bytes() == output_before


def test_refresh_unknown_name_skips(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    with db.transaction(factory) as session:
        tenant = get_or_create_tenant(session, settings)
        calendar = get_or_create_calendar(session, tenant, "ics", "never-synced")
        calendar_id = calendar.id

    assert refresh_calendar(factory, settings, calendar_id, next_start()) is None


def _provider_calendar(
    factory: sessionmaker[Session], settings: Settings, provider: str, queued: bool
) -> tuple[int, int]:
    """Add a calendar with its Microsoft mailbox or Google calendar row."""
    with db.transaction(factory) as session:
        tenant = get_or_create_tenant(session, settings)
        address = f"{uuid.uuid4().hex[:8]}@contoso.example"
        calendar = get_or_create_calendar(session, tenant, provider, address)
        if provider == "microsoft":
            connection = models.MicrosoftConnection(
                tenant_id=tenant.id, kind="tenant", state="pending"
            )
            session.add(connection)
            session.flush()
            row = models.MicrosoftMailbox(
                tenant_id=tenant.id,
                connection_id=connection.id,
                calendar_id=calendar.id,
                sync_queued=queued,
            )
        else:
            connection = models.GoogleConnection(
                tenant_id=tenant.id, kind="domain", email=address, state="pending"
            )
            session.add(connection)
            session.flush()
            row = models.GoogleCalendar(
                tenant_id=tenant.id,
                connection_id=connection.id,
                calendar_id=calendar.id,
                sync_queued=queued,
            )
        session.add(row)
        session.flush()
        return calendar.id, row.id


@pytest.mark.parametrize("provider", ["microsoft", "google"])
def test_sync_target_names_provider_row(
    factory: sessionmaker[Session], settings: Settings, provider: str
) -> None:
    calendar_id, row_id = _provider_calendar(factory, settings, provider, False)

    with factory() as session:
        target = sync_target(session, session.get_one(models.Calendar, calendar_id))

    assert target == SyncTarget(provider, row_id)


@pytest.fixture
def env_settings(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    # Tasks read the process-wide settings, so the environment carries them.
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TANDEM_TENANT", settings.tenant)
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()


def test_refresh_task_already_queued(
    factory: sessionmaker[Session], env_settings: Settings
) -> None:
    calendar_id, _ = _provider_calendar(factory, env_settings, "microsoft", True)

    result = refresh_invites(calendar_id)

    assert result == {
        "calendar_id": calendar_id,
        "queued": "microsoft",
        "already_queued": True,
    }


def test_refresh_task_runs_mailbox_sync(
    factory: sessionmaker[Session], env_settings: Settings
) -> None:
    calendar_id, mailbox_id = _provider_calendar(
        factory, env_settings, "microsoft", False
    )

    result = refresh_invites(calendar_id)

    assert result["already_queued"] is False
    with factory() as session:
        mailbox = session.get_one(models.MicrosoftMailbox, mailbox_id)
    # With no broker the sync task runs in this process. It clears the flag
    # and then skips, because the connection still waits for consent.
    assert mailbox.sync_queued is False
