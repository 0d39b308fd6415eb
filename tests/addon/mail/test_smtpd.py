"""Real SMTP sessions over loopback against `tandem smtpd`."""

from __future__ import annotations

import smtplib
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mail_fixtures import EMPLOYEE, MAX_BYTES, free_port
from sqlalchemy import select

from addon import db
from addon.mail import tokens
from addon.mail.smtpd import start_server
from addon.models import InboundEmail, InboundStatus
from addon.settings import Settings

# Ids no test creates, so a token naming them passes RCPT but finds no rows.
UNKNOWN = 999_999_999


def _address(settings: Settings) -> str:
    token = tokens.Token(
        tokens.Purpose.REPLY,
        UNKNOWN,
        UNKNOWN,
        UNKNOWN,
        datetime.now(UTC) + timedelta(days=1),
    )
    return tokens.reply_address(
        tokens.sign_token(token, settings.reply_key), settings.inbound_domain
    )


def _message(marker: str, size: int = 0) -> bytes:
    filler = ("x" * 70 + "\r\n") * (size // 72)
    return (
        f"From: {EMPLOYEE}\r\nTo: tandem\r\nSubject: Re: Agenda\r\n"
        f"Message-ID: <{marker}@example.test>\r\n\r\n- a topic\r\n{filler}"
    ).encode()


def _stored(factory, marker: str) -> InboundEmail | None:  # type: ignore[no-untyped-def]
    from addon.mail.store import message_key

    key = message_key(_message(marker))
    with factory() as session:
        return session.scalar(
            select(InboundEmail).where(InboundEmail.message_key == key)
        )


def test_smtpd_stores_before_250(factory, settings, smtpd_port: int) -> None:
    marker = f"stored-{time.time_ns()}"
    address = _address(settings)

    with smtplib.SMTP("127.0.0.1", smtpd_port, timeout=10) as client:
        refused = client.sendmail(EMPLOYEE, [address], _message(marker))
        row = _stored(factory, marker)

    assert refused == {}
    assert row is not None
    assert row.source == "smtp"
    assert row.envelope_to == [address]


def test_smtpd_rejects_unknown_rcpt(settings, smtpd_port: int) -> None:
    with smtplib.SMTP("127.0.0.1", smtpd_port, timeout=10) as client:
        client.ehlo()
        client.mail(EMPLOYEE)
        code, _ = client.rcpt(f"reply+notatoken@{settings.inbound_domain}")
        other, _ = client.rcpt("someone@elsewhere.test")
        forged, _ = client.rcpt(
            _address(settings.model_copy(update={"reply_key": "k" * 40}))
        )

    assert code == 550
    assert other == 550
    assert forged == 550


def test_smtpd_rejects_oversized(factory, settings, smtpd_port: int) -> None:
    marker = f"big-{time.time_ns()}"

    with smtplib.SMTP("127.0.0.1", smtpd_port, timeout=10) as client:
        client.ehlo()
        client.mail(EMPLOYEE)
        client.rcpt(_address(settings))
        code, _ = client.data(_message(marker, size=MAX_BYTES * 2))

    assert code == 552
    assert _stored(factory, marker) is None


def test_smtpd_processes_after_store(factory, settings, smtpd_port: int) -> None:
    marker = f"processed-{time.time_ns()}"

    with smtplib.SMTP("127.0.0.1", smtpd_port, timeout=10) as client:
        client.sendmail(EMPLOYEE, [_address(settings)], _message(marker))
    deadline = time.monotonic() + 20
    row = _stored(factory, marker)
    while (
        row is not None
        and row.status is InboundStatus.PENDING
        and time.monotonic() < deadline
    ):
        time.sleep(0.2)
        row = _stored(factory, marker)

    # The token's ids name no rows, so processing rejects it with no email.
    assert row is not None
    assert row.status is InboundStatus.REJECTED
    assert row.outcome == "invalid_token"
    assert row.raw is None


def test_store_failure_answers_451(settings, tmp_path: Path) -> None:
    # An empty database without Tandem's tables makes every insert fail.
    engine = db.make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    port = free_port()
    controller = start_server(db.session_factory(engine), settings, "127.0.0.1", port)
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo()
            client.mail(EMPLOYEE)
            client.rcpt(_address(settings))
            code, _ = client.data(_message("lost"))
    finally:
        controller.stop()
        engine.dispose()

    assert code == 451
