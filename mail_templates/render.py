"""Render Tandem's agenda block from Jinja2 templates, in plain text and HTML.

Each rendered thing has a folder under ``templates/`` with ``body.txt.j2`` and
``body.html.j2``, which extend ``base.txt.j2`` and ``base.html.j2``. The
templates only lay out a context that a function here builds, and every text
in it comes from a catalogue: ``templates/locales/<language>.json``. Adding a
locale means adding one such file with the same keys as ``en.json``.

HTML templates are autoescaped. Rendering is deterministic, so the sync
engine can compare two renders to decide whether an invite needs a write.
"""

from __future__ import annotations

import json
import logging
import re
import string
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from addon.agenda import ActionItem, Agenda, AgendaTopic, PriorNote, Section

logger = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).parent / "templates"
LOCALE_DIR = TEMPLATE_DIR / "locales"

Format = Literal["text", "html"]

# Keys every catalogue's "messages" must have, each with the only
# placeholders it may use.
MESSAGE_PLACEHOLDERS: dict[str, frozenset[str]] = {
    "goal_review": frozenset(),
    "topics": frozenset(),
    "no_topics": frozenset(),
    "carried_over": frozenset({"date"}),
    "discussed": frozenset(),
    "action_items": frozenset(),
    "action_due": frozenset({"date"}),
    "notes": frozenset(),
    "notes_withheld": frozenset(),
    "read_in_tandem": frozenset(),
    "link": frozenset(),
}
MIN_PROMPTS = 2
MAX_PROMPTS = 4

# Whitespace of any kind. A line break in user text would split a topic over
# lines of the invite.
_WHITESPACE = re.compile(r"\s+")
# C0 control characters other than whitespace.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_BLANK_RUN = re.compile(r"\n{3,}")


class UnsupportedLocaleError(ValueError):
    """An agenda requests a locale that has no catalogue."""

    def __init__(self, locale: str, supported: tuple[str, ...]) -> None:
        self.locale = locale
        self.supported = supported
        super().__init__(
            f"Locale {locale!r} is not supported; use one of {', '.join(supported)}, "
            f"or add templates/locales/<language>.json for it."
        )


class CatalogueError(ValueError):
    """A locale file is missing a text or has one in the wrong shape."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"Locale file {path.name} is invalid: {reason}")


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The texts of one locale, read from its JSON file."""

    locale: str
    months: tuple[str, ...]
    date_format: str
    titles: dict[Section, str]
    prompts: dict[Section, tuple[str, ...]]
    messages: dict[str, str]

    def format_date(self, value: date) -> str:
        """Format a date the way this locale writes it, for example "7 mei 2024"."""
        month = self.months[value.month - 1]
        return self.date_format.format(day=value.day, month=month, year=value.year)


def load_catalogue(path: Path) -> Catalogue:
    """Read and check one locale file. Raises CatalogueError naming what is wrong."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise CatalogueError(path, f"it cannot be read as JSON ({error}).") from error

    months = tuple(_require(path, data, "months", list))
    if len(months) != 12:
        raise CatalogueError(path, f"'months' has {len(months)} names, expected 12.")

    sections = _require(path, data, "sections", dict)
    return Catalogue(
        locale=path.stem,
        months=months,
        date_format=_checked_format(
            path, "date_format", data, {"day", "month", "year"}
        ),
        titles={
            section: _section_title(path, sections, section) for section in Section
        },
        prompts={section: _prompts(path, sections, section) for section in Section},
        messages=_messages(path, _require(path, data, "messages", dict)),
    )


def _require(path: Path, data: dict[str, Any], key: str, kind: type) -> Any:
    value = data.get(key)
    if not isinstance(value, kind):
        raise CatalogueError(path, f"{key!r} is missing or is not a {kind.__name__}.")
    return value


def _section_title(path: Path, sections: dict[str, Any], section: Section) -> str:
    entry = _require(path, sections, section.value, dict)
    return str(_require(path, entry, "title", str))


def _prompts(path: Path, sections: dict[str, Any], section: Section) -> tuple[str, ...]:
    prompts = tuple(_require(path, sections[section.value], "prompts", list))
    if not MIN_PROMPTS <= len(prompts) <= MAX_PROMPTS:
        raise CatalogueError(
            path,
            f"section {section.value!r} has {len(prompts)} prompts; give "
            f"{MIN_PROMPTS} to {MAX_PROMPTS}.",
        )
    return prompts


def _messages(path: Path, messages: dict[str, Any]) -> dict[str, str]:
    missing = sorted(set(MESSAGE_PLACEHOLDERS) - set(messages))
    if missing:
        raise CatalogueError(path, f"'messages' lacks {', '.join(missing)}.")
    return {
        key: _checked_format(path, key, messages, allowed)
        for key, allowed in MESSAGE_PLACEHOLDERS.items()
    }


def _checked_format(
    path: Path, key: str, data: dict[str, Any], allowed: set[str] | frozenset[str]
) -> str:
    text = _require(path, data, key, str)
    used = {field for _, field, _, _ in string.Formatter().parse(text) if field}
    if not used <= allowed:
        unknown = ", ".join(sorted(used - allowed))
        raise CatalogueError(path, f"{key!r} uses unknown placeholders: {unknown}.")
    return str(text)


def _load_catalogues() -> dict[str, Catalogue]:
    paths = sorted(LOCALE_DIR.glob("*.json"))
    return {path.stem: load_catalogue(path) for path in paths}


_CATALOGUES = _load_catalogues()
SUPPORTED_LOCALES: tuple[str, ...] = tuple(_CATALOGUES)

_ENVIRONMENT = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def catalogue_for(locale: str) -> Catalogue:
    """Return the catalogue of a locale such as "nl", "nl-BE" or "en_GB".

    Only the language subtag counts (BCP 47), in any case. Raises
    UnsupportedLocaleError for a language without a catalogue.
    """
    language = locale.replace("_", "-").split("-")[0].strip().lower()
    catalogue = _CATALOGUES.get(language)
    if catalogue is None:
        raise UnsupportedLocaleError(locale, SUPPORTED_LOCALES)
    return catalogue


def section_title(section: Section, locale: str) -> str:
    """Return a section's heading in a locale, for example "Huidige rol"."""
    return catalogue_for(locale).titles[section]


