"""Tokens for Microsoft Graph from the identity platform, through msal.

Two ways in:

- One person: the authorization code flow of a confidential client. The
  token cache (refresh token included) is serialised by O365's token backend
  and encrypted with `addon.crypto.Cipher` before it is stored.
- A whole tenant: an admin grants the application permissions once (admin
  consent), then every token comes from the client credentials flow for that
  tenant. Those tokens live an hour and are kept in memory only.

The authority host and the Graph URL come from the settings, so national
clouds and the local emulator work with the same code. Every refusal of a
token becomes `ConsentRequiredError`, which the caller records on the
connection instead of retrying.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

import msal
from msal.authority import WELL_KNOWN_AUTHORITY_HOSTS
from O365.utils.token import BaseTokenBackend, MemoryTokenBackend

from calendar_sync.errors import ProviderError
from calendar_sync.providers.microsoft.errors import ConsentRequiredError

log = logging.getLogger(__name__)

#: Delegated permissions of the one-person flow; msal adds openid, profile and
#: offline_access (the last one is what returns a refresh token).
DELEGATED_SCOPES = ["Calendars.ReadWrite", "MailboxSettings.Read"]

#: Graph's application ID URI in the global cloud, which the client
#: credentials scope names.
GRAPH_RESOURCE = "https://graph.microsoft.com"
#: Graph hosts of the national clouds (US Government L4 and L5, and China
#: operated by 21Vianet), whose application ID URI is their own URL.
NATIONAL_GRAPH_HOSTS = frozenset(
    {"graph.microsoft.us", "dod-graph.microsoft.us", "microsoftgraph.chinacloudapi.cn"}
)


@dataclass(frozen=True, slots=True)
class MicrosoftConfig:
    """What auth and Graph calls need from the settings."""

    client_id: str
    client_secret: str
    authority_host: str = "https://login.microsoftonline.com"
    graph_url: str = "https://graph.microsoft.com"
    ca_bundle: str = ""
    redirect_uri: str = ""
    admin_consent_redirect_uri: str = ""
    timeout: float = 30.0
    max_retry_wait: float = 120.0

    @property
    def verify(self) -> str | bool:
        return self.ca_bundle or True

    @property
    def app_scope(self) -> str:
        """Return the client credentials scope: all granted app permissions.

        The scope names Graph's application ID URI, not the URL Tandem sends
        Graph requests to, so a proxy or emulator in front of Graph still
        gets a token for Graph.
        """
        host = urlsplit(self.graph_url).hostname or ""
        resource = f"https://{host}" if host in NATIONAL_GRAPH_HOSTS else GRAPH_RESOURCE
        return f"{resource}/.default"

    def authority(self, tenant: str) -> str:
        return f"{self.authority_host.rstrip('/')}/{tenant}"


class TokenSource(Protocol):
    """Anything that returns a bearer token for Graph."""

    #: Who the token is for, as shown in logs and errors (a tenant or a mailbox).
    who: str

    def access_token(self, force_refresh: bool = False) -> str: ...


class EncryptedTokenBackend(BaseTokenBackend):
    """O365's token backend over one encrypted string held by the caller.

    `stored` is the encrypted cache as the database row holds it; `on_save`
    receives the new encrypted string whenever msal changed the cache.
    """

    def __init__(
        self,
        cipher: Any,
        stored: str | None = None,
        on_save: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        self.cryptography_manager = cipher
        self.stored = stored
        self._on_save = on_save
        self.load_token()

    def load_token(self) -> bool:
        self._cache = self.deserialize(self.stored) if self.stored else {}
        return bool(self._cache)

    def save_token(self, force: bool = False) -> bool:
        encrypted = self.serialize()
        if encrypted != self.stored or force:
            self.stored = str(encrypted)
            if self._on_save is not None:
                self._on_save(self.stored)
        return True

    def delete_token(self) -> bool:
        self._cache = {}
        self.stored = None
        return True

    def check_token(self) -> bool:
        return bool(self.stored)


def confidential_app(
    config: MicrosoftConfig, tenant: str, cache: msal.TokenCache | None = None
) -> msal.ConfidentialClientApplication:
    """Build msal's client for `tenant` ("organizations" for any work account)."""
    authority = config.authority(tenant)
    known_host = urlsplit(authority).hostname in WELL_KNOWN_AUTHORITY_HOSTS
    return msal.ConfidentialClientApplication(
        config.client_id,
        client_credential=config.client_secret,
        authority=authority,
        token_cache=cache,
        verify=config.verify,
        timeout=config.timeout,
        # msal asks login.microsoftonline.com about hosts it does not know;
        # an emulator or a private authority must not be looked up there.
        instance_discovery=None if known_host else False,
    )


