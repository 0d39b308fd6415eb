"""Signed tokens in reply addresses and unsubscribe links.

A token is 28 bytes, written as 45 characters of lower-case base32. The
bytes are a version, a purpose, the tenant, occurrence and person ids, the
expiry in Unix seconds, and the first 10 bytes of an HMAC-SHA256 over the
18 bytes before them.
Base32 survives mail servers that change the case of a local part, and the
reply address `reply+<token>@<domain>` stays within the 64 characters that
RFC 5321 section 4.5.3.1.1 allows a local part.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import struct
from dataclasses import dataclass
from datetime import UTC, datetime

from addon.mail.errors import TokenError

_VERSION = 1
_LAYOUT = struct.Struct(">BBIIII")
_MAC_BYTES = 10
_TOKEN_BYTES = _LAYOUT.size + _MAC_BYTES
REPLY_PREFIX = "reply+"


class Purpose(enum.IntEnum):
    REPLY = 1
    UNSUBSCRIBE = 2


@dataclass(frozen=True, slots=True)
class Token:
    """The ids a token names, and its expiry (None for tokens that never expire)."""

    purpose: Purpose
    tenant_id: int
    occurrence_id: int
    person_id: int
    expires: datetime | None

    def is_expired(self, now: datetime) -> bool:
        return self.expires is not None and now >= self.expires


def sign_token(token: Token, key: str) -> str:
    """Return `token` as signed text."""
    expires = int(token.expires.timestamp()) if token.expires else 0
    payload = _LAYOUT.pack(
        _VERSION,
        token.purpose,
        token.tenant_id,
        token.occurrence_id,
        token.person_id,
        expires,
    )
    raw = payload + _mac(payload, key)
    return base64.b32encode(raw).decode("ascii").rstrip("=").lower()


def read_token(text: str, key: str) -> Token:
    """Check the signature of `text` and return what it names.

    Expiry is not checked here, so the caller can tell an expired token
    from a forged one. Raises TokenError for anything not signed with `key`.
    """
    raw = _decode(text)
    payload, mac = raw[: _LAYOUT.size], raw[_LAYOUT.size :]
    if not hmac.compare_digest(mac, _mac(payload, key)):
        raise TokenError(
            "The token's signature does not match; it is forged or altered."
        )

    version, purpose, tenant, occurrence, person, expires = _LAYOUT.unpack(payload)
    if version != _VERSION or purpose not in Purpose.__members__.values():
        raise TokenError(
            f"The token has unknown version {version} or purpose {purpose}."
        )
    when = datetime.fromtimestamp(expires, UTC) if expires else None
    return Token(Purpose(purpose), tenant, occurrence, person, when)


def reply_address(token: str, domain: str) -> str:
    return f"{REPLY_PREFIX}{token}@{domain}"


def token_in_address(address: str, domain: str) -> str | None:
    """Return the token in a reply address on `domain`, or None for other addresses."""
    local, _, host = address.strip().strip("<>").rpartition("@")
    if host.lower() != domain.lower() or not local.lower().startswith(REPLY_PREFIX):
        return None
    return local[len(REPLY_PREFIX) :].lower()


def _decode(text: str) -> bytes:
    cleaned = text.strip().upper()
    padded = cleaned + "=" * (-len(cleaned) % 8)
    try:
        raw = base64.b32decode(padded)
    except ValueError:
        raise TokenError("The token is not valid base32 text.") from None
    if len(raw) != _TOKEN_BYTES:
        raise TokenError(f"The token has {len(raw)} bytes; expected {_TOKEN_BYTES}.")
    return raw


def _mac(payload: bytes, key: str) -> bytes:
    return hmac.new(key.encode("utf-8"), payload, hashlib.sha256).digest()[:_MAC_BYTES]
