"""Errors raised by the mail package.

MailError
 ├── TokenError          a reply or unsubscribe token is malformed or forged
 └── SendError           an email could not be handed to the transport
      ├── TemporarySendError   worth retrying (SMTP 4xx, a dropped connection)
      └── PermanentSendError   never retried (SMTP 5xx, a rejected request)
"""

from __future__ import annotations

from addon.errors import TandemError


class MailError(TandemError):
    """Base class of every error in the mail package."""


class TokenError(MailError):
    """A token is malformed, was signed with another key, or was altered."""


class SendError(MailError):
    """An email could not be sent; `code` is the server's reply code, if any."""

    def __init__(self, message: str, code: int | None = None) -> None:
        self.code = code
        super().__init__(message)


class TemporarySendError(SendError):
    """The transport may accept the email later."""


class PermanentSendError(SendError):
    """The transport rejected the email for good."""
