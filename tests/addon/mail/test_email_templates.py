"""Render the confirmation and rejection emails in both locales."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from addon.agenda import Section
from mail_templates.email import (
    AddedTopic,
    render_confirmation_email,
    render_rejection_email,
)

START = datetime(2026, 12, 8, 10, tzinfo=ZoneInfo("Europe/Amsterdam"))
TOPICS = [
    AddedTopic(Section.GROWTH, "Een <cursus> & meer", False),
    AddedTopic(Section.ROLE, "De planning", True),
]


def test_confirmation_lists_by_section() -> None:
    email = render_confirmation_email("en", "1:1 Mira / Ravi", START, TOPICS)

    assert email.subject == "Added to the agenda: 1:1 Mira / Ravi"
    assert "8 December 2026" in email.text
    assert email.text.index("CURRENT ROLE") < email.text.index("GROWTH & DEVELOPMENT")
    assert "- De planning (section chosen by Tandem)" in email.text
    assert "- Een <cursus> & meer\n" in email.text
    assert "Een &lt;cursus&gt; &amp; meer" in email.html
    assert "PERSONAL" not in email.text


def test_confirmation_dutch() -> None:
    email = render_confirmation_email("nl-NL", "1:1", START, TOPICS)

    assert email.subject == "Toegevoegd aan de agenda: 1:1"
    assert "8 december 2026" in email.text
    assert "GROEI & ONTWIKKELING" in email.text
    assert "onderdeel gekozen door Tandem" in email.text


def test_rejection_by_code() -> None:
    english = render_rejection_email("en", "expired")
    dutch = render_rejection_email("nl", "wrong_sender")

    assert english.subject == "Your reply added no topics"
    assert english.text.startswith("The agenda email you replied to is too old.")
    assert dutch.text.startswith("Alleen de persoon naar wie een agenda-e-mail ging")


def test_rejection_unknown_code() -> None:
    email = render_rejection_email("en", "something_new")

    assert email.text.startswith("Tandem could not add topics from your reply.")


def test_subject_is_one_line() -> None:
    email = render_confirmation_email(
        "en", "1:1\r\nBcc: evil@example.test", START, TOPICS
    )

    assert "\n" not in email.subject
    assert "\r" not in email.subject
