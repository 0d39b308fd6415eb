"""Free/busy of a person from their own calendar, through the worker's connections.

Both emulators run in this process on 127.0.0.1. Anna's Google calendar is
synced through domain-wide delegation and Mila's Outlook calendar through a
Microsoft 365 tenant's admin consent. The lookup builds the real providers
from those connection rows and queries each person's own calendar.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import google_helpers as helpers
import httpx
import pytest
from google_fixtures import control_fixture, emulator_fixture  # noqa: F401
from ms_fixtures import TenantSetup, ms_server_fixture, ms_tenant_fixture  # noqa: F401
from sqlalchemy.orm import Session

from addon import models
from addon.crypto import Cipher
from addon.service import get_or_create_tenant
from addon.settings import Settings
from calendar_sync.models import BusyInterval
from calendar_sync.providers.google import auth
from emulators.google import EmulatorServer
from workers import google_tasks, microsoft_tasks
from workers.freebusy import other_calendars

NOW = datetime(2027, 4, 1, 8, tzinfo=UTC)
START = datetime(2027, 4, 12, tzinfo=UTC)
END = datetime(2027, 4, 13, tzinfo=UTC)
ANNA = "anna@tandem.test"
MILA = "mila@contoso.example"


@pytest.fixture
def settings(emulator: EmulatorServer, ms_tenant: TenantSetup) -> Settings:
    return Settings(
        tenant="acme",
        domains=["tandem.test", "contoso.example"],
        google_api_endpoint=emulator.url,
        google_token_uri=emulator.url + "token",
        google_max_retries=0,
        ms_client_id=ms_tenant.client_id,
        ms_client_secret=ms_tenant.client_secret,
        ms_authority_host=ms_tenant.server.base_url,
        ms_graph_url=ms_tenant.server.base_url,
        ms_ca_bundle=str(ms_tenant.server.ca_path),
        ms_max_retry_wait=0,
    )


@pytest.fixture
def tenant(session: Session, settings: Settings) -> models.Tenant:
    return get_or_create_tenant(session, settings)


def _connect_anna(
    session: Session, settings: Settings, tenant: models.Tenant, control: httpx.Client
) -> models.GoogleConnection:
    helpers.add_user(control, ANNA, time_zone="Europe/Amsterdam")
    key = control.post(
        "/_emulator/service-accounts",
        json={
            "client_email": "tandem@acme.iam.gserviceaccount.com",
            "delegated_scopes": {"tandem.test": [auth.CALENDAR_SCOPE]},
        },
    ).json()["key_file"]
    connection_id = google_tasks.connect_domain(
        session, settings, tenant, key, ANNA, "tandem.test"
    )
    connection = session.get(models.GoogleConnection, connection_id)
    assert connection is not None
    google_tasks.add_calendar(session, connection, ANNA)
    control.post(
        f"/_emulator/calendars/{ANNA}/events",
        json={
            "summary": "Workshop",
            "start": {"dateTime": "2027-04-12T09:00:00+02:00"},
            "end": {"dateTime": "2027-04-12T12:00:00+02:00"},
        },
    ).raise_for_status()
    return connection


def _connect_mila(
    session: Session, tenant: models.Tenant, ms_tenant: TenantSetup
) -> models.MicrosoftConnection:
    connection = models.MicrosoftConnection(
        tenant_id=tenant.id,
        kind="tenant",
        directory_id=ms_tenant.tenant_id,
        state=microsoft_tasks.ACTIVE,
    )
    session.add(connection)
    session.flush()
    microsoft_tasks.add_mailbox(session, connection, MILA)
    ms_tenant.control(
        "POST",
        f"/users/{MILA}/events",
        {
            "subject": "Board meeting",
            "start": {"dateTime": "2027-04-12T13:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2027-04-12T14:00:00", "timeZone": "UTC"},
        },
    )
    return connection


def test_busy_from_google_calendar(session, settings, tenant, control) -> None:
    _connect_anna(session, settings, tenant, control)

    busy = other_calendars(session, tenant, settings, NOW)(ANNA, START, END)

    assert busy == [
        BusyInterval(
            datetime(2027, 4, 12, 7, tzinfo=UTC), datetime(2027, 4, 12, 10, tzinfo=UTC)
        )
    ]


def test_busy_from_outlook_mailbox(session, settings, tenant, ms_tenant) -> None:
    _connect_mila(session, tenant, ms_tenant)

    busy = other_calendars(session, tenant, settings, NOW)(MILA.upper(), START, END)

    assert busy is not None
    meeting = (
        datetime(2027, 4, 12, 13, tzinfo=UTC),
        datetime(2027, 4, 12, 14, tzinfo=UTC),
    )
    # getSchedule also marks the hours outside Mila's working hours as busy.
    assert any(i.start <= meeting[0] and i.end >= meeting[1] for i in busy)


def test_unsynced_person_is_unknown(session, settings, tenant, control) -> None:
    _connect_anna(session, settings, tenant, control)

    lookup = other_calendars(session, tenant, settings, NOW)

    assert lookup("bram@tandem.test", START, END) is None


def test_connection_needing_consent_skipped(session, settings, tenant, control) -> None:
    connection = _connect_anna(session, settings, tenant, control)
    connection.state = google_tasks.NEEDS_CONSENT
    session.flush()

    lookup = other_calendars(session, tenant, settings, NOW)

    assert lookup(ANNA, START, END) is None


def test_provider_error_means_unknown(session, settings, tenant, control) -> None:
    _connect_anna(session, settings, tenant, control)
    control.post(
        "/_emulator/faults",
        json={"method": "calendar.freebusy.query", "kind": "500", "count": 5},
    ).raise_for_status()

    lookup = other_calendars(session, tenant, settings, NOW)

    assert lookup(ANNA, START, END) is None


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param("gAAAAAnot-a-token", id="undecryptable"),
        pytest.param(None, id="not-json"),
    ],
)
def test_broken_secret_means_unknown(
    session, settings, tenant, control, secret
) -> None:
    connection = _connect_anna(session, settings, tenant, control)
    connection.secret = secret or Cipher.from_settings(settings).encrypt("{key")
    session.flush()

    lookup = other_calendars(session, tenant, settings, NOW)

    assert lookup(ANNA, START, END) is None


def test_unreachable_identity_platform(session, settings, tenant, ms_tenant) -> None:
    _connect_mila(session, tenant, ms_tenant)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"https://127.0.0.1:{probe.getsockname()[1]}"
    # The port is closed again when the lookup connects to it.
    elsewhere = settings.model_copy(update={"ms_authority_host": closed})

    lookup = other_calendars(session, tenant, elsewhere, NOW)

    assert lookup(MILA, START, END) is None
