"""Kinds of reply layout that clients write, each with a hand-written sample."""

from __future__ import annotations

import email
import email.policy

import pytest

from addon.inbound import classify_message, parse_reply, strip_quoted, strip_signature
from addon.inbound.html import html_to_text


def _message(body: str, subject: str = "Re: Agenda") -> email.message.Message:
    raw = f"From: a@example.com\r\nSubject: {subject}\r\n\r\n{body}".encode()
    return email.message_from_bytes(raw, policy=email.policy.default)


@pytest.mark.parametrize(
    "history",
    [
        "Fra: Tandem <t@x.dk>\nSendt: 3. april 2024 09:12\nTil: Anna\nCc: Bo\n"
        "Emne: Dagsorden\n\ngammel",
        "Fra: Tandem <t@x.dk>\nDato: 3. april 2024 kl. 09.12\nTil: Anna\n\ngammel",
        "*Fra:* Tandem <t@x.dk>\n*Sendt:* 3. april 2024\n*Emne:* Dagsorden\n\ngl",
        "-----Oprindelig meddelelse-----\nFra: Tandem\n\ngammel",
        "Från: Tandem <t@x.se>\nSkickat: den 3 april 2024 09:12\nTill: Anna\n"
        "Kopia: Bo\nÄmne: Agenda\n\ngammal",
        "-----Ursprungligt meddelande-----\nFrån: Tandem\n\ngammal",
        "Den ons 3 apr. 2024 09:12Tandem <t@x.se> skrev:\n> gammal",
        "Od: Tandem <t@x.pl>\nWysłane: środa, 3 kwietnia 2024 09:12\nDo: Anna\n"
        "DW: Bo\nTemat: Agenda\n\nstary",
        "Od: Tandem <t@x.pl>\nData: 3 kwietnia 2024 09:12\nDo: Anna\n\nstary",
        "-----Wiadomość oryginalna-----\nOd: Tandem\n\nstary",
        "W dniu 3.04.2024 o 09:12, Tandem <t@x.pl> pisze:\n> stary",
    ],
)
def test_strip_quoted_nordic_polish_headers(history: str) -> None:
    assert strip_quoted("Punkt een\n\n" + history) == "Punkt een"


def test_html_outlook_danish_header_block() -> None:
    html = (
        "<div><p>Budgettet for kvartalet</p></div>"
        '<div style="border:none;border-top:solid #E1E1E1 1.0pt">'
        "<p><b>Fra:</b> Tandem &lt;t@x.dk&gt;<br><b>Sendt:</b> 3. april 2024"
        "<br><b>Til:</b> Anna<br><b>Emne:</b> Dagsorden</p></div>"
        "<p>Den gamle dagsorden</p>"
    )

    assert strip_quoted(html_to_text(html)) == "Budgettet for kvartalet"


def test_html_blockquote_above_history_kept() -> None:
    html = (
        "<div>I agree with this line from the plan:</div>"
        "<blockquote>Ship the beta in May</blockquote>"
        "<div>On 3 Apr 2024, at 09:12, Tandem &lt;t@x.nl&gt; wrote:</div>"
        "<blockquote><div>The old agenda</div></blockquote>"
    )

    result = strip_quoted(html_to_text(html))

    assert result == "I agree with this line from the plan:\n> Ship the beta in May"


def test_html_trailing_blockquote_dropped() -> None:
    html = "<div>New point</div><blockquote><div>The old agenda</div></blockquote>"

    assert strip_quoted(html_to_text(html)) == "New point"


def test_html_mail_ru_attribution() -> None:
    html = (
        "<p>Sounds good.</p><br><br>"
        "Wed, 3 Apr 2024 09:12:00 +0300 от Tandem &lt;t@x.ru&gt;:<br>"
        '<blockquote style="border-left:1px solid #0857A6">'
        '<div class="js-helper"><div>The old agenda</div></div></blockquote>'
    )

    assert strip_quoted(html_to_text(html)) == "Sounds good."


def test_address_attribution_needs_quote() -> None:
    text = "Call me at 10:30 about the note from Anna <anna@x.nl>:\nthe budget"

    assert strip_quoted(text) == text


