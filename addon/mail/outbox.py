"""Record each email before it is sent, and send each record at most once.

Exactly-once works in three steps. `queue_email` inserts a row whose
`dedupe_key` is unique, so a second insert for the same purpose (a retried
task, two overlapping beat runs) finds the row and adds nothing. `claim`
moves one row from pending to sending with a single conditional UPDATE in
its own committed transaction; on PostgreSQL the row lock makes a concurrent
claim wait and then match nothing, and SQLite serialises writers, so one
worker wins. `deliver` sends what it claimed and records the result.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from addon import db
from addon.mail.errors import PermanentSendError, TemporarySendError
from addon.mail.sending import Transport, TransportPicker, pick_transport
from addon.models import MailStatus, OutboundEmail

log = logging.getLogger(__name__)

#: How long a claim lasts before another worker may take the row over. A send
#: that crashed after the server accepted it but before `sent` was recorded is
#: sent again after this, with the same Message-ID.
CLAIM_LEASE = timedelta(minutes=10)

#: Attempts before a row that keeps failing temporarily is marked failed.
MAX_ATTEMPTS = 6


def queue_email(
    session: Session, row: OutboundEmail, build: Callable[[], bytes]
) -> OutboundEmail | None:
    """Insert `row` with the raw message `build` returns, unless its key exists.

    Returns the new row, or None when an email with the same `dedupe_key`
    was queued before. The insert runs in a savepoint, so a duplicate rolls
    back only itself.
    """
    if _find(session, row.dedupe_key) is not None:
        return None

    row.raw = build()
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # Another transaction inserted the same key after our check.
        return None
    return row


def _find(session: Session, dedupe_key: str) -> OutboundEmail | None:
    return session.scalar(
        select(OutboundEmail).where(OutboundEmail.dedupe_key == dedupe_key)
    )


def claim(factory: sessionmaker[Session], outbound_id: int, now: datetime) -> bool:
    """Move one pending row (or one whose claim lapsed) to sending; True if won."""
    claimable = or_(
        OutboundEmail.status == MailStatus.PENDING,
        (OutboundEmail.status == MailStatus.SENDING)
        & (OutboundEmail.claimed_at < now - CLAIM_LEASE),
    )
    statement = (
        update(OutboundEmail)
        .where(OutboundEmail.id == outbound_id, claimable)
        .values(
            status=MailStatus.SENDING,
            claimed_at=now,
            attempts=OutboundEmail.attempts + 1,
        )
    )
    with db.transaction(factory) as session:
        result = session.execute(statement)
    return result.rowcount == 1  # type: ignore[attr-defined]


def deliver(
    factory: sessionmaker[Session],
    outbound_id: int,
    transport: Transport | TransportPicker,
    sender: str,
    now: datetime,
) -> MailStatus | None:
    """Claim and send one queued email; return its new status.

    `transport` is one transport for every email, or a picker that returns
    the transport of the email's tenant. Returns None when another worker
    has claimed the row or it was sent.
    Re-raises TemporarySendError after putting the row back to pending, so
    the caller can retry later.
    """
    if not claim(factory, outbound_id, now):
        log.debug("email not claimable", extra={"outbound": outbound_id})
        return None

    with factory() as session:
        row = session.get(OutboundEmail, outbound_id)
        raw, recipient = (row.raw or b"", row.recipient) if row else (b"", "")
        tenant_id = row.tenant_id if row else None
    try:
        pick_transport(transport, tenant_id).send(raw, sender, [recipient])
    except TemporarySendError as error:
        status = _record_failure(factory, outbound_id, error, permanent=False)
        if status is MailStatus.PENDING:
            raise
        return status
    except PermanentSendError as error:
        return _record_failure(factory, outbound_id, error, permanent=True)

    _record_sent(factory, outbound_id, now)
    return MailStatus.SENT


def _record_sent(
    factory: sessionmaker[Session], outbound_id: int, now: datetime
) -> None:
    with db.transaction(factory) as session:
        row = session.get(OutboundEmail, outbound_id)
        if row is None:
            return
        row.status, row.sent_at, row.raw, row.last_error = (
            MailStatus.SENT,
            now,
            None,
            "",
        )
        log.info("email sent", extra={"outbound": row.id, "kind": row.kind})


def _record_failure(
    factory: sessionmaker[Session],
    outbound_id: int,
    error: TemporarySendError | PermanentSendError,
    *,
    permanent: bool,
) -> MailStatus:
    with db.transaction(factory) as session:
        row = session.get(OutboundEmail, outbound_id)
        if row is None:
            return MailStatus.FAILED
        gave_up = permanent or row.attempts >= MAX_ATTEMPTS
        row.status = MailStatus.FAILED if gave_up else MailStatus.PENDING
        row.last_error = str(error)
        if gave_up:
            row.raw = None
        log.warning(
            "email send failed",
            extra={"outbound": row.id, "code": error.code, "status": str(row.status)},
        )
        return row.status


def pending_ids(session: Session, older_than: datetime) -> list[int]:
    """Ids of rows still waiting to be sent, for the sweep after a crash."""
    rows = session.scalars(
        select(OutboundEmail.id).where(
            OutboundEmail.status.in_((MailStatus.PENDING, MailStatus.SENDING)),
            OutboundEmail.created_at < older_than,
        )
    )
    return list(rows)
