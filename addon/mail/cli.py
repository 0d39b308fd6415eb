"""The `tandem smtpd`, `tandem send-agendas` and `tandem email-settings` commands."""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import click
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from addon import db, models
from addon.mail.errors import TemporarySendError
from addon.mail.sending import Transport, TransportPicker, open_transport
from addon.mail.tenant_settings import (
    EmailSettingsChange,
    EmailSettingsView,
    change_email_settings,
    read_email_settings,
)
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
    from addon.mail.reminders import queue_agenda_emails

    settings = get_settings()
    now = _parse_now(now_text)
    engine = db.make_engine(settings.database_url)
    db.migrate(engine)
    factory = db.session_factory(engine)
    with db.transaction(factory) as session:
        tenant_id = _tenant_id(session, tenant_name) if tenant_name else None
        queued = queue_agenda_emails(session, settings, now, tenant_id)

    with open_transport(settings, factory) as transport:
        sent = _deliver_all(factory, queued, transport, settings.sender_address, now)
    engine.dispose()
    click.echo(f"{len(queued)} agenda emails queued, {sent} sent")


def _deliver_all(
    factory: sessionmaker[Session],
    outbound_ids: list[int],
    transport: Transport | TransportPicker,
    sender: str,
    now: datetime,
) -> int:
    from addon.mail.outbox import deliver

    sent = 0
    for outbound_id in outbound_ids:
        try:
            status = deliver(factory, outbound_id, transport, sender, now)
        except TemporarySendError as error:
            # The row is pending again; the next run or the sweep retries it.
            click.echo(f"email {outbound_id} not sent yet: {error}", err=True)
            continue
        sent += status is MailStatus.SENT
    return sent


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


@click.group("email-settings")
def email_settings() -> None:
    """Show or change a tenant's agenda email settings."""


_TENANT_OPTION = click.option(
    "--tenant",
    "tenant_name",
    help="Tenant name (default: TANDEM_TENANT, the tenant of the file commands).",
)


@email_settings.command("show")
@_TENANT_OPTION
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
)
def show_email_settings(tenant_name: str | None, output_format: str) -> None:
    """Print the tenant's email settings, defaults included."""
    settings = get_settings()
    with _tenant_session(tenant_name) as (session, tenant):
        view = read_email_settings(session, tenant, settings)

    if output_format == "json":
        click.echo(json.dumps(view.to_dict(), indent=2))
    else:
        click.echo(_settings_table(view))


@email_settings.command("set")
@_TENANT_OPTION
@click.option(
    "--agenda-emails/--no-agenda-emails",
    default=None,
    help="Send agenda emails before each 1:1, or stop sending them.",
)
@click.option(
    "--lead-hours",
    type=click.IntRange(min=0),
    help="Hours before a 1:1 to send its agenda email; 0 means the start of "
    "working hours on the working day before.",
)
@click.option(
    "--default-lead",
    is_flag=True,
    help="Forget the tenant's own lead and use TANDEM_REMINDER_LEAD_HOURS.",
)
@click.option(
    "--graph-sender",
    help="Mailbox of the tenant that sends through Graph when "
    'TANDEM_MAIL_TRANSPORT=graph; "" stops sending through Graph.',
)
def set_email_settings(
    tenant_name: str | None,
    agenda_emails: bool | None,
    lead_hours: int | None,
    default_lead: bool,
    graph_sender: str | None,
) -> None:
    """Change the tenant's email settings and print the result."""
    if default_lead and lead_hours is not None:
        raise click.UsageError("Give either --lead-hours or --default-lead, not both.")
    change = EmailSettingsChange(
        agenda_emails=agenda_emails,
        reminder_lead_hours=-1 if default_lead else lead_hours,
        graph_sender=graph_sender,
    )
    if change == EmailSettingsChange():
        raise click.UsageError(
            "Nothing to change; give --agenda-emails, --no-agenda-emails, "
            "--lead-hours, --default-lead or --graph-sender."
        )

    settings = get_settings()
    with _tenant_session(tenant_name) as (session, tenant):
        try:
            change_email_settings(session, tenant, change)
        except ValueError as error:
            raise click.BadParameter(str(error)) from None
        view = read_email_settings(session, tenant, settings)
    click.echo(_settings_table(view))


@contextmanager
def _tenant_session(tenant_name: str | None) -> Iterator[tuple[Session, models.Tenant]]:
    settings = get_settings()
    engine = db.make_engine(settings.database_url)
    db.migrate(engine)
    factory = db.session_factory(engine)
    try:
        with db.transaction(factory) as session:
            tenant_id = _tenant_id(session, tenant_name or settings.tenant)
            yield session, session.get_one(models.Tenant, tenant_id)
    finally:
        engine.dispose()


def _settings_table(view: EmailSettingsView) -> str:
    lead = str(view.reminder_lead_hours)
    if view.reminder_lead_hours == 0:
        lead += " (working day before)"
    if view.lead_is_default:
        lead += ", default"
    rows = [
        ("tenant", view.tenant),
        ("agenda emails", "on" if view.agenda_emails else "off"),
        ("reminder lead hours", lead),
        ("graph sender", view.graph_sender or "(none: SMTP)"),
    ]
    return "\n".join(f"{name:<20} {value}" for name, value in rows)