def section_prompts(section: Section, locale: str) -> tuple[str, ...]:
    """Return the questions that open a section in a locale."""
    return catalogue_for(locale).prompts[section]


def render_invite_block(agenda: Agenda, fmt: Format) -> str:
    """Render the agenda block that goes into an invite's description.

    `fmt` is "text" or "html". The HTML uses only tags that Google Calendar
    keeps and has no line breaks of its own. Raises UnsupportedLocaleError
    for an unknown `agenda.locale` and ValueError for an unknown `fmt`.
    """
    catalogue = catalogue_for(agenda.locale)
    context = invite_block_context(agenda, catalogue)
    return _render("invite_block", fmt, context)


def invite_block_context(agenda: Agenda, catalogue: Catalogue) -> dict[str, Any]:
    """Build the values the invite block templates lay out, all in one locale.

    Prior notes are left out whenever `agenda.notes_withheld` is set, even
    when the agenda carries some.
    """
    messages = catalogue.messages
    link = agenda.link.strip()
    return {
        "goal_review": messages["goal_review"] if agenda.is_goal_review else "",
        "sections": [_section(agenda, catalogue, section) for section in Section],
        "topics_label": messages["topics"],
        "no_topics": messages["no_topics"],
        "action_items_label": messages["action_items"],
        "action_items": [_action_item(item, catalogue) for item in agenda.action_items],
        "notes_label": messages["notes"],
        "notes": [] if agenda.notes_withheld else _notes(agenda.notes, catalogue),
        "notes_withheld": messages["notes_withheld"] if agenda.notes_withheld else "",
        "read_in_tandem": messages["read_in_tandem"],
        "link": link,
        "link_is_web": link.lower().startswith(("https://", "http://")),
        "link_label": messages["link"],
    }


def _section(agenda: Agenda, catalogue: Catalogue, section: Section) -> dict[str, Any]:
    topics = agenda.topics.get(section, [])
    return {
        "title": catalogue.titles[section],
        "prompts": catalogue.prompts[section],
        "topics": [_topic(topic, catalogue) for topic in topics],
    }


def _topic(topic: AgendaTopic, catalogue: Catalogue) -> dict[str, str]:
    notes = []
    if topic.carried_from is not None:
        when = catalogue.format_date(topic.carried_from)
        notes.append(catalogue.messages["carried_over"].format(date=when))
    if topic.discussed:
        notes.append(catalogue.messages["discussed"])
    return {"text": _one_line(topic.text), "note": ", ".join(notes)}


def _action_item(item: ActionItem, catalogue: Catalogue) -> dict[str, str]:
    details = [_one_line(item.owner)]
    if item.due is not None:
        due = catalogue.format_date(item.due)
        details.append(catalogue.messages["action_due"].format(date=due))
    return {"text": _one_line(item.text), "detail": ", ".join(d for d in details if d)}


def _notes(notes: list[PriorNote], catalogue: Catalogue) -> list[dict[str, str]]:
    rendered = []
    for note in notes:
        parts = [catalogue.format_date(note.occurrence_date), _one_line(note.author)]
        heading = ", ".join(part for part in parts if part)
        rendered.append({"heading": heading, "text": _one_line(note.text)})
    return rendered


def _one_line(text: str) -> str:
    """Return user text as one line, so it cannot break the block's layout."""
    return _WHITESPACE.sub(" ", _CONTROL.sub("", text)).strip()


def _render(folder: str, fmt: Format, context: dict[str, Any]) -> str:
    if fmt == "text":
        template = _ENVIRONMENT.get_template(f"{folder}/body.txt.j2")
        return _tidy_text(template.render(context))
    if fmt == "html":
        template = _ENVIRONMENT.get_template(f"{folder}/body.html.j2")
        return _tidy_html(template.render(context))
    raise ValueError(f"Format {fmt!r} is not supported; use 'text' or 'html'.")


def _tidy_text(rendered: str) -> str:
    lines = [line.rstrip() for line in rendered.split("\n")]
    return _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip("\n")


def _tidy_html(rendered: str) -> str:
    # An editor that treats the description as text would show a line break of
    # the source as a break, so the template's own layout lines are joined.
    # User text is one line already (see _one_line), so joining never glues
    # two of its words.
    return "".join(line.strip() for line in rendered.split("\n"))
