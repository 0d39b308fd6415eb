"""Calendar and Directory clients from google-api-python-client, with retries.

`GoogleClient` builds the discovery clients for one person (a user's own
OAuth grant or a service account impersonating them) and runs every request
through `execute`, which:

- waits its turn in a per-person `Pacer`, so one person's requests stay under
  Google's per-user quota (600 requests per minute per user per project, from
  the Calendar API "Usage limits" guide);
- retries 403 `rateLimitExceeded`/`userRateLimitExceeded`, 429, 5xx and
  timeouts with exponential backoff and jitter, as that guide recommends, waiting
  at least the `Retry-After` Google sent;
- turns a refused token refresh into `ConsentRequiredError`.

The API endpoint and the token URI come from `GoogleConfig`, so the same code
runs against Google, a proxy or the local emulator. Every socket has the
configured timeout, the token endpoint's included, because google-auth
refreshes through the same `httplib2.Http`.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import google.auth.exceptions
import httplib2
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import Resource, build
from googleapiclient.errors import HttpError
from googleapiclient.http import HttpRequest

from calendar_sync.providers.google.errors import (
    ConsentRequiredError,
    GoogleApiError,
    RateLimitedError,
)

log = logging.getLogger(__name__)

#: 403 reasons that mean "slow down", as opposed to a permission refusal.
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})

#: Token endpoint errors (RFC 6749 section 5.2) that only new consent fixes.
CONSENT_ERRORS = frozenset(
    {"invalid_grant", "unauthorized_client", "access_denied", "invalid_client"}
)


class GoogleSettings(Protocol):
    """The settings `GoogleConfig.from_settings` reads (`addon.settings.Settings`)."""

    google_client_id: str
    google_client_secret: str
    google_api_endpoint: str
    google_token_uri: str
    google_auth_uri: str
    google_revoke_uri: str
    google_redirect_uri: str
    google_timeout: float
    google_max_retries: int
    google_max_backoff: float
    google_user_requests_per_second: float


@dataclass(frozen=True, slots=True)
class GoogleConfig:
    """Settings of the Google clients: endpoints, OAuth client, timeouts, retries."""

    client_id: str = ""
    client_secret: str = ""
    api_endpoint: str = "https://www.googleapis.com/"
    token_uri: str = "https://oauth2.googleapis.com/token"
    auth_uri: str = "https://accounts.google.com/o/oauth2/v2/auth"
    revoke_uri: str = "https://oauth2.googleapis.com/revoke"
    redirect_uri: str = ""
    #: Seconds each socket operation of a request may take.
    timeout: float = 30.0
    #: Retries after the first attempt of one request.
    max_retries: int = 6
    #: Upper bound of one backoff wait, in seconds.
    max_backoff: float = 64.0
    user_requests_per_second: float = 8.0

    @classmethod
    def from_settings(cls, settings: GoogleSettings) -> GoogleConfig:
        return cls(
            client_id=settings.google_client_id,
            client_secret=settings.google_client_secret,
            api_endpoint=settings.google_api_endpoint,
            token_uri=settings.google_token_uri,
            auth_uri=settings.google_auth_uri,
            revoke_uri=settings.google_revoke_uri,
            redirect_uri=settings.google_redirect_uri,
            timeout=settings.google_timeout,
            max_retries=settings.google_max_retries,
            max_backoff=settings.google_max_backoff,
            user_requests_per_second=settings.google_user_requests_per_second,
        )


class Pacer:
    """Spaces the requests of each person at least 1/rate seconds apart.

    NOTE: the spacing applies within one process. Several workers serving the
    same person each pace on their own; Tandem serialises the work of one
    calendar, which keeps that rare.
    """

    def __init__(
        self,
        per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, person: str) -> float:
        """Sleep until `person` may send the next request; return the wait."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next.get(person, 0.0))
            self._next[person] = slot + self.interval
        delay = slot - now
        if delay > 0:
            self._sleep(delay)
        return delay


