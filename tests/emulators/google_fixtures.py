"""Fixtures for the Google emulator tests: one server per module, reset per test."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from typing import Any

import google_helpers as helpers
import httpx
import pytest
from googleapiclient.discovery import Resource

from emulators.google import EmulatorServer


@pytest.fixture(name="emulator", scope="module")
def emulator_fixture() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture(name="control")
def control_fixture(emulator: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.url, timeout=10, trust_env=False) as client:
        client.post("/_emulator/reset").raise_for_status()
        client.post(
            "/_emulator/oauth-clients",
            json={
                "client_id": helpers.CLIENT_ID,
                "client_secret": helpers.CLIENT_SECRET,
                "redirect_uris": [helpers.REDIRECT_URI],
            },
        ).raise_for_status()
        yield client
        violations = client.get("/_emulator/schema-violations").json()
        assert violations == []


@pytest.fixture(name="calendar_for")
def calendar_for_fixture(
    emulator: EmulatorServer, control: httpx.Client
) -> Callable[..., Resource]:
    """Return a factory: a Calendar client authorised as a new or existing user."""

    def make(email: str, **user_fields: Any) -> Resource:
        if email not in control.get("/_emulator/state").json()["users"]:
            helpers.add_user(control, email, **user_fields)
        scopes = [helpers.CALENDAR_SCOPE]
        refresh = helpers.refresh_token_for(control, email, scopes)
        credentials = helpers.user_credentials(emulator.url, refresh, scopes)
        return helpers.service("calendar", "v3", credentials, emulator.url)

    return make


class _Recorder(http.server.BaseHTTPRequestHandler):
    received: list[dict[str, str]]

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).received.append(dict(self.headers.items()))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture(name="listener")
def listener_fixture() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A webhook receiver on 127.0.0.1; yields its URL and the headers it got."""
    handler = type("Recorder", (_Recorder,), {"received": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", handler.received
    server.shutdown()
    server.server_close()
