"""Sending through Graph sendMail on the Microsoft emulator, over HTTPS.

The tenant's tokens come from the client credentials flow through msal, as
in production; only the hosts point at the emulator on 127.0.0.1.
"""

from __future__ import annotations

import base64
import email
import email.policy
import uuid
from datetime import UTC, datetime

import pytest
import requests
from mail_fixtures import SinkHandler
from ms_fixtures import TenantSetup, ms_server_fixture, ms_tenant_fixture  # noqa: F401
from sqlalchemy.orm import Session, sessionmaker

from addon import db, models
from addon.mail.errors import PermanentSendError
from addon.mail.models import TenantGraphSender
from addon.mail.outbox import deliver
from addon.mail.sending import TenantGraphTransports, open_transport, with_from
from addon.models import MailStatus, OutboundEmail
from addon.settings import Settings

NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
MILA = "mila@contoso.example"


def _raw(to: str = "ravi@contoso.example") -> bytes:
    return (
        f"From: Tandem <tandem@tandem.test>\r\nTo: {to}\r\n"
        "Subject: Agenda for your 1:1\r\n"
        "Message-ID: <agenda-1@tandem.test>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Personal\r\n- the move\r\n"
    ).encode()


@pytest.fixture
def graph_settings(settings: Settings, ms_tenant: TenantSetup) -> Settings:
    server = ms_tenant.server
    return settings.model_copy(
        update={
            "mail_transport": "graph",
            "ms_client_id": ms_tenant.client_id,
            "ms_client_secret": ms_tenant.client_secret,
            "ms_authority_host": server.base_url,
            "ms_graph_url": server.base_url,
            "ms_ca_bundle": str(server.ca_path),
        }
    )


def _tenant(
    factory: sessionmaker[Session],
    directory_id: str,
    mailbox: str | None = MILA,
    state: str = "active",
) -> int:
    with db.transaction(factory) as session:
        tenant = models.Tenant(name=f"graph-{uuid.uuid4().hex[:8]}")
        session.add(tenant)
        session.flush()
        session.add(
            models.MicrosoftConnection(
                tenant_id=tenant.id,
                kind="tenant",
                directory_id=directory_id,
                state=state,
            )
        )
        if mailbox is not None:
            session.add(TenantGraphSender(tenant_id=tenant.id, mailbox=mailbox))
        return tenant.id


def _queue(factory: sessionmaker[Session], tenant_id: int, raw: bytes) -> int:
    with db.transaction(factory) as session:
        row = OutboundEmail(
            tenant_id=tenant_id,
            kind="agenda",
            dedupe_key=f"graph-{uuid.uuid4().hex}",
            recipient="ravi@contoso.example",
            message_id="<agenda-1@tandem.test>",
            raw=raw,
        )
        session.add(row)
        session.flush()
        return row.id


def _sent(setup: TenantSetup) -> list[dict]:
    return setup.control("GET", "/sent-mail").json()["value"]


def test_graph_delivers_through_emulator(
    factory: sessionmaker[Session], graph_settings: Settings, ms_tenant: TenantSetup
) -> None:
    tenant_id = _tenant(factory, ms_tenant.tenant_id)
    outbound_id = _queue(factory, tenant_id, _raw())

    with open_transport(graph_settings, factory) as transport:
        status = deliver(factory, outbound_id, transport, "tandem@tandem.test", NOW)

    assert status is MailStatus.SENT
    [sent] = _sent(ms_tenant)
    assert sent["mailbox"] == MILA
    assert sent["form"] == "mime"
    assert sent["recipients"] == ["ravi@contoso.example"]
    assert sent["subject"] == "Agenda for your 1:1"
    assert sent["headers"]["From"] == f"Tandem <{MILA}>"
    assert sent["headers"]["Message-ID"] == "<agenda-1@tandem.test>"
    assert "- the move" in sent["body"]


