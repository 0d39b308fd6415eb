"""Convert an HTML email body to the text its author wrote.

Quoted history is dropped where the sending client marks it in the markup,
and other blockquotes become `>` lines so `strip_quoted` treats them like
plain-text quotes.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Containers that hold the quoted history, as each client writes them:
# Gmail wraps attribution and quote in div.gmail_quote, Thunderbird puts the
# attribution in div.moz-cite-prefix, Apple Mail quotes in
# blockquote[type=cite], Yahoo in div.yahoo_quoted.
_QUOTE_CLASSES = frozenset({"gmail_quote", "moz-cite-prefix", "yahoo_quoted"})

# Outlook (desktop and web) puts the quoted header block in div#divRplyFwdMsg
# and the quoted body after it as siblings, and Outlook for Mac marks the
# quoted part with div#OLK_SRC_BODY_SECTION, so everything from there is history.
_HISTORY_IDS = frozenset({"divrplyfwdmsg", "olk_src_body_section"})

_SKIPPED_TAGS = frozenset({"script", "style", "head", "title", "template"})
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "dd", "div", "dl", "dt", "figure",
        "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
        "main", "nav", "pre", "section", "table", "tr", "ul", "ol",
    }
)  # fmt: skip
_PARAGRAPH_TAGS = frozenset({"p"})
_VOID_TAGS = frozenset({"br", "hr", "img", "meta", "link", "input", "wbr"})

# Outlook's plain-text rendering of a horizontal rule; `strip_quoted` treats
# a line like it as the start of quoted history.
HORIZONTAL_RULE = "_" * 32


class _TextExtractor(HTMLParser):
    """Collect the visible text of a document as lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._current: list[str] = []
        self._open: list[str] = []
        self._dropped_depth = 0
        self._quote_depth = 0
        self._list_stack: list[list[int]] = []
        self.stopped = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.stopped:
            return

        attributes = {name: (value or "") for name, value in attrs}
        if tag not in _VOID_TAGS:
            self._open.append(tag)
        if self._dropped_depth:
            if tag not in _VOID_TAGS:
                self._dropped_depth += 1
            return

        if attributes.get("id", "").lower() in _HISTORY_IDS:
            self._break_line()
            self.stopped = True
            return

        if tag in _SKIPPED_TAGS or _is_quote_container(tag, attributes):
            self._dropped_depth = 1
            return

        self._open_element(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.stopped or tag in _VOID_TAGS:
            return

        if tag in self._open:
            # Close unclosed children too, as browsers do for sloppy markup.
            while self._open:
                closed = self._open.pop()
                self._close_element(closed)
                if closed == tag:
                    break

    def handle_data(self, data: str) -> None:
        if self.stopped or self._dropped_depth:
            return

        if "pre" in self._open:
            parts = data.split("\n")
            self._current.append(parts[0])
            for part in parts[1:]:
                self._break_line()
                self._current.append(part)
            return

        self._current.append(re.sub(r"\s+", " ", data))

    def close(self) -> None:
        super().close()
        self._break_line()

    def _open_element(self, tag: str) -> None:
        if tag == "br":
            self._break_line(force=True)
        elif tag == "hr":
            self._break_line()
            self._emit(HORIZONTAL_RULE)
        elif tag == "blockquote":
            self._break_line()
            self._quote_depth += 1
        elif tag in ("ul", "ol"):
            self._break_line()
            self._list_stack.append([0 if tag == "ol" else -1])
        elif tag == "li":
            self._start_list_item()
        elif tag in _PARAGRAPH_TAGS:
            self._break_line()
            self._emit("")
        elif tag in _BLOCK_TAGS or tag in ("td", "th"):
            self._break_line()

    def _close_element(self, tag: str) -> None:
        if self._dropped_depth:
            self._dropped_depth -= 1
            return

        if tag == "blockquote":
            self._break_line()
            self._quote_depth = max(0, self._quote_depth - 1)
        elif tag in ("ul", "ol"):
            self._break_line()
            if self._list_stack:
                self._list_stack.pop()
        elif tag in _PARAGRAPH_TAGS:
            self._break_line()
            self._emit("")
        elif tag in _BLOCK_TAGS or tag == "li":
            self._break_line()

    def _start_list_item(self) -> None:
        self._break_line()
        if not self._list_stack:
            self._current.append("- ")
            return

        counter = self._list_stack[-1]
        if counter[0] < 0:
            self._current.append("- ")
        else:
            counter[0] += 1
            self._current.append(f"{counter[0]}. ")

    def _break_line(self, force: bool = False) -> None:
        text = "".join(self._current).strip()
        self._current = []
        if text or force:
            self._emit(text)

    def _emit(self, text: str) -> None:
        prefix = "> " * self._quote_depth
        self.lines.append((prefix + text).rstrip() if text else prefix.rstrip())


def _is_quote_container(tag: str, attributes: dict[str, str]) -> bool:
    classes = set(attributes.get("class", "").lower().split())
    if classes & _QUOTE_CLASSES:
        return True
    return tag == "blockquote" and attributes.get("type", "").lower() == "cite"


def html_to_text(html: str) -> str:
    """Convert HTML to plain text, one line per block and list item.

    List items become `- ` or `1. ` lines, other blockquotes become `> `
    lines, and the quoted history that Gmail, Outlook, Thunderbird, Apple
    Mail and Yahoo mark in their markup is left out.
    """
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()

    text = "\n".join(line.replace("\xa0", " ").rstrip() for line in extractor.lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")
