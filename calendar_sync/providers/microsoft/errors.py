"""Errors of the Microsoft Graph provider.

ProviderError (calendar_sync.errors)
 ├── GraphError              Graph answered a request with an error status
 │    ├── ThrottledError     429 or 503 went on longer than the retry budget
 │    ├── AccessDeniedError  403: the app may not read or write this mailbox
 │    └── SyncStateGoneError 410: the delta link expired; sync again in full
 └── ConsentRequiredError    the grant was revoked or expired; sign in again
"""

from __future__ import annotations

from calendar_sync.errors import ProviderError


class GraphError(ProviderError):
    """Graph answered with an error status; `code` is Graph's error code."""

    def __init__(self, method: str, path: str, status: int, code: str) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.code = code
        super().__init__(
            f"Graph answered {method} {path} with {status} {code or '(no code)'}; "
            "see Graph's error reference for that code."
        )


class ThrottledError(GraphError):
    """Graph kept answering 429 or 503 for longer than the retry budget."""


class AccessDeniedError(GraphError):
    """The app has no access to the mailbox (permission or access policy)."""


class SyncStateGoneError(GraphError):
    """The delta link is no longer known to Graph (410 syncStateNotFound)."""


class ConsentRequiredError(ProviderError):
    """The identity platform refused a token; the grant must be given again."""

    def __init__(self, who: str, error: str, description: str) -> None:
        self.who = who
        self.error = error
        # Only the AADSTS code is kept: descriptions can quote the request.
        self.aadsts = description.split(":", 1)[0] if description else ""
        super().__init__(
            f"The identity platform refused a token for {who} ({error} "
            f"{self.aadsts}); the user or a tenant admin must consent again."
        )
