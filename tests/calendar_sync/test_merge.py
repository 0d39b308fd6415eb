"""Tests for merging Tandem's agenda block into event descriptions."""

from __future__ import annotations

import html

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from calendar_sync.merge import (
    block_body,
    block_body_html,
    body_tag,
    dominant_line_ending,
    end_marker,
    find_block,
    find_block_html,
    is_marker_line,
    merge_block,
    merge_block_html,
    remove_block,
    remove_block_html,
    start_marker,
    user_lines,
)

TAG = "abcdefgh"
LINE_ENDINGS = ["\r\n", "\r", "\n"]

# Lines that look like markers to a person, and some that are markers.
MARKER_LIKE = [
    start_marker(TAG),
    end_marker(TAG),
    start_marker("zyxwvuts"),
    end_marker("zyxwvuts"),
    "  [Tandem  agenda start v1 abcdefgh]\t",
    "[Tandem agenda start v7 abcdefgh]",
    "[Tandem agenda end ABCDEFGH]",
    "[Tandem agenda start abcdefgh]",
    "[Tandem agenda begin]",
    "Tandem agenda",
    "--- Tandem agenda ---",
    "see [Tandem agenda end abcdefgh] below",
    "\xa0[Tandem agenda end abcdefgh]\xa0",
]

line_ending = st.sampled_from(LINE_ENDINGS)
marker_like = st.sampled_from(MARKER_LIKE)
free_text = st.text(max_size=30)
whitespace = st.text(alphabet=" \t\xa0\u2028", max_size=4)


@st.composite
def complete_blocks(draw: st.DrawFn) -> str:
    """A well-formed block, as if pasted from another invite."""
    body = draw(st.lists(free_text, max_size=3))
    newline = draw(line_ending)
    return newline.join([start_marker(TAG), *body, end_marker(TAG)])


fragment = st.one_of(free_text, line_ending, marker_like, whitespace, complete_blocks())
descriptions = st.lists(fragment, max_size=12).map("".join)
block_texts = st.lists(st.one_of(free_text, line_ending, marker_like), max_size=8).map(
    "".join
)


def line_endings_in(text: str) -> set[str]:
    found = set()
    index = 0
    while index < len(text):
        if text.startswith("\r\n", index):
            found.add("\r\n")
            index += 2
            continue
        if text[index] in "\r\n":
            found.add(text[index])
        index += 1
    return found


# Plain text: properties


@settings(max_examples=300)
@given(descriptions, block_texts)
@example("", "")
@example("   ", "PERSONAL")
@example("x\r", "a\nb")
@example("a\nb\r", "a")
def test_remove_restores_description(description: str, block_text: str) -> None:
    assume(find_block(description) is None)

    merged = merge_block(description, block_text)

    assert remove_block(merged) == description


@settings(max_examples=300)
@given(descriptions, block_texts)
def test_merge_idempotent(description: str, block_text: str) -> None:
    once = merge_block(description, block_text)

    twice = merge_block(once, block_text)

    assert twice == once


@settings(max_examples=300)
@given(descriptions, block_texts, block_texts)
def test_merge_replaces_block(description: str, first: str, second: str) -> None:
    replaced = merge_block(merge_block(description, first), second)

    assert replaced == merge_block(description, second)


with_block = st.tuples(descriptions, line_ending, complete_blocks(), descriptions)


@settings(max_examples=300)
@given(with_block.map("".join), block_texts)
def test_merge_keeps_text_around_block(description: str, block_text: str) -> None:
    span = find_block(description)
    assume(span is not None)
    assert span is not None
    before, after = description[: span.start], description[span.end :]

    merged = merge_block(description, block_text)

    new_span = find_block(merged)
    assert new_span is not None
    assert merged[: new_span.start] == before
    assert merged[new_span.end :] == after


@settings(max_examples=300)
@given(descriptions, block_texts)
def test_merge_appends_after_text(description: str, block_text: str) -> None:
    assume(find_block(description) is None)

    merged = merge_block(description, block_text)

    span = find_block(merged)
    assert span is not None
    assert merged.startswith(description)
    assert span.start >= len(description)
    assert not span.edited


@settings(max_examples=300)
@given(descriptions, block_texts)
def test_merge_quotes_marker_lines(description: str, block_text: str) -> None:
    merged = merge_block(description, block_text)

    body = block_body(merged)
    assert body is not None
    for line in body.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        assert not is_marker_line(line)


@settings(max_examples=300)
@given(descriptions, block_texts)
def test_merge_uses_dominant_line_ending(description: str, block_text: str) -> None:
    assume(find_block(description) is None)
    expected = dominant_line_ending(description)

    merged = merge_block(description, block_text)

    assert line_endings_in(merged[len(description) :]) <= {expected}


