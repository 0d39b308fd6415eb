"""Build the MIME messages Tandem sends, with the headers mail systems expect."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr

from mail_templates.email import RenderedEmail

SENDER_NAME = "Tandem"


@dataclass(frozen=True, slots=True)
class Envelope:
    """The addressing of one email; `thread` is the Message-ID it replies to."""

    sender: str
    recipient: str
    message_id: str
    sent_at: datetime
    reply_to: str = ""
    thread: tuple[str, ...] = ()
    unsubscribe_url: str = ""
    unsubscribe_mailto: str = ""


def message_id_for(dedupe_key: str, domain: str) -> str:
    """Return a Message-ID that depends only on what the email is for.

    A retried send then carries the same Message-ID, which lets the
    recipient's mail system drop a copy that got through twice.
    """
    digest = hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def series_thread_id(tenant_id: int, series_id: int, domain: str) -> str:
    """Return the Message-ID that every agenda email of one series refers to.

    No message carries it, but Gmail, Outlook and Apple Mail group the
    emails that name the same parent in In-Reply-To and References
    (RFC 5322 section 3.6.4) into one conversation.
    """
    return f"<series.{tenant_id}.{series_id}@{domain}>"


def compose(rendered: RenderedEmail, envelope: Envelope) -> EmailMessage:
    """Return a multipart/alternative message with plain text and HTML parts."""
    message = EmailMessage(policy=SMTP)
    message["From"] = formataddr((SENDER_NAME, envelope.sender))
    message["To"] = envelope.recipient
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(envelope.sent_at)
    message["Message-ID"] = envelope.message_id
    _add_automation_headers(message)
    _add_reply_headers(message, envelope)

    message.set_content(rendered.text, charset="utf-8")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8")
    return message


def _add_automation_headers(message: EmailMessage) -> None:
    # RFC 3834 section 5: auto-responders must not reply to auto-generated
    # mail, which keeps out-of-office replies from looping with Tandem's own.
    message["Auto-Submitted"] = "auto-generated"
    # Exchange and Outlook read this (MS-OXCMAIL section 2.1.3.2.20), and
    # "All" suppresses their out-of-office replies and delivery receipts.
    message["X-Auto-Response-Suppress"] = "All"


def _add_reply_headers(message: EmailMessage, envelope: Envelope) -> None:
    if envelope.reply_to:
        message["Reply-To"] = envelope.reply_to
    if envelope.thread:
        message["In-Reply-To"] = envelope.thread[-1]
        message["References"] = " ".join(envelope.thread)

    links = []
    if envelope.unsubscribe_url:
        links.append(f"<{envelope.unsubscribe_url}>")
    if envelope.unsubscribe_mailto:
        links.append(f"<mailto:{envelope.unsubscribe_mailto}>")
    if links:
        message["List-Unsubscribe"] = ", ".join(links)
    if envelope.unsubscribe_url:
        # RFC 8058: a POST with this body to the https link unsubscribes in
        # one click, without a confirmation page.
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