@functools.cache
def shared_pacer(per_second: float) -> Pacer:
    """Return the process-wide pacer for one rate, shared by every client."""
    return Pacer(per_second)


class GoogleClient:
    """The Calendar (and on request Directory) client of one person."""

    def __init__(
        self,
        config: GoogleConfig,
        credentials: Any,
        person: str,
        *,
        pacer: Pacer | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.config = config
        self.person = person
        self.pacer = pacer or shared_pacer(config.user_requests_per_second)
        self._sleep = sleep
        self._jitter = jitter
        self._credentials = credentials
        self.calendar = self._build("calendar", "v3")
        self._directory: Resource | None = None
        #: Requests sent, retries included; the sync task reports it.
        self.requests = 0

    @property
    def directory(self) -> Resource:
        if self._directory is None:
            self._directory = self._build("admin", "directory_v1")
        return self._directory

    def _build(self, name: str, version: str) -> Resource:
        http = AuthorizedHttp(
            self._credentials, http=httplib2.Http(timeout=self.config.timeout)
        )
        return build(
            name,
            version,
            http=http,
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": self.config.api_endpoint},
        )

    def execute(self, request: HttpRequest, method: str) -> Any:
        """Send `request` (the discovery method id in `method`), retrying as above."""
        for attempt in range(self.config.max_retries + 1):
            self.pacer.wait(self.person)
            self.requests += 1
            try:
                return request.execute(num_retries=0)
            except HttpError as error:
                failure = _api_error(error, method)
                if not _retryable(failure) or attempt == self.config.max_retries:
                    raise _final(failure) from None
                wait = self._backoff(attempt, _retry_after(error))
            except (TimeoutError, ConnectionError) as error:
                if attempt == self.config.max_retries:
                    raise GoogleApiError(method, 0, type(error).__name__) from None
                wait = self._backoff(attempt, 0.0)
            except google.auth.exceptions.RefreshError as error:
                raise self._refresh_failed(error) from None
            log.info(
                "retrying google request",
                extra={"method": method, "person": self.person, "attempt": attempt},
            )
            self._sleep(wait)
        raise AssertionError("not reached: the loop returns or raises")

    def _backoff(self, attempt: int, retry_after: float) -> float:
        """Exponential backoff with jitter: a random wait in [d/2, d] for d=2^n s."""
        ceiling = min(self.config.max_backoff, 2.0**attempt)
        wait = ceiling / 2 + self._jitter() * ceiling / 2
        return max(wait, retry_after)

    def _refresh_failed(self, error: Exception) -> Exception:
        code = _oauth_error(error)
        log.info("google token refused", extra={"person": self.person, "error": code})
        if code in CONSENT_ERRORS:
            return ConsentRequiredError(self.person, code)
        return GoogleApiError("oauth.token", 0, code)


def _api_error(error: HttpError, method: str) -> GoogleApiError:
    status = int(error.resp.status)
    reason = ""
    try:
        details = json.loads(error.content or b"{}").get("error", {})
        reason = str((details.get("errors") or [{}])[0].get("reason", ""))
    except (ValueError, AttributeError):
        reason = ""
    return GoogleApiError(method, status, reason)


def _retryable(failure: GoogleApiError) -> bool:
    if failure.status == 403:
        return failure.reason in RATE_LIMIT_REASONS
    return failure.status == 429 or failure.status >= 500


def _final(failure: GoogleApiError) -> GoogleApiError:
    if _retryable(failure):
        return RateLimitedError(failure.method, failure.status, failure.reason)
    return failure


def _retry_after(error: HttpError) -> float:
    """Seconds in the Retry-After header (RFC 9110 section 10.2.3), else 0."""
    value = error.resp.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return 0.0


def _oauth_error(error: Exception) -> str:
    """The `error` code of a refused token request, from google-auth's exception."""
    for arg in getattr(error, "args", ()):
        if isinstance(arg, dict) and arg.get("error"):
            return str(arg["error"])
    text = str(error.args[0]) if getattr(error, "args", ()) else ""
    return text.split(":", 1)[0].strip() or "unknown_error"