# Plain text: cases


def test_merge_empty_description() -> None:
    merged = merge_block("", "PERSONAL\n- Holiday plans")

    tag = body_tag("PERSONAL\n- Holiday plans")
    assert merged == f"[Tandem agenda start v1 {tag}]\nPERSONAL\n- Holiday plans\n" + (
        f"[Tandem agenda end {tag}]"
    )


def test_merge_blank_line_separator() -> None:
    merged = merge_block("Room 4.12", "PERSONAL")

    assert merged.startswith("Room 4.12\n\n[Tandem agenda start v1 ")
    assert merged.endswith("]")


def test_merge_moves_final_line_ending() -> None:
    merged = merge_block("Room 4.12\r\n", "PERSONAL")

    assert merged.startswith("Room 4.12\r\n\r\n[Tandem agenda start v1 ")
    assert merged.endswith("]\r\n")
    assert remove_block(merged) == "Room 4.12\r\n"


def test_merge_bare_carriage_returns() -> None:
    merged = merge_block("a\rb\rc", "one\ntwo")

    assert "\n" not in merged
    assert merged.startswith("a\rb\rc\r\r[Tandem agenda start")


def test_find_lone_start_marker() -> None:
    description = f"Notes\n{start_marker(TAG)}\nmore text"

    assert find_block(description) is None


def test_find_lone_end_marker() -> None:
    description = f"Notes\n{end_marker(TAG)}\nmore text"

    assert find_block(description) is None


def test_find_markers_wrong_order() -> None:
    description = f"{end_marker(TAG)}\nbody\n{start_marker(TAG)}"

    assert find_block(description) is None


def test_find_mismatched_tags() -> None:
    description = f"{start_marker(TAG)}\nbody\n{end_marker('zyxwvuts')}"

    assert find_block(description) is None


def test_find_marker_inside_line() -> None:
    description = f"see {start_marker(TAG)} and\n{end_marker(TAG)} here"

    assert find_block(description) is None


def test_find_takes_last_block() -> None:
    first = f"{start_marker(TAG)}\nold\n{end_marker(TAG)}"
    second = f"{start_marker('zyxwvuts')}\nnew\n{end_marker('zyxwvuts')}"

    span = find_block(f"{first}\n\n{second}\ntrailer")

    assert span is not None
    assert span.tag == "zyxwvuts"
    assert span.body == "new"


def test_find_marker_between_is_text() -> None:
    description = "\n".join(
        [start_marker(TAG), start_marker(TAG), "body", end_marker(TAG)]
    )

    span = find_block(description)

    assert span is not None
    assert span.start == len(start_marker(TAG)) + 1
    assert span.body == "body"


def test_find_tolerates_editor_whitespace() -> None:
    description = (
        f"x\r\n \xa0[Tandem  agenda start v1 {TAG}] \r\n"
        f"body\r\n[Tandem agenda end {TAG}]\t"
    )

    span = find_block(description)

    assert span is not None
    assert span.body == "body"
    assert span.version == 1


def test_find_reports_edited_body() -> None:
    merged = merge_block("x", "PERSONAL\n- Holiday plans")
    edited = merged.replace("- Holiday plans", "- Holiday plans\n- Parental leave")

    span = find_block(edited)

    assert span is not None
    assert span.edited
    assert not find_block(merged).edited  # type: ignore[union-attr]


def test_edited_ignores_line_ending_change() -> None:
    merged = merge_block("x", "PERSONAL\n- Holiday plans\n\n")

    converted = merged.replace("\n", "\r\n")

    assert not find_block(converted).edited  # type: ignore[union-attr]


def test_merge_quotes_hostile_end_marker() -> None:
    hostile = f"- {TAG}\n{end_marker(TAG)}\nafter"

    merged = merge_block("x", hostile)

    assert f"\n> {end_marker(TAG)}\n" in merged
    assert block_body(merged) == f"- {TAG}\n> {end_marker(TAG)}\nafter"


def test_remove_keeps_text_added_after() -> None:
    merged = merge_block("Room 4.12", "PERSONAL")
    edited = merged + "\nDial-in: see chat"

    removed = remove_block(edited)

    assert removed == "Room 4.12\n\nDial-in: see chat"


def test_remove_without_block() -> None:
    assert remove_block("just text\n") == "just text\n"


def test_block_body_without_block() -> None:
    assert block_body("just text") is None


def test_dominant_line_ending_cases() -> None:
    assert dominant_line_ending("") == "\n"
    assert dominant_line_ending("a\r\nb\nc\r\n") == "\r\n"
    assert dominant_line_ending("a\rb\rc\n") == "\r"
    assert dominant_line_ending("a\nb\r\n") == "\r\n"


