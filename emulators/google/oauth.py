"""The OAuth 2.0 endpoints: authorization, token, revocation, bearer checks.

Grants follow RFC 6749 (authorization_code, refresh_token), RFC 7636 (PKCE)
and RFC 7523 (urn:ietf:params:oauth:grant-type:jwt-bearer, which Google uses
for service accounts, with `sub` naming the user to impersonate under
domain-wide delegation). Every token belongs to exactly one user.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from emulators.google.errors import ApiError, OAuthError
from emulators.google.state import (
    AuthorizationCode,
    EmulatorState,
    Grant,
    ServiceAccount,
)

logger = logging.getLogger(__name__)

ACCESS_TOKEN_SECONDS = 3599  # Google's access tokens last one hour
CODE_SECONDS = 600
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# google-auth always puts Google's token URL in `aud`, whatever token_uri is.
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
MAX_ASSERTION_SECONDS = 3600
CLOCK_SKEW_SECONDS = 300
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 section 4.1


def authorize(state: EmulatorState, query: dict[str, str]) -> str:
    """Grant consent at once for `login_hint` and return the redirect URL."""
    client = state.clients.get(query.get("client_id", ""))
    if client is None:
        raise OAuthError("invalid_client", "The OAuth client was not found.", 401)
    redirect_uri = query.get("redirect_uri", "")
    if redirect_uri not in client.redirect_uris:
        raise OAuthError(
            "redirect_uri_mismatch",
            f"The redirect URI {redirect_uri!r} is not registered for this client.",
        )
    user = query.get("login_hint", "")
    if user not in state.users:
        raise OAuthError(
            "access_denied", f"No emulated user {user!r}; pass login_hint."
        )

    code = issue_code(state, client.client_id, redirect_uri, user, query)
    reply = {"code": code, "scope": query.get("scope", "")}
    if "state" in query:
        reply["state"] = query["state"]
    return f"{redirect_uri}?{urlencode(reply)}"


def issue_code(
    state: EmulatorState,
    client_id: str,
    redirect_uri: str,
    user: str,
    query: dict[str, str],
) -> str:
    code = "4/0Ab" + secrets.token_urlsafe(32)
    state.codes[code] = AuthorizationCode(
        client_id=client_id,
        redirect_uri=redirect_uri,
        user=user,
        scopes=query.get("scope", "").split(),
        code_challenge=query.get("code_challenge"),
        code_challenge_method=query.get("code_challenge_method", "plain"),
        offline=query.get("access_type") == "offline",
        expires_at=time.time() + CODE_SECONDS,
    )
    return code


def exchange(
    state: EmulatorState, form: dict[str, str], token_url: str
) -> dict[str, Any]:
    """Run one grant of the token endpoint and return the token response."""
    grant_type = form.get("grant_type", "")
    if grant_type == "authorization_code":
        return _code_grant(state, form)
    if grant_type == "refresh_token":
        return _refresh_grant(state, form)
    if grant_type == JWT_GRANT:
        return _jwt_grant(state, form, token_url)
    raise OAuthError("unsupported_grant_type", f"Invalid grant_type: {grant_type!r}.")


def _client(state: EmulatorState, form: dict[str, str]) -> str:
    client = state.clients.get(form.get("client_id", ""))
    if client is None:
        raise OAuthError("invalid_client", "The OAuth client was not found.", 401)
    if not secrets.compare_digest(client.client_secret, form.get("client_secret", "")):
        raise OAuthError("invalid_client", "Unauthorized: wrong client_secret.", 401)
    return client.client_id


def _code_grant(state: EmulatorState, form: dict[str, str]) -> dict[str, Any]:
    client_id = _client(state, form)
    # A code works once (RFC 6749 section 4.1.2).
    code = state.codes.pop(form.get("code", ""), None)
    if code is None or code.client_id != client_id or code.expires_at < time.time():
        raise OAuthError(
            "invalid_grant", "Malformed auth code, or it was already used."
        )
    if form.get("redirect_uri") != code.redirect_uri:
        raise OAuthError("redirect_uri_mismatch", "Bad Request: redirect_uri differs.")
    _check_pkce(code, form.get("code_verifier"))

    grant = Grant(user=code.user, scopes=code.scopes, client_id=client_id)
    reply = _access_token(state, grant)
    if code.offline:
        refresh = "1//0e" + secrets.token_urlsafe(40)
        state.refresh_tokens[refresh] = Grant(code.user, code.scopes, client_id)
        reply["refresh_token"] = refresh
    logger.info("authorization code exchanged", extra={"user": code.user})
    return reply


def _check_pkce(code: AuthorizationCode, verifier: str | None) -> None:
    if code.code_challenge is None:
        return
    if not verifier:
        raise OAuthError("invalid_grant", "Missing code verifier.")
    if not _VERIFIER.fullmatch(verifier):
        raise OAuthError(
            "invalid_grant", "Invalid code verifier: bad length or characters."
        )
    if code.code_challenge_method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    else:
        expected = verifier
    if not secrets.compare_digest(expected, code.code_challenge):
        raise OAuthError("invalid_grant", "Invalid code verifier.")


def _refresh_grant(state: EmulatorState, form: dict[str, str]) -> dict[str, Any]:
    client_id = _client(state, form)
    stored = state.refresh_tokens.get(form.get("refresh_token", ""))
    if stored is None or stored.revoked or stored.client_id != client_id:
        raise OAuthError("invalid_grant", "Token has been expired or revoked.")
    scopes = form.get("scope", "").split() or stored.scopes
    if not set(scopes) <= set(stored.scopes):
        raise OAuthError(
            "invalid_scope", "The requested scopes exceed the granted ones."
        )
    return _access_token(state, Grant(stored.user, scopes, client_id))


def _access_token(state: EmulatorState, grant: Grant) -> dict[str, Any]:
    token = "ya29.emu-" + secrets.token_urlsafe(32)
    grant.expires_at = time.time() + ACCESS_TOKEN_SECONDS
    state.access_tokens[token] = grant
    return {
        "access_token": token,
        "expires_in": ACCESS_TOKEN_SECONDS,
        "scope": " ".join(grant.scopes),
        "token_type": "Bearer",
    }


def _jwt_grant(
    state: EmulatorState, form: dict[str, str], token_url: str
) -> dict[str, Any]:
    header, claims, signed, signature = _split_jwt(form.get("assertion", ""))
    account = state.service_accounts.get(claims.get("iss", ""))
    if account is None:
        raise OAuthError(
            "invalid_grant", f"Unknown service account {claims.get('iss')!r}."
        )
    _verify_signature(account, header, signed, signature)
    _check_claims(claims, token_url)

    scopes = str(claims.get("scope", "")).split()
    if not scopes:
        raise OAuthError("invalid_scope", "The assertion has no scope claim.")
    user = _impersonated(state, account, claims.get("sub"), scopes)
    logger.info("service account token issued", extra={"account": account.client_email})
    return _access_token(state, Grant(user, scopes, account.client_id))


def _split_jwt(assertion: str) -> tuple[dict, dict, bytes, bytes]:
    parts = assertion.split(".")
    if len(parts) != 3:
        raise OAuthError("invalid_grant", "The assertion is not a JWT (three parts).")
    try:
        header = json.loads(_unb64(parts[0]))
        claims = json.loads(_unb64(parts[1]))
        signature = _unb64(parts[2])
    except ValueError:
        raise OAuthError(
            "invalid_grant", "The assertion is not valid base64url JSON."
        ) from None
    return header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _verify_signature(
    account: ServiceAccount, header: dict, signed: bytes, signature: bytes
) -> None:
    if header.get("alg") != "RS256":
        raise OAuthError("invalid_grant", f"Unsupported JWT alg {header.get('alg')!r}.")
    if header.get("kid") not in (None, account.key_id):
        raise OAuthError("invalid_grant", f"Unknown key id {header.get('kid')!r}.")
    key = serialization.load_pem_public_key(account.public_key_pem.encode())
    try:
        key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise OAuthError("invalid_grant", "Invalid JWT Signature.") from None


def _check_claims(claims: dict[str, Any], token_url: str) -> None:
    if claims.get("aud") not in (GOOGLE_TOKEN_URL, token_url):
        raise OAuthError(
            "invalid_grant", f"Invalid JWT audience {claims.get('aud')!r}."
        )
    now = time.time()
    issued, expires = claims.get("iat", 0), claims.get("exp", 0)
    short_lived = 0 < expires - issued <= MAX_ASSERTION_SECONDS
    if not short_lived or issued > now + CLOCK_SKEW_SECONDS or expires < now:
        raise OAuthError(
            "invalid_grant",
            "Invalid JWT: it must be valid now and live at most 60 minutes.",
        )


def _impersonated(
    state: EmulatorState,
    account: ServiceAccount,
    subject: str | None,
    scopes: list[str],
) -> str:
    if not subject:
        return account.client_email
    user = state.users.get(subject)
    if user is None:
        raise OAuthError("invalid_grant", f"Invalid email or User ID: {subject!r}.")
    granted = account.delegated_scopes.get(user.domain, [])
    if not set(scopes) <= set(granted):
        raise OAuthError(
            "unauthorized_client",
            f"Client {account.client_id} is not authorized in {user.domain} for "
            f"scopes {sorted(set(scopes) - set(granted))}.",
        )
    return user.email


def revoke(state: EmulatorState, token: str) -> None:
    """Revoke a refresh or access token (Google's /revoke endpoint)."""
    refresh = state.refresh_tokens.get(token)
    if refresh is not None:
        refresh.revoked = True
        return
    if state.access_tokens.pop(token, None) is None:
        raise OAuthError("invalid_token", "Token is not known or already revoked.")


def check_bearer(state: EmulatorState, authorization: str | None) -> Grant:
    """Return the grant behind an `Authorization: Bearer` header, or raise 401."""
    token = (authorization or "").removeprefix("Bearer ").strip()
    grant = state.access_tokens.get(token)
    if grant is None or grant.expires_at < time.time():
        raise ApiError(
            401,
            "authError",
            "Request had invalid authentication credentials: send a valid OAuth 2 "
            "access token in the Authorization header.",
            headers={
                "WWW-Authenticate": 'Bearer realm="emulator", error="invalid_token"'
            },
            location="Authorization",
            locationType="header",
        )
    return grant


def new_service_account_key(
    client_email: str, client_id: str, token_uri: str
) -> tuple[dict[str, str], str]:
    """Make a key pair; return the JSON key file Google would hand out and its PEM."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_id = secrets.token_hex(20)
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        private_key.public_key()
        .public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        .decode()
    )
    info = {
        "type": "service_account",
        "project_id": "tandem-emulator",
        "private_key_id": key_id,
        "private_key": private_pem,
        "client_email": client_email,
        "client_id": client_id,
        "token_uri": token_uri,
    }
    return info, public_pem
