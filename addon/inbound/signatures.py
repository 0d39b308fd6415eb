"""Remove signatures, "sent from my phone" lines and closing blocks."""

from __future__ import annotations

import re

# The Usenet signature delimiter "-- " (RFC 3676, section 4.3); many
# clients drop the trailing space, and some write three dashes.
_DELIMITER = re.compile(r"^\s*-{2,3}\s*$")

# Lines that mail apps on phones and tablets append by default. Each is a
# whole short line, so "Sent from my desk, which is easier" stays text.
_DEVICE_LINE = re.compile(
    r"^\W*(?:"
    r"sent (?:from|with|via|using) (?:my )?[\w.\- ]{1,40}|"
    r"sent from \[?mail\]?.{0,80}|"
    r"get outlook for (?:ios|android)\S*|"
    r"get \[outlook for (?:ios|android)\].*|"
    r"outlook voor (?:ios|android) downloaden|"
    r"(?:verzonden|verstuurd) (?:vanaf|van|met|via) (?:mijn )?[\w.\- ]{1,40}|"
    r"(?:sendt|skickat) (?:fra|från) (?:min )?[\w.\- ]{1,40}|"
    r"envoyé (?:de|depuis) (?:mon )?[\w.\- ]{1,40}|"
    # BlackBerry and carrier builds append the device and carrier name with
    # trademark signs, so any characters may follow "Enviado desde mi".
    r"enviado (?:desde|de) (?:mi )?.{1,80}|"
    r"von meinem [\w.\- ]{1,40} gesendet|"
    r"diese nachricht wurde von meinem .{1,80} gesendet|"
    r"from my (?:iphone|ipad|android|mobile|phone)[\w.\- ]{0,20}|"
    r"sent from my [\w.\- ]{1,40}, please excuse .{0,40}|"
    r"\(?sent from (?:a|my) (?:phone|mobile(?: device)?)\)?|"
    r"<<sent by [\w ]{1,30}>>"
    r")\W*(?:<https?://[^>\s]*>|\(https?://[^)\s]*\))?\W*$",
    re.IGNORECASE,
)

_CLOSING = re.compile(
    r"^\W*(?:met vriendelijke groet(?:en)?|vriendelijke groet(?:en)?|"
    r"hartelijke groet(?:en)?|(?:veel |hartelijke )?groet(?:en|jes)?|mvg|"
    r"best regards|kind regards|warm regards|regards|best wishes|best|"
    r"cheers|thanks|thank you|many thanks|thx|"
    r"mit freundlichen grüßen|mit freundlichen grüssen|viele grüße|"
    r"liebe grüße|mit lieben grüßen|gruß|grüße|beste grüße|"
    r"cordialement|bien à vous|salutations|saludos|un saludo|atentamente|"
    # Danish, Norwegian, Swedish and Polish closings, including the short
    # forms "mvh" (med venlig hilsen) and "kh" (kærlig hilsen).
    r"med venlig hilsen|venlig hilsen|med vennlig hilsen|vennlig hilsen|"
    r"med vänliga hälsningar|vänliga hälsningar|hälsningar|hilsen|mvh|kh|"
    r"pozdrawiam|z poważaniem|z powazaniem|pozdrowienia)"
    r"\s*[,.!]?\s*$",
    re.IGNORECASE,
)
# Lines of a contact block: phone numbers, addresses, links, job titles.
_CONTACT_LINE = re.compile(
    r"(?:\+?\d[\d\s().\-]{6,}\d|@|https?://|www\.|\|)",
    re.IGNORECASE,
)
_MAX_CLOSING_BLOCK_LINES = 8
_MAX_CONTACT_LINE_LENGTH = 80

# A name signed below a closing: up to four words, no sentence punctuation.
_NAME_LINE = re.compile(r"^\s*[^\W\d_][\w.'\-]*(?:\s+[\w.'\-]+){0,3}\s*$")
_MAX_NAME_LINES = 2
# A name signed with a dash or slash and no space, such as "-Anna" or "/Jan".
# "- Anna" with a space is a bullet, which is a topic, so it stays.
_DASHED_NAME = re.compile(r"^\s*[-/~][^\W\d_][\w.'\-]*(?: [\w.'\-]+){0,2}\s*$")


def strip_signature(text: str) -> str:
    """Return `text` without its signature.

    Removed are: everything from a "-- " delimiter (not on the first line),
    everything from a phone client's "Sent from my iPhone" or "Verzonden
    vanaf mijn iPhone" line, a closing block at the end, and a last line
    that signs a name with a dash or slash ("-Anna"). A closing block is a
    closing such as "Met vriendelijke groet," followed by one or two name
    lines, or by a short name and at least one contact line (phone,
    address, link). A closing with nothing below it ("Cheers") is kept,
    because it may end a sentence the sender wrote.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    lines = _cut_at_delimiter(lines)
    lines = _cut_at_device_line(lines)
    lines = _cut_closing_block(lines)
    lines = _cut_dashed_name(lines)
    return "\n".join(lines).strip("\n")


def _cut_at_delimiter(lines: list[str]) -> list[str]:
    first = _first_text_line(lines)
    for index in range(first + 1, len(lines)):
        if _DELIMITER.match(lines[index]):
            return lines[:index]
    return lines


def _cut_at_device_line(lines: list[str]) -> list[str]:
    first = _first_text_line(lines)
    for index in range(first + 1, len(lines)):
        line = lines[index]
        if len(line) <= 120 and _DEVICE_LINE.match(line):
            return lines[:index]
    return lines


def _cut_closing_block(lines: list[str]) -> list[str]:
    """Cut a closing with a name and contact lines from the end."""
    end = len(lines)
    while end > 0 and not lines[end - 1].strip():
        end -= 1

    first = _first_text_line(lines)
    start = max(first + 1, end - _MAX_CLOSING_BLOCK_LINES - 1)
    for index in range(end - 1, start - 1, -1):
        if not _CLOSING.match(lines[index]):
            continue
        block = [line for line in lines[index + 1 : end] if line.strip()]
        if _is_contact_block(block):
            return lines[:index]
        return lines
    return lines


def _is_contact_block(block: list[str]) -> bool:
    if 0 < len(block) <= _MAX_NAME_LINES and all(map(_NAME_LINE.match, block)):
        return True
    if len(block) < 2 or len(block) > _MAX_CLOSING_BLOCK_LINES:
        return False
    if any(len(line) > _MAX_CONTACT_LINE_LENGTH for line in block):
        return False
    return any(_CONTACT_LINE.search(line) for line in block[1:])


def _cut_dashed_name(lines: list[str]) -> list[str]:
    end = len(lines)
    while end > 0 and not lines[end - 1].strip():
        end -= 1

    if end - 1 <= _first_text_line(lines) or not _DASHED_NAME.match(lines[end - 1]):
        return lines
    return lines[: end - 1]


def _first_text_line(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        if line.strip():
            return index
    return len(lines)
