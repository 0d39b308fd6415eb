"""Render Tandem's emails: the agenda before a 1:1, the confirmation of a reply
and the short rejection of a reply that added nothing.

Each email has a folder under ``templates/`` with ``subject.txt.j2``,
``body.txt.j2`` and ``body.html.j2``; the bodies extend the same base
templates as the invite block, and HTML is autoescaped. The section titles,
dates and agenda texts come from the locale catalogues of `render`; the
sentences that only emails use are in `_TEXTS` below, one entry per locale
with the same keys.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from addon.agenda import Agenda, Section
from mail_templates.render import (
    _ENVIRONMENT,
    _one_line,
    _render,
    catalogue_for,
    invite_block_context,
)

_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "agenda_subject": "Agenda",
        "greeting": "Hi {name},",
        "greeting_anonymous": "Hi,",
        "intro": "This is the agenda of your 1:1 on {date} at {time}.",
        "reply_hint": (
            "Reply to this email to add a topic: one line or bullet per topic. "
            "Start it with personal:, role: or growth: to choose its section."
        ),
        "unsubscribe": "Stop these emails:",
        "confirmation_subject": "Added to the agenda",
        "confirmation_intro": "These topics are on the agenda of your 1:1 on {date}:",
        "guessed": "section chosen by Tandem",
        "guessed_hint": (
            "To choose the section yourself, start a topic with personal:, "
            "role: or growth:."
        ),
        "rejection_subject": "Your reply added no topics",
        "advice": (
            "Reply to the latest agenda email from Tandem, from the address it "
            "was sent to, with one topic per line."
        ),
        "reject_expired": "The agenda email you replied to is too old.",
        "reject_wrong_sender": (
            "Only the person an agenda email was sent to can add topics by "
            "replying to it."
        ),
        "reject_no_next_occurrence": "This 1:1 has no upcoming meeting.",
        "reject_no_topics": "Tandem found no topics in your reply.",
        "reject_unknown": "Tandem could not add topics from your reply.",
    },
    "nl": {
        "agenda_subject": "Agenda",
        "greeting": "Hoi {name},",
        "greeting_anonymous": "Hoi,",
        "intro": "Dit is de agenda van je 1:1 op {date} om {time}.",
        "reply_hint": (
            "Beantwoord deze e-mail om een onderwerp toe te voegen: één regel of "
            "opsommingsteken per onderwerp. Begin met persoonlijk:, rol: of "
            "groei: om het onderdeel te kiezen."
        ),
        "unsubscribe": "Geen e-mails meer ontvangen:",
        "confirmation_subject": "Toegevoegd aan de agenda",
        "confirmation_intro": (
            "Deze onderwerpen staan op de agenda van je 1:1 op {date}:"
        ),
        "guessed": "onderdeel gekozen door Tandem",
        "guessed_hint": (
            "Kies het onderdeel zelf door een onderwerp te beginnen met "
            "persoonlijk:, rol: of groei:."
        ),
        "rejection_subject": "Je antwoord voegde geen onderwerpen toe",
        "advice": (
            "Beantwoord de laatste agenda-e-mail van Tandem, vanaf het adres "
            "waar hij naartoe ging, met één onderwerp per regel."
        ),
        "reject_expired": "De agenda-e-mail die je beantwoordde is te oud.",
        "reject_wrong_sender": (
            "Alleen de persoon naar wie een agenda-e-mail ging, kan er "
            "onderwerpen mee toevoegen."
        ),
        "reject_no_next_occurrence": "Deze 1:1 heeft geen volgende afspraak.",
        "reject_no_topics": "Tandem vond geen onderwerpen in je antwoord.",
        "reject_unknown": "Tandem kon geen onderwerpen uit je antwoord halen.",
    },
}

if any(set(texts) != set(_TEXTS["en"]) for texts in _TEXTS.values()):
    raise RuntimeError(
        "Every locale in mail_templates.email._TEXTS needs the same keys."
    )


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@dataclass(frozen=True, slots=True)
class AddedTopic:
    """A topic a reply added, as the confirmation lists it."""

    section: Section
    text: str
    section_guessed: bool


def texts_for(locale: str) -> dict[str, str]:
    """Return the email sentences of a locale, such as "nl" or "en-GB"."""
    return _TEXTS[catalogue_for(locale).locale]


def render_agenda_email(
    agenda: Agenda,
    *,
    summary: str,
    local_start: datetime,
    recipient_name: str,
    unsubscribe_url: str,
) -> RenderedEmail:
    """Render the agenda email of one occurrence for one of its two people.

    `agenda.locale` must already be the recipient's. Prior notes appear only
    when the agenda carries them (see `addon.agendas.build_agenda`), and
    private notes never reach an `Agenda`. `local_start` is the meeting's
    start in the zone shown to the recipient.
    """
    catalogue = catalogue_for(agenda.locale)
    texts = texts_for(agenda.locale)
    context = invite_block_context(agenda, catalogue)
    name = _one_line(recipient_name)
    greeting = (
        texts["greeting"].format(name=name) if name else texts["greeting_anonymous"]
    )
    date_text = catalogue.format_date(local_start.date())
    context.update(
        subject_label=texts["agenda_subject"],
        summary=_one_line(summary),
        greeting=greeting,
        intro=texts["intro"].format(date=date_text, time=local_start.strftime("%H:%M")),
        reply_hint=texts["reply_hint"],
        unsubscribe_label=texts["unsubscribe"],
        unsubscribe_url=unsubscribe_url,
    )
    return _render_email("agenda_email", context)


def render_confirmation_email(
    locale: str, summary: str, local_start: datetime, topics: Sequence[AddedTopic]
) -> RenderedEmail:
    """Render the confirmation that lists the topics a reply added, by section."""
    catalogue = catalogue_for(locale)
    texts = texts_for(locale)
    sections = []
    for section in Section:
        listed = [
            {
                "text": _one_line(topic.text),
                "note": texts["guessed"] if topic.section_guessed else "",
            }
            for topic in topics
            if topic.section is section
        ]
        if listed:
            sections.append({"title": catalogue.titles[section], "topics": listed})

    date_text = catalogue.format_date(local_start.date())
    context = {
        "subject_label": texts["confirmation_subject"],
        "summary": _one_line(summary),
        "intro": texts["confirmation_intro"].format(date=date_text),
        "sections": sections,
        "any_guessed": any(topic.section_guessed for topic in topics),
        "guessed_hint": texts["guessed_hint"],
        "link": "",
        "link_is_web": False,
        "link_label": "",
    }
    return _render_email("confirmation_email", context)


def render_rejection_email(locale: str, code: str) -> RenderedEmail:
    """Render the short rejection of a reply that added nothing, for reason `code`."""
    texts = texts_for(locale)
    reason = texts.get(f"reject_{code}", texts["reject_unknown"])
    context = {
        "subject_label": texts["rejection_subject"],
        "reason": reason,
        "advice": texts["advice"],
        "link": "",
        "link_is_web": False,
        "link_label": "",
    }
    return _render_email("rejection_email", context)


def _render_email(folder: str, context: dict[str, Any]) -> RenderedEmail:
    subject = _ENVIRONMENT.get_template(f"{folder}/subject.txt.j2").render(context)
    return RenderedEmail(
        subject=_one_line(subject),
        text=_render(folder, "text", context) + "\n",
        html=_render(folder, "html", context),
    )


def with_locale(agenda: Agenda, locale: str) -> Agenda:
    """Return a copy of `agenda` in the recipient's locale."""
    return dataclasses.replace(agenda, locale=locale)
