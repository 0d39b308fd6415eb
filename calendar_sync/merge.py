"""Tandem's agenda block inside an event description.

Plain-text format
-----------------
Tandem appends its block after the description's own text, separated by one
blank line::

    Quarterly check-in, see the shared folder.

    [Tandem agenda start v1 kqzmbtra]
    PERSONAL
    ...
    [Tandem agenda end kqzmbtra]

``v1`` is the format version and ``kqzmbtra`` is the tag: eight letters a-z
derived from a SHA-256 of the body as Tandem wrote it (`body_tag`). The two
markers carry the same tag, which pairs them, and a body whose tag no longer
matches has been edited by a person since Tandem wrote it (`BlockSpan.edited`).
Markers are plain ASCII in square brackets: no HTML, no URL or address an
editor could turn into a link, and no run of digits a client could take for a
phone number.

A line is a marker when its whole text, ignoring surrounding whitespace and
the width of the spaces between words, is ``[Tandem agenda start vN TAG]`` or
``[Tandem agenda end TAG]`` (case sensitive, N one or more digits, TAG eight
letters a-z). A marker inside a longer line is ordinary text.

Which block is Tandem's
-----------------------
A block is a start marker whose next marker line is an end marker with the
same tag. When a description holds several blocks, the last one is Tandem's
and the earlier ones (for example one pasted from another invite) are user
text. Every other arrangement of marker lines (a lone start or end, the wrong
order, mismatched tags, a marker inside a block) is user text. Because
`merge_block` quotes every marker line of a body with ``> ``, text inside a
block can never open or close one.

Lines end at ``\\r\\n``, ``\\r`` or ``\\n`` only. Other characters where
`str.splitlines` also splits, such as U+2028, stay inside a line. A new block
uses the description's dominant line ending (see `dominant_line_ending`), and
a replaced block keeps the line ending of the one it replaces.

What is kept
------------
Text outside the block is kept byte for byte. When a description ends with a
line ending, the block goes after one more line ending and the description's
final line ending moves after the block. Otherwise the block goes after two
line endings. `remove_block` uses the text after the block to tell the two
cases apart, so it restores the description exactly as it was before the
first merge, unless someone added text after the block or edited the
separator. Then it removes only the marker lines and the body.

HTML format
-----------
HTML descriptions carry the same markers, each on a visual line of its own.
Tandem writes ``<br><br>[start]<br>BODY<br>[end]`` before the last
``</body>`` (or ``</html>``), or at the end when there is neither, and leaves
out the ``<br><br>`` when no text comes before the block. Google Calendar
keeps only ``<b> <i> <u> <br> <a> <ul> <ol> <li>``, and Outlook wraps lines in
``<div>`` or ``<p>`` with styles and may split a line's text over several
``<span>`` elements, so the block is found by the text of its lines, never by
its tags. A visual line ends at ``<br>`` and at the start and end of block
elements (``<p>``, ``<div>``, ``<li>`` and the like). Its text is the text of
the tags in it, with entities decoded and whitespace runs read as one space.
A replaced HTML block spans from the first character of the start marker's
text to the last of the end marker's text, so the wrapping tags an editor put
around the markers stay balanced.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
TAG_LENGTH = 8

_LINE_END = re.compile(r"\r\n|\r|\n")
_WHITESPACE = re.compile(r"\s+")
_START_MARKER = re.compile(
    r"\s*\[\s*Tandem\s+agenda\s+start\s+v(?P<version>[0-9]+)\s+(?P<tag>[a-z]{8})\s*\]\s*"
)
_END_MARKER = re.compile(r"\s*\[\s*Tandem\s+agenda\s+end\s+(?P<tag>[a-z]{8})\s*\]\s*")

# Prefix that turns a marker line of a body into ordinary, quoted text.
_TEXT_QUOTE = "> "
_HTML_QUOTE = "&gt; "
_HTML_SEPARATOR = "<br><br>"


@dataclass(frozen=True, slots=True)
class BlockSpan:
    """Position and content of Tandem's block in a description.

    `start` and `end` are offsets into the description, from the start
    marker to the end of the end marker. `body` is the text between the
    markers: the lines as stored for plain text, and the visual lines'
    text joined with ``\\n`` for HTML.
    """

    start: int
    end: int
    body: str
    version: int
    tag: str

    @property
    def edited(self) -> bool:
        """True when the body differs from what Tandem wrote under this tag."""
        return body_tag(self.body) != self.tag


@dataclass(frozen=True, slots=True)
class _Line:
    """One line of a description: its text and where its content sits."""

    text: str
    start: int
    end: int


def body_tag(body: str) -> str:
    """Return the tag of a block body: eight letters a-z from its SHA-256.

    The hash covers the text of the non-blank lines with whitespace runs read
    as one space, so a provider that changes line endings, trims trailing
    spaces or adds blank lines does not make the body look edited.
    """
    digest = hashlib.sha256(_normalised_text(body).encode("utf-8")).digest()
    number = int.from_bytes(digest[:8], "big") % 26**TAG_LENGTH

    letters = []
    for _ in range(TAG_LENGTH):
        number, index = divmod(number, 26)
        letters.append(chr(ord("a") + index))
    return "".join(letters)


def start_marker(tag: str) -> str:
    """Return the start marker line for a body with this tag."""
    return f"[Tandem agenda start v{FORMAT_VERSION} {tag}]"


def end_marker(tag: str) -> str:
    """Return the end marker line for a body with this tag."""
    return f"[Tandem agenda end {tag}]"


def is_marker_line(text: str) -> bool:
    """Return whether a line's text reads as a start or end marker."""
    return bool(_START_MARKER.fullmatch(text) or _END_MARKER.fullmatch(text))


