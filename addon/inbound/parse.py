"""Parse a raw inbound reply into the topics its sender wrote.

The pipeline is pure: raw MIME bytes in, a `ParsedReply` out, with no
network or database access. Each step is a function of its own so the
steps can be tested and reused one by one.
"""

from __future__ import annotations

import email
import email.policy
import logging
from email.message import Message

from addon.inbound.autoreply import classify_message
from addon.inbound.body import extract_text
from addon.inbound.models import ParsedReply, Rejection
from addon.inbound.quotes import strip_quoted
from addon.inbound.signatures import strip_signature
from addon.inbound.topics import split_topics

logger = logging.getLogger(__name__)


def parse_reply(raw: bytes) -> ParsedReply:
    """Return the topics in a raw reply, or the reason it adds none.

    Never raises on a malformed message: the result then carries a
    rejection that names the problem.
    """
    if not isinstance(raw, bytes | bytearray) or not raw.strip():
        return ParsedReply(rejection=Rejection("malformed", "The message is empty."))

    msg = email.message_from_bytes(bytes(raw), policy=email.policy.default)
    try:
        return _parse_message(msg)
    except (ValueError, LookupError, TypeError, IndexError, AttributeError) as error:
        # The email package raises these on headers too broken to parse.
        logger.info("malformed inbound message", extra={"error": type(error).__name__})
        message = f"The message could not be read ({type(error).__name__})."
        return ParsedReply(rejection=Rejection("malformed", message))


def _parse_message(msg: Message) -> ParsedReply:
    envelope = {
        "message_id": str(msg.get("Message-ID", "") or "").strip(),
        "from_address": _sender(msg),
        "to_addresses": _recipients(msg),
    }
    if not envelope["from_address"]:
        rejection = Rejection(
            "missing_sender", "The message has no valid From address."
        )
        return ParsedReply(**envelope, rejection=rejection)

    rejection = classify_message(msg)
    text = "" if rejection else extract_text(msg)
    if rejection is None and not text.strip():
        rejection = Rejection("no_text", "The message has no text part to read.")
    rejection = rejection or classify_message(msg, text)
    if rejection is not None:
        return ParsedReply(**envelope, rejection=rejection)

    topics = tuple(split_topics(strip_signature(strip_quoted(text))))
    if not topics:
        rejection = Rejection("no_topics", "The reply contains no new topics.")
    return ParsedReply(**envelope, topics=topics, rejection=rejection)


def normalise_address(address: str) -> str:
    """Lower-case an address and drop a `+tag` sub-address from its local part."""
    local, _, domain = address.strip().lower().rpartition("@")
    if not local or not domain:
        return ""
    return f"{local.split('+', 1)[0]}@{domain}"


def _sender(msg: Message) -> str:
    addresses = _addresses(msg, "From")
    return addresses[0] if addresses else ""


def _recipients(msg: Message) -> tuple[str, ...]:
    # Recipients keep their case and sub-address: the reply address carries
    # the signed token in its `+tag`.
    specs = _addr_specs(msg, "To") + _addr_specs(msg, "Cc")
    return tuple(spec for spec in specs if "@" in spec)


def _addresses(msg: Message, name: str) -> list[str]:
    normalised = (normalise_address(spec) for spec in _addr_specs(msg, name))
    return [address for address in normalised if address]


def _addr_specs(msg: Message, name: str) -> list[str]:
    header = msg.get(name)
    if header is None:
        return []
    return [address.addr_spec.strip() for address in getattr(header, "addresses", ())]
