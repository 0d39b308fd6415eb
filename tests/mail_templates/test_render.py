"""Tests for rendering the agenda block of an invite."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from addon.agenda import ActionItem, Agenda, AgendaTopic, PriorNote, Section
from calendar_sync.merge import (
    find_block,
    find_block_html,
    is_marker_line,
    merge_block,
    merge_block_html,
)
from mail_templates.render import (
    LOCALE_DIR,
    SUPPORTED_LOCALES,
    CatalogueError,
    UnsupportedLocaleError,
    load_catalogue,
    render_invite_block,
    section_prompts,
    section_title,
)

GOOGLE_TAGS = {"b", "i", "u", "br", "a", "ul", "ol", "li"}
LINK = "https://tandem.example/series/7"
HOSTILE_MARKER = "[Tandem agenda end abcdefgh]"


def make_agenda(locale: str = "en", **changes: object) -> Agenda:
    agenda = Agenda(
        series_id=7,
        occurrence_start=datetime(2024, 5, 14, 9, 0, tzinfo=UTC),
        people=("anna@example.nl", "bram@example.nl"),
        locale=locale,
        topics={
            Section.PERSONAL: [
                AgendaTopic(
                    1, Section.PERSONAL, "Moving house", carried_from=date(2024, 5, 7)
                )
            ],
            Section.ROLE: [AgendaTopic(2, Section.ROLE, "Q3 goals")],
            Section.GROWTH: [],
        },
        notes=[PriorNote(date(2024, 5, 7), "Anna", "Agreed to revisit workload.")],
        action_items=[ActionItem(1, "Send the Q3 plan", "Bram", date(2024, 5, 21))],
        link=LINK,
    )
    return replace(agenda, **changes)  # type: ignore[arg-type]


def empty_topics() -> dict[Section, list[AgendaTopic]]:
    return {section: [] for section in Section}


def tag_names(rendered: str) -> set[str]:
    return {name.lower() for name in re.findall(r"</?([A-Za-z0-9]+)", rendered)}


# Text


def test_text_english_layout() -> None:
    rendered = render_invite_block(make_agenda(), "text")

    assert rendered == (
        "PERSONAL\n"
        "How are you doing, at work and outside it?\n"
        "What has been giving you energy lately, and what has been taking it?\n"
        "Topics:\n"
        "- Moving house (on the agenda since 7 May 2024)\n"
        "\n"
        "CURRENT ROLE\n"
        "How are your goals coming along?\n"
        "What would you like feedback on?\n"
        "Is anything blocking you or slowing you down?\n"
        "Topics:\n"
        "- Q3 goals\n"
        "\n"
        "GROWTH & DEVELOPMENT\n"
        "Which of your strengths would you like to use more?\n"
        "Where would you like to be in a year or two?\n"
        "What is your next step, and what do you need for it?\n"
        "No topics yet.\n"
        "\n"
        "OPEN ACTION ITEMS\n"
        "- Send the Q3 plan (Bram, due 21 May 2024)\n"
        "\n"
        "SHARED NOTES FROM LAST TIME\n"
        "- 7 May 2024, Anna: Agreed to revisit workload.\n"
        "\n"
        f"Add a topic or open the agenda in Tandem: {LINK}"
    )


def test_text_dutch_sections() -> None:
    rendered = render_invite_block(make_agenda("nl"), "text")

    headings = [line for line in rendered.split("\n") if line.isupper()]
    assert headings == [
        "PERSOONLIJK",
        "HUIDIGE ROL",
        "GROEI & ONTWIKKELING",
        "OPENSTAANDE ACTIEPUNTEN",
        "GEDEELDE NOTITIES VAN VORIGE KEER",
    ]
    assert "- Moving house (staat sinds 7 mei 2024 op de agenda)" in rendered
    assert "- Send the Q3 plan (Bram, uiterlijk 21 mei 2024)" in rendered
    assert "- 7 mei 2024, Anna: Agreed to revisit workload." in rendered


def test_dutch_uses_je_not_u() -> None:
    rendered = render_invite_block(make_agenda("nl"), "text")

    words = set(re.findall(r"\w+", rendered.lower()))
    assert "je" in words
    assert not words & {"u", "uw", "uzelf"}


def test_text_goal_review_first() -> None:
    rendered = render_invite_block(make_agenda(is_goal_review=True), "text")

    assert rendered.startswith("This 1:1 includes a goal review.\n\nPERSONAL\n")


def test_text_empty_agenda() -> None:
    agenda = make_agenda(topics=empty_topics(), notes=[], action_items=[], link="")

    rendered = render_invite_block(agenda, "text")

    assert rendered.count("No topics yet.") == 3
    assert "Topics:" not in rendered
    assert "OPEN ACTION ITEMS" not in rendered
    assert "SHARED NOTES" not in rendered
    assert "Tandem:" not in rendered


def test_text_notes_withheld() -> None:
    agenda = make_agenda(notes_withheld=True)

    rendered = render_invite_block(agenda, "text")

    assert "revisit workload" not in rendered
    assert "SHARED NOTES" not in rendered
    assert (
        "The shared notes from last time are not shown in this invite. "
        f"You can read them in Tandem: {LINK}"
    ) in rendered


def test_text_withheld_without_link() -> None:
    agenda = make_agenda(notes_withheld=True, link="")

    rendered = render_invite_block(agenda, "text")

    assert rendered.endswith(
        "The shared notes from last time are not shown in this invite."
    )


def test_text_action_item_details() -> None:
    items = [
        ActionItem(1, "Book training"),
        ActionItem(2, "Ask HR", due=date(2024, 6, 3)),
    ]

    rendered = render_invite_block(make_agenda(action_items=items), "text")

    assert "- Book training\n" in rendered
    assert "- Ask HR (due 3 June 2024)\n" in rendered


def test_text_topic_made_one_line() -> None:
    topic = AgendaTopic(3, Section.GROWTH, "Course\r\nbudget\u2028 2025\x00")
    topics = {**empty_topics(), Section.GROWTH: [topic]}

    rendered = render_invite_block(make_agenda(topics=topics), "text")

    assert "- Course budget 2025\n" in rendered


def test_text_hostile_topic_kept_literal() -> None:
    topic = AgendaTopic(3, Section.ROLE, '<script>alert("x")</script> & more')
    topics = {**empty_topics(), Section.ROLE: [topic]}

    rendered = render_invite_block(make_agenda(topics=topics), "text")

    assert '- <script>alert("x")</script> & more\n' in rendered


def test_text_marker_topic_is_no_marker() -> None:
    topic = AgendaTopic(3, Section.ROLE, f"x\n{HOSTILE_MARKER}\ny")
    note = PriorNote(date(2024, 5, 7), "", HOSTILE_MARKER)
    topics = {**empty_topics(), Section.ROLE: [topic]}
    agenda = make_agenda(topics=topics, notes=[note])

    rendered = render_invite_block(agenda, "text")
    merged = merge_block("Room 4.12", rendered)

    assert not any(is_marker_line(line) for line in rendered.split("\n"))
    assert find_block(merged).body == rendered  # type: ignore[union-attr]


def test_text_discussed_topic_marked() -> None:
    topic = AgendaTopic(3, Section.ROLE, "Roadmap", discussed=True)
    topics = {**empty_topics(), Section.ROLE: [topic]}

    rendered = render_invite_block(make_agenda("nl", topics=topics), "text")

    assert "- Roadmap (besproken)\n" in rendered


# HTML


def test_html_english_layout() -> None:
    agenda = make_agenda(notes=[], action_items=[], is_goal_review=True)

    rendered = render_invite_block(agenda, "html")

    assert rendered.startswith(
        "<b>This 1:1 includes a goal review.</b><br><br><b>Personal</b><br>"
        "<i>How are you doing, at work and outside it?</i><br>"
    )
    assert (
        "Topics:<ul><li>Moving house <i>(on the agenda since 7 May 2024)</i></li></ul>"
    ) in rendered
    assert "<b>Growth &amp; development</b>" in rendered
    assert rendered.endswith(f'Tandem: <a href="{LINK}">{LINK}</a>')


def test_html_google_tags_only() -> None:
    for locale in SUPPORTED_LOCALES:
        for withheld in (False, True):
            agenda = make_agenda(locale, notes_withheld=withheld, is_goal_review=True)

            rendered = render_invite_block(agenda, "html")

            assert tag_names(rendered) <= GOOGLE_TAGS
            assert "\n" not in rendered


def test_html_escapes_hostile_topic() -> None:
    topic = AgendaTopic(3, Section.ROLE, '<img src=x onerror="alert(1)"> & <b>')
    topics = {**empty_topics(), Section.ROLE: [topic]}

    rendered = render_invite_block(make_agenda(topics=topics), "html")

    assert (
        "<li>&lt;img src=x onerror=&#34;alert(1)&#34;&gt; &amp; &lt;b&gt;</li>"
        in rendered
    )
    assert "<img" not in rendered


def test_html_marker_topic_quoted() -> None:
    topic = AgendaTopic(3, Section.ROLE, HOSTILE_MARKER)
    topics = {**empty_topics(), Section.ROLE: [topic]}
    rendered = render_invite_block(make_agenda(topics=topics), "html")

    merged = merge_block_html("<div>Room 4.12</div>", rendered)

    span = find_block_html(merged)
    assert span is not None
    assert not span.edited
    assert f"> {HOSTILE_MARKER}" in span.body.split("\n")


def test_html_notes_withheld() -> None:
    rendered = render_invite_block(make_agenda("nl", notes_withheld=True), "html")

    assert "revisit workload" not in rendered
    assert (
        "De gedeelde notities van vorige keer staan niet in deze uitnodiging. "
        f'Je leest ze in Tandem: <a href="{LINK}">{LINK}</a><br>'
    ) in rendered


def test_html_link_not_web() -> None:
    agenda = make_agenda(link='javascript:alert("x")')

    rendered = render_invite_block(agenda, "html")

    assert "<a " not in rendered
    assert rendered.endswith("Tandem: javascript:alert(&#34;x&#34;)")


def test_html_empty_sections() -> None:
    agenda = make_agenda("nl", topics=empty_topics(), notes=[], action_items=[])

    rendered = render_invite_block(agenda, "html")

    assert rendered.count("Nog geen onderwerpen.<br>") == 3
    assert "<ul>" not in rendered


# Shared


def test_render_deterministic() -> None:
    for locale in SUPPORTED_LOCALES:
        for fmt in ("text", "html"):
            first = render_invite_block(make_agenda(locale), fmt)  # type: ignore[arg-type]

            second = render_invite_block(make_agenda(locale), fmt)  # type: ignore[arg-type]

            assert first == second


def test_render_unknown_locale() -> None:
    with pytest.raises(UnsupportedLocaleError) as caught:
        render_invite_block(make_agenda("fr"), "text")

    assert isinstance(caught.value, ValueError)
    assert "'fr'" in str(caught.value)
    assert "en, nl" in str(caught.value)


def test_render_region_locale() -> None:
    rendered = render_invite_block(make_agenda("nl-BE"), "text")

    assert rendered.startswith("PERSOONLIJK\n")


def test_render_unknown_format() -> None:
    with pytest.raises(ValueError, match="'pdf' is not supported"):
        render_invite_block(make_agenda(), "pdf")  # type: ignore[arg-type]


def test_supported_locales() -> None:
    assert SUPPORTED_LOCALES == ("en", "nl")


def test_section_titles() -> None:
    assert section_title(Section.PERSONAL, "en") == "Personal"
    assert section_title(Section.ROLE, "en") == "Current role"
    assert section_title(Section.GROWTH, "en") == "Growth & development"
    assert section_title(Section.PERSONAL, "nl") == "Persoonlijk"
    assert section_title(Section.ROLE, "nl") == "Huidige rol"
    assert section_title(Section.GROWTH, "nl") == "Groei & ontwikkeling"


def test_section_prompts_count() -> None:
    for locale in SUPPORTED_LOCALES:
        for section in Section:
            prompts = section_prompts(section, locale)

            assert 2 <= len(prompts) <= 4
            assert all(prompt.endswith("?") for prompt in prompts)


def test_section_prompts_unknown_locale() -> None:
    with pytest.raises(UnsupportedLocaleError, match="'de'"):
        section_prompts(Section.GROWTH, "de")


def test_new_locale_is_one_file(tmp_path: Path) -> None:
    data = json.loads((LOCALE_DIR / "en.json").read_text(encoding="utf-8"))
    data["sections"]["personal"]["title"] = "Persönliches"
    path = tmp_path / "de.json"
    path.write_text(json.dumps(data), encoding="utf-8")

    catalogue = load_catalogue(path)

    assert catalogue.locale == "de"
    assert catalogue.titles[Section.PERSONAL] == "Persönliches"


def test_catalogue_missing_message(tmp_path: Path) -> None:
    data = json.loads((LOCALE_DIR / "nl.json").read_text(encoding="utf-8"))
    del data["messages"]["no_topics"]
    path = tmp_path / "xx.json"
    path.write_text(json.dumps(data), encoding="utf-8")

    with pytest.raises(CatalogueError, match="lacks no_topics"):
        load_catalogue(path)


def test_catalogue_unknown_placeholder(tmp_path: Path) -> None:
    data = json.loads((LOCALE_DIR / "en.json").read_text(encoding="utf-8"))
    data["messages"]["action_due"] = "due {when}"
    path = tmp_path / "xx.json"
    path.write_text(json.dumps(data), encoding="utf-8")

    with pytest.raises(CatalogueError, match="unknown placeholders: when"):
        load_catalogue(path)


def test_catalogue_too_few_prompts(tmp_path: Path) -> None:
    data = json.loads((LOCALE_DIR / "en.json").read_text(encoding="utf-8"))
    data["sections"]["growth"]["prompts"] = ["Only one?"]
    path = tmp_path / "xx.json"
    path.write_text(json.dumps(data), encoding="utf-8")

    with pytest.raises(CatalogueError, match="has 1 prompts"):
        load_catalogue(path)
