"""Each pipeline step on its own, with hand-written inputs."""

from __future__ import annotations

import email
import email.policy

import pytest

from addon.agenda import Section
from addon.inbound import (
    classify_message,
    classify_section,
    extract_text,
    normalise_address,
    split_topics,
    strip_quoted,
    strip_signature,
)
from addon.inbound.body import unflow


def _message(headers: str, body: str = "Hallo\r\n") -> email.message.Message:
    raw = (headers + "\r\n" + body).encode()
    return email.message_from_bytes(raw, policy=email.policy.default)


@pytest.mark.parametrize(
    "text",
    [
        "Punt een\n\nOn Wed, 3 Apr 2024 at 09:12, Tandem <t@x.nl> wrote:\n> oud",
        "Punt een\n\nOp 3 apr. 2024 om 09:12 schreef Tandem <t@x.nl>:\n\noud",
        "Punt een\n\nOn Wed, Apr 3, 2024 at 9:12 AM Tandem\n<t@x.nl> wrote:\n> oud",
        "Punt een\n\nVan: Tandem\nVerzonden: woensdag 3 april 2024\nAan: Anna\n"
        "Onderwerp: Agenda\n\noud",
        "Punt een\n\n*From:* Tandem\n*Sent:* Wednesday\n*To:* Anna\n\noud",
        "Punt een\n\n-----Original Message-----\nFrom: Tandem\n\noud",
        "Punt een\n\n-----Oorspronkelijk bericht-----\noud",
        "Punt een\n\n________________________________\nFrom: Tandem\noud",
        "Punt een\n\n---------- Forwarded message ---------\nFrom: x\n\noud",
        "Punt een\n\nBegin forwarded message:\n\nFrom: x\noud",
        "Punt een\n\n> oud\n> nog ouder",
        "Punt een\n\nAm 3. April 2024 um 09:12 schrieb Tandem <t@x.de>:\n> alt",
        "Punt een\n\nLe 3 avr. 2024 à 09:12, Tandem <t@x.fr> a écrit :\n> vieux",
    ],
)
def test_strip_quoted_history_forms(text: str) -> None:
    assert strip_quoted(text) == "Punt een"


def test_strip_quoted_keeps_inline_answers() -> None:
    text = "> Personal\n\nMy answer\n\n> Role\n\nSecond answer\n\n> Growth\n"

    result = strip_quoted(text)

    assert "My answer" in result
    assert "Second answer" in result
    assert "Growth" not in result


def test_strip_quoted_sentence_with_wrote() -> None:
    text = "On reflection, this is what I wrote:\nthe plan"

    assert strip_quoted(text) == text


@pytest.mark.parametrize(
    "tail",
    [
        "-- \nAnna de Vries\nTeamlead",
        "Sent from my iPhone",
        "Verzonden vanaf mijn iPhone",
        "Verstuurd vanaf mijn iPad",
        "Get Outlook for Android",
        "Outlook voor Android downloaden",
        "Met vriendelijke groet,\n\nAnna de Vries\nTeamlead\n+31 6 1234 5678",
        "Best regards,\nBram\nbram@example.com",
    ],
)
def test_strip_signature_forms(tail: str) -> None:
    assert strip_signature("Het punt\n\n" + tail) == "Het punt"


def test_strip_signature_keeps_sent_sentence() -> None:
    text = "Punt\n\nSent from my desk, which is easier than my phone."

    assert strip_signature(text) == text


def test_strip_signature_keeps_bullets() -> None:
    text = "Punten\n- salaris\n- vakantie"

    assert strip_signature(text) == text


def test_unflow_joins_soft_breaks() -> None:
    assert unflow("een \ntwee\n-- \nsig") == "een twee\n-- \nsig"


def test_unflow_delsp() -> None:
    assert unflow("zeeu \nwse", delete_space=True) == "zeeuwse"


def test_extract_text_prefers_plain() -> None:
    msg = _message(
        'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="b"\r\n',
        "--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
        "--b\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--b--\r\n",
    )

    assert extract_text(msg) == "plain"


def test_extract_text_html_gmail_quote() -> None:
    msg = _message(
        "Content-Type: text/html; charset=utf-8\r\n",
        '<div>Nieuw punt</div><div class="gmail_quote">Op 3 apr schreef x:'
        "<blockquote>oud</blockquote></div>",
    )

    assert extract_text(msg) == "Nieuw punt"


@pytest.mark.parametrize(
    "headers",
    [
        "Auto-Submitted: auto-replied\r\n",
        "X-Autoreply: yes\r\n",
        "X-Autorespond: yes\r\n",
        "Precedence: bulk\r\n",
        "Return-Path: <>\r\n",
        "Subject: Out of Office: Agenda\r\n",
        "Subject: Automatisch antwoord: Agenda\r\n",
        "X-Auto-Response-Suppress: All\r\nSubject: Automatic reply: Agenda\r\n",
    ],
)
def test_classify_message_automatic(headers: str) -> None:
    msg = _message("From: a@example.com\r\n" + headers)

    assert classify_message(msg) is not None


def test_classify_message_person() -> None:
    msg = _message(
        "From: a@example.com\r\nAuto-Submitted: no\r\nSubject: Re: Agenda\r\n"
    )

    assert classify_message(msg) is None


def test_classify_message_ooo_body() -> None:
    msg = _message("From: a@example.com\r\nSubject: Re: Agenda\r\n")

    rejection = classify_message(msg, "Ik ben afwezig tot en met 5 mei.")

    assert rejection is not None
    assert rejection.code == "auto_reply"


def test_split_topics_bullets_and_wraps() -> None:
    text = (
        "Hoi Anna,\n\n"
        "- Persoonlijk: verhuizing\n"
        "* de roadmap voor het tweede kwartaal, die we vorige week hebben\n"
        "besproken\n"
        "• groei: mentor zoeken\n"
        "1) klantbezoek\n"
        "2. training\n\n"
        "Groet,\nBram"
    )

    topics = split_topics(text)

    assert [topic.text for topic in topics] == [
        "verhuizing",
        "de roadmap voor het tweede kwartaal, die we vorige week hebben besproken",
        "mentor zoeken",
        "klantbezoek",
        "training",
    ]
    assert topics[0].section == Section.PERSONAL
    assert topics[2].section == Section.GROWTH


def test_split_topics_short_lines_split() -> None:
    topics = split_topics("Salaris\nVakantie in mei")

    assert [topic.text for topic in topics] == ["Salaris", "Vakantie in mei"]


def test_split_topics_heading_sets_section() -> None:
    topics = split_topics("Groei:\n- cursus\n- boek")

    assert [(topic.text, topic.section) for topic in topics] == [
        ("cursus", Section.GROWTH),
        ("boek", Section.GROWTH),
    ]
    assert all(not topic.section_guessed for topic in topics)


@pytest.mark.parametrize(
    ("text", "section"),
    [
        ("Mijn vakantie in de zomer", Section.PERSONAL),
        ("Family matters", Section.PERSONAL),
        ("Een cursus volgen", Section.GROWTH),
        ("Career goals", Section.GROWTH),
        ("Sprint review", Section.ROLE),
        ("Iets anders", Section.ROLE),
    ],
)
def test_classify_section_keywords(text: str, section: Section) -> None:
    assert classify_section(text) == section


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("Anna+Werk@Example.NL", "anna@example.nl"),
        ("bram@example.com", "bram@example.com"),
        ("no-at-sign", ""),
    ],
)
def test_normalise_address_cases(address: str, expected: str) -> None:
    assert normalise_address(address) == expected
