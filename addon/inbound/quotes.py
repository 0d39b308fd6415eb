"""Remove the quoted history that mail clients append to a reply."""

from __future__ import annotations

import re

# Words that open an attribution line ("On <date>, <name> wrote:") in the
# languages Tandem's users write, plus German, French, Spanish and a few
# more that cost nothing to recognise.
_ATTRIBUTION_OPENERS = r"on|op|am|le|el|il|em|den|på|w dniu|dne|vào|в|у"
_WROTE = (
    r"wrote|sent|schreef|het volgende geschreven|geschreven|schrieb|"
    r"a écrit|a ecrit|escribió|escribio|ha escrito|scrisse|ha scritto|"
    r"napisał|napisal|skrev|kirjoitti|escreveu|написал|написала|написав|"
    r"pisze|пише|đã viết|写道"
)
# Polish clients write "napisał(a):".
_WROTE_END = rf"\b(?:{_WROTE})(?:\(a\))?"
_ATTRIBUTION = re.compile(
    rf"^\W*(?:{_ATTRIBUTION_OPENERS})\b.*{_WROTE_END}(?:.*:)?\s*:?\s*-*\s*$",
    re.IGNORECASE,
)
# An attribution with no opener word, such as K-9 Mail's
# "<name> <address> schrieb:", Gmail's German "<name> <address> schrieb am
# <date>:" or Samsung's "<name> <address> wrote:".
_BARE_ATTRIBUTION = re.compile(rf".*(?:@|\d).*{_WROTE_END}(?:\s.*)?:\s*$", re.I)
# Android's "---- <name> wrote ----".
_DASHED_ATTRIBUTION = re.compile(rf"^\s*-{{2,}}.*\b(?:{_WROTE})\b.*-{{2,}}\s*$", re.I)
# Gmail in some locales writes "2014-10-17 11:28 GMT+03:00 Name <address>:",
# sometimes without the address.
_DATE_ATTRIBUTION = re.compile(
    r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\b.*(?:<[^>]*>?|@\S+)\s*:?\s*$"
)
# mail.ru writes "<date> от <name> <<address>>:" ("от" is Russian for
# "from"), and other webmail clients put the date, the name and the address
# in some order with no verb at all. A dated line that ends with an address
# in angle brackets and a colon is taken as an attribution only when a quote
# follows it.
_ADDRESS_ATTRIBUTION = re.compile(r"^.*\d.*<[^<>\s@]+@[^<>\s]+>\s*:\s*$")
_GMAIL_DATE_ATTRIBUTION = re.compile(
    r"^\s*\d{4}-\d{2}-\d{2} \d{1,2}:\d{2} GMT[+-]\d{1,2}:\d{2} \S.*$"
)
# "reply text On <date>, <name> wrote:" when a client joins the lines.
_INLINE_ATTRIBUTION = re.compile(
    rf"(?:^|\s|-)-*\s*(On\s.*\d.*\b(?:{_WROTE})\s*:)\s*$", re.IGNORECASE
)

_SEPARATOR = re.compile(
    r"^\W*-{2,}\s*(?:original message|reply message|oorspronkelijk bericht|"
    r"origineel bericht|ursprüngliche nachricht|antwort nachricht|"
    r"message d'origine|mensaje original|messaggio originale|"
    r"oprindelig meddelelse|originalmeddelande|opprinnelig melding|"
    r"ursprungligt meddelande|wiadomość oryginalna|oryginalna wiadomość|"
    r"videresendt meddelelse|vidarebefordrat meddelande|"
    r"przekazana wiadomość|wiadomość przekazana|"
    r"forwarded message|doorgestuurd bericht|weitergeleitete nachricht|"
    r"message transféré|mensaje reenviado|messaggio inoltrato)\s*-*\W*$",
    re.IGNORECASE,
)
_FORWARD_INTRO = re.compile(
    r"^\W*(?:begin forwarded message|begin doorgestuurd bericht|"
    r"doorgestuurd bericht|anfang der weitergeleiteten nachricht|"
    r"début du message réexpédié|inicio del mensaje reenviado)\s*:?\s*$",
    re.IGNORECASE,
)
# Outlook separates the reply from its header block with a line of 32
# underscores in plain text.
_UNDERSCORE_RULE = re.compile(r"^\s*_{20,}\s*$")

