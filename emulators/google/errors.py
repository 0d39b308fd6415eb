"""Errors the emulator returns, in the JSON shapes Google's services use.

    EmulatorError
    ├── ApiError      Calendar and Directory errors: {"error": {"code", ...}}
    └── OAuthError    token endpoint errors: {"error", "error_description"}

Handlers raise these and the app turns them into responses, so a handler never
builds an error body itself.
"""

from __future__ import annotations

from typing import Any

# HTTP status code to the `status` string of Google's error body
# (google.rpc.Code names, as the JSON API returns them).
RPC_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    410: "FAILED_PRECONDITION",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class EmulatorError(Exception):
    """Base class of every error the emulator turns into an HTTP response."""

    status_code: int = 500
    headers: dict[str, str]

    def body(self) -> dict[str, Any]:
        raise NotImplementedError


class ApiError(EmulatorError):
    """An error of a Google JSON API, with one entry in `errors`."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        domain: str = "global",
        headers: dict[str, str] | None = None,
        **extra: str,
    ) -> None:
        super().__init__(message)
        self.status_code = code
        self.reason = reason
        self.message = message
        self.domain = domain
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        entry = {"domain": self.domain, "reason": self.reason, "message": self.message}
        entry.update(self.extra)
        error = {"code": self.status_code, "message": self.message, "errors": [entry]}
        if self.status_code in RPC_STATUS:
            error["status"] = RPC_STATUS[self.status_code]
        return {"error": error}


class OAuthError(EmulatorError):
    """An OAuth 2.0 error response from the token endpoint (RFC 6749 section 5.2)."""

    def __init__(self, error: str, description: str, code: int = 400) -> None:
        super().__init__(description)
        self.status_code = code
        self.error = error
        self.description = description
        self.headers = {}

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.description}


def bad_request(message: str, reason: str = "invalid") -> ApiError:
    return ApiError(400, reason, message)


def not_found(what: str) -> ApiError:
    return ApiError(404, "notFound", f"Not Found: {what}.")
