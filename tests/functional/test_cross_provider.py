"""A 1:1 between a person on Google Workspace and a person on Microsoft 365.

One organisation runs two tenants: Anna's calendar lives in Google Workspace
(tandem.test) and Mila's in Microsoft 365 (contoso.example). Either of them
organizes a weekly 1:1 with the other. The organizer's calendar mails the
invitation (iMIP, RFC 6047) and the other side files it as an attendee's
copy with the same iCalendar UID. The two emulators do not mail each other,
so the tests file that copy themselves: in the Graph emulator through its
control API, in the Google emulator with events.import, the Calendar API's
method for a copy whose organizer is elsewhere. Both emulators run on
127.0.0.1, and Tandem syncs both calendars into one Tandem tenant with its
real providers, then takes a topic through its HTTP API.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import google_helpers as helpers
import httpx
import pytest
from fastapi.testclient import TestClient
from google_fixtures import control_fixture, emulator_fixture  # noqa: F401
from ms_fixtures import TenantSetup, ms_server_fixture, ms_tenant_fixture  # noqa: F401
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from addon import db, event_store, models, records
from addon.errors import InputError
from addon.service import (
    FreeBusyLookup,
    SyncReport,
    SyncService,
    get_or_create_calendar,
    get_or_create_tenant,
)
from addon.settings import Settings
from addon.web.addon_endpoints import find_series, google_event_keys
from addon.web.app import create_app
from calendar_sync import merge
from calendar_sync.providers.google import auth
from calendar_sync.providers.google.client import GoogleClient, GoogleConfig, Pacer
from calendar_sync.providers.google.provider import GoogleCalendarProvider
from calendar_sync.providers.microsoft.auth import MicrosoftConfig
from calendar_sync.providers.microsoft.provider import tenant_provider
from emulators.google import EmulatorServer

NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
ANNA = "anna@tandem.test"
MILA = "mila@contoso.example"
TENANT = "acme"


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    url = f"sqlite:///{tmp_path}/tandem.sqlite3"
    engine = db.make_engine(url)
    db.migrate(engine)
    yield db.session_factory(engine)
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        tenant=TENANT,
        domains=["tandem.test", "contoso.example"],
        database_url=f"sqlite:///{tmp_path}/tandem.sqlite3",
    )


@pytest.fixture
def google(emulator: EmulatorServer, control: httpx.Client) -> GoogleConfig:
    helpers.add_user(control, ANNA, given_name="Anna", time_zone="Europe/Amsterdam")
    return GoogleConfig(
        client_id=helpers.CLIENT_ID,
        client_secret=helpers.CLIENT_SECRET,
        api_endpoint=emulator.url,
        token_uri=emulator.url + "token",
        timeout=10,
    )


def _google_provider(
    google: GoogleConfig, control: httpx.Client
) -> GoogleCalendarProvider:
    refresh = helpers.refresh_token_for(control, ANNA, [auth.CALENDAR_SCOPE])
    credentials = auth.user_credentials(google, refresh)
    client = GoogleClient(google, credentials, ANNA, pacer=Pacer(0))
    return GoogleCalendarProvider(
        client, default_timezone="Europe/Amsterdam", now=lambda: NOW
    )


def _seed_google_series(control: httpx.Client) -> dict[str, Any]:
    body = {
        "summary": "Anna / Mila 1:1",
        "description": "<p>Bring the quarter's numbers.</p>",
        "start": {"dateTime": "2027-03-01T10:00:00", "timeZone": "Europe/Amsterdam"},
        "end": {"dateTime": "2027-03-01T10:30:00", "timeZone": "Europe/Amsterdam"},
        "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO"],
        "attendees": [
            {"email": ANNA, "responseStatus": "accepted"},
            {"email": MILA, "responseStatus": "accepted"},
        ],
    }
    reply = control.post(f"/_emulator/calendars/{ANNA}/events", json=body)
    assert reply.status_code == 201, reply.text
    return reply.json()


WEEKLY_ON_MONDAY = {
    "type": "weekly",
    "interval": 1,
    "daysOfWeek": ["monday"],
    "firstDayOfWeek": "monday",
}


def _seed_outlook_copy(tenant: TenantSetup, ical_uid: str) -> dict[str, Any]:
    """File Anna's invitation in Mila's calendar, as Exchange does on receipt."""
    return tenant.control(
        "POST",
        f"/users/{MILA}/events",
        {
            "subject": "Anna / Mila 1:1",
            "body": {
                "contentType": "html",
                "content": "<p>Bring the quarter's numbers.</p>",
            },
            "start": {
                "dateTime": "2027-03-01T10:00:00",
                "timeZone": "W. Europe Standard Time",
            },
            "end": {
                "dateTime": "2027-03-01T10:30:00",
                "timeZone": "W. Europe Standard Time",
            },
            "attendees": [
                {"emailAddress": {"address": ANNA, "name": "Anna"}, "type": "required"},
                {"emailAddress": {"address": MILA, "name": "Mila"}, "type": "required"},
            ],
            "recurrence": {
                "pattern": WEEKLY_ON_MONDAY,
                "range": {"type": "noEnd", "startDate": "2027-03-01"},
            },
            "organizer": {"address": ANNA, "name": "Anna"},
            "iCalUId": ical_uid,
        },
    ).json()


def _seed_outlook_series(tenant: TenantSetup) -> dict[str, Any]:
    """Let Mila organize a weekly 1:1 with Anna in Outlook."""
    return tenant.control(
        "POST",
        f"/users/{MILA}/events",
        {
            "subject": "Mila / Anna 1:1",
            "body": {
                "contentType": "html",
                "content": "<p>Check the hiring plan first.</p>",
            },
            "start": {
                "dateTime": "2027-03-01T14:00:00",
                "timeZone": "W. Europe Standard Time",
            },
            "end": {
                "dateTime": "2027-03-01T14:30:00",
                "timeZone": "W. Europe Standard Time",
            },
            "attendees": [
                {"emailAddress": {"address": ANNA, "name": "Anna"}, "type": "required"},
            ],
            "recurrence": {
                "pattern": WEEKLY_ON_MONDAY,
                "range": {"type": "noEnd", "startDate": "2027-03-01"},
            },
        },
    ).json()


def _import_google_copy(
    control: httpx.Client, ical_uid: str, organizer: str = MILA
) -> dict[str, Any]:
    """File `organizer`'s invitation in Anna's Google calendar (events.import)."""
    body = {
        "iCalUID": ical_uid,
        "summary": "Mila / Anna 1:1",
        "description": "<p>Check the hiring plan first.</p>",
        "start": {"dateTime": "2027-03-01T14:00:00", "timeZone": "Europe/Amsterdam"},
        "end": {"dateTime": "2027-03-01T14:30:00", "timeZone": "Europe/Amsterdam"},
        "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO"],
        "organizer": {"email": organizer, "displayName": "Mila"},
        "attendees": [
            {"email": organizer, "organizer": True, "responseStatus": "accepted"},
            {"email": ANNA, "responseStatus": "accepted"},
        ],
    }
    reply = control.post(
        f"/calendar/v3/calendars/{ANNA}/events/import",
        json=body,
        headers={"Authorization": f"Bearer {_anna_token(control)}"},
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def _anna_token(control: httpx.Client) -> str:
    reply = control.post(
        "/_emulator/tokens", json={"user": ANNA, "scopes": [auth.CALENDAR_SCOPE]}
    )
    reply.raise_for_status()
    return reply.json()["access_token"]


def _microsoft_config(tenant: TenantSetup) -> MicrosoftConfig:
    return MicrosoftConfig(
        client_id=tenant.client_id,
        client_secret=tenant.client_secret,
        authority_host=tenant.server.base_url,
        graph_url=tenant.server.base_url,
        ca_bundle=str(tenant.server.ca_path),
        timeout=15,
    )


def _sync_google(
    sessions: sessionmaker[Session],
    settings: Settings,
    provider: GoogleCalendarProvider,
) -> SyncReport:
    with db.transaction(sessions) as session:
        tenant = get_or_create_tenant(session, settings)
        calendar = get_or_create_calendar(session, tenant, "google", ANNA)
        return SyncService(session, tenant, settings, NOW).sync(provider, calendar)


def _sync_outlook(
    sessions: sessionmaker[Session],
    settings: Settings,
    tenant_setup: TenantSetup,
    free_busy: FreeBusyLookup | None = None,
) -> SyncReport:
    with db.transaction(sessions) as session:
        tenant = get_or_create_tenant(session, settings)
        calendar = get_or_create_calendar(session, tenant, "microsoft", MILA)
        provider = tenant_provider(
            _microsoft_config(tenant_setup),
            tenant_setup.tenant_id,
            MILA,
            now=lambda: NOW,
            stored=event_store.StoredEvents(session, calendar),
        )
        return SyncService(session, tenant, settings, NOW, free_busy).sync(
            provider, calendar
        )


def _sync_both(
    sessions: sessionmaker[Session],
    settings: Settings,
    google: GoogleConfig,
    control: httpx.Client,
    ms_tenant: TenantSetup,
) -> None:
    """Sync Anna's Google calendar, then Mila's Outlook one."""
    _sync_google(sessions, settings, _google_provider(google, control))
    _sync_outlook(sessions, settings, ms_tenant)


def _series_of(
    sessions: sessionmaker[Session], provider: str, address: str
) -> list[tuple[int, str, bool]]:
    with sessions() as session:
        rows = session.execute(
            select(models.Series.id, models.Series.state, models.Series.is_one_on_one)
            .join(models.Calendar, models.Calendar.id == models.Series.calendar_id)
            .where(
                models.Calendar.provider == provider,
                models.Calendar.address == address,
            )
        )
        return [tuple(row) for row in rows]


def _google_calls(control: httpx.Client, method: str) -> list[dict[str, Any]]:
    return control.get("/_emulator/requests", params={"method": method}).json()


def _graph_calls(tenant: TenantSetup) -> list[dict[str, Any]]:
    return [row for row in tenant.requests_log() if "/v1.0/" in row["path"]]


def _graph_patches(tenant: TenantSetup) -> list[dict[str, Any]]:
    return [row for row in _graph_calls(tenant) if row["method"] == "PATCH"]


def _first_instance(control: httpx.Client, series: dict[str, Any]) -> dict[str, Any]:
    reply = control.get(
        f"/calendar/v3/calendars/{ANNA}/events/{series['id']}/instances",
        params={"timeMin": "2027-03-01T00:00:00Z", "timeMax": "2027-03-02T00:00:00Z"},
        headers={"Authorization": f"Bearer {_anna_token(control)}"},
    )
    reply.raise_for_status()
    [instance] = reply.json()["items"]
    return instance


def test_google_organizer_writes_once(
    sessions, settings, google, control, ms_tenant
) -> None:
    series = _seed_google_series(control)
    _seed_outlook_copy(ms_tenant, series["iCalUID"])
    control.delete("/_emulator/requests").raise_for_status()
    ms_tenant.control("DELETE", "/requests")

    google_report = _sync_google(sessions, settings, _google_provider(google, control))
    outlook_report = _sync_outlook(sessions, settings, ms_tenant)

    patches = _google_calls(control, "calendar.events.patch")
    assert google_report.written == 1
    assert [row["send_updates"] for row in patches] == ["none"]
    assert outlook_report.written == 0
    [(_, anna_state, anna_is_pair)] = _series_of(sessions, "google", ANNA)
    assert anna_state == "ok"
    assert anna_is_pair is True
    [(_, mila_state, _)] = _series_of(sessions, "microsoft", MILA)
    assert mila_state == "not-organizer"
    graph = _graph_calls(ms_tenant)
    listing = [row for row in graph if row["path"].endswith("/calendarView/delta")]
    masters = [row for row in graph if row not in listing]
    assert len(listing) == 1
    # calendarView/delta lists instances only, so the listing reads the new
    # series master once; Tandem sends nothing else for an attendee's copy.
    assert [row["method"] for row in masters] == ["GET"]
    assert "/events/" in masters[0]["path"]
    assert "/instances" not in masters[0]["path"]
    instance = _first_instance(control, series)
    assert merge.find_block_html(instance["description"]) is not None
    assert "Bring the quarter" in instance["description"]


def test_api_topic_reaches_invite(
    sessions, settings, google, control, ms_tenant
) -> None:
    series = _seed_google_series(control)
    _seed_outlook_copy(ms_tenant, series["iCalUID"])
    provider = _google_provider(google, control)
    _sync_google(sessions, settings, provider)
    _sync_outlook(sessions, settings, ms_tenant)
    [(series_id, _, _)] = _series_of(sessions, "google", ANNA)
    control.delete("/_emulator/requests").raise_for_status()

    with TestClient(create_app(settings)) as api:
        reply = api.post(
            f"/api/series/{series_id}/topics",
            json={"text": "Hiring plan for Q3", "section": "role", "author": MILA},
            headers={"X-Tandem-Tenant": TENANT},
        )
    report = _sync_google(sessions, settings, _google_provider(google, control))

    assert reply.status_code == 201, reply.text
    assert report.written == 1
    assert len(_google_calls(control, "calendar.events.patch")) == 1
    description = _first_instance(control, series)["description"]
    block = merge.find_block_html(description)
    assert block is not None
    assert "Hiring plan for Q3" in block.body
    assert "Bring the quarter" in description


def test_outlook_copy_leads_to_google_series(
    sessions, settings, google, control, ms_tenant
) -> None:
    series = _seed_google_series(control)
    copy = _seed_outlook_copy(ms_tenant, series["iCalUID"])
    _sync_both(sessions, settings, google, control, ms_tenant)
    [(anna_series, _, _)] = _series_of(sessions, "google", ANNA)
    [(mila_copy, _, _)] = _series_of(sessions, "microsoft", MILA)
    control.delete("/_emulator/requests").raise_for_status()

    with sessions() as session:
        tenant = get_or_create_tenant(session, settings)
        # The Outlook task pane has only the ids of Mila's own copy.
        found = find_series(session, tenant, [copy["id"]])
    with TestClient(create_app(settings)) as api:
        reply = api.post(
            f"/api/series/{mila_copy}/topics",
            json={"text": "Budget for the offsite", "section": "role", "author": MILA},
            headers={"X-Tandem-Tenant": TENANT},
        )
    report = _sync_google(sessions, settings, _google_provider(google, control))

    assert found is not None and found.id == anna_series
    assert reply.status_code == 201, reply.text
    assert report.written == 1
    block = merge.find_block_html(_first_instance(control, series)["description"])
    assert block is not None
    assert "Budget for the offsite" in block.body


def test_microsoft_organizer_writes_once(
    sessions, settings, google, control, ms_tenant
) -> None:
    outlook = _seed_outlook_series(ms_tenant)
    _import_google_copy(control, outlook["iCalUId"])
    control.delete("/_emulator/requests").raise_for_status()
    ms_tenant.control("DELETE", "/requests")

    google_report = _sync_google(sessions, settings, _google_provider(google, control))
    outlook_report = _sync_outlook(sessions, settings, ms_tenant)

    assert google_report.written == 0
    assert _google_calls(control, "calendar.events.patch") == []
    [(_, anna_state, anna_is_pair)] = _series_of(sessions, "google", ANNA)
    assert (anna_state, anna_is_pair) == ("not-organizer", False)
    assert outlook_report.written == 1
    [(_, mila_state, mila_is_pair)] = _series_of(sessions, "microsoft", MILA)
    assert (mila_state, mila_is_pair) == ("ok", True)
    patches = _graph_patches(ms_tenant)
    assert len(patches) == 1
    body = _graph_body(ms_tenant, patches[0]["path"])
    assert merge.find_block_html(body) is not None
    assert "Check the hiring plan first." in body


def test_google_attendee_topic_reaches_outlook_invite(
    sessions, settings, google, control, ms_tenant
) -> None:
    outlook = _seed_outlook_series(ms_tenant)
    imported = _import_google_copy(control, outlook["iCalUId"])
    _sync_both(sessions, settings, google, control, ms_tenant)
    [(anna_copy, _, _)] = _series_of(sessions, "google", ANNA)
    [(mila_series, _, _)] = _series_of(sessions, "microsoft", MILA)
    mila_uid = outlook["id"]
    ms_tenant.control("DELETE", "/requests")

    with sessions() as session:
        tenant = get_or_create_tenant(session, settings)
        # What the Workspace add-on gets when Anna opens the invite.
        keys = google_event_keys(_first_instance(control, imported))
        found = find_series(session, tenant, keys, ANNA)
        outsider = find_series(session, tenant, [*keys, mila_uid], "xavi@tandem.test")
    with TestClient(create_app(settings)) as api:
        reply = api.post(
            f"/api/series/{anna_copy}/topics",
            json={"text": "Mentoring budget", "section": "growth", "author": ANNA},
            headers={"X-Tandem-Tenant": TENANT},
        )
        agenda = api.get(
            f"/api/series/{anna_copy}/agenda", headers={"X-Tandem-Tenant": TENANT}
        )
    report = _sync_outlook(sessions, settings, ms_tenant)
    again = _sync_google(sessions, settings, _google_provider(google, control))

    assert found is not None and found.id == mila_series
    assert outsider is None
    assert reply.status_code == 201, reply.text
    assert agenda.json()["series_id"] == mila_series
    assert [t["text"] for t in agenda.json()["topics"]["growth"]] == [
        "Mentoring budget"
    ]
    assert report.written == 1
    patches = _graph_patches(ms_tenant)
    assert len(patches) == 1
    block = merge.find_block_html(_graph_body(ms_tenant, patches[0]["path"]))
    assert block is not None
    assert "Mentoring budget" in block.body
    assert again.written == 0
    assert _google_calls(control, "calendar.events.patch") == []


def test_copy_of_someone_elses_series_stays_unlinked(
    sessions, settings, google, control, ms_tenant
) -> None:
    # Anna has a copy under the UID of a 1:1 between two other people, and a
    # reused UID must not hand her topics to their agenda.
    outlook = ms_tenant.control(
        "POST",
        f"/users/{MILA}/events",
        {
            "subject": "Mila / Ravi 1:1",
            "start": {"dateTime": "2027-03-02T09:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2027-03-02T09:30:00", "timeZone": "UTC"},
            "attendees": [
                {
                    "emailAddress": {"address": "ravi@contoso.example"},
                    "type": "required",
                }
            ],
            "recurrence": {
                "pattern": {**WEEKLY_ON_MONDAY, "daysOfWeek": ["tuesday"]},
                "range": {"type": "noEnd", "startDate": "2027-03-02"},
            },
        },
    ).json()
    _import_google_copy(control, outlook["iCalUId"])
    _sync_both(sessions, settings, google, control, ms_tenant)
    [(anna_copy, _, _)] = _series_of(sessions, "google", ANNA)

    with sessions() as session:
        tenant = get_or_create_tenant(session, settings)
        with pytest.raises(InputError, match=r"attendee.s copy .* mila@contoso"):
            records.add_topic(session, tenant, anna_copy, "Mine", "role")


def test_copy_from_other_organizer_stays_unlinked(
    sessions, settings, google, control, ms_tenant
) -> None:
    # Same UID and same pair, but the copy names another organizer.
    outlook = _seed_outlook_series(ms_tenant)
    _import_google_copy(control, outlook["iCalUId"], organizer="olga@contoso.example")
    _sync_both(sessions, settings, google, control, ms_tenant)
    [(anna_copy, _, _)] = _series_of(sessions, "google", ANNA)

    with sessions() as session:
        tenant = get_or_create_tenant(session, settings)
        with pytest.raises(InputError, match=r"olga@contoso\.example organizes"):
            records.add_topic(session, tenant, anna_copy, "Mine", "role")


def _graph_body(tenant: TenantSetup, path: str) -> str:
    reply = tenant.graph("GET", path.removeprefix("/v1.0"), tenant.app_token())
    assert reply.status_code == 200, reply.text
    return reply.json()["body"]["content"]


def _followups(sessions: sessionmaker[Session]) -> list[datetime]:
    with sessions() as session:
        rows = session.scalars(select(models.FollowUp.start))
        return [moment.replace(tzinfo=UTC) for moment in rows]


@pytest.mark.parametrize("ask_google", [True, False], ids=["google-asked", "unknown"])
def test_followup_slot_checks_google_attendee(
    sessions, settings, google, control, ms_tenant, ask_google
) -> None:
    outlook = _seed_outlook_series(ms_tenant)
    _import_google_copy(control, outlook["iCalUId"])
    # Six weeks after the first occurrence, Anna's Monday morning is taken
    # in Google; Graph cannot see her calendar.
    workshop = {
        "summary": "Workshop",
        "start": {"dateTime": "2027-04-12T09:00:00", "timeZone": "Europe/Amsterdam"},
        "end": {"dateTime": "2027-04-12T12:00:00", "timeZone": "Europe/Amsterdam"},
    }
    control.post(f"/_emulator/calendars/{ANNA}/events", json=workshop)
    _sync_both(sessions, settings, google, control, ms_tenant)
    [(mila_series, _, _)] = _series_of(sessions, "microsoft", MILA)
    with db.transaction(sessions) as session:
        tenant = get_or_create_tenant(session, settings)
        records.mark_goal_review(session, tenant, mila_series, None)
    anna = _google_provider(google, control)

    def from_google(email: str, start: datetime, end: datetime):
        return anna.busy_intervals([email], start, end).get(email)

    _sync_outlook(sessions, settings, ms_tenant, from_google if ask_google else None)

    # 09:00 and 12:00 in Amsterdam summer time are 07:00 and 10:00 UTC.
    expected = datetime(2027, 4, 12, 10 if ask_google else 7, tzinfo=UTC)
    assert _followups(sessions) == [expected]
