"""Store raw inbound messages durably, once per Message-ID."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.parser import BytesHeaderParser

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from addon import db
from addon.models import InboundEmail, InboundStatus

log = logging.getLogger(__name__)

_HEADERS = BytesHeaderParser(policy=policy.default)


@dataclass(frozen=True, slots=True)
class Stored:
    """The row a message was stored in; `duplicate` when it was there already."""

    inbound_id: int
    duplicate: bool


def message_key(raw: bytes) -> str:
    """Return the SHA-256 of the message's Message-ID, or of its bytes without one."""
    try:
        message_id = str(_HEADERS.parsebytes(raw).get("Message-ID", "") or "").strip()
    except (ValueError, TypeError, IndexError):
        message_id = ""
    source = f"id:{message_id}".encode() if message_id else b"raw:" + raw
    return hashlib.sha256(source).hexdigest()


def store_inbound(
    factory: sessionmaker[Session],
    raw: bytes,
    source: str,
    envelope_to: list[str] | None = None,
) -> Stored:
    """Insert `raw` as a pending row and commit it before returning.

    A message whose Message-ID was stored before is not stored again: the
    existing row is returned with `duplicate` set. Database errors are
    raised, so the caller can reply to the sender with a temporary failure.
    """
    key = message_key(raw)
    row = InboundEmail(
        message_key=key,
        source=source,
        envelope_to=list(envelope_to or []),
        raw=raw,
        size=len(raw),
        status=InboundStatus.PENDING,
    )
    try:
        with db.transaction(factory) as session:
            session.add(row)
    except IntegrityError:
        existing = _existing_id(factory, key)
        log.info("inbound message seen before", extra={"inbound": existing})
        return Stored(existing, duplicate=True)

    log.info("inbound message stored", extra={"inbound": row.id, "bytes": len(raw)})
    return Stored(row.id, duplicate=False)


def _existing_id(factory: sessionmaker[Session], key: str) -> int:
    with factory() as session:
        found = session.scalar(
            select(InboundEmail.id).where(InboundEmail.message_key == key)
        )
    if found is None:
        raise RuntimeError(
            f"Inbound message {key} was reported as a duplicate but is missing."
        )
    return found


def pending_inbound(session: Session, received_before: datetime) -> list[int]:
    """Ids of stored messages still unprocessed, oldest first."""
    rows = session.scalars(
        select(InboundEmail.id)
        .where(
            InboundEmail.status == InboundStatus.PENDING,
            InboundEmail.received_at < received_before,
        )
        .order_by(InboundEmail.id)
    )
    return list(rows)
