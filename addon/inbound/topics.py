"""Split the text a person wrote into agenda topics."""

from __future__ import annotations

import re

from addon.agenda import Section
from addon.inbound.models import TopicCandidate

_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
_PREFIX = re.compile(
    r"^(persoonlijk|personal|privé|rol|role|werk|work|groei|growth|"
    r"ontwikkeling|development)\s*:\s*",
    re.IGNORECASE,
)
_PREFIX_SECTIONS = {
    "persoonlijk": Section.PERSONAL,
    "personal": Section.PERSONAL,
    "privé": Section.PERSONAL,
    "rol": Section.ROLE,
    "role": Section.ROLE,
    "werk": Section.ROLE,
    "work": Section.ROLE,
    "groei": Section.GROWTH,
    "growth": Section.GROWTH,
    "ontwikkeling": Section.GROWTH,
    "development": Section.GROWTH,
}
_GREETING = re.compile(
    r"^(?:hoi|hi|hey|hallo|hello|beste|dear|goedemorgen|goedemiddag|"
    r"good morning|dag)\b[\w\s.-]{0,30}[,!]?\s*$",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"^(?:met vriendelijke groet(?:en)?|groet(?:en|jes)?|regards|best regards|"
    r"kind regards|thanks|thank you|cheers|bedankt|dank je|dankjewel)\b"
    r"[\w\s,.!-]{0,40}$",
    re.IGNORECASE,
)
# A plain-text client wraps a line when the next word would pass its width;
# 66 is the smallest width RFC 3676 section 4.2 recommends.
_WRAP_WIDTH = 66
_MIN_WRAPPED_LENGTH = 50

_KEYWORDS = {
    Section.PERSONAL: (
        "vakantie", "verlof", "ziek", "gezond", "familie", "gezin", "kinder",
        "thuis", "privé", "persoonlijk", "stress", "energie", "welzijn",
        "verhuiz", "holiday", "vacation", "leave", "sick", "health", "family",
        "kids", "child", "home", "personal", "wellbeing", "well-being",
        "burnout", "moving house", "weekend", "daughter", "son ", "school",
        "partner", "dochter", "zoon",
    ),
    Section.GROWTH: (
        "cursus", "training", "opleiding", "leren", "ontwikkel", "groei",
        "carrière", "loopbaan", "promotie", "doelen", "ambitie", "mentor",
        "coach", "certific", "conferentie", "vaardighe", "course", "learn",
        "career", "promotion", "goal", "ambition", "skill", "conference",
        "growth", "develop", "salary", "salaris",
    ),
    Section.ROLE: (
        "project", "deadline", "team", "klant", "sprint", "release", "taak",
        "taken", "planning", "budget", "roadmap", "customer", "client",
        "task", "meeting", "werkdruk", "workload", "process", "proces",
    ),
}  # fmt: skip


def classify_section(text: str) -> Section:
    """Guess the section of a topic from Dutch and English keywords.

    The section with the most keyword hits wins; ties and topics without a
    hit go to the current role, where most work topics belong.
    """
    lowered = text.lower()
    counts = {
        section: sum(1 for word in words if word in lowered)
        for section, words in _KEYWORDS.items()
    }
    best = max(counts.values())
    if best == 0 or counts[Section.ROLE] == best:
        return Section.ROLE
    return Section.PERSONAL if counts[Section.PERSONAL] == best else Section.GROWTH


def has_list_or_prefix(text: str) -> bool:
    """Tell whether a line of `text` is a list item or starts with a section prefix."""
    for line in text.split("\n"):
        stripped = _BULLET.sub("", line).strip()
        if stripped and (_BULLET.match(line) or _PREFIX.match(stripped)):
            return True
    return False


def split_topics(text: str) -> list[TopicCandidate]:
    """Turn each bullet, numbered item or paragraph into one topic.

    Lines a client wrapped are joined, greetings and sign-offs are skipped,
    `>` quote lines are skipped, and a line such as "Groei:" on its own sets
    the section for the items below it.
    """
    topics: list[TopicCandidate] = []
    heading: Section | None = None
    for item, is_bullet in _items(text):
        if _SIGN_OFF.match(item):
            break  # what follows a sign-off is the sender's name
        prefix = _PREFIX.match(item)
        if prefix and not item[prefix.end() :].strip():
            heading = _PREFIX_SECTIONS[prefix.group(1).lower()]
            continue
        if not is_bullet:
            heading = None
        topic = _topic(item, heading)
        if topic is not None:
            topics.append(topic)
    return topics


def _topic(item: str, heading: Section | None) -> TopicCandidate | None:
    item = " ".join(item.split())
    if _GREETING.match(item):
        return None
    if item.endswith(":"):
        return None  # a lead-in such as "Mijn punten:" above a list

    prefix = _PREFIX.match(item)
    if prefix:
        section = _PREFIX_SECTIONS[prefix.group(1).lower()]
        return TopicCandidate(item[prefix.end() :].strip(), section, False)
    if heading is not None:
        return TopicCandidate(item, heading, False)
    return TopicCandidate(item, classify_section(item), True)


def _items(text: str) -> list[tuple[str, bool]]:
    """Return each item's text and whether it was a bullet or numbered item."""
    items: list[tuple[str, bool]] = []
    current: list[str] = []
    is_bullet = False
    previous = ""
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith(">"):
            stripped = ""  # quoted lines of an inline reply are not topics
        bullet = _BULLET.match(line) is not None
        if current and (bullet or not _is_wrapped(previous, stripped, line)):
            items.append((" ".join(current), is_bullet))
            current = []
        if stripped:
            if not current:
                is_bullet = bullet
            current.append(_BULLET.sub("", stripped) if bullet else stripped)
        previous = stripped

    if current:
        items.append((" ".join(current), is_bullet))
    return items


def _is_wrapped(previous: str, stripped: str, line: str) -> bool:
    if not previous or not stripped:
        return False
    if line[:1].isspace():
        return True  # an indented line continues the item above it
    first_word = stripped.split()[0]
    return (
        len(previous) >= _MIN_WRAPPED_LENGTH
        and len(previous) + 1 + len(first_word) > _WRAP_WIDTH
    )
