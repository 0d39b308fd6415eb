"""Check stored replies and turn them into topics, exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mail_fixtures import EMPLOYEE, MANAGER, World
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from addon import db, models
from addon.agenda import Section
from addon.mail import tokens
from addon.mail.intake import process_inbound
from addon.mail.store import store_inbound
from addon.models import InboundEmail, InboundStatus, OutboundEmail
from addon.settings import Settings

_counter = iter(range(1_000_000))


def _token(
    settings: Settings, world: World, occurrence_id: int, *, expires: datetime
) -> str:
    token = tokens.Token(
        tokens.Purpose.REPLY,
        world.tenant_id,
        occurrence_id,
        world.people[EMPLOYEE],
        expires,
    )
    return tokens.sign_token(token, settings.reply_key)


def _reply(
    settings: Settings,
    token: str,
    body: str,
    *,
    sender: str = "Ravi <Employee+mobile@Example.TEST>",
    headers: str = "",
) -> bytes:
    address = tokens.reply_address(token, settings.inbound_domain)
    return (
        f"{headers}From: {sender}\r\n"
        f"To: Tandem <{address}>\r\n"
        "Subject: Re: Agenda: 1:1 Mira / Ravi\r\n"
        f"Message-ID: <reply-{next(_counter)}-{token[:6]}@example.test>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\n'
        "\r\n"
        f"{body}\r\n"
    ).encode()


def _run(factory: sessionmaker[Session], settings: Settings, raw: bytes, now: datetime):  # type: ignore[no-untyped-def]
    stored = store_inbound(factory, raw, "test")
    return process_inbound(factory, stored.inbound_id, settings, now)


def _topics(factory: sessionmaker[Session], world: World) -> list[models.Topic]:
    with factory() as session:
        rows = session.scalars(
            select(models.Topic)
            .where(models.Topic.series_id == world.series_id)
            .order_by(models.Topic.id)
        )
        return list(rows)


def _outbound(factory: sessionmaker[Session], ids: list[int]) -> list[OutboundEmail]:
    with factory() as session:
        return [session.get(OutboundEmail, i) for i in ids]


def _later(world: World) -> datetime:
    return world.start - timedelta(hours=1)


def _fresh(settings: Settings, world: World) -> str:
    return _token(
        settings, world, world.occurrence_id, expires=world.start + timedelta(days=30)
    )


def test_reply_adds_topics(factory, settings, world: World) -> None:
    body = "- growth: a course on public speaking\n- The release plan"

    result = _run(
        factory,
        settings,
        _reply(settings, _fresh(settings, world), body),
        _later(world),
    )

    topics = _topics(factory, world)
    assert result.outcome == "added"
    assert [t.text for t in topics] == [
        "a course on public speaking",
        "The release plan",
    ]
    assert [t.section for t in topics] == [Section.GROWTH, Section.ROLE]
    assert {t.raised_for for t in topics} == {world.start}
    assert {t.source for t in topics} == {"email"}
    assert {t.author_email for t in topics} == {EMPLOYEE}
    assert result.calendar_id == world.calendar_id


def test_reply_queues_confirmation(factory, settings, world: World) -> None:
    raw = _reply(settings, _fresh(settings, world), "personal: moving house")

    result = _run(factory, settings, raw, _later(world))

    [confirmation] = _outbound(factory, result.outbound_ids)
    assert confirmation.kind == "confirmation"
    assert confirmation.recipient == EMPLOYEE
    text = confirmation.raw.decode()
    assert "In-Reply-To: <reply-" in text
    assert "Auto-Submitted: auto-generated" in text


def test_same_row_processed_once(factory, settings, world: World) -> None:
    raw = _reply(settings, _fresh(settings, world), "- The release plan")
    stored = store_inbound(factory, raw, "test")

    first = process_inbound(factory, stored.inbound_id, settings, _later(world))
    second = process_inbound(factory, stored.inbound_id, settings, _later(world))

    assert first.outcome == "added"
    assert second.outcome == "already_processed"
    assert len(_topics(factory, world)) == 1


def test_same_message_id_stored_once(factory, settings, world: World) -> None:
    raw = _reply(settings, _fresh(settings, world), "- The release plan")

    first = store_inbound(factory, raw, "smtp")
    second = store_inbound(factory, raw, "webhook")

    assert second.duplicate is True
    assert second.inbound_id == first.inbound_id


def test_processed_row_drops_body(factory, settings, world: World) -> None:
    result = _run(
        factory,
        settings,
        _reply(settings, _fresh(settings, world), "- x y z"),
        _later(world),
    )

    with factory() as session:
        row = session.get(InboundEmail, result.inbound_id)
    assert row.raw is None
    assert row.status is InboundStatus.PROCESSED
    assert row.topic_ids == result.topic_ids


def test_forwarded_reply_rejected(factory, settings, world: World) -> None:
    raw = _reply(settings, _fresh(settings, world), "- pay rise", sender=MANAGER)

    result = _run(factory, settings, raw, _later(world))

    [answer] = _outbound(factory, result.outbound_ids)
    assert result.outcome == "wrong_sender"
    assert _topics(factory, world) == []
    assert answer.kind == "rejection"
    assert answer.recipient == MANAGER


def test_expired_token_rejected(factory, settings, world: World) -> None:
    token = _token(
        settings, world, world.occurrence_id, expires=world.start - timedelta(days=1)
    )

    result = _run(
        factory, settings, _reply(settings, token, "- too late"), _later(world)
    )

    assert result.outcome == "expired"
    assert _topics(factory, world) == []


def test_forged_token_silent(factory, settings, world: World) -> None:
    token = _fresh(settings, world)
    forged = token[:-3] + ("aaa" if token[-3:] != "aaa" else "bbb")

    result = _run(factory, settings, _reply(settings, forged, "- hello"), _later(world))

    assert result.outcome == "invalid_token"
    assert result.outbound_ids == []


def test_dmarc_fail_silent(factory, settings, world: World) -> None:
    headers = (
        "Authentication-Results: mx.tandem.test; spf=pass smtp.mailfrom=example.test;"
        " dkim=none; dmarc=fail (p=reject) header.from=example.test\r\n"
    )
    raw = _reply(settings, _fresh(settings, world), "- hello", headers=headers)

    result = _run(factory, settings, raw, _later(world))

    assert result.outcome == "authentication_failed"
    assert result.outbound_ids == []
    assert _topics(factory, world) == []


def test_auto_reply_never_answered(factory, settings, world: World) -> None:
    headers = "Auto-Submitted: auto-replied\r\n"
    raw = _reply(
        settings, _fresh(settings, world), "I am out of office.", headers=headers
    )

    result = _run(factory, settings, raw, _later(world))

    assert result.outcome == "auto_reply"
    assert result.outbound_ids == []


def test_rejections_rate_limited(factory, settings, world: World) -> None:
    limit = settings.rejection_limit_per_day
    outcomes = []

    for _ in range(limit + 2):
        raw = _reply(
            settings, _fresh(settings, world), "- x", sender="someone@else.test"
        )
        outcomes.append(_run(factory, settings, raw, _later(world)))

    answered = [result for result in outcomes if result.outbound_ids]
    assert {result.outcome for result in outcomes} == {"wrong_sender"}
    assert len(answered) == limit


def test_old_email_adds_to_next(factory, settings, world: World) -> None:
    past = world.start - timedelta(days=7)
    with db.transaction(factory) as session:
        old = models.Occurrence(
            tenant_id=world.tenant_id,
            series_id=world.series_id,
            recurrence_id=past,
            start=past,
            end=past + timedelta(minutes=30),
        )
        session.add(old)
        session.flush()
        old_id = old.id
    token = _token(settings, world, old_id, expires=world.start + timedelta(days=30))

    result = _run(
        factory, settings, _reply(settings, token, "- follow up"), _later(world)
    )

    [topic] = _topics(factory, world)
    assert result.outcome == "added"
    assert topic.raised_for == world.start


def test_no_next_occurrence_rejected(factory, settings, world: World) -> None:
    after_meeting = world.start + timedelta(hours=2)

    result = _run(
        factory,
        settings,
        _reply(settings, _fresh(settings, world), "- x"),
        after_meeting,
    )

    assert result.outcome == "no_next_occurrence"
    assert _topics(factory, world) == []


def test_other_tenant_token_rejected(factory, settings, world: World) -> None:
    token = tokens.Token(
        tokens.Purpose.REPLY,
        world.tenant_id + 100_000,
        world.occurrence_id,
        world.people[EMPLOYEE],
        datetime.now(UTC) + timedelta(days=30),
    )
    raw = _reply(settings, tokens.sign_token(token, settings.reply_key), "- x")

    result = _run(factory, settings, raw, _later(world))

    assert result.outcome == "invalid_token"
