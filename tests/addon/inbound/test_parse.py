"""Parse whole sample replies, one per client and case."""

from __future__ import annotations

from pathlib import Path

import pytest

from addon.agenda import Section
from addon.inbound import parse_reply

DATA = Path(__file__).parent / "data"


def _parse(name: str):
    return parse_reply((DATA / name).read_bytes())


def test_gmail_dutch_plain_reply() -> None:
    reply = _parse("gmail_nl_plain.eml")

    assert reply.rejection is None
    assert reply.from_address == "anna.devries@example.nl"
    assert reply.to_addresses == ("reply+Tok3n@in.tandem.example",)
    assert reply.message_id == "<gmail-nl-1@mail.example.nl>"
    assert [topic.text for topic in reply.topics] == [
        "ik wil een cursus over presenteren volgen",
        "De planning van het kwartaal",
    ]
    assert reply.topics[0].section == Section.GROWTH
    assert reply.topics[0].section_guessed is False
    assert reply.topics[1].section_guessed is True


def test_outlook_web_html_only() -> None:
    reply = _parse("outlook_web_html.eml")

    assert [topic.text for topic in reply.topics] == [
        "moving house in März",
        "the release checklist",
    ]
    assert [topic.section for topic in reply.topics] == [Section.PERSONAL, Section.ROLE]


def test_apple_mail_flowed_delsp() -> None:
    reply = _parse("apple_mail_flowed.eml")

    assert len(reply.topics) == 1
    assert reply.topics[0].text == (
        "I would like to talk about the conference in Berlin next year "
        "and whether I can go."
    )
    assert reply.topics[0].section == Section.GROWTH


def test_thunderbird_inline_reply() -> None:
    reply = _parse("thunderbird_inline.eml")

    assert [topic.text for topic in reply.topics] == [
        "My daughter starts school, I need flexible hours.",
        "The handover of the billing project.",
    ]
    assert reply.topics[0].section == Section.PERSONAL


def test_unknown_charset_base64_outlook_nl() -> None:
    reply = _parse("unknown_charset_base64.eml")

    assert [(topic.text, topic.section) for topic in reply.topics] == [
        ("overleg met het team over de wijziging", Section.ROLE),
        ("een opleiding Engels", Section.GROWTH),
    ]


@pytest.mark.parametrize(
    ("name", "code"),
    [("autoreply_nl.eml", "auto_reply"), ("bounce_dsn.eml", "bounce")],
)
def test_automatic_mail_rejected(name: str, code: str) -> None:
    reply = _parse(name)

    assert reply.topics == ()
    assert reply.rejection is not None
    assert reply.rejection.code == code


@pytest.mark.parametrize("raw", [b"", b"   ", b"not a message at all", b"\xff\xfe\x00"])
def test_malformed_input_rejected(raw: bytes) -> None:
    reply = parse_reply(raw)

    assert reply.rejection is not None
    assert reply.rejection.code in ("malformed", "missing_sender")


def test_quote_only_reply_has_no_topics() -> None:
    raw = (
        b"From: a@example.com\r\nSubject: Re: Agenda\r\n\r\n"
        b"On 3 Apr 2024, at 09:12, Tandem <t@example.com> wrote:\r\n> Personal\r\n"
    )

    reply = parse_reply(raw)

    assert reply.rejection is not None
    assert reply.rejection.code == "no_topics"


def test_to_dict_shape() -> None:
    reply = _parse("gmail_nl_plain.eml")

    data = reply.to_dict()

    assert data["from"] == "anna.devries@example.nl"
    assert data["rejection"] is None
    assert data["topics"][0] == {
        "text": "ik wil een cursus over presenteren volgen",
        "section": "growth",
        "section_guessed": False,
    }
