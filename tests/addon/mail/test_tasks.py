"""The Celery tasks of the email flow, run in-process (no broker configured)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from mail_fixtures import EMPLOYEE, World
from sqlalchemy import select, update

from addon import db, models
from addon.cli import cli
from addon.mail import tokens
from addon.mail.store import store_inbound
from addon.models import InboundEmail, InboundStatus, OutboundEmail
from addon.settings import Settings, get_settings
from workers.mail_tasks import INBOUND_GRACE, sweep_mail


@pytest.fixture
def task_settings(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    # Tasks read the process-wide settings, so the environment carries them.
    for name, value in {
        "DATABASE_URL": settings.database_url,
        "TANDEM_REPLY_KEY": settings.reply_key,
        "TANDEM_INBOUND_DOMAIN": settings.inbound_domain,
        "TANDEM_SMTP_PORT": str(settings.smtp_port),
        "TANDEM_SENDER_ADDRESS": settings.sender_address,
        "TANDEM_PUBLIC_URL": settings.public_url,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()


def _reply(settings: Settings, world: World) -> bytes:
    token = tokens.Token(
        tokens.Purpose.REPLY,
        world.tenant_id,
        world.occurrence_id,
        world.people[EMPLOYEE],
        world.start + timedelta(days=30),
    )
    address = tokens.reply_address(
        tokens.sign_token(token, settings.reply_key), settings.inbound_domain
    )
    return (
        f"From: {EMPLOYEE}\r\nTo: {address}\r\nSubject: Re: Agenda\r\n"
        f"Message-ID: <sweep-{world.occurrence_id}@example.test>\r\n\r\n"
        "- personal: back from parental leave\r\n"
    ).encode()


def test_sweep_picks_up_lost_message(
    factory, task_settings, sink, world: World
) -> None:
    # Storing without processing is what a crash right after the 250 leaves.
    stored = store_inbound(factory, _reply(task_settings, world), "smtp")
    with db.transaction(factory) as session:
        session.execute(
            update(InboundEmail)
            .where(InboundEmail.id == stored.inbound_id)
            .values(received_at=datetime.now(UTC) - INBOUND_GRACE * 2)
        )

    counts = sweep_mail()

    with factory() as session:
        row = session.get(InboundEmail, stored.inbound_id)
        topics = list(
            session.scalars(
                select(models.Topic).where(models.Topic.series_id == world.series_id)
            )
        )
    assert counts["inbound"] >= 1
    assert row.status is InboundStatus.PROCESSED
    assert [topic.text for topic in topics] == ["back from parental leave"]
    # The sweep also delivers mail that earlier tests left pending in the
    # shared database, so only the mail to this test's sender is checked.
    mine = [r.recipients for r in sink[0].received if EMPLOYEE in r.recipients]
    assert mine == [[EMPLOYEE]]


def test_send_agendas_command(factory, task_settings, sink, world: World) -> None:
    now = (world.start - timedelta(hours=2)).isoformat()
    command = ["send-agendas", "--now", now, "--tenant", task_settings.tenant]

    first = CliRunner().invoke(cli, command)
    second = CliRunner().invoke(cli, command)

    with factory() as session:
        rows = list(
            session.scalars(
                select(OutboundEmail).where(
                    OutboundEmail.occurrence_id == world.occurrence_id
                )
            )
        )
    assert first.exit_code == 0, first.output
    assert "2 agenda emails queued, 2 sent" in first.output
    assert "0 agenda emails queued, 0 sent" in second.output
    assert len(rows) == 2
    assert len(sink[0].received) == 2


def test_send_agendas_unknown_tenant(task_settings) -> None:
    result = CliRunner().invoke(cli, ["send-agendas", "--tenant", "no-such-tenant"])

    assert result.exit_code == 2
    assert "tenant 'no-such-tenant' was not found" in result.output
