"""Event bodies rewritten on write, the way Exchange stores them.

Exchange does not keep the HTML a client sends. This module models the
rewrites that break naive "find my block again" code:

- the fragment is wrapped in a full document with a `<meta>` charset tag and
  a `<style>` block, and the body gets `dir="ltr"`;
- the content is wrapped in a `<div class="elementToProof">` with inline font
  styles (unless it already starts with one);
- `<p>` elements get inline margin styles;
- comments, `<script>`, `on*` event attributes and `data-*` attributes are
  removed, tags and attribute names are lower-cased and values re-quoted;
- whitespace-only text between tags is dropped and CRLF line breaks are
  written after block elements;
- plain text is converted to HTML, one `<br>` per line break.

Rewriting is idempotent: storing a body that was read back changes nothing,
which is what lets a client compare before writing.
NOTE: these rules are modelled on bodies observed from Outlook on the web and
Exchange Online; real Exchange has more rewrites (for example inside `<pre>`
and conditional comments) that this emulator does not reproduce.
"""

import html
import re
from html.parser import HTMLParser

VOID_ELEMENTS = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
    "source", "track", "wbr",
}  # fmt: skip
BLOCK_ELEMENTS = {"div", "p", "table", "tr", "ul", "ol", "li", "h1", "h2", "h3", "br"}
DROPPED_WITH_CONTENT = {"script", "title"}
DOCUMENT_ELEMENTS = {"html", "head", "body", "meta"}

WRAPPER_CLASS = "elementToProof"
WRAPPER_STYLE = (
    "font-family: Aptos, Aptos_EmbeddedFont, Aptos_MSFontService, Calibri, "
    "Helvetica, sans-serif; font-size: 12pt; color: rgb(0, 0, 0);"
)
PARAGRAPH_STYLE = "margin-top: 0px; margin-bottom: 0px;"
HEAD = (
    '<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; '
    'charset=utf-8">\r\n<style type="text/css" style="display:none">\r\n'
    "P {margin-top:0;margin-bottom:0;}\r\n</style>\r\n</head>\r\n"
    '<body dir="ltr">\r\n'
)
TAIL = "</body>\r\n</html>\r\n"


class _Node:
    """An element or text in the parsed body."""

    def __init__(
        self, tag: str | None, attrs: list[tuple[str, str]], text: str = ""
    ) -> None:
        self.tag = tag
        self.attrs = attrs
        self.text = text
        self.children: list[_Node] = []


class _TreeBuilder(HTMLParser):
    """Build a tree from tag soup, closing what the author left open."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("#root", [])
        self.stack = [self.root]
        self.skip_depth = 0
        self.in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skip_depth or tag in DROPPED_WITH_CONTENT:
            self.skip_depth += tag in DROPPED_WITH_CONTENT
            return
        if tag == "head":
            self.in_head = True
        if tag in DOCUMENT_ELEMENTS or (self.in_head and tag != "style"):
            return

        node = _Node(tag, clean_attributes(attrs))
        self.stack[-1].children.append(node)
        if tag not in VOID_ELEMENTS:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID_ELEMENTS and self.stack[-1].tag == tag:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in DROPPED_WITH_CONTENT and self.skip_depth:
            self.skip_depth -= 1
            return
        if tag == "head":
            self.in_head = False
        open_tags = [node.tag for node in self.stack]
        if self.skip_depth or tag not in open_tags[1:]:
            return
        while self.stack[-1].tag != tag:
            self.stack.pop()
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.skip_depth or (self.in_head and self.stack[-1].tag != "style"):
            return
        if not data.strip() and "\n" in data:
            return

        # The CRLF the serializer writes after a block element is not content,
        # so reading a stored body back must not keep it (idempotence).
        siblings = self.stack[-1].children
        if siblings and siblings[-1].tag in BLOCK_ELEMENTS:
            data = data.removeprefix("\r\n")
        if data:
            siblings.append(_Node(None, [], data))


def clean_attributes(attrs: list[tuple[str, str | None]]) -> list[tuple[str, str]]:
    """Drop event handlers and data-* attributes, as Exchange's sanitizer does."""
    kept = []
    for name, value in attrs:
        lowered = name.lower()
        if lowered.startswith("on") or lowered.startswith("data-"):
            continue
        kept.append((lowered, value or ""))
    return kept


