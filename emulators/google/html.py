"""The rewriting Google Calendar's web editor applies to an event description.

Descriptions written through the API are stored as sent. When a person saves
the event in the Calendar web UI, the editor stores its own HTML instead: a
small set of inline tags, `<br>` for line breaks, links for bare URLs and
escaped text. Tandem has to find its agenda block again after such a save, so
the emulator reproduces the rewrite on its UI-edit control endpoint.

NOTE: this is a model of the editor's output, not a copy of its code. It
keeps b, i, u, a, br, ul, ol and li, and maps strong and em to b and i. The
text of p, div and headings is followed by `<br>`. Every other tag is dropped
but its text is kept, except inside script and style.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_KEPT = {"b", "i", "u", "a", "ul", "ol", "li"}
_RENAMED = {"strong": "b", "em": "i"}
_BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "tr"}
_DROPPED_WITH_CONTENT = {"script", "style", "head", "title"}
_URL = re.compile(r"https?://[^\s<>\"]+")
_TAG = re.compile(r"<[a-zA-Z/][^>]*>")


def rewrite_as_ui(description: str) -> str:
    """Return `description` as the Calendar web editor stores it after a save."""
    if not _TAG.search(description):
        return _plain_text_to_html(description)

    parser = _EditorSerializer()
    parser.feed(description)
    parser.close()
    return _trim_breaks("".join(parser.parts))


def _plain_text_to_html(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "<br>".join(_link_urls(html.escape(line, quote=False)) for line in lines)


def _link_urls(escaped: str) -> str:
    return _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)


def _trim_breaks(markup: str) -> str:
    while markup.endswith("<br>"):
        markup = markup[: -len("<br>")]
    return markup


class _EditorSerializer(HTMLParser):
    """Re-serialise HTML keeping only the tags the web editor produces."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0
        self._in_link = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED_WITH_CONTENT:
            self._skip_depth += 1
            return
        tag = _RENAMED.get(tag, tag)
        if tag == "br":
            self.parts.append("<br>")
        elif tag == "a":
            self._in_link += 1
            href = dict(attrs).get("href") or ""
            self.parts.append(f'<a href="{html.escape(href)}">')
        elif tag in _KEPT:
            self.parts.append(f"<{tag}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED_WITH_CONTENT:
            self._skip_depth = max(0, self._skip_depth - 1)
            return
        tag = _RENAMED.get(tag, tag)
        if tag == "a":
            self._in_link = max(0, self._in_link - 1)
        if tag in _KEPT:
            self.parts.append(f"</{tag}>")
        elif tag in _BLOCKS:
            self.parts.append("<br>")

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        # Inside HTML, a raw newline is only whitespace, as a browser renders it.
        text = html.escape(re.sub(r"\s*\n\s*", " ", data), quote=False)
        self.parts.append(text if self._in_link else _link_urls(text))
