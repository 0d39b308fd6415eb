"""`tandem email-settings show` and `set` on a tenant's email settings."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from addon import db, models
from addon.mail.cli import email_settings
from addon.mail.models import TenantGraphSender
from addon.service import get_or_create_tenant
from addon.settings import Settings, get_settings


@pytest.fixture
def tenant_id(
    factory: sessionmaker[Session], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[int]:
    # The command reads the process-wide settings, so the environment carries them.
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TANDEM_TENANT", settings.tenant)
    monkeypatch.setenv("TANDEM_REMINDER_LEAD_HOURS", "0")
    get_settings.cache_clear()
    with db.transaction(factory) as session:
        tenant = get_or_create_tenant(session, settings)
        found = tenant.id
    yield found
    get_settings.cache_clear()


def _run(*arguments: str) -> Result:
    return CliRunner().invoke(email_settings, list(arguments))


def _show() -> dict[str, object]:
    result = _run("show", "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_show_defaults_without_rows(tenant_id: int, settings: Settings) -> None:
    shown = _show()

    assert shown == {
        "tenant": settings.tenant,
        "agenda_emails": True,
        "reminder_lead_hours": 0,
        "reminder_lead_is_default": True,
        "graph_sender": "",
    }


def test_set_every_value(tenant_id: int, factory: sessionmaker[Session]) -> None:
    result = _run(
        "set",
        "--no-agenda-emails",
        "--lead-hours",
        "20",
        "--graph-sender",
        "tandem@contoso.example",
    )

    assert result.exit_code == 0, result.output
    assert "agenda emails        off" in result.output
    with factory() as session:
        choice = session.scalar(
            select(models.TenantEmailSettings).where(
                models.TenantEmailSettings.tenant_id == tenant_id
            )
        )
        sender = session.get(TenantGraphSender, tenant_id)
    assert choice is not None
    assert choice.agenda_emails is False
    assert choice.reminder_lead_hours == 20
    assert sender is not None
    assert sender.mailbox == "tandem@contoso.example"


def test_set_keeps_other_values(tenant_id: int) -> None:
    _run("set", "--lead-hours", "6")

    _run("set", "--graph-sender", "tandem@contoso.example")

    shown = _show()
    assert shown["reminder_lead_hours"] == 6
    assert shown["reminder_lead_is_default"] is False
    assert shown["agenda_emails"] is True


def test_set_back_to_defaults(tenant_id: int, factory: sessionmaker[Session]) -> None:
    _run("set", "--lead-hours", "6", "--graph-sender", "tandem@contoso.example")

    result = _run("set", "--default-lead", "--graph-sender", "")

    assert result.exit_code == 0, result.output
    shown = _show()
    assert shown["reminder_lead_hours"] == 0
    assert shown["reminder_lead_is_default"] is True
    assert shown["graph_sender"] == ""
    with factory() as session:
        assert session.get(TenantGraphSender, tenant_id) is None


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["set"], "Nothing to change"),
        (["set", "--lead-hours", "4", "--default-lead"], "not both"),
        (["set", "--lead-hours", "-3"], "-3"),
        (["set", "--lead-hours", "9999"], "9999 hours is too long"),
        (["set", "--graph-sender", "tandem"], "'tandem' is not a mailbox"),
        (["show", "--tenant", "no-such-tenant"], "'no-such-tenant' was not found"),
    ],
)
def test_set_invalid_input(tenant_id: int, arguments: list[str], message: str) -> None:
    result = _run(*arguments)

    assert result.exit_code == 2
    assert message in result.output


def test_invalid_input_changes_nothing(tenant_id: int) -> None:
    _run("set", "--lead-hours", "9999", "--no-agenda-emails")

    assert _show()["agenda_emails"] is True
