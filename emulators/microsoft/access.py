"""Access checks on every Graph call: the bearer token and the mailbox it may use."""

from dataclasses import dataclass

from fastapi import Request

from .errors import GraphError
from .state import EmulatorState, Grant, User, utc_now


@dataclass
class Caller:
    """Who is calling Graph: the grant behind the bearer token."""

    grant: Grant

    @property
    def is_application(self) -> bool:
        """Return True for an app-only (client credentials) token."""
        return self.grant.kind == "application"


def unauthenticated(message: str) -> GraphError:
    """Return Graph's 401 for a missing, unknown, expired or revoked token."""
    return GraphError(401, "InvalidAuthenticationToken", message)


def authenticate(state: EmulatorState, request: Request) -> Caller:
    """Return the caller for the request's bearer token or raise a 401.

    NOTE: real access tokens stay valid until they expire even after a grant
    is revoked (up to about an hour); the emulator rejects them at once so
    tests need not wait.
    """
    header = request.headers.get("authorization", "")
    if not header:
        raise unauthenticated("Access token is empty.")

    scheme, _, token = header.partition(" ")
    record = state.access_tokens.get(token) if scheme.lower() == "bearer" else None
    if record is None:
        raise unauthenticated("IDX14100: JWT is not well formed.")
    if record.expires_at <= utc_now():
        raise unauthenticated("Lifetime validation failed, the token is expired.")

    grant = state.grants[record.grant_id]
    if grant.revoked_reason is not None:
        raise unauthenticated("The access token has been revoked.")
    if (
        grant.kind == "application"
        and state.application_grant(grant.client_id, grant.tenant_id) is None
    ):
        raise unauthenticated("The tenant has withdrawn admin consent for the app.")
    return Caller(grant)


def resolve_mailbox(state: EmulatorState, caller: Caller, user_key: str) -> User:
    """Return the mailbox a /users/{id} or /me path names, if the caller may use it."""
    if user_key == "me":
        if caller.is_application:
            raise GraphError(
                400,
                "BadRequest",
                "/me request is only valid with delegated authentication flow.",
            )
        user_key = str(caller.grant.user_id)

    user = state.find_user(user_key)
    if user is None or user.tenant_id != caller.grant.tenant_id:
        raise GraphError(
            404,
            "ErrorInvalidUser",
            f"The requested user '{user_key}' is invalid.",
        )
    if not caller.is_application and user.id != caller.grant.user_id:
        raise GraphError(
            403,
            "ErrorAccessDenied",
            "Access is denied. Check credentials and try again.",
        )
    return user
