"""Encryption of secrets at rest (OAuth token caches, webhook client states).

Values are encrypted with Fernet (AES-128-CBC with an HMAC-SHA256, from the
`cryptography` package) under the keys in TANDEM_ENCRYPTION_KEYS. The first
key encrypts; every key decrypts, so a key is rotated by putting a new one in
front, running `rotate` over the stored values, and then dropping the old key.
"""

from __future__ import annotations

import base64
import hashlib
import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from addon.errors import SettingsError
from addon.settings import Settings

log = logging.getLogger(__name__)

# Used only when no key is configured, which `Settings.check_production`
# rejects in production. Anything encrypted with it is readable by anyone who
# has this source file.
_DEVELOPMENT_KEY = base64.urlsafe_b64encode(
    hashlib.sha256(b"tandem development encryption key").digest()
)


class DecryptionError(SettingsError):
    """A stored value cannot be decrypted with any configured key."""


class Cipher:
    """Encrypts and decrypts text with the configured Fernet keys."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            self._fernet = MultiFernet([Fernet(_DEVELOPMENT_KEY)])
            return
        fernets = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.encode()))
            except ValueError:
                raise SettingsError(
                    f"Encryption key number {position} in TANDEM_ENCRYPTION_KEYS is "
                    "not a Fernet key (32 bytes, url-safe base64); generate one "
                    "with Fernet.generate_key()."
                ) from None
        self._fernet = MultiFernet(fernets)

    @classmethod
    def from_settings(cls, settings: Settings) -> Cipher:
        return cls(list(settings.encryption_keys))

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def decrypt(self, token: str) -> str:
        """Return the text behind `token`, trying every configured key."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise DecryptionError(
                "A stored secret could not be decrypted with any key in "
                "TANDEM_ENCRYPTION_KEYS; add back the key it was encrypted with."
            ) from None

    def rotate(self, token: str) -> str:
        """Re-encrypt `token` under the first key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise DecryptionError(
                "A stored secret could not be rotated because no key in "
                "TANDEM_ENCRYPTION_KEYS decrypts it; add back its old key."
            ) from None
