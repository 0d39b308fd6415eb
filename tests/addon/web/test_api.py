"""The HTTP API on a real uvicorn server over loopback, driven with httpx."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from addon import db
from addon.service import SyncService, get_or_create_calendar, get_or_create_tenant
from addon.settings import Settings
from addon.web.app import create_app
from calendar_sync.providers.ical import ICalendarProvider

OFFICE = Path(__file__).parents[2] / "functional" / "data" / "office.ics"
TOKEN = "t" * 40


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def tenant_name(database_url: str) -> str:
    """A tenant with the office calendar synced into it."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    name = f"api-{uuid.uuid4().hex[:8]}"
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
def client(database_url: str, tenant_name: str) -> Iterator[httpx.Client]:
    settings = Settings(database_url=database_url, tenant=tenant_name, api_token=TOKEN)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start within 20 seconds")
        time.sleep(0.05)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10
    ) as http:
        yield http
    server.should_exit = True
    thread.join(timeout=10)


def test_healthz(client: httpx.Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_token_is_required(client: httpx.Client) -> None:
    response = client.get("/api/series", headers={"Authorization": "Bearer wrong"})

    assert response.status_code == 401
    assert "TANDEM_API_TOKEN" in response.json()["detail"]


def test_lists_one_on_ones_with_reasons(client: httpx.Client) -> None:
    response = client.get("/api/series")

    assert response.status_code == 200
    series = {row["uid"]: row for row in response.json()}
    assert set(series) == {
        "pair-anna-bram@office.test",
        "pair-anna-chris@office.test",
        "pair-anna-eva@office.test",
    }
    bram = series["pair-anna-bram@office.test"]
    assert bram["people"] == ["anna@office.test", "bram@office.test"]
    assert bram["next_occurrence"] == "2027-01-04T09:00:00Z"
    assert {reason["rule"] for reason in bram["reasons"]} >= {"two-people", "domains"}


def test_all_series_includes_near_misses(client: httpx.Client) -> None:
    response = client.get("/api/series", params={"all": "true"})

    assert len(response.json()) == 5


def test_other_tenant_sees_nothing(client: httpx.Client) -> None:
    response = client.get("/api/series", headers={"X-Tandem-Tenant": "nobody"})

    assert response.status_code == 404


def test_topic_added_shows_in_agenda(client: httpx.Client) -> None:
    series_id = next(
        row["id"]
        for row in client.get("/api/series").json()
        if "Bram" in row["summary"]
    )

    created = client.post(
        f"/api/series/{series_id}/topics",
        json={"text": "Roosterwensen", "section": "personal"},
    )
    agenda = client.get(f"/api/series/{series_id}/agenda").json()

    assert created.status_code == 201
    assert [topic["text"] for topic in agenda["topics"]["personal"]] == [
        "Roosterwensen"
    ]
    assert "Roosterwensen" in agenda["text"]


def test_empty_topic_is_rejected(client: httpx.Client) -> None:
    series_id = client.get("/api/series").json()[0]["id"]

    response = client.post(f"/api/series/{series_id}/topics", json={"text": ""})

    assert response.status_code == 422


def test_unknown_series_is_404(client: httpx.Client) -> None:
    response = client.get("/api/series/999999/agenda")

    assert response.status_code == 404


def test_agenda_page_renders_html(client: httpx.Client) -> None:
    series_id = client.get("/api/series").json()[0]["id"]

    response = client.get(f"/series/{series_id}")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("<!doctype html>")
    assert "<b>Personal</b>" in response.text
    assert "<title>" in response.text
