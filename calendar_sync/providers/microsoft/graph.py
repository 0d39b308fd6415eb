"""Every Graph request Tandem sends, through O365's authenticated connection.

O365's `Event` objects keep neither `@odata.etag` nor `originalStart`, and O365
has no call for delta queries, extended properties, `If-Match`,
subscriptions or `$batch`. So Tandem reads and writes event JSON itself, but
always through `O365.connection.Connection.oauth_request`, so there is one
HTTP stack (O365's requests session, its proxy and CA settings) and one
token cache (msal's, which is O365's token backend).

Limits handled here, per Graph's throttling guidance
(learn.microsoft.com/graph/throttling):

- 429 and 503 are retried after the `Retry-After` seconds Graph sent (or an
  exponential backoff when it sent none), until `max_retry_wait` seconds of
  waiting are used up. O365's own retries are switched off
  (`request_retries=0`) so there is one retry policy.
- Outlook allows 4 concurrent requests per app and mailbox
  (learn.microsoft.com/graph/throttling-limits, "Outlook service limits"),
  so each mailbox gets a semaphore of 4 slots in this process.
- Every request has the connection's timeout.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from O365.connection import Connection

from calendar_sync.errors import ConflictError, NotFoundError, ProviderError
from calendar_sync.providers.microsoft.auth import (
    AppTokens,
    MicrosoftConfig,
    TokenSource,
    UserTokens,
)
from calendar_sync.providers.microsoft.errors import (
    AccessDeniedError,
    ConsentRequiredError,
    GraphError,
    SyncStateGoneError,
    ThrottledError,
)

log = logging.getLogger(__name__)

#: Concurrent requests per mailbox that Outlook allows one app.
MAILBOX_CONCURRENCY = 4

#: Requests one `$batch` may carry (Graph's JSON batching limit).
BATCH_LIMIT = 20

#: Backoff, in seconds, after a 429 or 503 that carried no Retry-After.
FIRST_BACKOFF = 1.0

_slots_lock = threading.Lock()
_mailbox_slots: dict[str, threading.BoundedSemaphore] = {}


def mailbox_slots(mailbox: str) -> threading.BoundedSemaphore:
    """Return the process-wide semaphore that limits requests to `mailbox`."""
    with _slots_lock:
        slots = _mailbox_slots.get(mailbox.lower())
        if slots is None:
            slots = threading.BoundedSemaphore(MAILBOX_CONCURRENCY)
            _mailbox_slots[mailbox.lower()] = slots
        return slots


def make_connection(
    config: MicrosoftConfig, tokens: AppTokens | UserTokens, tenant_id: str
) -> Connection:
    """Build O365's connection with Tandem's timeouts and without its retries.

    `raise_http_errors=False` hands error responses back, so this module
    maps them onto Tandem's errors. O365 builds its msal client with the
    public-cloud authority, so the one from `tokens` (configured authority,
    same token cache) replaces it.
    """
    flow = "credentials" if isinstance(tokens, AppTokens) else "authorization"
    connection = Connection(
        (config.client_id, config.client_secret),
        auth_flow_type=flow,
        tenant_id=tenant_id,
        token_backend=tokens.cache,
        raise_http_errors=False,
        request_retries=0,
        requests_delay=0,
        timeout=config.timeout,
        verify_ssl=config.verify,
    )
    connection._msal_client = tokens.app
    return connection


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One request of a `$batch`; `url` is relative to /v1.0."""

    method: str
    url: str
    body: dict[str, Any] | None = None
    headers: dict[str, str] | None = None


