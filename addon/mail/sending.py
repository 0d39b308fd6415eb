"""Hand composed messages to a transport: SMTP, or Microsoft Graph `sendMail`.

Every transport raises TemporarySendError for failures worth retrying and
PermanentSendError for the rest, so the outbox can decide without knowing
the transport.
"""

from __future__ import annotations

import base64
import email
import email.policy
import logging
import smtplib
import ssl
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from email.headerregistry import Address
from typing import Protocol

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from addon.errors import SettingsError
from addon.mail.errors import PermanentSendError, TemporarySendError
from addon.mail.models import TenantGraphSender
from addon.models import MicrosoftConnection
from addon.settings import Settings
from calendar_sync.errors import ProviderError

log = logging.getLogger(__name__)

GRAPH_URL = "https://graph.microsoft.com/v1.0"


class Transport(Protocol):
    def send(self, raw: bytes, sender: str, recipients: Sequence[str]) -> None:
        """Send one raw RFC 5322 message to `recipients`."""


class SmtpTransport:
    """Sends over SMTP, with STARTTLS and a login when the settings ask for them."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        user: str = "",
        password: str = "",
        starttls: bool = False,
        timeout: float = 30.0,
    ) -> None:
        self.host, self.port = host, port
        self.user, self.password = user, password
        self.starttls, self.timeout = starttls, timeout

    def send(self, raw: bytes, sender: str, recipients: Sequence[str]) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as client:
                self._open(client)
                client.sendmail(sender, list(recipients), raw)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            raise _by_code(min(codes), "refused every recipient") from None
        except smtplib.SMTPResponseException as error:
            raise _by_code(error.smtp_code, "rejected the message") from None
        except (smtplib.SMTPException, OSError) as error:
            raise TemporarySendError(
                f"SMTP server {self.host}:{self.port} could not be reached or "
                f"dropped the connection ({type(error).__name__}); the send is retried."
            ) from None

    def _open(self, client: smtplib.SMTP) -> None:
        client.ehlo()
        if self.starttls:
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        if self.user:
            client.login(self.user, self.password)


def _by_code(code: int, what: str) -> TemporarySendError | PermanentSendError:
    # RFC 5321 section 4.2.1: 4yz is a transient failure, 5yz a permanent one.
    if 400 <= code < 500:
        return TemporarySendError(f"SMTP server {what} with {code}; retrying.", code)
    return PermanentSendError(f"SMTP server {what} with {code}; not retrying.", code)


class GraphTransport:
    """Sends through Microsoft Graph `POST /users/{mailbox}/sendMail`.

    Graph takes the whole MIME message base64-encoded in a text/plain body
    (learn.microsoft.com/graph/api/user-sendmail), so the message leaves as
    composed. Only its From header is changed to name `mailbox`, because
    Exchange Online rejects a MIME message whose From is a mailbox the
    sender may not send as. `access_token` returns a current OAuth token
    with the Mail.Send permission for the tenant.
    """

    def __init__(
        self,
        mailbox: str,
        access_token: Callable[[], str],
        client: httpx.Client | None = None,
        base_url: str = GRAPH_URL,
    ) -> None:
        self.mailbox = mailbox
        self.access_token = access_token
        self.client = client or httpx.Client(timeout=30.0)
        self.base_url = base_url.rstrip("/")

    def send(self, raw: bytes, sender: str, recipients: Sequence[str]) -> None:
        url = f"{self.base_url}/users/{self.mailbox}/sendMail"
        headers = {
            "Authorization": f"Bearer {self._token()}",
            "Content-Type": "text/plain",
        }
        body = base64.b64encode(with_from(raw, self.mailbox))
        try:
            response = self.client.post(url, content=body, headers=headers)
        except httpx.TransportError as error:
            raise TemporarySendError(
                f"Graph sendMail could not be reached ({type(error).__name__}); "
                "the send is retried."
            ) from None
        _check_graph(response)

    def _token(self) -> str:
        try:
            return self.access_token()
        except ProviderError as error:
            # A refused token (consent withdrawn, app removed) does not heal
            # by retrying, so only an admin granting consent again helps.
            raise PermanentSendError(
                f"The identity platform refused a Graph token for mailbox "
                f"{self.mailbox} ({error}). An admin of that tenant has to "
                "grant Tandem admin consent again."
            ) from None


def with_from(raw: bytes, mailbox: str) -> bytes:
    """Return `raw` with its From address replaced by `mailbox`.

    The display name is kept. The message is re-serialised by the email
    package, which leaves the body and the other headers as they were.
    """
    message = email.message_from_bytes(raw, policy=email.policy.SMTP)
    current = message.get("From")
    addresses = getattr(current, "addresses", ())
    if len(addresses) == 1 and addresses[0].addr_spec.lower() == mailbox.lower():
        return raw

    name = addresses[0].display_name if addresses else ""
    del message["From"]
    message["From"] = Address(display_name=name, addr_spec=mailbox)
    return message.as_bytes()


def _check_graph(response: httpx.Response) -> None:
    # Graph returns 202 Accepted. 429 and 5xx are throttling or outages, which
    # are worth retrying later.
    status = response.status_code
    if status == 202 or 200 <= status < 300:
        return
    if status == 429 or status >= 500:
        raise TemporarySendError(f"Graph sendMail returned {status}; retrying.", status)
    raise PermanentSendError(
        f"Graph sendMail rejected the message with {status}; check the mailbox "
        "and the Mail.Send permission.",
        status,
    )


#: Picks the transport for the tenant an email belongs to (None: no tenant).
TransportPicker = Callable[[int | None], Transport]


def pick_transport(
    transport: Transport | TransportPicker, tenant_id: int | None
) -> Transport:
    """Return `transport` itself, or the one a picker chooses for `tenant_id`."""
    if hasattr(transport, "send"):
        return transport  # type: ignore[return-value]
    return transport(tenant_id)  # type: ignore[operator]


def smtp_from_settings(settings: Settings) -> SmtpTransport:
    """Return the SMTP transport the TANDEM_SMTP_* settings describe."""
    return SmtpTransport(
        settings.smtp_host,
        settings.smtp_port,
        user=settings.smtp_user,
        password=settings.smtp_password,
        starttls=settings.smtp_starttls,
        timeout=settings.smtp_timeout,
    )


def transport_from_settings(
    settings: Settings, factory: sessionmaker[Session] | None = None
) -> Transport | TransportPicker:
    """Return the transport that `settings.mail_transport` names.

    "smtp" returns one SMTP transport for every email. "graph" returns a
    `TenantGraphTransports`, which needs `factory` to read the tenant rows.
    It sends each tenant's email through Graph where the tenant gave admin
    consent and named a sender mailbox, and through SMTP otherwise.
    """
    if settings.mail_transport == "smtp":
        return smtp_from_settings(settings)
    if settings.mail_transport == "graph" and factory is not None:
        return TenantGraphTransports(settings, factory)
    raise SettingsError(
        f"TANDEM_MAIL_TRANSPORT={settings.mail_transport!r} cannot be used here; "
        "set it to smtp, or to graph where a database session factory is given."
    )


@contextmanager
def open_transport(
    settings: Settings, factory: sessionmaker[Session]
) -> Iterator[Transport | TransportPicker]:
    """Yield `transport_from_settings`, closing its HTTP connections at the end."""
    transport = transport_from_settings(settings, factory)
    try:
        yield transport
    finally:
        if isinstance(transport, TenantGraphTransports):
            transport.close()


class TenantGraphTransports:
    """Sends each tenant's email through Graph when the tenant is set up for it.

    A tenant is set up when it has an active Microsoft 365 connection of kind
    "tenant" (admin consent) and a `TenantGraphSender` row. Its tokens come
    from the client credentials flow of that directory, and the transport is
    kept per tenant so the token and the HTTP connections are reused. Every
    other tenant, and email with no tenant, goes through SMTP.
    """

    def __init__(
        self,
        settings: Settings,
        factory: sessionmaker[Session],
        fallback: Transport | None = None,
    ) -> None:
        self.settings = settings
        self.factory = factory
        self.fallback = fallback or smtp_from_settings(settings)
        verify = (
            ssl.create_default_context(cafile=settings.ms_ca_bundle)
            if settings.ms_ca_bundle
            else True
        )
        self._client = httpx.Client(timeout=settings.ms_timeout, verify=verify)
        self._by_tenant: dict[tuple[str, str], GraphTransport] = {}

    def close(self) -> None:
        """Close the HTTP connections that the Graph transports share."""
        self._client.close()

    def __call__(self, tenant_id: int | None) -> Transport:
        route = None if tenant_id is None else self._graph_route(tenant_id)
        if route is None:
            log.info("email goes through SMTP", extra={"tenant": tenant_id})
            return self.fallback
        if route not in self._by_tenant:
            self._by_tenant[route] = self._graph_transport(*route)
        return self._by_tenant[route]

    def _graph_route(self, tenant_id: int) -> tuple[str, str] | None:
        """Return the tenant's directory id and sender mailbox, or None."""
        with self.factory() as session:
            sender = session.get(TenantGraphSender, tenant_id)
            directory_id = session.scalar(
                select(MicrosoftConnection.directory_id).where(
                    MicrosoftConnection.tenant_id == tenant_id,
                    MicrosoftConnection.kind == "tenant",
                    MicrosoftConnection.state == "active",
                    MicrosoftConnection.directory_id != "",
                )
            )
        if sender is None or not sender.mailbox or directory_id is None:
            return None
        return directory_id, sender.mailbox

    def _graph_transport(self, directory_id: str, mailbox: str) -> GraphTransport:
        # Imported here: the provider package pulls in msal, which only the
        # Graph path needs.
        from calendar_sync.providers.microsoft.auth import (
            MicrosoftConfig,
            app_tokens,
        )

        settings = self.settings
        config = MicrosoftConfig(
            client_id=settings.ms_client_id,
            client_secret=settings.ms_client_secret,
            authority_host=settings.ms_authority_host,
            graph_url=settings.ms_graph_url,
            ca_bundle=settings.ms_ca_bundle,
            timeout=settings.ms_timeout,
        )
        tokens = app_tokens(config, directory_id)
        base_url = f"{settings.ms_graph_url.rstrip('/')}/v1.0"
        return GraphTransport(
            mailbox, tokens.access_token, client=self._client, base_url=base_url
        )