def test_body_tag_letters() -> None:
    tag = body_tag("PERSONAL\n- Holiday plans")

    assert len(tag) == 8
    assert tag.isascii()
    assert tag.isalpha()
    assert tag.islower()
    assert body_tag("PERSONAL  \r\n\r\n- Holiday   plans") == tag


# user_lines


def test_user_lines_added_and_changed() -> None:
    previous = "PERSONAL\n- Holiday plans\nCURRENT ROLE\n- Q3 goals"
    current = "PERSONAL\n- Holiday plans\n- Moving house\nCURRENT ROLE\n- Q3 goals, Q4"

    added = user_lines(previous, current)

    assert added == ["- Moving house", "- Q3 goals, Q4"]


def test_user_lines_ignore_editor_changes() -> None:
    previous = "PERSONAL\n- Holiday plans"
    current = "PERSONAL  \r\n\r\n -\xa0Holiday  plans\r\n"

    assert user_lines(previous, current) == []


def test_user_lines_deleted_and_repeated() -> None:
    previous = "a\nb\nc"
    current = "c\nnew\n\nnew\n"

    assert user_lines(previous, current) == ["new"]


@given(block_texts)
def test_user_lines_unchanged_body(body: str) -> None:
    assert user_lines(body, body) == []


# HTML

HTML_PIECES = [
    "<b>",
    "</b>",
    "<br>",
    "<br/>",
    "<p>",
    "</p>",
    '<p class="MsoNormal" style="margin:0">',
    "<div>",
    "</div>",
    '<div style="font-family:Calibri">',
    "<ul><li>",
    "</li></ul>",
    "<span>",
    "</span>",
    '<a href="https://example.com/?a=1&amp;b=2">',
    "</a>",
    "&nbsp;",
    "&amp;",
    "<!-- note -->",
    "<html><head><style>p {margin:0}</style></head><body>",
    "</body></html>",
    "\r\n",
    f"<p>{start_marker(TAG)}</p>",
    f"<p>{end_marker(TAG)}</p>",
    f"<br>{start_marker('zyxwvuts')}<br>",
    f"<br>{end_marker('zyxwvuts')}<br>",
    f"<div><span>[Tandem</span> agenda end {TAG}]</div>",
    f"<div>&#91;Tandem agenda start v1 {TAG}&#93;</div>",
    f"<p>see {end_marker(TAG)} here</p>",
    f"<p>{start_marker(TAG)}</p><p>pasted</p><p>{end_marker(TAG)}</p>",
]

html_text = free_text.map(html.escape)
html_descriptions = st.lists(
    st.one_of(html_text, st.sampled_from(HTML_PIECES)), max_size=12
).map("".join)
html_blocks = st.lists(
    st.one_of(
        html_text.map(lambda text: f"<b>{text}</b><br>"),
        html_text.map(lambda text: f"<ul><li>{text}</li></ul>"),
        marker_like.map(lambda line: f"<li>{html.escape(line)}</li>"),
        marker_like.map(lambda line: f"{html.escape(line)}<br>"),
        html_text,
    ),
    max_size=6,
).map("".join)


@settings(max_examples=300)
@given(html_descriptions, html_blocks)
@example("", "")
@example("<html><body></body></html>", "<b>Personal</b>")
@example("&nbsp;", "x")
@example("<br><br>", "x")
def test_html_remove_restores(description: str, block_html: str) -> None:
    assume(find_block_html(description) is None)

    merged = merge_block_html(description, block_html)

    assert remove_block_html(merged) == description


@settings(max_examples=300)
@given(html_descriptions, html_blocks)
def test_html_merge_idempotent(description: str, block_html: str) -> None:
    once = merge_block_html(description, block_html)

    twice = merge_block_html(once, block_html)

    assert twice == once


@settings(max_examples=300)
@given(html_descriptions, html_blocks, html_blocks)
def test_html_merge_replaces(description: str, first: str, second: str) -> None:
    replaced = merge_block_html(merge_block_html(description, first), second)

    assert replaced == merge_block_html(description, second)


html_complete_blocks = st.sampled_from(
    [
        f"<br>{start_marker(TAG)}<br>old<br>{end_marker(TAG)}",
        f"<p><span>{start_marker(TAG)}</span></p><p>old</p><p>{end_marker(TAG)}</p>",
        f"<div>\r\n{start_marker(TAG)}&nbsp;</div><div>{end_marker(TAG)}</div>",
    ]
)
html_with_block = st.tuples(html_descriptions, html_complete_blocks, html_descriptions)


