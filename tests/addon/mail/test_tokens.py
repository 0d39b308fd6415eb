"""Sign and read reply tokens."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from addon.mail import tokens
from addon.mail.errors import TokenError

KEY = "k" * 40
EXPIRES = datetime(2027, 1, 1, tzinfo=UTC)
TOKEN = tokens.Token(tokens.Purpose.REPLY, 7, 123456, 42, EXPIRES)


def test_token_round_trip() -> None:
    assert tokens.read_token(tokens.sign_token(TOKEN, KEY), KEY) == TOKEN


def test_token_survives_upper_case() -> None:
    text = tokens.sign_token(TOKEN, KEY)

    assert tokens.read_token(text.upper(), KEY) == TOKEN


def test_token_fits_local_part() -> None:
    address = tokens.reply_address(tokens.sign_token(TOKEN, KEY), "in.tandem.test")

    assert len(address.split("@")[0]) <= 64


@pytest.mark.parametrize(
    "text",
    ["", "notbase32!", "aaaa", "a" * 45],
)
def test_token_malformed_rejected(text: str) -> None:
    with pytest.raises(TokenError):
        tokens.read_token(text, KEY)


def test_token_other_key_rejected() -> None:
    text = tokens.sign_token(TOKEN, KEY)

    with pytest.raises(TokenError):
        tokens.read_token(text, "other" * 8)


def test_token_altered_id_rejected() -> None:
    other = tokens.sign_token(
        tokens.Token(tokens.Purpose.REPLY, 8, 123456, 42, EXPIRES), KEY
    )
    mine = tokens.sign_token(TOKEN, KEY)
    spliced = other[:20] + mine[20:]

    with pytest.raises(TokenError):
        tokens.read_token(spliced, KEY)


def test_token_expiry() -> None:
    assert TOKEN.is_expired(EXPIRES) is True
    assert TOKEN.is_expired(datetime(2026, 12, 31, tzinfo=UTC)) is False


def test_address_other_domain() -> None:
    assert tokens.token_in_address("reply+abc@elsewhere.test", "in.tandem.test") is None
    assert tokens.token_in_address("info@in.tandem.test", "in.tandem.test") is None
    assert (
        tokens.token_in_address("<Reply+ABC@IN.tandem.test>", "in.tandem.test") == "abc"
    )