class GraphClient:
    """Sends Graph v1.0 requests for one mailbox with retries and limits."""

    def __init__(
        self,
        config: MicrosoftConfig,
        connection: Connection,
        tokens: TokenSource,
        mailbox: str,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.connection = connection
        self.tokens = tokens
        self.mailbox = mailbox
        self.base = f"{config.graph_url.rstrip('/')}/v1.0"
        self.requests_sent = 0
        self._sleep = sleep
        self._slots = mailbox_slots(mailbox)

    # -- URLs -------------------------------------------------------------

    @property
    def user_path(self) -> str:
        return f"/users/{self.mailbox}"

    def url(self, path_or_url: str) -> str:
        """Return an absolute URL; next and delta links are used as Graph sent them."""
        if path_or_url.startswith("https://") or path_or_url.startswith("http://"):
            return path_or_url.split("#", 1)[0]
        return self.base + path_or_url

    # -- requests ---------------------------------------------------------

    def get(self, path: str, **options: Any) -> dict[str, Any]:
        return self.send("GET", path, **options).json()

    def pages(self, path: str, **options: Any) -> Iterator[dict[str, Any]]:
        """Yield each page of a collection, following `@odata.nextLink`."""
        page = self.get(path, **options)
        yield page
        while "@odata.nextLink" in page:
            options.pop("params", None)
            page = self.get(page["@odata.nextLink"], **options)
            yield page

    def send(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """Send one request; raise a ProviderError subclass for an error status."""
        waited = 0.0
        attempt = 0
        refreshed = False
        while True:
            response = self._send_once(method, path, params, body, headers, refreshed)
            status = response.status_code
            if status in (429, 503):
                delay = _retry_delay(response, attempt)
                if waited + delay > self.config.max_retry_wait:
                    raise ThrottledError(method, _path(path), status, _code(response))
                log.info(
                    "graph throttled, waiting",
                    extra={"mailbox": self.mailbox, "status": status, "wait": delay},
                )
                self._sleep(delay)
                waited += delay
                attempt += 1
                continue
            if status == 401 and not refreshed:
                refreshed = True
                continue
            if status >= 400:
                raise _error(method, path, response)
            return response

    def _send_once(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None,
        body: dict[str, Any] | None,
        headers: dict[str, str] | None,
        force_refresh: bool,
    ) -> requests.Response:
        token = self.tokens.access_token(force_refresh=force_refresh)
        if self.connection.session is None:
            self.connection.session = self.connection.get_session()
        self.connection.update_session_auth_header(access_token=token)
        with self._slots:
            self.requests_sent += 1
            try:
                return self.connection.oauth_request(
                    self.url(path),
                    method.lower(),
                    params=params,
                    data=body,
                    headers=dict(headers or {}),
                )
            except requests.RequestException as error:
                raise ProviderError(
                    f"Graph request {method} {_path(path)} failed "
                    f"({type(error).__name__}) for mailbox {self.mailbox}; "
                    "the sync will try again later."
                ) from error

    # -- $batch -----------------------------------------------------------

    def batch(self, items: list[BatchItem]) -> list[dict[str, Any]]:
        """Run requests in `$batch` envelopes of at most 20; return the responses.

        Each response is `{"status": int, "headers": {...}, "body": ...}` in the
        order of `items`. An inner 429 or 503 is sent again in the next
        envelope after its Retry-After, as Graph's batching guidance says. One
        request alone is sent as itself, which saves the envelope.
        """
        if len(items) == 1:
            return [self._send_alone(items[0])]
        results: dict[int, dict[str, Any]] = {}
        pending = list(range(len(items)))
        waited = 0.0
        while pending:
            chunk, pending = pending[:BATCH_LIMIT], pending[BATCH_LIMIT:]
            delay = self._run_batch(items, chunk, results)
            retry = [index for index in chunk if index not in results]
            if retry:
                if waited + delay > self.config.max_retry_wait:
                    raise ThrottledError("POST", "/$batch", 429, "TooManyRequests")
                self._sleep(delay)
                waited += delay
                pending = retry + pending
        return [results[index] for index in range(len(items))]

    def _send_alone(self, item: BatchItem) -> dict[str, Any]:
        """Send one request of a batch by itself; return it as a batch response."""
        try:
            response = self.send(
                item.method, item.url, body=item.body, headers=item.headers
            )
        except NotFoundError:
            return {"status": 404, "headers": {}, "body": None}
        body = response.json() if response.content else None
        return {
            "status": response.status_code,
            "headers": dict(response.headers),
            "body": body,
        }

    def _run_batch(
        self,
        items: list[BatchItem],
        chunk: list[int],
        results: dict[int, dict[str, Any]],
    ) -> float:
        envelope = {
            "requests": [_batch_request(str(index), items[index]) for index in chunk]
        }
        answer = self.send("POST", "/$batch", body=envelope).json()
        delay = 0.0
        for response in answer.get("responses", []):
            index = int(response["id"])
            if response.get("status") in (429, 503):
                headers = response.get("headers") or {}
                delay = max(delay, _seconds(headers.get("Retry-After"), FIRST_BACKOFF))
                continue
            results[index] = response
        return delay


def _batch_request(request_id: str, item: BatchItem) -> dict[str, Any]:
    request: dict[str, Any] = {"id": request_id, "method": item.method, "url": item.url}
    headers = dict(item.headers or {})
    if item.body is not None:
        request["body"] = item.body
        headers.setdefault("Content-Type", "application/json")
    if headers:
        request["headers"] = headers
    return request


def _retry_delay(response: requests.Response, attempt: int) -> float:
    backoff = FIRST_BACKOFF * (2**attempt)
    return _seconds(response.headers.get("Retry-After"), backoff)


def _seconds(value: object, default: float) -> float:
    try:
        return max(0.0, float(str(value)))
    except ValueError:
        return default


def _code(response: requests.Response) -> str:
    try:
        error = response.json().get("error", {})
    except ValueError:
        return ""
    if isinstance(error, dict):
        return str(error.get("code", ""))
    return str(error)


def _path(path_or_url: str) -> str:
    """Return the path of a URL without its query, which may carry tokens."""
    return urlsplit(path_or_url).path or path_or_url


def _error(method: str, path: str, response: requests.Response) -> ProviderError:
    status, code = response.status_code, _code(response)
    if status == 404:
        return NotFoundError(_path(path))
    if status == 412:
        return ConflictError(
            _path(path), response.request.headers.get("If-Match", ""), ""
        )
    if status == 410:
        return SyncStateGoneError(method, _path(path), status, code)
    if status == 401:
        return ConsentRequiredError("mailbox", code or "InvalidAuthenticationToken", "")
    if status == 403:
        return AccessDeniedError(method, _path(path), status, code)
    return GraphError(method, _path(path), status, code)
