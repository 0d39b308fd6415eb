"""The add-on endpoints on a real uvicorn server over loopback.

Google's ID tokens are signed here with a key of the test's own, whose
certificate a second loopback server publishes in the format of Google's
v1 certs endpoint (key id to PEM certificate).
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt, jwt

from addon import db
from addon.service import SyncService, get_or_create_calendar, get_or_create_tenant
from addon.settings import Settings
from addon.web.addon_endpoints import google_event_keys
from addon.web.app import create_app
from calendar_sync.providers.ical import ICalendarProvider

OFFICE = Path(__file__).parents[2] / "functional" / "data" / "office.ics"
API_TOKEN = "a" * 40
SERVICE_ACCOUNT = "service-123@gcp-sa-gsuiteaddons.iam.gserviceaccount.com"
KEY_ID = "test-key"
BRAM = "pair-anna-bram@office.test"
TEAM = "team-weekly@office.test"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _certificate_pem(key: rsa.RSAPrivateKey) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test signer")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def _signer(key: rsa.RSAPrivateKey) -> crypt.RSASigner:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return crypt.RSASigner.from_string(pem, key_id=KEY_ID)


@pytest.fixture(scope="module")
def google_key() -> rsa.RSAPrivateKey:
    return _private_key()


@pytest.fixture(scope="module")
def certs_url(google_key: rsa.RSAPrivateKey) -> Iterator[str]:
    """A loopback server that publishes the certificate of `google_key`."""
    body = json.dumps({KEY_ID: _certificate_pem(google_key)}).encode()

    class Certs(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Certs)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/oauth2/v1/certs"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def tenant_name(database_url: str) -> str:
    """A tenant with the office calendar synced into it."""
    name = f"addons-{uuid.uuid4().hex[:8]}"
    settings = Settings(tenant=name, domains=["office.test"])
    engine = db.make_engine(database_url)
    with db.transaction(db.session_factory(engine)) as session:
        tenant = get_or_create_tenant(session, settings)
        calendar = get_or_create_calendar(session, tenant, "ics", "office")
        now = datetime(2027, 1, 1, 9, tzinfo=ZoneInfo("Europe/Amsterdam"))
        SyncService(session, tenant, settings, now).sync(
            ICalendarProvider(OFFICE), calendar
        )
    engine.dispose()
    return name


@pytest.fixture
def base_url(database_url: str, tenant_name: str, certs_url: str) -> Iterator[str]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(
        database_url=database_url,
        tenant=tenant_name,
        api_token=API_TOKEN,
        public_url=base,
        addon_google_service_account=SERVICE_ACCOUNT,
        addon_google_certs_url=certs_url,
        addon_office_js_url="https://office.invalid/lib/office.js",
    )
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start within 20 seconds")
        time.sleep(0.05)
    yield base
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        yield client


def _token(key: rsa.RSAPrivateKey, audience: str, **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "iss": "https://accounts.google.com",
        "aud": audience,
        "sub": "1234567890",
        "email": SERVICE_ACCOUNT,
        "email_verified": True,
        "iat": now,
        "exp": now + 300,
        **claims,
    }
    return jwt.encode(_signer(key), payload).decode()


def _event(**calendar: str) -> dict[str, Any]:
    return {
        "commonEventObject": {"hostApp": "CALENDAR", "platform": "WEB"},
        "calendar": {"calendarId": "anna@office.test", **calendar},
    }


def _open_event(
    http: httpx.Client, token: str, event: dict[str, Any]
) -> httpx.Response:
    return http.post(
        "/addons/google/event-open",
        json=event,
        headers={"Authorization": f"Bearer {token}"},
    )


def _card(response: httpx.Response) -> dict[str, Any]:
    return response.json()["action"]["navigations"][0]["pushCard"]


def _texts(card: dict[str, Any]) -> list[str]:
    return [
        widget["textParagraph"]["text"]
        for section in card["sections"]
        for widget in section["widgets"]
        if "textParagraph" in widget
    ]


def _series_id(http: httpx.Client, uid: str) -> int:
    response = http.get(
        "/api/addons/series",
        params={"uid": uid},
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    )
    return int(response.json()["id"])


# -- event keys ------------------------------------------------------------------


def test_event_keys_instance_prefix() -> None:
    keys = google_event_keys({"id": "abc123_20270104T080000Z"})

    assert keys == ["abc123_20270104T080000Z", "abc123"]


def test_event_keys_series_first() -> None:
    keys = google_event_keys(
        {"recurringEventId": "abc123", "id": "abc123_20270104", "iCalUID": "u@x"}
    )

    assert keys == ["abc123", "abc123_20270104", "u@x"]


def test_event_keys_ignores_non_strings() -> None:
    assert google_event_keys({"id": 7, "recurringEventId": None}) == []


# -- Google cards ----------------------------------------------------------------


def test_card_for_one_on_one(
    http: httpx.Client, base_url: str, google_key: rsa.RSAPrivateKey
) -> None:
    token = _token(google_key, f"{base_url}/addons/google/event-open")
    series_id = _series_id(http, BRAM)

    response = _open_event(http, token, _event(id="x1", iCalUID=BRAM))

    assert response.status_code == 200
    card = _card(response)
    assert card["header"]["title"] == "1:1 Anna / Bram"
    assert card["header"]["subtitle"] == "anna@office.test & bram@office.test"
    headers = [section.get("header") for section in card["sections"]]
    assert "Personal" in headers
    assert "Current role" in headers
    assert "Growth & development" in headers
    button = card["sections"][-1]["widgets"][1]["buttonList"]["buttons"][0]
    assert button["onClick"]["openLink"]["url"] == f"{base_url}/series/{series_id}"


def test_card_hidden_from_outsider(
    http: httpx.Client, base_url: str, google_key: rsa.RSAPrivateKey
) -> None:
    token = _token(google_key, f"{base_url}/addons/google/event-open")
    # Xavi opens an event of his own that carries the ids of Anna and Bram's
    # 1:1, as an imported copy can.
    event = _event(id="x1", iCalUID=BRAM, calendarId="xavi@office.test")

    card = _card(_open_event(http, token, event))

    assert card["header"]["subtitle"] == "Tandem has not seen this event"


def test_card_needs_viewer_calendar(
    http: httpx.Client, base_url: str, google_key: rsa.RSAPrivateKey
) -> None:
    token = _token(google_key, f"{base_url}/addons/google/event-open")
    event = _event(id="x1", iCalUID=BRAM)
    del event["calendar"]["calendarId"]

    card = _card(_open_event(http, token, event))

    assert card["header"]["subtitle"] == "Tandem has not seen this event"


def test_card_shows_topic_escaped(
    http: httpx.Client, base_url: str, google_key: rsa.RSAPrivateKey
) -> None:
    series_id = _series_id(http, BRAM)
    http.post(
        f"/api/series/{series_id}/topics",
        json={"text": "Budget <b>2027</b> & plans", "section": "growth"},
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    )
    token = _token(google_key, f"{base_url}/addons/google/event-open")

    card = _card(_open_event(http, token, _event(id="x1", iCalUID=BRAM)))

    growth = next(
        s for s in card["sections"] if s.get("header") == "Growth & development"
    )
    text = growth["widgets"][0]["textParagraph"]["text"]
    assert text == "• Budget &lt;b&gt;2027&lt;/b&gt; &amp; plans"


def test_card_for_group_meeting(
    http: httpx.Client, base_url: str, google_key: rsa.RSAPrivateKey
) -> None:
    token = _token(google_key, f"{base_url}/addons/google/event-open")

    card = _card(_open_event(http, token, _event(recurringEventId=TEAM, id="y")))

    assert card["header"]["title"] == "Teamoverleg"
    assert card["header"]["subtitle"] == "Not a 1:1"
    assert card["sections"][0]["header"] == "Why Tandem does not treat this as a 1:1"
    assert _texts(card)[0].startswith("• ")


def test_card_for_unknown_event(
    http: httpx.Client, base_url: str, google_key: rsa.RSAPrivateKey
) -> None:
    token = _token(google_key, f"{base_url}/addons/google/event-open")

    card = _card(_open_event(http, token, _event(id="nothing-like-it")))

    assert card["header"]["subtitle"] == "Tandem has not seen this event"


def test_card_without_calendar_object(
    http: httpx.Client, base_url: str, google_key: rsa.RSAPrivateKey
) -> None:
    token = _token(google_key, f"{base_url}/addons/google/event-open")

    response = _open_event(http, token, {"commonEventObject": {}})

    assert response.status_code == 200
    assert _card(response)["header"]["subtitle"] == "Tandem has not seen this event"


def test_homepage_card(
    http: httpx.Client, base_url: str, google_key: rsa.RSAPrivateKey
) -> None:
    token = _token(google_key, f"{base_url}/addons/google/homepage")

    response = http.post(
        "/addons/google/homepage",
        json={"commonEventObject": {"hostApp": "CALENDAR"}},
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 200
    assert _card(response)["header"]["title"] == "Tandem"


# -- Google ID token -------------------------------------------------------------


def test_token_missing(http: httpx.Client) -> None:
    response = http.post("/addons/google/event-open", json=_event(iCalUID=BRAM))

    assert response.status_code == 401
    assert "no bearer ID token" in response.json()["detail"]


def test_token_forged_signature(http: httpx.Client, base_url: str) -> None:
    forged = _token(_private_key(), f"{base_url}/addons/google/event-open")

    response = _open_event(http, forged, _event(iCalUID=BRAM))

    assert response.status_code == 401
    assert "invalid" in response.json()["detail"]


def test_token_other_endpoint(
    http: httpx.Client, base_url: str, google_key: rsa.RSAPrivateKey
) -> None:
    token = _token(google_key, f"{base_url}/addons/google/homepage")

    response = _open_event(http, token, _event(iCalUID=BRAM))

    assert response.status_code == 401


def test_token_other_account(
    http: httpx.Client, base_url: str, google_key: rsa.RSAPrivateKey
) -> None:
    token = _token(
        google_key,
        f"{base_url}/addons/google/event-open",
        email="someone@attacker.example",
    )

    response = _open_event(http, token, _event(iCalUID=BRAM))

    assert response.status_code == 401
    assert "someone@attacker.example" in response.json()["detail"]


def test_token_unverified_email(
    http: httpx.Client, base_url: str, google_key: rsa.RSAPrivateKey
) -> None:
    token = _token(
        google_key, f"{base_url}/addons/google/event-open", email_verified=False
    )

    response = _open_event(http, token, _event(iCalUID=BRAM))

    assert response.status_code == 401


def test_token_expired(
    http: httpx.Client, base_url: str, google_key: rsa.RSAPrivateKey
) -> None:
    past = int(time.time()) - 3600
    token = _token(
        google_key,
        f"{base_url}/addons/google/event-open",
        iat=past - 300,
        exp=past,
    )

    response = _open_event(http, token, _event(iCalUID=BRAM))

    assert response.status_code == 401


def test_token_wrong_issuer(
    http: httpx.Client, base_url: str, google_key: rsa.RSAPrivateKey
) -> None:
    token = _token(
        google_key, f"{base_url}/addons/google/event-open", iss="https://evil.test"
    )

    response = _open_event(http, token, _event(iCalUID=BRAM))

    assert response.status_code == 401


def test_token_not_a_jwt(http: httpx.Client) -> None:
    response = _open_event(http, "not-a-token", _event(iCalUID=BRAM))

    assert response.status_code == 401


# -- Outlook and shared files ----------------------------------------------------


def test_taskpane_loads_office_js(http: httpx.Client, base_url: str) -> None:
    response = http.get("/addons/outlook/taskpane")

    assert response.status_code == 200
    assert '<script src="https://office.invalid/lib/office.js">' in response.text
    assert f'const base = "{base_url}";' in response.text


def test_lookup_finds_one_on_one(http: httpx.Client) -> None:
    response = http.get(
        "/api/addons/series",
        params=[("uid", "unknown"), ("uid", BRAM)],
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    )

    assert response.status_code == 200
    assert response.json()["summary"] == "1:1 Anna / Bram"
    assert response.json()["is_one_on_one"] is True


def test_lookup_unknown_uid(http: httpx.Client) -> None:
    response = http.get(
        "/api/addons/series",
        params={"uid": "unknown"},
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    )

    assert response.status_code == 404


def test_lookup_needs_api_token(http: httpx.Client) -> None:
    response = http.get("/api/addons/series", params={"uid": BRAM})

    assert response.status_code == 401


@pytest.mark.parametrize("size", [16, 32, 64, 80, 128])
def test_icon_is_png_of_size(http: httpx.Client, size: int) -> None:
    response = http.get(f"/addons/icons/{size}.png")

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", response.content[16:24])
    assert (width, height) == (size, size)
    idat = response.content[33 + 8 : -12]
    assert len(zlib.decompress(idat)) == size * (1 + 3 * size)


def test_icon_unknown_size(http: httpx.Client) -> None:
    response = http.get("/addons/icons/17.png")

    assert response.status_code == 404
