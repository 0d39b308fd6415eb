"""Count the Calendar API requests of a first and an incremental Google sync.

Usage: python benchmarks/google_sync.py [--people N] [--series N]
       [--changed PERCENT]

The Google emulator runs as a separate process (`python -m emulators.google`)
on a free port of 127.0.0.1. The script seeds one domain through the
emulator's control API: N people, each the organizer of `--series` weekly
1:1s, the k-th with the person k+1 places further on, so every calendar also
contains that many invites as an attendee. A service account with domain-wide
delegation acts as each person. Every calendar is synced in this process
with `SyncService` and the real google-api-python-client and
`GoogleCalendarProvider`, on a new SQLite database. Then the organizer moves
`--changed` percent of the series by one hour in the web UI's way (one
events.patch each), and every calendar is synced again.

Requests are counted from the emulator's request log, Calendar API methods
only (token requests are left out). The minimum of the incremental sync is
one events.list per calendar plus one PATCH per changed agenda. Wall time is
per phase; peak memory is this process's maximum resident set size (the
emulator's is not included).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from addon import db
from addon.service import SyncService, get_or_create_calendar, get_or_create_tenant
from addon.settings import Settings
from calendar_sync.providers.google import auth
from calendar_sync.providers.google.client import GoogleClient, GoogleConfig, Pacer
from calendar_sync.providers.google.provider import GoogleCalendarProvider

NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
DOMAIN = "bench.test"
ZONE = "Europe/Amsterdam"


class Emulator:
    """The emulator as a child process, and a client of its control API."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "emulators.google", "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.http = httpx.Client(base_url=self.url, timeout=60, trust_env=False)
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.http.get("_emulator/state")
                return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError(f"The emulator did not start on port {self.port} in 30 s.")

    def control(self, method: str, path: str, body: object = None) -> Any:
        response = self.http.request(method, f"_emulator{path}", json=body)
        response.raise_for_status()
        return response.json() if response.content else None

    def stop(self) -> None:
        # uvicorn shuts down cleanly on SIGINT, as after Ctrl-C.
        self.http.close()
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)


def weekly(organizer: str, attendee: str, index: int) -> dict[str, Any]:
    first = (NOW + timedelta(days=1 + index % 5)).astimezone(UTC)
    start = first.replace(hour=8 + index % 8, minute=0, tzinfo=None)
    end = start + timedelta(minutes=30)
    return {
        "summary": f"1:1 number {index}",
        "description": "<p>Our notes live here.</p>",
        "start": {"dateTime": start.isoformat(), "timeZone": ZONE},
        "end": {"dateTime": end.isoformat(), "timeZone": ZONE},
        "recurrence": ["RRULE:FREQ=WEEKLY"],
        "attendees": [
            {"email": organizer, "responseStatus": "accepted"},
            {"email": attendee, "responseStatus": "accepted"},
        ],
    }


def set_up(
    emulator: Emulator, people: int, series: int
) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """Create the people, their series and the delegation; return key and series."""
    addresses = [f"person{number}@{DOMAIN}" for number in range(people)]
    for address in addresses:
        emulator.control("POST", "/users", {"email": address, "time_zone": ZONE})
    key = emulator.control(
        "POST",
        "/service-accounts",
        {
            "client_email": "bench@bench.iam.gserviceaccount.com",
            "delegated_scopes": {DOMAIN: [auth.CALENDAR_SCOPE]},
        },
    )["key_file"]
    seeded = []
    for number, address in enumerate(addresses):
        for index in range(series):
            attendee = addresses[(number + 1 + index) % people]
            body = weekly(address, attendee, index)
            created = emulator.control("POST", f"/calendars/{address}/events", body)
            seeded.append((address, created))
    return key, seeded


def sync_all(
    emulator: Emulator, key: dict[str, Any], addresses: list[str], database_url: str
) -> dict[str, float]:
    """Sync every calendar once; return request counts and the wall time."""
    config = GoogleConfig(
        api_endpoint=emulator.url, token_uri=emulator.url + "token", timeout=60
    )
    settings = Settings(tenant="bench", domains=[DOMAIN])
    sessions = db.session_factory(db.make_engine(database_url))
    emulator.control("DELETE", "/requests")
    started = time.perf_counter()
    written = 0
    for address in addresses:
        credentials = auth.delegated_credentials(config, key, address)
        client = GoogleClient(config, credentials, address, pacer=Pacer(0))
        provider = GoogleCalendarProvider(
            client, default_timezone=ZONE, now=lambda: NOW
        )
        with db.transaction(sessions) as session:
            tenant = get_or_create_tenant(session, settings)
            calendar = get_or_create_calendar(session, tenant, "google", address)
            report = SyncService(session, tenant, settings, NOW).sync(
                provider, calendar
            )
            written += report.written
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "written": written, **_counts(emulator)}


def _counts(emulator: Emulator) -> dict[str, Any]:
    log = emulator.control("GET", "/requests")
    methods = Counter(
        row["method"] for row in log if row["method"].startswith("calendar.")
    )
    return {"requests": sum(methods.values()), "by_method": dict(methods)}


def move_series(
    emulator: Emulator, seeded: list[tuple[str, dict[str, Any]]], percent: float
) -> int:
    """Move `percent` of the series one hour later, as their organizer."""
    count = max(1, round(len(seeded) * percent / 100))
    chosen = random.Random(7).sample(seeded, count)
    for address, event in chosen:
        token = emulator.control(
            "POST", "/tokens", {"user": address, "scopes": [auth.CALENDAR_SCOPE]}
        )["access_token"]
        body = {
            key: {
                "dateTime": _later(event[key]["dateTime"]),
                "timeZone": event[key]["timeZone"],
            }
            for key in ("start", "end")
        }
        emulator.http.patch(
            f"calendars/{address}/events/{event['id']}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        ).raise_for_status()
    return count


def _later(text: str) -> str:
    return (datetime.fromisoformat(text) + timedelta(hours=1)).isoformat()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100, help="people (calendars)")
    parser.add_argument("--series", type=int, default=20, help="1:1s each organizes")
    parser.add_argument(
        "--changed", type=float, default=1.0, help="percent of series moved"
    )
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        emulator = Emulator()
        try:
            database_url = f"sqlite:///{folder}/bench.sqlite3"
            db.migrate(db.make_engine(database_url))
            seeding = time.perf_counter()
            key, seeded = set_up(emulator, arguments.people, arguments.series)
            seeding = time.perf_counter() - seeding
            addresses = sorted({address for address, _ in seeded})
            first = sync_all(emulator, key, addresses, database_url)
            changed = move_series(emulator, seeded, arguments.changed)
            incremental = sync_all(emulator, key, addresses, database_url)
        finally:
            emulator.stop()

    minimum = len(addresses) + incremental["written"]
    people = len(addresses)
    result = {
        "people": people,
        "series": len(seeded),
        "seed_seconds": round(seeding, 2),
        "changed_series": changed,
        "first_sync": first,
        "first_per_person": round(first["requests"] / people, 3),
        "incremental_sync": incremental,
        "incremental_per_person": round(incremental["requests"] / people, 3),
        "incremental_minimum": minimum,
        "incremental_ratio": round(incremental["requests"] / minimum, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