def test_graph_falls_back_to_smtp(
    factory: sessionmaker[Session],
    graph_settings: Settings,
    ms_tenant: TenantSetup,
    sink: tuple[SinkHandler, int],
) -> None:
    tenant_id = _tenant(factory, ms_tenant.tenant_id, mailbox=None)
    outbound_id = _queue(factory, tenant_id, _raw())

    with open_transport(graph_settings, factory) as transport:
        status = deliver(factory, outbound_id, transport, "tandem@tandem.test", NOW)

    assert status is MailStatus.SENT
    assert _sent(ms_tenant) == []
    [received] = sink[0].received
    assert received.recipients == ["ravi@contoso.example"]


def test_graph_needs_active_consent(
    factory: sessionmaker[Session], graph_settings: Settings, ms_tenant: TenantSetup
) -> None:
    tenant_id = _tenant(factory, ms_tenant.tenant_id, state="needs-consent")
    transports = TenantGraphTransports(graph_settings, factory)

    picked = transports(tenant_id)
    transports.close()

    assert picked is transports.fallback


def test_graph_withdrawn_consent_is_permanent(
    factory: sessionmaker[Session], graph_settings: Settings, ms_tenant: TenantSetup
) -> None:
    ms_tenant.control(
        "DELETE", f"/tenants/{ms_tenant.tenant_id}/admin-consent/{ms_tenant.client_id}"
    )
    # The emulator then refuses client credentials tokens for this app.
    tenant_id = _tenant(factory, ms_tenant.tenant_id)
    transports = TenantGraphTransports(graph_settings, factory)

    with pytest.raises(PermanentSendError) as raised:
        transports(tenant_id).send(_raw(), "tandem@tandem.test", ["r@x.example"])
    transports.close()

    assert MILA in str(raised.value)
    assert _sent(ms_tenant) == []


def test_with_from_keeps_rest() -> None:
    rewritten = with_from(_raw(), MILA)

    message = email.message_from_bytes(rewritten, policy=email.policy.default)
    assert message["From"] == f"Tandem <{MILA}>"
    assert message["Message-ID"] == "<agenda-1@tandem.test>"
    assert message.get_content().strip().endswith("- the move")


def _post(setup: TenantSetup, path: str, **kwargs: object) -> requests.Response:
    return setup.graph("POST", path, setup.app_token(), **kwargs)


def test_emulator_send_mail_json(ms_tenant: TenantSetup) -> None:
    message = {
        "subject": "Agenda",
        "body": {"contentType": "Text", "content": "Personal: the move"},
        "toRecipients": [{"emailAddress": {"address": "ravi@contoso.example"}}],
    }

    response = _post(
        ms_tenant,
        f"/users/{MILA}/sendMail",
        json={"message": message, "saveToSentItems": False},
    )

    assert response.status_code == 202
    assert response.content == b""
    [sent] = _sent(ms_tenant)
    assert sent["form"] == "json"
    assert sent["body"] == "Personal: the move"
    assert sent["saveToSentItems"] is False


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not base64 at all!", "ErrorMimeContentInvalidBase64String"),
        (
            base64.b64encode(b"Subject: hi\r\n\r\nno recipient\r\n"),
            "ErrorInvalidRecipients",
        ),
    ],
)
def test_emulator_send_mail_bad_mime(
    ms_tenant: TenantSetup, body: bytes, code: str
) -> None:
    response = _post(
        ms_tenant,
        f"/users/{MILA}/sendMail",
        data=body,
        headers={"Content-Type": "text/plain"},
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert _sent(ms_tenant) == []


def test_emulator_send_mail_other_tenant(ms_tenant: TenantSetup) -> None:
    response = _post(
        ms_tenant,
        "/users/someone@fabrikam.example/sendMail",
        data=base64.b64encode(_raw()),
        headers={"Content-Type": "text/plain"},
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "ErrorInvalidUser"


def test_emulator_send_mail_needs_token(ms_tenant: TenantSetup) -> None:
    response = requests.post(
        f"{ms_tenant.server.base_url}/v1.0/users/{MILA}/sendMail",
        data=base64.b64encode(_raw()),
        headers={"Content-Type": "text/plain"},
        verify=str(ms_tenant.server.ca_path),
        timeout=10,
    )

    assert response.status_code == 401
