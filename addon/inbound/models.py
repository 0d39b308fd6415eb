"""Values the reply parser returns: what a reply adds, or why it adds nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from addon.agenda import Section


@dataclass(frozen=True, slots=True)
class Rejection:
    """The reason a message adds no topics.

    `code` is stable and meant for programs and logs; `message` is a plain
    sentence for the person who sent the reply.
    """

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class TopicCandidate:
    """One topic taken from a reply.

    `section_guessed` is True when no prefix named the section and
    `classify_section` picked it, so the confirmation can say so.
    """

    text: str
    section: Section
    section_guessed: bool


@dataclass(frozen=True, slots=True)
class ParsedReply:
    """What Tandem takes from one inbound reply.

    `from_address` is normalised (lower case, any `+tag` sub-address
    removed) for comparison with the token's recipient; `to_addresses` are
    kept as written because the reply address carries the token in its tag.
    `topics` is empty whenever `rejection` is set.
    """

    message_id: str = ""
    from_address: str = ""
    to_addresses: tuple[str, ...] = ()
    topics: tuple[TopicCandidate, ...] = ()
    rejection: Rejection | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the reply as plain JSON-serialisable values."""
        rejection = None
        if self.rejection is not None:
            rejection = {"code": self.rejection.code, "message": self.rejection.message}

        return {
            "message_id": self.message_id,
            "from": self.from_address,
            "to": list(self.to_addresses),
            "topics": [
                {
                    "text": topic.text,
                    "section": topic.section.value,
                    "section_guessed": topic.section_guessed,
                }
                for topic in self.topics
            ],
            "rejection": rejection,
        }