def test_polymail_split_attribution() -> None:
    text = (
        "First point\n\n"
        "On Wed, Apr 3, 2024 at 9:12 AM Tandem Agenda\n\n"
        "<\nmailto:Tandem Agenda <t@x.nl>\n> wrote:\n\n"
        "The old agenda"
    )

    assert strip_quoted(text) == "First point"


@pytest.mark.parametrize(
    "quote",
    [
        "> See the plan (https://plans.example.com/q2/\nroadmap-final)\n> end",
        "> See the plan\n (https://plans.example.com/q2) >\n> end",
        "> Open the board at https://boards.example.com/team?view=\nweekly\n>",
    ],
)
def test_wrapped_link_inside_quote(quote: str) -> None:
    text = "My point\n\nOn 3 Apr 2024 at 09:12, Tandem <t@x.nl> wrote:\n\n" + quote

    assert strip_quoted(text) == "My point"


def test_wrapped_link_keeps_later_reply() -> None:
    text = "> Item one (https://x.example.com/a\nb)\n> Item two\n\nMy answer"

    result = strip_quoted(text)

    assert result.endswith("My answer")
    assert "b)" in result


@pytest.mark.parametrize(
    "sign_off",
    [
        "Med venlig hilsen\nAnders Holm",
        "Kh\nAnders",
        "Mvh\n\nAnders",
        "Vänliga hälsningar\nKarin Berg",
        "Pozdrawiam,\nJan",
        "Z poważaniem,\nJan Nowak",
        "Thanks!\nRoman",
        "regards\n\nJohn Doe",
        "-Anna",
        "/Karin",
        "-Jan Nowak.",
    ],
)
def test_strip_signature_name_sign_offs(sign_off: str) -> None:
    assert strip_signature("The budget review\n\n" + sign_off) == "The budget review"


@pytest.mark.parametrize(
    "text",
    [
        "Thanks,\n\nThe budget review",
        "The budget review\n\nCheers",
        "Points:\n- budget\n- training",
        "The budget review\n\nRegards to the whole team, see you all next week",
        "-Anna",
    ],
)
def test_strip_signature_keeps_text(text: str) -> None:
    assert strip_signature(text) == text


def test_strip_signature_carrier_device_line() -> None:
    text = "The budget review\nEnviado desde mi oficina móvil BlackBerry® de Telcel"

    assert strip_signature(text) == "The budget review"


def test_ooo_opening_with_topics_is_reply() -> None:
    body = (
        "I am out of the office until Friday, but here are my topics:\n\n"
        "- the budget review\n- my training plan\n"
    )

    assert classify_message(_message(body), body) is None


def test_ooo_opening_above_history_is_reply() -> None:
    body = (
        "I am out of the office until Friday, but I want to talk about the "
        "budget review.\n\n"
        "On Wed, 3 Apr 2024 at 09:12, Tandem <t@x.nl> wrote:\n> The old agenda\n"
    )

    assert classify_message(_message(body), body) is None


def test_ooo_body_without_personal_text() -> None:
    body = (
        "I am out of the office until Friday.\n\n"
        "For urgent matters please call the service desk."
    )

    rejection = classify_message(_message(body), body)

    assert rejection is not None
    assert rejection.code == "auto_reply"


def test_ooo_subject_rejects_even_with_list() -> None:
    body = "I am out of the office until Friday.\n\n- the budget review\n"

    rejection = classify_message(_message(body, "Automatic reply: Agenda"), body)

    assert rejection is not None
    assert rejection.code == "auto_reply"


def test_parse_reply_ooo_opening_topics() -> None:
    raw = (
        b"From: Anna <anna@example.com>\r\nTo: reply+t@in.example.com\r\n"
        b"Subject: Re: Agenda\r\nMessage-ID: <ooo-but-topics@example.com>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        b"I am out of the office until Friday, but here are my topics:\r\n\r\n"
        b"- growth: a course on negotiation\r\n- the budget review\r\n"
    )

    reply = parse_reply(raw)

    assert reply.rejection is None
    assert [topic.text for topic in reply.topics] == [
        "a course on negotiation",
        "the budget review",
    ]
