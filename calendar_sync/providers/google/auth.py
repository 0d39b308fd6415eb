"""Credentials for Google APIs: one person's OAuth grant, or domain-wide delegation.

One person
    The authorization code flow with PKCE (RFC 7636, S256) and
    `access_type=offline`, so Google returns a refresh token. `start_consent`
    builds the consent URL and the verifier the callback needs;
    `exchange_code` trades the code for tokens. google-auth has no public
    call for this exchange, so it is one POST to the token URI (RFC 6749
    section 4.1.3). The caller stores the refresh token encrypted.
Whole domain
    A Workspace admin grants Tandem's service account domain-wide delegation
    for the calendar scope (and the Directory read scope), and Tandem signs a
    JWT for each person with `with_subject`.

A refresh that Google refuses with `invalid_grant` surfaces from
`GoogleClient.execute` as `ConsentRequiredError`; the caller marks the
connection as needing consent and stops its work.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import google.oauth2.credentials
import google.oauth2.service_account
import httpx

from calendar_sync.providers.google.client import GoogleConfig
from calendar_sync.providers.google.errors import ConsentRequiredError, GoogleApiError

log = logging.getLogger(__name__)

CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar"
DIRECTORY_SCOPE = "https://www.googleapis.com/auth/admin.directory.user.readonly"

#: Scopes of the one-person flow: calendar read and write is all Tandem needs.
USER_SCOPES = (CALENDAR_SCOPE,)

#: Scopes the admin delegates to the service account (see docs/google-admin.md).
DOMAIN_SCOPES = (CALENDAR_SCOPE, DIRECTORY_SCOPE)


@dataclass(frozen=True, slots=True)
class ConsentStart:
    """A consent URL and the PKCE verifier and state its callback must present."""

    url: str
    state: str
    code_verifier: str


@dataclass(frozen=True, slots=True)
class Grant:
    """Tokens the token endpoint returned for an authorization code."""

    refresh_token: str
    access_token: str
    scopes: tuple[str, ...]


def pkce_pair() -> tuple[str, str]:
    """Return a new code verifier and its S256 challenge (RFC 7636 section 4)."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def start_consent(config: GoogleConfig, login_hint: str = "") -> ConsentStart:
    """Build the consent URL for one person, with a fresh state and verifier."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(32)
    query = {
        "response_type": "code",
        "client_id": config.client_id,
        "redirect_uri": config.redirect_uri,
        "scope": " ".join(USER_SCOPES),
        # offline returns a refresh token; consent makes Google return one
        # again when the person had connected before.
        "access_type": "offline",
        "prompt": "consent",
        "include_granted_scopes": "true",
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if login_hint:
        query["login_hint"] = login_hint
    return ConsentStart(f"{config.auth_uri}?{urlencode(query)}", state, verifier)


def exchange_code(config: GoogleConfig, code: str, code_verifier: str) -> Grant:
    """Trade an authorization code for tokens; raise when no refresh token comes."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": code_verifier,
        "client_id": config.client_id,
        "client_secret": config.client_secret,
        "redirect_uri": config.redirect_uri,
    }
    with httpx.Client(timeout=config.timeout, trust_env=False) as http:
        response = http.post(config.token_uri, data=form)
    body = _json(response)
    if response.status_code != 200:
        error = str(body.get("error", "unknown_error"))
        log.info("authorization code refused", extra={"error": error})
        raise ConsentRequiredError("the new connection", error)

    refresh = str(body.get("refresh_token", ""))
    if not refresh:
        raise GoogleApiError("oauth.token", response.status_code, "noRefreshToken")
    scopes = tuple(str(body.get("scope", "")).split())
    return Grant(refresh, str(body.get("access_token", "")), scopes)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def user_credentials(
    config: GoogleConfig, refresh_token: str, scopes: tuple[str, ...] = USER_SCOPES
) -> google.oauth2.credentials.Credentials:
    """Credentials that refresh one person's access token from their refresh token."""
    return google.oauth2.credentials.Credentials(
        token=None,
        refresh_token=refresh_token,
        token_uri=config.token_uri,
        client_id=config.client_id,
        client_secret=config.client_secret,
        scopes=list(scopes),
    )


def delegated_credentials(
    config: GoogleConfig,
    key_info: dict[str, Any],
    subject: str,
    scopes: tuple[str, ...] = (CALENDAR_SCOPE,),
) -> google.oauth2.service_account.Credentials:
    """Service account credentials that act as `subject` (domain-wide delegation).

    The token URI of the settings replaces the one in the key file, so a key
    from the Cloud console works against a proxy or the emulator too.
    """
    info = {**key_info, "token_uri": config.token_uri}
    credentials = google.oauth2.service_account.Credentials.from_service_account_info(
        info, scopes=list(scopes)
    )
    return credentials.with_subject(subject)


def revoke(config: GoogleConfig, token: str) -> bool:
    """Ask Google to revoke a refresh token; return whether Google accepted it."""
    with httpx.Client(timeout=config.timeout, trust_env=False) as http:
        response = http.post(config.revoke_uri, data={"token": token})
    return response.status_code == 200
