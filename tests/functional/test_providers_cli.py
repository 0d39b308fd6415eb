"""`tandem google` and `tandem microsoft` against the emulators' demo worlds.

Each test seeds the emulator with the demo data its `--demo` flag creates,
points Tandem's settings at it, and drives the commands through click's
CliRunner on a fresh SQLite database. With no broker the tasks run in the
test's process.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import requests
from click.testing import CliRunner, Result
from google_fixtures import control_fixture, emulator_fixture  # noqa: F401
from ms_fixtures import ms_server_fixture  # noqa: F401

from addon.cli import cli
from addon.settings import get_settings
from emulators.google import EmulatorServer as GoogleEmulator
from emulators.google import seed as google_seed
from emulators.microsoft import EmulatorServer as MicrosoftEmulator
from emulators.microsoft import seed as microsoft_seed

GOOGLE_SCOPES = [
    "https://www.googleapis.com/auth/calendar",
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
]
NOW = "2027-03-01T08:00:00+00:00"  # a Monday, before the 10:00 1:1


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def fresh_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh SQLite database and settings read anew from the environment."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'tandem.sqlite3'}")
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.fixture
def google_key(
    emulator: GoogleEmulator,
    control: httpx.Client,
    fresh_env: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """Seed the demo domain, delegate it, and return the key file's path."""
    google_seed.seed_demo(emulator.state)
    response = control.post(
        "/_emulator/service-accounts",
        json={
            "client_email": "tandem@demo.iam.gserviceaccount.com",
            "delegated_scopes": {google_seed.DEMO_DOMAIN: GOOGLE_SCOPES},
        },
    )
    response.raise_for_status()
    key_file = fresh_env / "tandem-key.json"
    key_file.write_text(json.dumps(response.json()["key_file"]))
    monkeypatch.setenv("TANDEM_GOOGLE_API_ENDPOINT", emulator.url)
    monkeypatch.setenv("TANDEM_GOOGLE_TOKEN_URI", f"{emulator.url}token")
    get_settings.cache_clear()
    return key_file


@pytest.fixture
def ms_demo(
    ms_server: MicrosoftEmulator, fresh_env: Path, monkeypatch: pytest.MonkeyPatch
) -> MicrosoftEmulator:
    """Reset the emulator to its demo tenant and point the settings at it."""
    requests.post(
        f"{ms_server.base_url}/_emulator/reset",
        verify=str(ms_server.ca_path),
        timeout=10,
    ).raise_for_status()
    # The reset replaces the state object, so the live one is on the app.
    microsoft_seed.seed_demo(ms_server.app.state.emulator)
    # requests lets this variable override the `verify` msal and O365 pass.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ms_server.bundle_path))
    environment = {
        "TANDEM_MS_CLIENT_ID": microsoft_seed.DEMO_CLIENT_ID,
        "TANDEM_MS_CLIENT_SECRET": microsoft_seed.DEMO_CLIENT_SECRET,
        "TANDEM_MS_AUTHORITY_HOST": ms_server.base_url,
        "TANDEM_MS_GRAPH_URL": ms_server.base_url,
        "TANDEM_MS_CA_BUNDLE": str(ms_server.ca_path),
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return ms_server


def test_google_enable_domain_adds_calendars(google_key: Path) -> None:
    result = _invoke(
        "google", "enable-domain", "--domain", "example.com",
        "--admin", "alex@example.com", "--key-file", str(google_key),
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "Enabled example.com: 2 calendars added" in result.output


def test_google_sync_writes_agenda(google_key: Path) -> None:
    _invoke(
        "google", "enable-domain", "--domain", "example.com",
        "--admin", "alex@example.com", "--key-file", str(google_key),
    )  # fmt: skip

    result = _invoke("google", "sync", "--now", NOW, "--format", "json")

    assert result.exit_code == 0, result.output
    calendars = json.loads(result.output)["calendars"]
    assert len(calendars) == 2
    rows = [row for item in calendars for row in item["series"] if row["is_one_on_one"]]
    assert len(rows) == 1
    assert rows[0]["people"] == ["alex@example.com", "sam@example.com"]
    assert rows[0]["action"] == "written"
    assert rows[0]["next_occurrence"].startswith("2027-03-01T10:00")


def test_google_sync_table(google_key: Path) -> None:
    _invoke(
        "google", "enable-domain", "--domain", "example.com",
        "--admin", "alex@example.com", "--key-file", str(google_key),
    )  # fmt: skip

    result = _invoke("google", "sync", "--now", NOW)

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].split() == [
        "ID", "1:1", "People", "Next", "Agenda", "Follow-up",
    ]  # fmt: skip
    assert "Alex / Sam 1:1" in result.output
    assert "2027-03-01 10:00  written" in result.output
    assert "1 one-on-ones, 1 agendas written" in result.output


def test_google_enable_rejects_oauth_file(google_key: Path) -> None:
    bad = google_key.with_name("client.json")
    bad.write_text(json.dumps({"web": {"client_id": "x"}}))

    result = _invoke(
        "google", "enable-domain", "--domain", "example.com",
        "--admin", "alex@example.com", "--key-file", str(bad),
    )  # fmt: skip

    assert result.exit_code == 2
    assert "has no client_email, private_key, token_uri" in result.output


def test_google_enable_undelegated_domain(google_key: Path) -> None:
    result = _invoke(
        "google", "enable-domain", "--domain", "other.example",
        "--admin", "admin@other.example", "--key-file", str(google_key),
    )  # fmt: skip

    assert result.exit_code == 2
    assert "Google rejected the delegation for other.example" in result.output


def test_microsoft_enable_tenant_adds_mailboxes(ms_demo: MicrosoftEmulator) -> None:
    result = _invoke(
        "microsoft", "enable-tenant", "--tenant-id", microsoft_seed.DEMO_TENANT_ID
    )

    assert result.exit_code == 0, result.output
    assert "2 mailboxes added" in result.output


def test_microsoft_sync_writes_agenda(ms_demo: MicrosoftEmulator) -> None:
    _invoke("microsoft", "enable-tenant", "--tenant-id", microsoft_seed.DEMO_TENANT_ID)

    result = _invoke("microsoft", "sync", "--now", NOW, "--format", "json")

    assert result.exit_code == 0, result.output
    calendars = json.loads(result.output)["calendars"]
    assert len(calendars) == 2
    rows = [row for item in calendars for row in item["series"] if row["is_one_on_one"]]
    assert len(rows) == 1
    assert rows[0]["people"] == ["mila@contoso.example", "ravi@contoso.example"]
    assert rows[0]["action"] == "written"


def test_microsoft_unconsented_prints_url(ms_demo: MicrosoftEmulator) -> None:
    tenant_id = "11111111-2222-4333-8444-555555555555"
    requests.post(
        f"{ms_demo.base_url}/_emulator/tenants",
        json={"domain": "fabrikam.example", "id": tenant_id},
        verify=str(ms_demo.ca_path),
        timeout=10,
    ).raise_for_status()

    result = _invoke("microsoft", "enable-tenant", "--tenant-id", tenant_id)

    assert result.exit_code == 2
    assert f"{ms_demo.base_url}/{tenant_id}/v2.0/adminconsent?" in result.output
    assert f"Tenant {tenant_id} has not consented" in result.output