class AppTokens:
    """Client credentials tokens for one tenant that gave admin consent."""

    def __init__(
        self, config: MicrosoftConfig, tenant_id: str, cache: BaseTokenBackend
    ) -> None:
        self.who = f"tenant {tenant_id}"
        self.config = config
        self.cache = cache
        self.app = confidential_app(config, tenant_id, cache)
        self._lock = threading.Lock()

    def access_token(self, force_refresh: bool = False) -> str:
        """Return a token from msal's cache, or a new one when it expired."""
        with self._lock:
            if force_refresh:
                self._drop_access_tokens()
            result = _call_identity(
                self.who,
                lambda: self.app.acquire_token_for_client([self.config.app_scope]),
            )
        return _token_from(self.who, result)

    def _drop_access_tokens(self) -> None:
        access = msal.TokenCache.CredentialType.ACCESS_TOKEN
        for entry in list(self.cache.search(access)):
            self.cache.remove_at(entry)


@functools.lru_cache(maxsize=1024)
def app_tokens(config: MicrosoftConfig, tenant_id: str) -> AppTokens:
    """Return the process-wide `AppTokens` of a tenant, so its token is reused."""
    return AppTokens(config, tenant_id, MemoryTokenBackend())


class UserTokens:
    """Delegated tokens of one person, refreshed from the stored token cache."""

    def __init__(
        self, config: MicrosoftConfig, tenant_id: str, cache: EncryptedTokenBackend
    ) -> None:
        self.config = config
        self.cache = cache
        self.app = confidential_app(config, tenant_id, cache)
        accounts = self.app.get_accounts()
        self.account = accounts[0] if accounts else None
        self.who = f"user {self.account['username']}" if self.account else "user"
        self._lock = threading.Lock()

    def access_token(self, force_refresh: bool = False) -> str:
        """Return a token, redeeming the refresh token when the cached one expired."""
        if self.account is None:
            raise ConsentRequiredError(self.who, "no_account", "")
        with self._lock:
            result = _call_identity(
                self.who,
                lambda: self.app.acquire_token_silent_with_error(
                    DELEGATED_SCOPES, self.account, force_refresh=force_refresh
                ),
            )
            self.cache.save_token()
        if result is None:
            raise ConsentRequiredError(self.who, "no_refresh_token", "")
        return _token_from(self.who, result)


def _call_identity(who: str, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except OSError as error:  # requests' connection errors and timeouts
        raise ProviderError(
            f"The identity platform could not be reached for {who} "
            f"({type(error).__name__}); the sync will try again later."
        ) from error


def _token_from(who: str, result: dict[str, Any]) -> str:
    if "access_token" in result:
        return str(result["access_token"])
    error = str(result.get("error", "unknown_error"))
    log.warning(
        "token refused",
        extra={"who": who, "error": error, "codes": result.get("error_codes")},
    )
    raise ConsentRequiredError(who, error, str(result.get("error_description", "")))


# -- the authorization code flow ------------------------------------------


def start_sign_in(config: MicrosoftConfig, login_hint: str = "") -> dict[str, Any]:
    """Begin the authorization code flow; return msal's flow (with `auth_uri`).

    The caller keeps the flow until the callback, because msal checks the
    callback's `state` and the PKCE verifier against it.
    """
    app = confidential_app(config, "organizations")
    return app.initiate_auth_code_flow(
        DELEGATED_SCOPES,
        redirect_uri=config.redirect_uri,
        login_hint=login_hint or None,
    )


@dataclass(frozen=True, slots=True)
class SignIn:
    """The result of a finished sign-in: who it was and the encrypted cache."""

    tenant_id: str
    mailbox: str
    token_cache: str


def finish_sign_in(
    config: MicrosoftConfig,
    flow: dict[str, Any],
    callback_query: dict[str, str],
    cipher: Any,
) -> SignIn:
    """Redeem the callback's code; raise ConsentRequiredError when refused."""
    cache = EncryptedTokenBackend(cipher)
    app = confidential_app(config, "organizations", cache)
    try:
        result = app.acquire_token_by_auth_code_flow(flow, callback_query)
    except ValueError as error:  # msal: state mismatch or a replayed flow
        raise ConsentRequiredError("user", "invalid_state", str(error)) from None
    if "access_token" not in result:
        raise ConsentRequiredError(
            "user",
            str(result.get("error", "unknown_error")),
            str(result.get("error_description", "")),
        )

    claims = result.get("id_token_claims", {})
    cache.save_token()
    return SignIn(
        tenant_id=str(claims.get("tid", "")),
        mailbox=str(claims.get("preferred_username", "")).lower(),
        token_cache=cache.stored or "",
    )


def admin_consent_url(config: MicrosoftConfig, state: str, tenant: str = "") -> str:
    """Return the URL where a tenant admin grants Tandem's application permissions.

    The v2.0 admin consent endpoint grants the permissions configured on the
    app registration (`.default`) and redirects back with `tenant` and `state`.
    """
    query = {
        "client_id": config.client_id,
        "scope": config.app_scope,
        "redirect_uri": config.admin_consent_redirect_uri,
        "state": state,
    }
    authority = config.authority(tenant or "organizations")
    return f"{authority}/v2.0/adminconsent?{urlencode(query)}"
