"""Recognise auto-replies and bounces, which never add topics."""

from __future__ import annotations

import re
from email.message import Message

from addon.inbound.models import Rejection
from addon.inbound.quotes import strip_quoted
from addon.inbound.signatures import strip_signature
from addon.inbound.topics import has_list_or_prefix

_AUTO_SUBJECT = re.compile(
    r"^\W*(?:out of (?:the )?office|automatic reply|auto(?:matic)?[- ]?reply|"
    r"autoreply|automatisch antwoord|afwezig|afwezigheid|niet aanwezig|"
    r"abwesenheitsnotiz|automatische antwort|réponse automatique|"
    r"respuesta automática|fuera de la oficina)\b",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"^\W*(?:undeliverable|undelivered mail|delivery status notification|"
    r"mail delivery failed|delivery failure|returned mail|onbestelbaar|"
    r"niet bezorgd|unzustellbar)\b",
    re.IGNORECASE,
)
_DAEMON_SENDER = re.compile(r"^(?:mailer-daemon|postmaster)@", re.IGNORECASE)
# Statements that only auto-responders make, searched near the top of the body.
_AUTO_BODY = re.compile(
    r"\b(?:this is an automatic reply|this is an automated (?:reply|message)|"
    r"dit is een automatisch (?:antwoord|bericht|gegenereerd bericht)|"
    r"i am (?:currently )?out of (?:the )?office until|"
    r"ik ben (?:momenteel |tot en met \S+ |t/m \S+ )?(?:afwezig|niet aanwezig)"
    r"(?: tot| t/m| tot en met)?)\b",
    re.IGNORECASE,
)
_BODY_WINDOW = 400


def classify_message(msg: Message, body: str = "") -> Rejection | None:
    """Return why `msg` is an auto-reply or bounce, or None for a person's mail.

    Headers are checked first: Auto-Submitted (RFC 3834), X-Autoreply,
    X-Autorespond, Precedence, a null Return-Path (RFC 5321 reverse path of
    delivery notifications) and multipart/report (RFC 6522), then the
    subject. `body`, when given, is searched near its top for out-of-office
    statements, but only when it carries no personal text (see
    `_has_personal_text`), so that a person who opens a real reply with
    "I am out of the office until Friday, but here are my topics" is heard.
    """
    for check in (_check_report, _check_auto_headers, _check_subject):
        rejection = check(msg)
        if rejection is not None:
            return rejection

    if not _AUTO_BODY.search(body[:_BODY_WINDOW]) or _has_personal_text(body):
        return None
    return Rejection("auto_reply", "The message reads as an out-of-office reply.")


def _has_personal_text(body: str) -> bool:
    """Tell whether a body shows signs that a person wrote it in a mail client.

    Those signs are quoted history (Exchange's Automatic Replies and Gmail's
    vacation responder send their own text without the message they reply to),
    a bullet or numbered item, or a section prefix such as "growth:".
    """
    text = body.replace("\r\n", "\n").strip()
    reply = strip_quoted(text)
    if len(reply) < len(text.rstrip("-_=*#~ \n")):
        return True
    return has_list_or_prefix(strip_signature(reply))


def _check_report(msg: Message) -> Rejection | None:
    sender = _header(msg, "From")
    address = sender.split("<")[-1].rstrip("> ")
    if msg.get_content_type() == "multipart/report":
        report_type = str(msg.get_param("report-type", "")).lower()
        if report_type == "delivery-status":
            return Rejection("bounce", "The message is a delivery status notification.")
        return Rejection("auto_reply", "The message is an automatic report.")

    if _DAEMON_SENDER.match(address) or _BOUNCE_SUBJECT.match(_header(msg, "Subject")):
        return Rejection("bounce", "The message is a bounce from a mail server.")
    if _header(msg, "Return-Path").replace(" ", "") == "<>":
        return Rejection("auto_reply", "The message has an empty Return-Path.")
    return None


def _check_auto_headers(msg: Message) -> Rejection | None:
    submitted = _header(msg, "Auto-Submitted").lower()
    if submitted and submitted.split(";")[0].strip() != "no":
        return Rejection(
            "auto_reply", f"The message is marked Auto-Submitted: {submitted}."
        )

    for name in ("X-Autoreply", "X-Autorespond"):
        if msg.get(name) is not None:
            return Rejection("auto_reply", f"The message carries an {name} header.")

    precedence = _header(msg, "Precedence").lower()
    if precedence in ("bulk", "junk", "list"):
        return Rejection("bulk", f"The message is marked Precedence: {precedence}.")
    return None


def _check_subject(msg: Message) -> Rejection | None:
    if not _AUTO_SUBJECT.match(_header(msg, "Subject")):
        return None

    # Outlook's own auto-replies carry X-Auto-Response-Suppress, but other
    # servers send out-of-office replies without any such header, so the
    # subject alone is enough.
    return Rejection(
        "auto_reply", "The subject marks the message as an automatic reply."
    )


def _header(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except (IndexError, ValueError, TypeError):
        return ""
    return str(value).strip() if value is not None else ""
