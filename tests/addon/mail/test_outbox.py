"""Send queued emails once, with retries on 4xx and none on 5xx."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from addon import db
from addon.mail.errors import TemporarySendError
from addon.mail.outbox import MAX_ATTEMPTS, claim, deliver, queue_email
from addon.mail.sending import transport_from_settings
from addon.models import MailStatus, OutboundEmail

NOW = datetime(2026, 12, 4, 9, tzinfo=UTC)


def _queue(factory: sessionmaker[Session], key: str) -> int | None:
    row = OutboundEmail(
        kind="test",
        dedupe_key=key,
        recipient="ravi@example.test",
        message_id=f"<{key}@tandem.test>",
        created_at=NOW,
    )
    raw = f"Message-ID: <{key}@tandem.test>\r\nSubject: hi\r\n\r\nhello\r\n".encode()
    with db.transaction(factory) as session:
        queued = queue_email(session, row, lambda: raw)
        return queued.id if queued else None


def _row(factory: sessionmaker[Session], outbound_id: int) -> OutboundEmail:
    with factory() as session:
        row = session.get(OutboundEmail, outbound_id)
    assert row is not None
    return row


def _deliver(factory, settings, outbound_id: int):  # type: ignore[no-untyped-def]
    transport = transport_from_settings(settings)
    return deliver(factory, outbound_id, transport, settings.sender_address, NOW)


def test_queue_same_key_once(factory) -> None:
    key = f"test:{uuid.uuid4()}"

    first = _queue(factory, key)
    second = _queue(factory, key)

    assert first is not None
    assert second is None


def test_claim_has_one_winner(factory) -> None:
    outbound_id = _queue(factory, f"test:{uuid.uuid4()}")
    barrier = threading.Barrier(4)
    wins: list[bool] = []

    def contend() -> None:
        barrier.wait()
        wins.append(claim(factory, outbound_id, NOW))

    threads = [threading.Thread(target=contend) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(wins) == [False, False, False, True]
    assert _row(factory, outbound_id).attempts == 1


def test_temporary_failure_stays_pending(factory, settings, sink) -> None:
    handler, _ = sink
    handler.codes.append("451 4.3.0 Try again later")
    outbound_id = _queue(factory, f"test:{uuid.uuid4()}")

    with pytest.raises(TemporarySendError) as raised:
        _deliver(factory, settings, outbound_id)
    retried = _deliver(factory, settings, outbound_id)

    row = _row(factory, outbound_id)
    assert raised.value.code == 451
    assert retried is MailStatus.SENT
    assert row.attempts == 2
    assert len(handler.received) == 1


def test_permanent_failure_not_retried(factory, settings, sink) -> None:
    handler, _ = sink
    handler.codes.append("550 5.1.1 No such user")
    outbound_id = _queue(factory, f"test:{uuid.uuid4()}")

    first = _deliver(factory, settings, outbound_id)
    second = _deliver(factory, settings, outbound_id)

    row = _row(factory, outbound_id)
    assert first is MailStatus.FAILED
    assert second is None
    assert row.status is MailStatus.FAILED
    assert "550" in row.last_error
    assert row.raw is None


def test_gives_up_after_max_attempts(factory, settings, sink) -> None:
    handler, _ = sink
    handler.codes.extend(["421 4.7.0 Busy"] * MAX_ATTEMPTS)
    outbound_id = _queue(factory, f"test:{uuid.uuid4()}")

    for _ in range(MAX_ATTEMPTS - 1):
        with pytest.raises(TemporarySendError):
            _deliver(factory, settings, outbound_id)
    last = _deliver(factory, settings, outbound_id)

    assert last is MailStatus.FAILED
    assert _row(factory, outbound_id).attempts == MAX_ATTEMPTS


def test_unreachable_server_is_temporary(factory, settings) -> None:
    from mail_fixtures import free_port

    closed = settings.model_copy(update={"smtp_port": free_port(), "smtp_timeout": 2})
    outbound_id = _queue(factory, f"test:{uuid.uuid4()}")

    with pytest.raises(TemporarySendError):
        _deliver(factory, closed, outbound_id)

    assert _row(factory, outbound_id).status is MailStatus.PENDING