def rewrite_body(content: str, content_type: str) -> str:
    """Return the body as Exchange would store it after a write."""
    if content_type.lower() == "text":
        content = text_to_html(content)

    builder = _TreeBuilder()
    builder.feed(content)
    builder.close()

    styles = [node for node in builder.root.children if node.tag == "style"]
    nodes = [node for node in builder.root.children if node.tag != "style"]
    if not starts_with_wrapper(nodes):
        wrapper = _Node("div", [("class", WRAPPER_CLASS), ("style", WRAPPER_STYLE)])
        wrapper.children = nodes
        nodes = [wrapper]

    extra_head = "".join(serialize(node) for node in styles if not is_own_style(node))
    head = HEAD.replace("</head>", extra_head + "</head>") if extra_head else HEAD
    return head + "".join(serialize(node) for node in nodes) + TAIL


def text_to_html(text: str) -> str:
    """Convert plain text to the HTML Exchange stores for it."""
    lines = text.replace("\r\n", "\n").split("\n")
    return (
        "<div>"
        + "<br>".join(html.escape(line, quote=False) for line in lines)
        + "</div>"
    )


def starts_with_wrapper(nodes: list[_Node]) -> bool:
    """Return True when the content already begins with Exchange's wrapper div."""
    elements = [node for node in nodes if node.tag is not None]
    if not elements or elements[0].tag != "div":
        return False
    classes = dict(elements[0].attrs).get("class", "").split()
    return WRAPPER_CLASS in classes


def is_own_style(node: _Node) -> bool:
    """Return True for the style block the rewrite itself adds."""
    text = "".join(child.text for child in node.children)
    return text.strip() == "P {margin-top:0;margin-bottom:0;}"


def serialize(node: _Node) -> str:
    """Serialize a node the way Exchange writes HTML."""
    if node.tag is None:
        return escape_text(node.text)

    attrs = list(node.attrs)
    if node.tag == "p" and "style" not in dict(attrs):
        attrs.append(("style", PARAGRAPH_STYLE))
    attr_text = "".join(f' {name}="{html.escape(value)}"' for name, value in attrs)
    opening = f"<{node.tag}{attr_text}>"
    if node.tag in VOID_ELEMENTS:
        return opening + ("\r\n" if node.tag == "br" else "")

    if node.tag == "style":
        inner = "".join(child.text for child in node.children)
    else:
        inner = "".join(serialize(child) for child in node.children)
    closing = f"</{node.tag}>"
    line_break = "\r\n" if node.tag in BLOCK_ELEMENTS or node.tag == "style" else ""
    return opening + inner + closing + line_break


def escape_text(text: str) -> str:
    """Escape text content; Exchange writes non-breaking spaces as &nbsp;."""
    return html.escape(text, quote=False).replace("\xa0", "&nbsp;")


BLOCK_BREAK = re.compile(r"<br\s*/?>|</(div|p|li|tr|h[1-6])>", re.IGNORECASE)
TAG = re.compile(r"<[^>]+>")
HEAD_SECTION = re.compile(r"<head>.*?</head>", re.IGNORECASE | re.DOTALL)


def html_to_text(body_html: str) -> str:
    """Return the plain-text rendering Graph sends for body-content-type text."""
    text = HEAD_SECTION.sub("", body_html)
    text = text.replace("\r\n", "")
    text = BLOCK_BREAK.sub("\r\n", text)
    text = html.unescape(TAG.sub("", text))
    text = re.sub(r"(\r\n){3,}", "\r\n\r\n", text)
    return text.strip()


def body_preview(body_html: str) -> str:
    """Return Graph's bodyPreview: the first 255 characters of the text."""
    return " ".join(html_to_text(body_html).split())[:255]
