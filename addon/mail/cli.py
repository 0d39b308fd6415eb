"""The `tandem smtpd` and `tandem send-agendas` commands."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from addon import db, models
from addon.mail.errors import TemporarySendError
from addon.models import MailStatus
from addon.settings import get_settings

log = logging.getLogger(__name__)


@click.command("smtpd")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on."
)
@click.option("--port", default=2525, show_default=True, type=int, help="TCP port.")
def smtpd(host: str, port: int) -> None:
    """Receive replies to agenda emails over SMTP until stopped (Ctrl-C or SIGTERM)."""
    from addon.mail.smtpd import start_server
    from workers.mail_tasks import process_inbound_email

    settings = get_settings()
    engine = db.make_engine(settings.database_url)
    db.migrate(engine)
    controller = start_server(
        db.session_factory(engine),
        settings,
        host,
        port,
        on_stored=lambda inbound_id: process_inbound_email.delay(inbound_id),
    )
    click.echo(f"smtpd listening on {host}:{port} for @{settings.inbound_domain}")

    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()

    controller.stop()
    controller.handler.executor.shutdown(wait=True)
    engine.dispose()
    log.info("smtpd stopped", extra={"host": host, "port": port})


@click.command("send-agendas")
@click.option("--now", "now_text", help="Treat this ISO 8601 time as now.")
@click.option(
    "--tenant", "tenant_name", help="Only this tenant (default: every tenant)."
)
def send_agendas(now_text: str | None, tenant_name: str | None) -> None:
    """Queue and send the agenda emails that are due now, once per person."""
    from addon.mail.outbox import deliver
    from addon.mail.reminders import queue_agenda_emails
    from addon.mail.sending import transport_from_settings

    settings = get_settings()
    now = _parse_now(now_text)
    engine = db.make_engine(settings.database_url)
    db.migrate(engine)
    factory = db.session_factory(engine)
    with db.transaction(factory) as session:
        tenant_id = _tenant_id(session, tenant_name) if tenant_name else None
        queued = queue_agenda_emails(session, settings, now, tenant_id)

    transport = transport_from_settings(settings)
    sent = 0
    for outbound_id in queued:
        try:
            status = deliver(
                factory, outbound_id, transport, settings.sender_address, now
            )
        except TemporarySendError as error:
            # The row is pending again; the next run or the sweep retries it.
            click.echo(f"email {outbound_id} not sent yet: {error}", err=True)
            continue
        sent += status is MailStatus.SENT
    engine.dispose()
    click.echo(f"{len(queued)} agenda emails queued, {sent} sent")


def _parse_now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 time; write it like 2026-12-04T09:00+01:00"
        ) from None
    if moment.tzinfo is None:
        raise click.BadParameter(
            f"{value!r} has no UTC offset; add one, such as +01:00"
        )
    return moment


def _tenant_id(session: Session, name: str) -> int:
    found = session.scalar(select(models.Tenant.id).where(models.Tenant.name == name))
    if found is None:
        raise click.BadParameter(
            f"tenant {name!r} was not found; run `tandem sync` for it first",
            param_hint="--tenant",
        )
    return found
