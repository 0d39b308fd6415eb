"""Hand composed messages to a transport: SMTP, or Microsoft Graph `sendMail`.

Every transport raises TemporarySendError for failures worth retrying and
PermanentSendError for the rest, so the outbox can decide without knowing
the transport.
"""

from __future__ import annotations

import base64
import logging
import smtplib
import ssl
from collections.abc import Callable, Sequence
from typing import Protocol

import httpx

from addon.errors import SettingsError
from addon.mail.errors import PermanentSendError, TemporarySendError
from addon.settings import Settings

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

    Graph takes the whole MIME message base64-encoded in a text/plain body,
    so the message leaves exactly as composed. `access_token` returns a
    current OAuth token with the Mail.Send permission for the tenant.
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
            "Authorization": f"Bearer {self.access_token()}",
            "Content-Type": "text/plain",
        }
        try:
            response = self.client.post(
                url, content=base64.b64encode(raw), headers=headers
            )
        except httpx.TransportError as error:
            raise TemporarySendError(
                f"Graph sendMail could not be reached ({type(error).__name__}); "
                "the send is retried."
            ) from None
        _check_graph(response)


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


def transport_from_settings(
    settings: Settings, graph_token: Callable[[], str] | None = None
) -> Transport:
    """Return the transport that `settings.mail_transport` names."""
    if settings.mail_transport == "smtp":
        return SmtpTransport(
            settings.smtp_host,
            settings.smtp_port,
            user=settings.smtp_user,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout,
        )
    if settings.mail_transport == "graph" and graph_token is not None:
        return GraphTransport(settings.sender_address, graph_token)
    raise SettingsError(
        f"TANDEM_MAIL_TRANSPORT={settings.mail_transport!r} cannot be used here; "
        "set it to smtp, or to graph where the tenant granted Mail.Send and a "
        "token source is configured."
    )
