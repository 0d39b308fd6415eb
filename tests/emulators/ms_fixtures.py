"""Fixtures for tests that drive the Microsoft emulator with real msal and O365.

Import the `*_fixture` functions; pytest finds them by
the `name=` they declare.
`ms_server` runs one emulator per test module; `ms_tenant` resets it and
creates a tenant, an app registration and two users for each test.
`ms_listener` is a plain HTTP server on 127.0.0.1 that answers Graph's
validation handshake and records the notifications it receives.
"""

import json
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import msal
import pytest
import requests
from O365 import Account
from O365.connection import MSGraphProtocol
from O365.utils.token import MemoryTokenBackend

from emulators.microsoft import EmulatorServer

GRAPH_DEFAULT_SCOPE = "https://graph.microsoft.com/.default"
REDIRECT_URI = "https://127.0.0.1/tandem/callback"


@dataclass
class TenantSetup:
    """One tenant with an app registration and two users on a running emulator."""

    server: EmulatorServer
    tenant_id: str
    client_id: str
    client_secret: str
    organizer: str
    attendee: str

    def control(self, method: str, path: str, body: object = None) -> requests.Response:
        """Call the control API and fail the test on an error status."""
        response = requests.request(
            method,
            f"{self.server.base_url}/_emulator{path}",
            json=body,
            verify=str(self.server.ca_path),
            timeout=10,
        )
        assert response.status_code < 400, response.text
        return response

    def msal_app(self, tenant: str | None = None) -> msal.ConfidentialClientApplication:
        """Return msal's confidential client aimed at the emulator.

        instance_discovery=False keeps msal from asking
        login.microsoftonline.com whether 127.0.0.1 is a known authority.
        """
        return msal.ConfidentialClientApplication(
            self.client_id,
            client_credential=self.client_secret,
            authority=self.server.authority(tenant or self.tenant_id),
            verify=str(self.server.ca_path),
            instance_discovery=False,
        )

    def app_token(self) -> str:
        """Return an application token from the client credentials flow."""
        result = self.msal_app().acquire_token_for_client(scopes=[GRAPH_DEFAULT_SCOPE])
        assert "access_token" in result, result
        return result["access_token"]

    def graph(
        self, method: str, path: str, token: str, **kwargs: object
    ) -> requests.Response:
        """Send a Graph request with a bearer token."""
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}  # type: ignore[dict-item]
        return requests.request(
            method,
            f"{self.server.base_url}/v1.0{path}",
            headers=headers,
            verify=str(self.server.ca_path),
            timeout=15,
            **kwargs,  # type: ignore[arg-type]
        )

    def requests_log(self) -> list[dict]:
        """Return the emulator's request log."""
        return self.control("GET", "/requests").json()["value"]

    def o365_account(self, mailbox: str) -> Account:
        """Return an O365 Account on the credentials flow, aimed at the emulator.

        O365 2.1 builds Graph URLs from the protocol's service_url, so that is
        set to the emulator. It also builds its own msal client with a
        login.microsoftonline.com authority, so that client is replaced.
        """
        protocol = MSGraphProtocol(default_resource=mailbox)
        protocol.protocol_url = self.server.graph_url
        protocol.service_url = f"{self.server.graph_url}v1.0/"
        account = Account(
            (self.client_id, self.client_secret),
            auth_flow_type="credentials",
            tenant_id=self.tenant_id,
            protocol=protocol,
            token_backend=MemoryTokenBackend(),
            verify_ssl=str(self.server.ca_path),
            requests_delay=0,
            request_retries=3,
            timeout=15,
        )
        account.con._msal_client = msal.ConfidentialClientApplication(
            self.client_id,
            client_credential=self.client_secret,
            authority=self.server.authority(self.tenant_id),
            token_cache=account.con.token_backend,
            verify=str(self.server.ca_path),
            instance_discovery=False,
        )
        assert account.authenticate(requested_scopes=[GRAPH_DEFAULT_SCOPE])
        return account


@pytest.fixture(scope="module", name="ms_server")
def ms_server_fixture() -> Iterator[EmulatorServer]:
    """Run one emulator for the test module."""
    server = EmulatorServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(name="ms_tenant")
def ms_tenant_fixture(
    ms_server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> TenantSetup:
    """Reset the emulator and create a consented tenant, an app and two users."""
    # requests lets this variable override the `verify` msal and O365 pass.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ms_server.bundle_path))
    verify = str(ms_server.ca_path)
    root = f"{ms_server.base_url}/_emulator"

    def post(path: str, body: dict) -> dict:
        response = requests.post(root + path, json=body, verify=verify, timeout=10)
        assert response.status_code < 400, response.text
        return response.json() if response.content else {}

    post("/reset", {})
    tenant = post("/tenants", {"domain": "contoso.example"})
    application = post("/applications", {"redirect_uris": [REDIRECT_URI]})
    organizer = post(
        f"/tenants/{tenant['id']}/users",
        {
            "display_name": "Mila Jansen",
            "mail": "mila@contoso.example",
            "time_zone": "W. Europe Standard Time",
        },
    )
    attendee = post(
        f"/tenants/{tenant['id']}/users",
        {"display_name": "Ravi Patel", "mail": "ravi@contoso.example"},
    )
    post(
        f"/tenants/{tenant['id']}/admin-consent",
        {"client_id": application["client_id"]},
    )
    return TenantSetup(
        server=ms_server,
        tenant_id=tenant["id"],
        client_id=application["client_id"],
        client_secret=application["client_secret"],
        organizer=organizer["id"],
        attendee=attendee["id"],
    )


class Listener:
    """Notification endpoint: echoes validation tokens, records notifications."""

    def __init__(self) -> None:
        self.notifications: queue.Queue[dict] = queue.Queue()
        self.validations: list[str] = []
        self.echo_validation = True
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler_class())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        """Return a request handler bound to this listener."""
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                token = parse_qs(urlsplit(self.path).query).get("validationToken")
                if token:
                    listener.validations.append(token[0])
                    reply = token[0] if listener.echo_validation else "wrong"
                    self.reply(200, reply.encode(), "text/plain")
                    return
                for item in json.loads(body)["value"]:
                    listener.notifications.put(item)
                self.reply(202, b"", "text/plain")

            def reply(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        return Handler

    def next_notification(self, timeout: float = 5.0) -> dict:
        """Return the next notification, failing the test after `timeout` seconds."""
        try:
            return self.notifications.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"No notification arrived within {timeout} seconds.")


@pytest.fixture(name="ms_listener")
def ms_listener_fixture() -> Iterator[Listener]:
    """Run a notification listener on 127.0.0.1 for one test."""
    listener = Listener()
    listener.thread.start()
    yield listener
    listener.server.shutdown()
    listener.server.server_close()
