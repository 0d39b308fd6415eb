"""The whole email flow on the iCalendar provider, with real SMTP both ways.

An agenda email goes to a local SMTP sink, and the reply goes in through
`tandem smtpd` in a subprocess. That process stores it, adds the topic,
sends the confirmation to the sink and rewrites the invite's block in the
calendar file through the normal sync.
"""

from __future__ import annotations

import smtplib
import time
from datetime import timedelta
from email.message import EmailMessage

from mail_fixtures import EMPLOYEE, SinkHandler, World
from sqlalchemy import select

from addon import db, models
from addon.agenda import Section
from addon.mail.outbox import deliver
from addon.mail.reminders import queue_agenda_emails
from addon.mail.sending import transport_from_settings
from calendar_sync.providers.ical import ICalendarProvider

TOPIC = "Finding a mentor for the new role"


def _send_agendas(factory, settings, world: World) -> None:  # type: ignore[no-untyped-def]
    now = world.start - timedelta(hours=2)
    with db.transaction(factory) as session:
        queued = queue_agenda_emails(session, settings, now, world.tenant_id)
    transport = transport_from_settings(settings)
    for outbound_id in queued:
        deliver(factory, outbound_id, transport, settings.sender_address, now)


def _reply_to(agenda: EmailMessage) -> EmailMessage:
    reply = EmailMessage()
    reply["From"] = "Ravi Employee <Employee@Example.test>"
    reply["To"] = agenda["Reply-To"]
    reply["Subject"] = "Re: " + agenda["Subject"]
    reply["Message-ID"] = "<ravi-reply-1@example.test>"
    reply["In-Reply-To"] = agenda["Message-ID"]
    reply["References"] = f"{agenda['References']} {agenda['Message-ID']}"
    quoted = "\n".join(
        "> " + line for line in agenda.get_body(("plain",)).get_content().splitlines()
    )
    reply.set_content(
        f"growth: {TOPIC}\n\nOn Thu, Tandem <tandem@tandem.test> wrote:\n{quoted}\n"
    )
    return reply


def _wait_for(handler: SinkHandler, count: int) -> None:
    deadline = time.monotonic() + 60
    while len(handler.received) < count and time.monotonic() < deadline:
        time.sleep(0.2)


def _wait_for_block(world: World) -> str:
    deadline = time.monotonic() + 30
    description = ""
    while time.monotonic() < deadline:
        provider = ICalendarProvider(world.ics)
        [event] = provider.list_instances(
            provider.list_changes(None).events[0].uid,
            world.start - timedelta(minutes=1),
            world.start + timedelta(minutes=1),
        )
        description = event.description
        if TOPIC in description:
            return description
        time.sleep(0.2)
    return description


def test_email_reply_flow(
    factory, settings, sink, smtpd_port: int, world: World
) -> None:
    handler, _ = sink
    _send_agendas(factory, settings, world)
    agenda = next(r.message for r in handler.received if r.recipients == [EMPLOYEE])

    with smtplib.SMTP("127.0.0.1", smtpd_port, timeout=10) as client:
        client.send_message(_reply_to(agenda))
    _wait_for(handler, 3)
    description = _wait_for_block(world)

    with factory() as session:
        topics = list(
            session.scalars(
                select(models.Topic).where(models.Topic.series_id == world.series_id)
            )
        )
    assert [(t.text, t.section, t.raised_for) for t in topics] == [
        (TOPIC, Section.GROWTH, world.start)
    ]
    confirmation = handler.received[2]
    assert confirmation.recipients == [EMPLOYEE]
    assert confirmation.message["In-Reply-To"] == "<ravi-reply-1@example.test>"
    text = confirmation.message.get_body(("plain",)).get_content()
    assert "GROWTH & DEVELOPMENT" in text
    assert f"- {TOPIC}" in text
    assert "Keep this line." in description
    assert TOPIC in description
