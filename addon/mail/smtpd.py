"""The SMTP server of the inbound domain (`tandem smtpd`), built on aiosmtpd.

It accepts mail only for reply addresses whose token carries a valid
signature (others get 550 at RCPT), rejects messages over the size limit
with 552 (aiosmtpd's `data_size_limit`, advertised as SIZE in EHLO per
RFC 1870), and replies 250 only after the raw message is committed. When
storing fails it replies 451, so the sending server keeps the message and
tries again later (RFC 5321 section 4.2.5).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from addon.mail import tokens
from addon.mail.errors import TokenError
from addon.mail.store import store_inbound
from addon.settings import Settings

log = logging.getLogger(__name__)

OnStored = Callable[[int], None]


class InboundHandler:
    """aiosmtpd handler: checks recipients, stores each message, then hands it on."""

    def __init__(
        self,
        factory: sessionmaker[DbSession],
        settings: Settings,
        on_stored: OnStored | None = None,
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.on_stored = on_stored
        # Storing and processing block on the database, so they run here and
        # not on the event loop that serves the other SMTP sessions.
        self.executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="smtpd")

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if not self.is_known(address):
            log.info("recipient rejected", extra={"peer": _peer(session)})
            return "550 5.1.1 No such reply address here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        if len(raw) > self.settings.max_message_bytes:
            return "552 5.3.4 Message too big"

        loop = asyncio.get_running_loop()
        recipients = list(envelope.rcpt_tos)
        try:
            stored = await loop.run_in_executor(
                self.executor, store_inbound, self.factory, raw, "smtp", recipients
            )
        except SQLAlchemyError as error:
            log.error(
                "storing inbound message failed", extra={"error": type(error).__name__}
            )
            return "451 4.3.0 Message not stored, try again later"

        if self.on_stored is not None and not stored.duplicate:
            # Processing runs after the reply; a crash here leaves the row
            # pending, and the sweep task picks it up again.
            loop.run_in_executor(self.executor, self._hand_on, stored.inbound_id)
        return "250 2.0.0 Message stored"

    def is_known(self, address: str) -> bool:
        text = tokens.token_in_address(address, self.settings.inbound_domain)
        if text is None:
            return False
        try:
            tokens.read_token(text, self.settings.reply_key)
        except TokenError:
            return False
        return True

    def _hand_on(self, inbound_id: int) -> None:
        if self.on_stored is None:
            return
        try:
            self.on_stored(inbound_id)
        except Exception as error:
            # Any failure leaves the row pending, and the sweep task retries it.
            log.error(
                "processing inbound message failed",
                extra={"inbound": inbound_id, "error": type(error).__name__},
            )


def _peer(session: Session) -> str:
    peer = session.peer
    return str(peer[0]) if isinstance(peer, tuple) else str(peer)


def start_server(
    factory: sessionmaker[DbSession],
    settings: Settings,
    host: str,
    port: int,
    on_stored: OnStored | None = None,
) -> Controller:
    """Start the server on a thread of its own and return its controller."""
    handler = InboundHandler(factory, settings, on_stored)
    controller = Controller(
        handler,
        hostname=host,
        port=port,
        # aiosmtpd replies 552 itself once the data passes this many bytes.
        data_size_limit=settings.max_message_bytes,
        ident="Tandem",
    )
    controller.start()
    log.info("smtpd started", extra={"host": host, "port": port})
    return controller