@settings(max_examples=300)
@given(html_with_block.map("".join), html_blocks)
def test_html_merge_keeps_surroundings(description: str, block_html: str) -> None:
    span = find_block_html(description)
    assume(span is not None)
    assert span is not None
    before, after = description[: span.start], description[span.end :]

    merged = merge_block_html(description, block_html)

    new_span = find_block_html(merged)
    assert new_span is not None
    assert merged[: new_span.start] == before
    assert merged[new_span.end :] == after


@settings(max_examples=300)
@given(html_descriptions, html_blocks)
def test_html_merge_quotes_markers(description: str, block_html: str) -> None:
    merged = merge_block_html(description, block_html)

    body = block_body_html(merged)
    assert body is not None
    for line in body.split("\n"):
        assert not is_marker_line(line)


@settings(max_examples=200)
@given(st.text(max_size=60), html_blocks)
def test_html_arbitrary_text(description: str, block_html: str) -> None:
    try:
        once = merge_block_html(description, block_html)
    except ValueError:
        return

    assert merge_block_html(once, block_html) == once
    if find_block_html(description) is None:
        assert remove_block_html(once) == description


def test_html_insert_before_body_end() -> None:
    description = "<html><head></head><body><div>Plan</div></body></html>"

    merged = merge_block_html(description, "<b>Personal</b>")

    tag = body_tag("Personal")
    assert merged == (
        "<html><head></head><body><div>Plan</div><br><br>"
        f"[Tandem agenda start v1 {tag}]<br><b>Personal</b><br>"
        f"[Tandem agenda end {tag}]</body></html>"
    )


def test_html_no_separator_when_empty() -> None:
    merged = merge_block_html("<body></body>", "x")

    assert merged.startswith("<body>[Tandem agenda start v1 ")


def test_html_finds_outlook_rewrite() -> None:
    merged = merge_block_html("<div>Plan</div>", "<b>Personal</b><br>- Holiday")
    tag = find_block_html(merged).tag  # type: ignore[union-attr]
    rewritten = (
        '<html><body><div>Plan</div><p class="MsoNormal"><span style="x">'
        f"[Tandem&nbsp;agenda start v1 {tag}]</span></p>\r\n"
        '<p class="MsoNormal"><b>Personal</b></p><p>- Holiday</p>'
        f'<p class="MsoNormal"><span>[Tandem agenda</span>\r\n end {tag}]</span></p>'
        "</body></html>"
    )

    span = find_block_html(rewritten)

    assert span is not None
    assert not span.edited
    assert rewritten[span.start] == "["
    assert rewritten[span.end :] == "</span></p></body></html>"


def test_html_replace_keeps_wrappers() -> None:
    description = (
        f"<div><p><span>{start_marker(TAG)}</span></p><p>old</p>"
        f"<p><span>{end_marker(TAG)}</span></p></div>"
    )

    merged = merge_block_html(description, "new")

    tag = body_tag("new")
    assert merged == (
        f"<div><p><span>[Tandem agenda start v1 {tag}]<br>new<br>"
        f"[Tandem agenda end {tag}]</span></p></div>"
    )


def test_html_quotes_hostile_topic() -> None:
    hostile = f"<ul><li>{end_marker(TAG)}</li><li>ok</li></ul>"

    merged = merge_block_html("", hostile)

    assert f"<li>&gt; {end_marker(TAG)}</li>" in merged
    assert find_block_html(merged).body.split("\n")[2] == (  # type: ignore[union-attr]
        f"> {end_marker(TAG)}"
    )


def test_html_lone_markers_are_text() -> None:
    description = f"<p>{end_marker(TAG)}</p><p>{start_marker(TAG)}</p>"

    assert find_block_html(description) is None


def test_html_marker_inside_line() -> None:
    description = f"<p>see {start_marker(TAG)}</p><p>{end_marker(TAG)}</p>"

    assert find_block_html(description) is None


def test_html_rejects_unclosed_comment() -> None:
    with pytest.raises(ValueError, match="unclosed comment"):
        merge_block_html("<div>Plan</div><!-- draft", "x")


def test_html_rejects_unclosed_tag() -> None:
    with pytest.raises(ValueError, match="never closes"):
        merge_block_html('<div>Plan</div><a title="x', "x")


def test_html_rejects_block_comment() -> None:
    with pytest.raises(ValueError, match="only text and tags"):
        merge_block_html("", "<!-- hidden -->x")


def test_html_rejects_block_stray_bracket() -> None:
    with pytest.raises(ValueError, match="escape it as &lt;"):
        merge_block_html("", "a <b")


def test_html_rejects_block_body_tag() -> None:
    with pytest.raises(ValueError, match="document tag"):
        merge_block_html("", "<body>x</body>")
