"""The agenda of one 1:1 occurrence, as Tandem renders it.

These are plain values built by `addon.service` from the database and handed
to `mail_templates` for rendering; they carry nothing private.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime


class Section(enum.StrEnum):
    """The three parts of every agenda, in the order they are shown."""

    PERSONAL = "personal"
    ROLE = "role"
    GROWTH = "growth"


@dataclass(frozen=True, slots=True)
class AgendaTopic:
    """A topic on the agenda.

    `carried_from` is the date of the 1:1 it was first raised for, when that
    was an earlier one.
    """

    id: int
    section: Section
    text: str
    author: str = ""
    carried_from: date | None = None
    discussed: bool = False


@dataclass(frozen=True, slots=True)
class PriorNote:
    """A shared note from the previous occurrence of the same pair."""

    occurrence_date: date
    author: str
    text: str


@dataclass(frozen=True, slots=True)
class ActionItem:
    """An open action item of the pair."""

    id: int
    text: str
    owner: str = ""
    due: date | None = None


@dataclass(frozen=True, slots=True)
class Agenda:
    """Everything that goes into one occurrence's agenda block.

    `topics` is keyed by section and always has all three keys. `notes` is
    empty unless the invite may carry prior notes (exactly the two people are
    invited and the tenant allows it); `notes_withheld` is then True so the
    block can point to `link` instead.
    """

    series_id: int
    occurrence_start: datetime
    people: tuple[str, str]
    locale: str
    topics: dict[Section, list[AgendaTopic]] = field(default_factory=dict)
    notes: list[PriorNote] = field(default_factory=list)
    notes_withheld: bool = False
    action_items: list[ActionItem] = field(default_factory=list)
    is_goal_review: bool = False
    link: str = ""