def dominant_line_ending(text: str) -> str:
    """Return the most frequent line ending in `text`, or "\\n" when it has none.

    A tie goes to ``\\r\\n`` (what Outlook writes), then ``\\n`` (what Google
    Calendar writes), then ``\\r``.
    """
    counts = Counter(match.group() for match in _LINE_END.finditer(text))
    if not counts:
        return "\n"
    preference = ("\r\n", "\n", "\r")
    return max(
        preference, key=lambda ending: (counts[ending], -preference.index(ending))
    )


def user_lines(previous_body: str, current_body: str) -> list[str]:
    """Return the lines of `current_body` that are not in `previous_body`.

    `previous_body` is the body as Tandem last wrote it and `current_body`
    the body read back, so the result is what a person added or changed,
    in order, stripped, once each. Lines compare with whitespace runs read as
    one space, and blank lines are never returned.
    """
    known = {_normalised_line(line) for line in _LINE_END.split(previous_body)}

    added: list[str] = []
    seen: set[str] = set()
    for line in _LINE_END.split(current_body):
        key = _normalised_line(line)
        if key and key not in known and key not in seen:
            seen.add(key)
            added.append(line.strip())
    return added


# Plain text


def find_block(description: str) -> BlockSpan | None:
    """Find Tandem's block in a plain-text description, or return None."""
    lines = _text_lines(description)
    pair = _last_block(lines)
    if pair is None:
        return None

    first, last, version, tag = pair
    body_lines = lines[first + 1 : last]
    body = description[body_lines[0].start : body_lines[-1].end] if body_lines else ""
    return BlockSpan(lines[first].start, lines[last].end, body, version, tag)


def block_body(description: str) -> str | None:
    """Return the text between Tandem's markers, or None when there is no block."""
    span = find_block(description)
    return None if span is None else span.body


def merge_block(description: str, block_text: str) -> str:
    """Replace Tandem's block in a plain-text description, or append one.

    Marker lines in `block_text` are quoted with "> " so that they stay text.
    """
    span = find_block(description)
    if span is None:
        return _append_block(description, block_text)

    block = _text_block(block_text, _block_line_ending(description, span))
    return description[: span.start] + block + description[span.end :]


def remove_block(description: str) -> str:
    """Return the description without Tandem's block and the separator it added."""
    span = find_block(description)
    if span is None:
        return description

    newline = _block_line_ending(description, span)
    before = description[: span.start]
    after = description[span.end :]

    if after == "":
        return before.removesuffix(newline + newline)
    if after == newline and _ends_with_separator(before, newline):
        return before[: -len(newline)]

    # Someone added text after the block: drop only its lines.
    if _starts_with_line_ending(after):
        return before + _LINE_END.sub("", after, count=1)
    return before + after


def _append_block(description: str, block_text: str) -> str:
    newline = dominant_line_ending(description)
    block = _text_block(block_text, newline)

    if description == "":
        return block
    if _ends_with_line_ending(description):
        return description + newline + block + newline
    return description + newline + newline + block


