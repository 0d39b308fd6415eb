"""Incremental syncs of a calendar that keeps Tandem's writes between runs.

The provider here is the iCalendar provider over a file that stays in place,
declared persistent, with its calls counted: that is how a server calendar
behaves towards the sync engine (a cursor, changes only, writes that stay).
"""

from __future__ import annotations

import shutil
import uuid
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from addon import models, records
from addon.agenda import Section
from addon.errors import SyncError
from addon.service import SyncService, get_or_create_calendar, get_or_create_tenant
from addon.settings import Settings
from calendar_sync import merge
from calendar_sync.models import EventKey
from calendar_sync.providers.ical import ICalendarProvider

OFFICE = Path(__file__).parents[1] / "functional" / "data" / "office.ics"
AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2027, 1, 1, 9, tzinfo=AMS)
BRAM_UID = "pair-anna-bram@office.test"


class CountingCalendar(ICalendarProvider):
    """A file calendar that persists writes, counting each call like a request."""

    persistent = True

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.calls: Counter[str] = Counter()

    def list_changes(self, cursor):  # type: ignore[no-untyped-def]
        self.calls["list_changes"] += 1
        return super().list_changes(cursor)

    def list_instances(self, uid, start, end):  # type: ignore[no-untyped-def]
        self.calls["list_instances"] += 1
        return super().list_instances(uid, start, end)

    def get_event(self, key):  # type: ignore[no-untyped-def]
        self.calls["get_event"] += 1
        return super().get_event(key)

    def update_description(self, key, description, etag, state=None):  # type: ignore[no-untyped-def]
        self.calls["update_description"] += 1
        return super().update_description(key, description, etag)


@pytest.fixture
def calendar_file(tmp_path: Path) -> Path:
    target = tmp_path / "office.ics"
    shutil.copy(OFFICE, target)
    return target


Context = tuple[models.Tenant, models.Calendar, Settings]


@pytest.fixture
def context(session: Session) -> Context:
    settings = Settings(tenant=f"inc-{uuid.uuid4().hex[:8]}", domains=["office.test"])
    tenant = get_or_create_tenant(session, settings)
    calendar = get_or_create_calendar(session, tenant, "ics", "office")
    return tenant, calendar, settings


def sync(
    session: Session, context: Context, path: Path, now: datetime = NOW
) -> CountingCalendar:
    tenant, calendar, settings = context
    provider = CountingCalendar(path)
    SyncService(session, tenant, settings, now).sync(provider, calendar)
    provider.save(path)
    return provider


def block_of(path: Path, uid: str, start: datetime) -> str | None:
    event = ICalendarProvider(path).get_event(EventKey(uid, start))
    assert event is not None
    return merge.block_body(event.description)


def test_first_sync_writes_each_one_on_one(
    session: Session, context: Context, calendar_file: Path
) -> None:
    provider = sync(session, context, calendar_file)

    assert provider.calls["update_description"] == 3
    assert block_of(calendar_file, BRAM_UID, datetime(2027, 1, 4, 10, tzinfo=AMS))


def test_sync_without_changes_makes_one_call(
    session: Session, context: Context, calendar_file: Path
) -> None:
    sync(session, context, calendar_file)

    provider = sync(session, context, calendar_file)

    assert dict(provider.calls) == {"list_changes": 1}


def test_new_topic_costs_one_write(
    session: Session, context: Context, calendar_file: Path
) -> None:
    tenant = context[0]
    sync(session, context, calendar_file)
    series = records.find_series(session, tenant, BRAM_UID)
    records.add_topic(session, tenant, series.id, "Werkdruk", Section.PERSONAL)

    provider = sync(session, context, calendar_file)

    assert provider.calls["update_description"] == 1
    assert provider.calls["list_instances"] == 0
    block = block_of(calendar_file, BRAM_UID, datetime(2027, 1, 4, 10, tzinfo=AMS))
    assert block is not None and "Werkdruk" in block


def test_passed_meeting_moves_block_on(
    session: Session, context: Context, calendar_file: Path
) -> None:
    tenant = context[0]
    sync(session, context, calendar_file)
    series = records.find_series(session, tenant, BRAM_UID)
    records.add_topic(session, tenant, series.id, "Werkdruk", Section.PERSONAL)
    sync(session, context, calendar_file)

    later = NOW + timedelta(days=4)
    provider = sync(session, context, calendar_file, now=later)

    assert provider.calls["list_instances"] >= 1
    block = block_of(calendar_file, BRAM_UID, datetime(2027, 1, 11, 10, tzinfo=AMS))
    assert block is not None
    assert "Werkdruk (on the agenda since 4 January 2027)" in block


def test_deleted_series_is_marked_gone(
    session: Session, context: Context, calendar_file: Path
) -> None:
    _tenant, calendar, _settings = context
    sync(session, context, calendar_file)
    kept = ICalendarProvider(calendar_file).to_bytes().decode()
    blocks = kept.split("BEGIN:VEVENT")
    calendar_file.write_text(
        "BEGIN:VEVENT".join(block for block in blocks if f"UID:{BRAM_UID}" not in block)
    )

    sync(session, context, calendar_file)

    series = session.scalar(
        select(models.Series).where(
            models.Series.calendar_id == calendar.id, models.Series.uid == BRAM_UID
        )
    )
    assert series is not None
    assert series.state == "gone"
    assert not series.is_one_on_one


def test_calendar_that_turns_empty_is_refused(
    session: Session, context: Context, calendar_file: Path, tmp_path: Path
) -> None:
    sync(session, context, calendar_file)
    empty = tmp_path / "empty.ics"
    empty.write_text(
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//t//EN\nEND:VCALENDAR\n"
    )

    with pytest.raises(SyncError, match="suddenly lists no events"):
        sync(session, context, empty)
