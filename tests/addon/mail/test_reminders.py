"""Pick the agenda emails that are due, and queue each one once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from mail_fixtures import EMPLOYEE, MANAGER, World
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from addon import db, models, records
from addon.mail.outbox import deliver
from addon.mail.reminders import due_at, queue_agenda_emails
from addon.mail.sending import transport_from_settings
from addon.models import MailStatus, OutboundEmail
from addon.settings import Settings


def _queue(
    factory: sessionmaker[Session], settings: Settings, now: datetime, world: World
) -> list[int]:
    with db.transaction(factory) as session:
        return queue_agenda_emails(session, settings, now, world.tenant_id)


def _count(factory: sessionmaker[Session], world: World) -> int:
    with factory() as session:
        return (
            session.scalar(
                select(func.count(OutboundEmail.id)).where(
                    OutboundEmail.occurrence_id == world.occurrence_id
                )
            )
            or 0
        )


def _send_all(factory, settings, ids, now) -> list[MailStatus | None]:  # type: ignore[no-untyped-def]
    transport = transport_from_settings(settings)
    return [deliver(factory, i, transport, settings.sender_address, now) for i in ids]


def test_due_at_monday_goes_to_friday() -> None:
    monday = datetime(2026, 12, 7, 10, tzinfo=UTC)

    due = due_at(monday, "Europe/Amsterdam", 0, 9)

    assert due == datetime(2026, 12, 4, 9, tzinfo=due.tzinfo)
    assert due.astimezone(UTC) == datetime(2026, 12, 4, 8, tzinfo=UTC)


def test_due_at_fixed_lead() -> None:
    start = datetime(2026, 12, 8, 10, tzinfo=UTC)

    assert due_at(start, "UTC", 3, 9) == datetime(2026, 12, 8, 7, tzinfo=UTC)


def test_queue_not_due_yet(factory, settings, world: World) -> None:
    early = world.start - timedelta(days=3)

    assert _queue(factory, settings, early, world) == []


def test_queue_once_per_person(factory, settings, world: World) -> None:
    now = world.start - timedelta(hours=2)

    first = _queue(factory, settings, now, world)
    second = _queue(factory, settings, now, world)

    assert len(first) == 2
    assert second == []
    assert _count(factory, world) == 2


def test_queue_skips_opted_out(factory, settings, world: World) -> None:
    with db.transaction(factory) as session:
        tenant = session.get(models.Tenant, world.tenant_id)
        records.set_opt_out(session, tenant, EMPLOYEE, True)

    queued = _queue(factory, settings, world.start - timedelta(hours=2), world)

    with factory() as session:
        recipients = [session.get(OutboundEmail, i).recipient for i in queued]
    assert recipients == [MANAGER]


def test_sent_email_headers(factory, settings, sink, world: World) -> None:
    handler, _ = sink
    now = world.start - timedelta(hours=2)
    with db.transaction(factory) as session:
        tenant = session.get(models.Tenant, world.tenant_id)
        records.add_topic(
            session,
            tenant,
            world.series_id,
            "Budget <2027> & plans",
            models.Section.ROLE,
        )
        records.add_note(
            session, tenant, world.series_id, "secret worry", MANAGER, private=True
        )

    statuses = _send_all(factory, settings, _queue(factory, settings, now, world), now)

    assert statuses == [MailStatus.SENT, MailStatus.SENT]
    message: EmailMessage = next(
        r.message for r in handler.received if r.recipients == [EMPLOYEE]
    )
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Unsubscribe"].startswith(
        "<https://tandem.test/inbound/unsubscribe/"
    )
    assert message["Reply-To"].startswith("reply+")
    assert message["Reply-To"].endswith("@in.tandem.test")
    assert (
        message["In-Reply-To"]
        == f"<series.{world.tenant_id}.{world.series_id}@tandem.test>"
    )
    assert message["References"] == message["In-Reply-To"]
    assert message["Subject"] == "Agenda: 1:1 Mira / Ravi"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Hi Ravi Employee," in text
    assert "- Budget <2027> & plans" in text
    assert "Budget &lt;2027&gt; &amp; plans" in html
    assert "secret worry" not in text
    assert "secret worry" not in html


def test_sent_email_clears_raw(factory, settings, sink, world: World) -> None:
    now = world.start - timedelta(hours=2)

    ids = _queue(factory, settings, now, world)
    _send_all(factory, settings, ids, now)
    again = _send_all(factory, settings, ids, now)

    with factory() as session:
        rows = [session.get(OutboundEmail, i) for i in ids]
    assert again == [None, None]
    assert [row.status for row in rows] == [MailStatus.SENT, MailStatus.SENT]
    assert [row.raw for row in rows] == [None, None]
    assert [row.attempts for row in rows] == [1, 1]
    assert len(sink[0].received) == 2


def test_dutch_recipient_gets_dutch(factory, settings, sink, world: World) -> None:
    with db.transaction(factory) as session:
        person = session.get(models.Person, world.people[EMPLOYEE])
        person.locale = "nl"
    now = world.start - timedelta(hours=2)

    _send_all(factory, settings, _queue(factory, settings, now, world), now)

    message = next(r.message for r in sink[0].received if r.recipients == [EMPLOYEE])
    text = message.get_body(("plain",)).get_content()
    assert "Hoi Ravi Employee," in text
    assert "PERSOONLIJK" in text
    assert "Dit is de agenda van je 1:1 op" in text


def test_overlapping_runs_queue_once(factory, settings, world: World) -> None:
    now = world.start - timedelta(hours=2)
    barrier = threading.Barrier(2)
    results: list[list[int]] = []

    def run() -> None:
        barrier.wait()
        results.append(_queue(factory, settings, now, world))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    queued_ids = [i for queued in results for i in queued]
    assert len(results) == 2
    assert len(queued_ids) == 2
    assert len(set(queued_ids)) == 2
    assert _count(factory, world) == 2