def _text_block(block_text: str, newline: str) -> str:
    """Return the marker lines around `block_text`, with `newline` between lines."""
    lines = _LINE_END.split(block_text)
    if lines[-1] == "":
        lines.pop()

    quoted = [_TEXT_QUOTE + line if is_marker_line(line) else line for line in lines]
    if quoted != lines:
        logger.debug(
            "Quoted %d marker lines in an agenda block body.", _changed(lines, quoted)
        )

    tag = body_tag(newline.join(quoted))
    return newline.join([start_marker(tag), *quoted, end_marker(tag)])


def _block_line_ending(description: str, span: BlockSpan) -> str:
    """Return the line ending after the start marker (the end marker follows it)."""
    match = _LINE_END.search(description, span.start, span.end)
    return match.group() if match else "\n"


def _text_lines(text: str) -> list[_Line]:
    lines = []
    start = 0
    for match in _LINE_END.finditer(text):
        lines.append(_Line(text[start : match.start()], start, match.start()))
        start = match.end()
    lines.append(_Line(text[start:], start, len(text)))
    return lines


def _ends_with_line_ending(text: str) -> bool:
    return text.endswith(("\n", "\r"))


def _ends_with_separator(before: str, newline: str) -> bool:
    """Return whether `before` ends with a line ending followed by `newline`."""
    return before.endswith(newline) and _ends_with_line_ending(before[: -len(newline)])


def _starts_with_line_ending(text: str) -> bool:
    return text.startswith(("\n", "\r"))


# HTML


@dataclass(frozen=True, slots=True)
class _HtmlToken:
    kind: str
    start: int
    end: int
    name: str = ""
    closed: bool = True
    end_tag: bool = False


@dataclass(frozen=True, slots=True)
class _HtmlLine:
    """One visual line: its text and the text tokens it was read from."""

    text: str
    tokens: tuple[_HtmlToken, ...]


_HTML_TOKEN = re.compile(
    r"""
      (?P<comment><!--.*?(?:-->|\Z))
    | (?P<raw><(?P<rawname>script|style|title|textarea)\b(?:"[^"]*"|'[^']*'|[^'">])*>
         .*?(?:</(?P=rawname)\s*>|\Z))
    | (?P<declaration><[!?][^>]*(?:>|\Z))
    | (?P<tag></?(?P<name>[a-z][a-z0-9:-]*)(?:"[^"]*"|'[^']*'|[^'">])*>)
    | (?P<text>[^<]+|<)
    """,
    re.DOTALL | re.IGNORECASE | re.VERBOSE,
)
_HTML_CHARACTER = re.compile(
    r"&(?:\#[0-9]+;?|\#[xX][0-9a-fA-F]+;?|[A-Za-z][A-Za-z0-9]*;?)|.", re.DOTALL
)

# Elements that start a new visual line where they open and where they close.
_LINE_BREAKING = frozenset(
    {
        *("address", "article", "aside", "blockquote", "body", "br", "caption"),
        *("center", "dd", "div", "dl", "dt", "figcaption", "figure", "footer"),
        *("form", "h1", "h2", "h3", "h4", "h5", "h6", "head", "header", "hr"),
        *("html", "li", "main", "nav", "ol", "p", "pre", "section", "table"),
        *("tbody", "td", "tfoot", "th", "thead", "tr", "ul"),
    }
)
_OPEN_TAG = re.compile(r"<[A-Za-z/!?]")
_STRUCTURE = frozenset({"html", "head", "body"})


def find_block_html(description_html: str) -> BlockSpan | None:
    """Find Tandem's block in an HTML description by its marker text, or return None."""
    return _find_in_html(description_html, _html_tokens(description_html))


def block_body_html(description_html: str) -> str | None:
    """Return the visual lines between Tandem's markers, or None without a block."""
    span = find_block_html(description_html)
    return None if span is None else span.body