# Header names of a quoted header block, as Outlook and others write them
# in English, Dutch, German, French, Spanish, Italian, the Scandinavian
# languages, Polish, Russian and Chinese.
_HEADER_NAMES = (
    r"from|sent|date|to|cc|subject|reply-to|"
    r"van|verzonden|datum|aan|onderwerp|"
    r"von|gesendet|an|betreff|"
    r"de|envoyé|date|à|objet|"
    r"enviado|para|asunto|fecha|"
    r"da|inviato|oggetto|a|"
    r"fra|sendt|til|emne|dato|från|skickat|till|kopia|ämne|"
    r"od|wysłano|wysłane|do|dw|data|temat|от|отправлено|кому|тема|发件人|发送时间|收件人|主题"
)
_HEADER_LINE = re.compile(
    rf"^\s*[*_]{{0,2}}(?:{_HEADER_NAMES})\s*[*_]{{0,2}}\s*:(?:[*_]{{1,2}})?(?:\s|$)",
    re.IGNORECASE,
)
_HEADER_WINDOW = 6

# Lines made only of delimiter characters, which some clients leave above
# the history; the Gmail tracking mark (U+1427) counts as one.
_DELIMITER_ONLY = re.compile(r"^[\s\-_=*#~+ᐧ]*$")


def strip_quoted(text: str) -> str:
    """Return `text` without the quoted history a mail client appended.

    The history starts at an attribution line ("On <date>, <name> wrote:",
    "Op <date> schreef <name>:", also wrapped over up to three lines), an
    "Original message" or "Forwarded message" separator, Outlook's
    underscore rule, or a header block such as "From:/Sent:/To:/Subject:"
    or "Van:/Verzonden:/Aan:/Onderwerp:". When an attribution is followed
    by `>` lines and the sender wrote more below them (an inline or bottom
    reply), only the attribution and the quote are removed. When no
    marker ends the text, a trailing block of `>` lines is removed as
    unmarked history. `>` lines followed by the sender's own text, or by a
    marker, are kept so an inline reply keeps its context.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept, cut_at_marker = _remove_marked_history(lines)
    if not cut_at_marker:
        # With the history cut at its marker, a `>` block left above the
        # marker is one the sender quoted on purpose (an HTML blockquote
        # that is not history), so only unmarked history is trimmed here.
        kept = _remove_trailing_quote(kept)
    return "\n".join(_trim_trailing_delimiters(kept)).strip("\n")


def _remove_marked_history(lines: list[str]) -> tuple[list[str], bool]:
    """Return the lines before the marked history, and whether a marker cut them."""
    kept: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if _is_quote(line):
            kept.append(line)
            index += 1
            continue

        prefix = _split_inline_attribution(line)
        if prefix is not None:
            kept.append(prefix)
            end = _end_of_quote(lines, index + 1)
            if end is None:
                return kept, True
            index = end
            continue

        span = _attribution_span(lines, index)
        if span:
            end = _end_of_quote(lines, index + span)
            if end is None and not _has_text(kept):
                # Nothing written above the attribution: the sender wrote
                # below the quoted text, so only the attribution goes.
                end = index + span
            if end is None:
                return kept, True
            index = end
            continue

        if _starts_history(lines, index):
            if _has_text(kept):
                return kept, True
            # A forward with nothing written above it: keep the forwarded
            # text without its header block.
            index = _end_of_header_block(lines, index)
            continue

        kept.append(line)
        index += 1
    return kept, False


def _attribution_span(lines: list[str], index: int) -> int:
    """Return how many lines the attribution at `index` spans, or 0."""
    line = lines[index]
    if not line.strip() or len(line) > 400:
        return 0

    if _DASHED_ATTRIBUTION.match(line) or _GMAIL_DATE_ATTRIBUTION.match(line):
        return 1

    # Clients wrap long attributions over up to three lines; Polymail even
    # puts the address on lines of its own, with blank lines between.
    if not _OPENER.match(line) and not _looks_dated(line):
        return 0

    joined = ""
    # Polymail writes "On <date> <name>", a blank line, then "<", the
    # address and "> wrote:" on lines of their own.
    may_skip_blank = _OPENER.match(line) is not None or (
        _OPENER_WORD.match(line) is not None and _looks_dated(line)
    )
    for span in range(1, _ATTRIBUTION_MAX_SPAN + 1):
        if index + span > len(lines):
            break
        next_line = lines[index + span - 1].strip()
        if not next_line:
            if may_skip_blank:
                continue
            break
        if span > 1 and _OPENER.match(next_line):
            break  # another attribution starts here; let it match on its own
        joined = f"{joined} {next_line}".strip()
        if _is_attribution(joined, lines, index + span):
            return span
    return 0


_ATTRIBUTION_MAX_SPAN = 6
_OPENER = re.compile(rf"^\W*(?:{_ATTRIBUTION_OPENERS})\s+\S*\d", re.IGNORECASE)
_OPENER_WORD = re.compile(rf"^\W*(?:{_ATTRIBUTION_OPENERS})\s", re.IGNORECASE)


def _is_attribution(joined: str, lines: list[str], after: int) -> bool:
    if _ATTRIBUTION.match(joined) and _looks_dated(joined):
        return True
    if _BARE_ATTRIBUTION.match(joined):
        return True
    if _DATE_ATTRIBUTION.match(joined):
        return joined.endswith(":") or _is_followed_by_quote(lines, after)
    if _ADDRESS_ATTRIBUTION.match(joined):
        return _is_followed_by_quote(lines, after)
    return False


def _looks_dated(attribution: str) -> bool:
    # A date or an address tells "On Monday, Anna wrote:" apart from a
    # sentence that happens to start with "On" and end with "wrote".
    return any(char.isdigit() for char in attribution) or "@" in attribution


def _is_followed_by_quote(lines: list[str], index: int) -> bool:
    for line in lines[index:]:
        if line.strip():
            return _is_quote(line)
    return False


def _end_of_quote(lines: list[str], index: int) -> int | None:
    """Return where the sender's text resumes after a `>` quote, or None.

    None means the history runs to the end: either no `>` lines follow the
    attribution (Outlook and Gmail in HTML-to-text form quote without `>`),
    or nothing but quote follows.
    """
    if not _is_followed_by_quote(lines, index):
        return None

    end = index
    while end < len(lines) and _continues_quote(lines, end):
        end += 1
    return end if end < len(lines) else None


def _continues_quote(lines: list[str], index: int) -> bool:
    line = lines[index]
    return not line.strip() or _is_quote(line) or _is_wrapped_link(lines, index)


def _is_wrapped_link(lines: list[str], index: int) -> bool:
    """Tell whether the line at `index` is the wrapped end of a quoted link.

    Clients that wrap after quoting leave the rest of a long link, or the
    "(https://...)" form of a link, on a line without the `>` mark, between
    two `>` lines.
    """
    if index == 0 or index + 1 >= len(lines) or not _is_quote(lines[index - 1]):
        return False
    if not _is_quote(lines[index + 1]):
        return False

    stripped = lines[index].strip()
    return "://" in stripped or (bool(stripped) and " " not in stripped)


# Quote prefixes: ">" (RFC 3676), and the "|" and "Name>" forms of older
# Usenet-style clients.
_QUOTE_MARK = re.compile(r"^\s*(?:>|\|(?:\s|$)|[A-Za-z]{1,12}>)")


def _is_quote(line: str) -> bool:
    return _QUOTE_MARK.match(line) is not None


def _has_text(lines: list[str]) -> bool:
    return any(line.strip() for line in lines)


def _end_of_header_block(lines: list[str], index: int) -> int:
    """Return the index of the first line after the history marker at `index`.

    That is the marker line, the header lines that follow it (with their
    wrapped continuations), and the blank lines up to the body.
    """
    end = index + 1
    while end < len(lines) and lines[end].strip():
        end += 1
    while end < len(lines) and not lines[end].strip():
        end += 1
    return end


def _starts_history(lines: list[str], index: int) -> bool:
    line = lines[index]
    if _SEPARATOR.match(line) or _FORWARD_INTRO.match(line):
        return True
    if _UNDERSCORE_RULE.match(line):
        return True
    return _starts_header_block(lines, index)


def _starts_header_block(lines: list[str], index: int) -> bool:
    """Tell whether a quoted header block ("From:", "Sent:", ...) starts here.

    Two header lines within a few lines make a block, because one "To:" or
    "Date:" line can be the sender's own text.
    """
    if not _HEADER_LINE.match(lines[index]):
        return False

    window = lines[index + 1 : index + _HEADER_WINDOW]
    return any(_HEADER_LINE.match(line) for line in window)


def _split_inline_attribution(line: str) -> str | None:
    if "wrote" not in line.lower() or len(line) > 400:
        return None

    match = _INLINE_ATTRIBUTION.search(line)
    if match is None:
        return None

    prefix = line[: match.start(1)].rstrip(" -")
    return prefix if prefix.strip() else None


def _remove_trailing_quote(lines: list[str]) -> list[str]:
    """Drop the `>` block at the end, unless the whole text is a quote.

    A signature below the quote (some clients put it there) is kept for
    `strip_signature`, so the quote above it still counts as trailing.
    """
    signature = _signature_start(lines)
    body, tail = lines[:signature], lines[signature:]
    end = len(body)
    while end > 0 and _continues_quote(lines, end - 1):
        end -= 1

    if not _has_text(body[:end]):
        return lines
    return body[:end] + tail


_SIGNATURE_DELIMITER = re.compile(r"^-- ?$")
_MAX_SIGNATURE_LINES = 10


def _signature_start(lines: list[str]) -> int:
    for index in range(len(lines) - 1, max(0, len(lines) - _MAX_SIGNATURE_LINES), -1):
        if _SIGNATURE_DELIMITER.match(lines[index]):
            return index
    return len(lines)


def _trim_trailing_delimiters(lines: list[str]) -> list[str]:
    end = len(lines)
    while end > 0 and _DELIMITER_ONLY.match(lines[end - 1]):
        end -= 1
    return lines[:end]
