"""Error bodies in the shapes Graph and the identity platform send them.

Graph errors are `{"error": {"code", "message", "innerError"}}`. Identity
platform errors are OAuth 2.0 errors (RFC 6749 section 5.2) with Entra's
extra fields: `error_codes`, `timestamp`, `trace_id`, `correlation_id`, and
an `error_description` that starts with the AADSTS code.
"""

from fastapi.responses import JSONResponse

from .state import new_guid, utc_now
from .timezones import format_offset


class GraphError(Exception):
    """A Graph request that fails with a status code and a Graph error code."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def graph_error_body(code: str, message: str) -> dict[str, object]:
    """Return a Graph error object with the request ids Graph adds."""
    request_id = new_guid()
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": format_offset(utc_now())[:19],
                "request-id": request_id,
                "client-request-id": request_id,
            },
        }
    }


def graph_error_response(error: GraphError) -> JSONResponse:
    """Return the HTTP response for a GraphError."""
    return JSONResponse(
        graph_error_body(error.code, error.message),
        status_code=error.status,
        headers=error.headers,
    )


def identity_error_response(
    error: str, aadsts: int, description: str, status: int = 400
) -> JSONResponse:
    """Return an identity platform error with an AADSTS code."""
    trace_id = new_guid()
    correlation_id = new_guid()
    timestamp = utc_now().strftime("%Y-%m-%d %H:%M:%SZ")
    full_description = (
        f"AADSTS{aadsts}: {description} Trace ID: {trace_id} "
        f"Correlation ID: {correlation_id} Timestamp: {timestamp}"
    )
    body = {
        "error": error,
        "error_description": full_description,
        "error_codes": [aadsts],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
    }
    return JSONResponse(body, status_code=status)