def merge_block_html(description_html: str, block_html: str) -> str:
    """Replace Tandem's block in an HTML description, or insert one.

    `block_html` must be a fragment of text and tags only. A visual line of it
    that reads as a marker is quoted with "> ". Raises ValueError when
    `block_html` is not such a fragment, and when no block is present but the
    description ends inside an unclosed comment or ``<style>``, ``<script>``,
    ``<title>`` or ``<textarea>`` element, where a browser would hide the
    block.
    """
    block = _html_block(block_html)
    tokens = _html_tokens(description_html)
    span = _find_in_html(description_html, tokens)
    if span is not None:
        _check_open_tags(description_html, tokens, span.start)
        return description_html[: span.start] + block + description_html[span.end :]

    _check_open_tags(description_html, tokens, len(description_html))
    _check_open_end(tokens)
    insert_at = _html_insert_offset(tokens, len(description_html))
    before = description_html[:insert_at]
    separator = _HTML_SEPARATOR if _needs_html_separator(before, tokens) else ""
    return before + separator + block + description_html[insert_at:]


def remove_block_html(description_html: str) -> str:
    """Return the HTML description without Tandem's block and the separator it added."""
    span = find_block_html(description_html)
    if span is None:
        return description_html

    before = description_html[: span.start].removesuffix(_HTML_SEPARATOR)
    return before + description_html[span.end :]


def _find_in_html(source: str, tokens: Sequence[_HtmlToken]) -> BlockSpan | None:
    lines = _html_lines(source, tokens)
    pair = _last_block([_Line(line.text, 0, 0) for line in lines])
    if pair is None:
        return None

    first, last, version, tag = pair
    start = _first_character(source, lines[first].tokens)
    end = _last_character(source, lines[last].tokens)
    body = "\n".join(line.text for line in lines[first + 1 : last])
    return BlockSpan(start, end, body, version, tag)


def _html_block(block_html: str) -> str:
    """Return the markers around `block_html`, with marker lines of it quoted."""
    tokens = _html_tokens(block_html)
    _check_fragment(block_html, tokens)

    quoted = block_html
    marker_lines = [
        line for line in _html_lines(block_html, tokens) if is_marker_line(line.text)
    ]
    for line in reversed(marker_lines):
        offset = _first_character(block_html, line.tokens)
        quoted = quoted[:offset] + _HTML_QUOTE + quoted[offset:]
    if marker_lines:
        logger.debug(
            "Quoted %d marker lines in an agenda block body.", len(marker_lines)
        )

    body = "\n".join(line.text for line in _html_lines(quoted, _html_tokens(quoted)))
    tag = body_tag(body)
    return f"{start_marker(tag)}<br>{quoted}<br>{end_marker(tag)}"


def _html_tokens(source: str) -> list[_HtmlToken]:
    tokens = []
    for match in _HTML_TOKEN.finditer(source):
        # The outer group of each alternative closes last, so it names the kind.
        kind = match.lastgroup or "text"
        name = (match.group("name") or match.group("rawname") or "").lower()
        closed = _is_closed(kind, match.group())
        end_tag = match.group().startswith("</")
        tokens.append(
            _HtmlToken(kind, match.start(), match.end(), name, closed, end_tag)
        )
    return tokens


def _is_closed(kind: str, text: str) -> bool:
    if kind == "comment":
        return len(text) >= 7 and text.endswith("-->")
    if kind == "raw":
        return re.search(r"</[a-z]+\s*>\Z", text, re.IGNORECASE) is not None
    if kind == "declaration":
        return text.endswith(">")
    return True


def _html_lines(source: str, tokens: Sequence[_HtmlToken]) -> list[_HtmlLine]:
    lines: list[_HtmlLine] = []
    current: list[_HtmlToken] = []
    for token in tokens:
        if token.kind == "text":
            current.append(token)
        elif token.kind == "tag" and token.name in _LINE_BREAKING:
            lines.append(_html_line(source, current))
            current = []
    lines.append(_html_line(source, current))
    return lines


def _html_line(source: str, tokens: list[_HtmlToken]) -> _HtmlLine:
    raw = "".join(source[token.start : token.end] for token in tokens)
    text = _WHITESPACE.sub(" ", html.unescape(raw)).strip()
    return _HtmlLine(text, tuple(tokens))


def _first_character(source: str, tokens: Sequence[_HtmlToken]) -> int:
    """Return the offset of the first character of a line that is not whitespace."""
    for token in tokens:
        for match in _HTML_CHARACTER.finditer(source, token.start, token.end):
            if html.unescape(match.group()).strip():
                return match.start()
    raise ValueError("Internal error: a marker line was found without text.")


