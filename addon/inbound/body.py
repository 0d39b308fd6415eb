"""Take the body text out of a parsed message, whatever its encoding."""

from __future__ import annotations

import codecs
import logging
import re
from email.message import EmailMessage, Message

from addon.inbound.html import html_to_text

logger = logging.getLogger(__name__)

# Windows-1252 decodes every byte that Latin-1 prints, plus the curly quotes
# and dashes that Windows clients send in mail labelled Latin-1.
_FALLBACK_CHARSET = "cp1252"


def extract_text(msg: Message) -> str:
    """Return the body text of `msg` with plain-text quoted history still in it.

    text/plain is preferred and text/html is converted when it is the only
    text. format=flowed (RFC 3676) is undone. Returns "" when the message
    has no text part.
    """
    part = _body_part(msg)
    if part is None:
        return ""

    text = decode_part(part)
    if part.get_content_subtype() == "html":
        return html_to_text(text)

    text = _normalise_newlines(text)
    if part.get_param("format", "").lower() == "flowed":
        delete_space = part.get_param("delsp", "").lower() == "yes"
        text = unflow(text, delete_space=delete_space)
    return text


def _body_part(msg: Message) -> Message | None:
    if isinstance(msg, EmailMessage):
        try:
            part = msg.get_body(preferencelist=("plain", "html"))
        except (KeyError, LookupError, ValueError):
            part = None
        if part is not None:
            return part

    # get_body skips attachments and unusual trees; fall back to the first
    # inline text part so odd but readable messages still parse.
    for part in msg.walk():
        if part.get_content_maintype() != "text":
            continue
        if part.get_content_subtype() not in ("plain", "html"):
            continue
        if part.get_content_disposition() == "attachment":
            continue
        return part
    return None


def decode_part(part: Message) -> str:
    """Decode a text part's payload leniently.

    The transfer encoding is undone by the email package. The declared
    charset is tried strictly, then UTF-8, then Windows-1252 with
    replacement characters, because clients mislabel 8-bit text and some
    declare charsets Python does not know.
    """
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""

    declared = (part.get_content_charset() or "us-ascii").strip("'\" ")
    for charset in (declared, "utf-8"):
        try:
            return payload.decode(_known_charset(charset))
        except (LookupError, UnicodeDecodeError):
            continue

    logger.info("undecodable text part, decoded as %s", _FALLBACK_CHARSET)
    return payload.decode(_FALLBACK_CHARSET, errors="replace")


def _known_charset(charset: str) -> str:
    name = charset.lower()
    aliases = {"unicode-1-1-utf-7": "utf-7", "x-unknown": "utf-8", "ansi": "cp1252"}
    name = aliases.get(name, name)
    return codecs.lookup(name).name


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def unflow(text: str, *, delete_space: bool = False) -> str:
    """Join the soft line breaks of a format=flowed body (RFC 3676).

    A line ending in a space continues on the next line of the same quote
    depth, except the signature separator "-- ". One leading space is
    space-stuffing and is removed. With DelSp=yes the trailing space was
    added by the sender only to mark the break, so it is deleted.
    """
    output: list[str] = []
    pending: str | None = None
    pending_depth = 0

    for raw in text.split("\n"):
        depth, content = _split_quote_depth(raw)
        if pending is not None and depth != pending_depth:
            output.append(_with_depth(pending, pending_depth))
            pending = None

        joined = content if pending is None else pending + content
        if content.endswith(" ") and content != "-- ":
            pending = joined[:-1] if delete_space else joined
            pending_depth = depth
            continue

        output.append(_with_depth(joined, depth))
        pending = None

    if pending is not None:
        output.append(_with_depth(pending, pending_depth))
    return "\n".join(output)


_QUOTE_PREFIX = re.compile(r"^>+")


def _split_quote_depth(line: str) -> tuple[int, str]:
    match = _QUOTE_PREFIX.match(line)
    depth = match.end() if match else 0
    content = line[depth:]
    if content.startswith(" "):
        content = content[1:]
    return depth, content


def _with_depth(content: str, depth: int) -> str:
    if depth == 0:
        return content
    return ">" * depth + " " + content