def _last_character(source: str, tokens: Sequence[_HtmlToken]) -> int:
    """Return the offset after the last character of a line that is not whitespace."""
    end = None
    for token in tokens:
        for match in _HTML_CHARACTER.finditer(source, token.start, token.end):
            if html.unescape(match.group()).strip():
                end = match.end()
    if end is None:
        raise ValueError("Internal error: a marker line was found without text.")
    return end


def _check_fragment(block_html: str, tokens: Sequence[_HtmlToken]) -> None:
    for token in tokens:
        snippet = block_html[token.start : token.start + 20]
        if token.kind in ("comment", "raw", "declaration"):
            raise ValueError(
                f"The agenda block HTML contains {snippet!r} at offset {token.start}; "
                "a block may contain only text and tags, so remove it."
            )
        if token.kind == "tag" and token.name in _STRUCTURE:
            raise ValueError(
                f"The agenda block HTML contains the document tag {snippet!r} at "
                f"offset {token.start}; pass the block's content without it."
            )
        if token.kind == "text" and block_html[token.start] == "<":
            raise ValueError(
                f"The agenda block HTML contains a '<' that starts no tag at offset "
                f"{token.start} ({snippet!r}); escape it as &lt;."
            )


def _check_open_tags(source: str, tokens: Sequence[_HtmlToken], limit: int) -> None:
    """Raise ValueError when a tag before `limit` never closes.

    Such a tag would run on into the quotes and ">" of the block that Tandem
    writes after it, and a browser would then hide the block's text.
    """
    for token in tokens:
        if token.start >= limit:
            return
        if token.kind == "text" and _OPEN_TAG.match(source, token.start):
            snippet = source[token.start : token.start + 20]
            raise ValueError(
                f"The HTML description has a tag that never closes at offset "
                f"{token.start} ({snippet!r}), so an agenda block written after it "
                "would be hidden; the description was left unchanged."
            )


def _check_open_end(tokens: Sequence[_HtmlToken]) -> None:
    if tokens and not tokens[-1].closed:
        kind = tokens[-1].name or tokens[-1].kind
        raise ValueError(
            f"The HTML description ends inside an unclosed {kind} that starts at "
            f"offset {tokens[-1].start}, so an agenda block added after it would be "
            "hidden; the description was left unchanged."
        )


def _html_insert_offset(tokens: Sequence[_HtmlToken], length: int) -> int:
    for name in ("body", "html"):
        closing = [
            token
            for token in tokens
            if token.kind == "tag" and token.name == name and token.end_tag
        ]
        if closing:
            return closing[-1].start
    return length


def _needs_html_separator(before: str, tokens: Sequence[_HtmlToken]) -> bool:
    if before.endswith(_HTML_SEPARATOR):
        return True
    return any(
        token.kind == "text"
        and token.end <= len(before)
        and html.unescape(before[token.start : token.end]).strip()
        for token in tokens
    )


# Shared


def _last_block(lines: Sequence[_Line]) -> tuple[int, int, int, str] | None:
    """Return the line indexes, version and tag of the last block, or None."""
    markers = []
    for index, line in enumerate(lines):
        if start := _START_MARKER.fullmatch(line.text):
            markers.append((index, "start", int(start["version"]), start["tag"]))
        elif end := _END_MARKER.fullmatch(line.text):
            markers.append((index, "end", 0, end["tag"]))

    for opening, closing in reversed(list(pairwise(markers))):
        if opening[1] == "start" and closing[1] == "end" and opening[3] == closing[3]:
            return opening[0], closing[0], opening[2], opening[3]
    return None


def _normalised_line(line: str) -> str:
    return _WHITESPACE.sub(" ", line).strip()


def _normalised_text(body: str) -> str:
    lines = (_normalised_line(line) for line in _LINE_END.split(body))
    return "\n".join(line for line in lines if line)


def _changed(before: Sequence[str], after: Sequence[str]) -> int:
    return sum(1 for old, new in zip(before, after, strict=True) if old != new)


__all__ = [
    "FORMAT_VERSION",
    "BlockSpan",
    "block_body",
    "block_body_html",
    "body_tag",
    "dominant_line_ending",
    "end_marker",
    "find_block",
    "find_block_html",
    "is_marker_line",
    "merge_block",
    "merge_block_html",
    "remove_block",
    "remove_block_html",
    "start_marker",
    "user_lines",
]
