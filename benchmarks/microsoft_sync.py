"""Count the Graph requests of a first and an incremental Microsoft 365 sync.

Usage: python benchmarks/microsoft_sync.py [--mailboxes N] [--series N]
       [--changed PERCENT] [--edit subject|move]

The Graph emulator runs as a separate process (`python -m emulators.microsoft`)
on a free port of 127.0.0.1. The script creates one tenant with N mailboxes,
each the organizer of `--series` weekly 1:1s with the next mailbox, and syncs
every mailbox in this process with `SyncService` and the real msal, O365 and
`GraphProvider`, on a new SQLite database, with the stored copy as the worker
passes it. Then it edits `--changed` percent of the series in Graph (one
PATCH of the series master each) and syncs every mailbox again. `--edit
subject` renames the series, which leaves the agenda as it is; `--edit move`
moves the series one hour later, so its next occurrence needs the agenda
written again.

Requests are counted from the emulator's request log: a `$batch` counts as
its envelope plus each request inside it, because Graph throttles every
inner request as one (`in_batch` gives the inner ones). The minimum of the
incremental sync is one delta request per mailbox plus one PATCH per changed
agenda. Wall time is per phase; peak memory is this process's maximum
resident set size (the emulator's is not included).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msal
import requests

from addon import db, event_store
from addon.service import SyncService, get_or_create_calendar, get_or_create_tenant
from addon.settings import Settings
from calendar_sync.providers.microsoft.auth import MicrosoftConfig
from calendar_sync.providers.microsoft.provider import tenant_provider

NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
DOMAIN = "bench.example"


class Emulator:
    """The emulator as a child process, and its control and Graph APIs."""

    def __init__(self, cert_dir: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.base = f"https://127.0.0.1:{self.port}"
        self.ca = str(cert_dir / "ca.pem")
        # One session for the script's own calls, so that seeding a thousand
        # mailboxes does not pay a TLS handshake per event.
        self.http = requests.Session()
        self.http.verify = self.ca
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "emulators.microsoft"),
                *("--port", str(self.port), "--cert-dir", str(cert_dir)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_until_up()
        # requests lets this variable override the `verify` that msal and O365
        # pass, so it must name a bundle that contains the emulator's CA.
        os.environ["REQUESTS_CA_BUNDLE"] = str(cert_dir / "ca-bundle.pem")

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(
                    f"{self.base}/_emulator/requests", verify=self.ca, timeout=2
                )
                return
            except (requests.ConnectionError, OSError):
                time.sleep(0.2)
        raise RuntimeError(f"The emulator did not start on port {self.port} in 30 s.")

    def control(self, method: str, path: str, body: object = None) -> Any:
        response = self.http.request(
            method, f"{self.base}/_emulator{path}", json=body, timeout=30
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def graph(self, method: str, path: str, token: str, body: object) -> Any:
        response = self.http.request(
            method,
            f"{self.base}/v1.0{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        # The emulator's command line serves until Ctrl-C (SIGINT).
        self.http.close()
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)


def weekly(attendee: str, index: int) -> dict[str, Any]:
    first = NOW + timedelta(days=1 + index % 5, hours=index % 8)
    end = first + timedelta(minutes=30)
    return {
        "subject": f"1:1 number {index}",
        "body": {"contentType": "html", "content": "<p>Our notes live here.</p>"},
        "start": {"dateTime": first.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        "end": {"dateTime": end.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        "attendees": [{"emailAddress": {"address": attendee}, "type": "required"}],
        "recurrence": {
            "pattern": {
                "type": "weekly",
                "interval": 1,
                "daysOfWeek": [first.strftime("%A").lower()],
            },
            "range": {"type": "noEnd", "startDate": first.date().isoformat()},
        },
    }


def set_up(emulator: Emulator, mailboxes: int, series: int) -> tuple[dict, list]:
    """Create the tenant, app and mailboxes; return the app and the seeded series."""
    tenant = emulator.control("POST", "/tenants", {"domain": DOMAIN})
    application = emulator.control("POST", "/applications", {"redirect_uris": []})
    emulator.control(
        "POST",
        f"/tenants/{tenant['id']}/admin-consent",
        {"client_id": application["client_id"]},
    )
    addresses = [f"person{number}@{DOMAIN}" for number in range(mailboxes)]
    for address in addresses:
        emulator.control("POST", f"/tenants/{tenant['id']}/users", {"mail": address})
    token = app_token(emulator, tenant["id"], application)
    seeded = []
    for number, address in enumerate(addresses):
        attendee = addresses[(number + 1) % mailboxes]
        for index in range(series):
            created = emulator.graph(
                "POST", f"/users/{address}/events", token, weekly(attendee, index)
            )
            seeded.append((address, created["id"]))
    return {**application, "tenant_id": tenant["id"], "token": token}, seeded


def app_token(emulator: Emulator, tenant_id: str, application: dict) -> str:
    client = msal.ConfidentialClientApplication(
        application["client_id"],
        client_credential=application["client_secret"],
        authority=f"{emulator.base}/{tenant_id}",
        verify=emulator.ca,
        instance_discovery=False,
    )
    result = client.acquire_token_for_client(
        scopes=["https://graph.microsoft.com/.default"]
    )
    return result["access_token"]


def sync_all(
    emulator: Emulator, app: dict, addresses: list[str], database_url: str
) -> dict[str, float]:
    """Sync every mailbox once; return requests by method and the wall time."""
    config = MicrosoftConfig(
        client_id=app["client_id"],
        client_secret=app["client_secret"],
        authority_host=emulator.base,
        graph_url=emulator.base,
        ca_bundle=emulator.ca,
        timeout=30,
        max_retry_wait=60,
    )
    settings = Settings(tenant="bench", domains=[DOMAIN])
    sessions = db.session_factory(db.make_engine(database_url))
    emulator.control("DELETE", "/requests")
    started = time.perf_counter()
    written = 0
    for address in addresses:
        with db.transaction(sessions) as session:
            tenant = get_or_create_tenant(session, settings)
            calendar = get_or_create_calendar(session, tenant, "microsoft", address)
            provider = tenant_provider(
                config,
                app["tenant_id"],
                address,
                now=lambda: NOW,
                stored=event_store.StoredEvents(session, calendar),
            )
            report = SyncService(session, tenant, settings, NOW).sync(
                provider, calendar
            )
            written += report.written
    seconds = time.perf_counter() - started
    log = emulator.control("GET", "/requests")["value"]
    graph = [row for row in log if row["path"].startswith("/v1.0/")]
    return {
        "seconds": round(seconds, 2),
        "requests": len(graph),
        "per_mailbox": round(len(graph) / len(addresses), 3),
        "patches": sum(1 for row in graph if row["method"] == "PATCH"),
        "in_batch": sum(1 for row in graph if row["inBatch"]),
        "written": written,
    }


def change_events(
    emulator: Emulator, app: dict, seeded: list, percent: float, edit: str
) -> int:
    chosen = random.Random(7).sample(seeded, max(1, round(len(seeded) * percent / 100)))
    for address, event_id in chosen:
        path = f"/users/{address}/events/{event_id}"
        if edit == "move":
            master = emulator.graph("GET", path, app["token"], None)
            body = {key: _later(master[key]) for key in ("start", "end")}
        else:
            body = {"subject": "1:1 (moved room)"}
        emulator.graph("PATCH", path, app["token"], body)
    return len(chosen)


def _later(when: dict[str, str]) -> dict[str, str]:
    # Graph gives seven decimals of seconds, which fromisoformat reads.
    moment = datetime.fromisoformat(when["dateTime"]) + timedelta(hours=1)
    return {
        "dateTime": moment.strftime("%Y-%m-%dT%H:%M:%S"),
        "timeZone": when["timeZone"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=100, help="mailboxes")
    parser.add_argument("--series", type=int, default=20, help="1:1s per mailbox")
    parser.add_argument(
        "--changed", type=float, default=1.0, help="percent of series edited"
    )
    parser.add_argument(
        "--edit",
        choices=("subject", "move"),
        default="subject",
        help="rename the edited series, or move them one hour later",
    )
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        emulator = Emulator(Path(folder) / "certs")
        try:
            database_url = f"sqlite:///{folder}/bench.sqlite3"
            db.migrate(db.make_engine(database_url))
            app, seeded = set_up(emulator, arguments.mailboxes, arguments.series)
            addresses = sorted({address for address, _ in seeded})
            first = sync_all(emulator, app, addresses, database_url)
            changed = change_events(
                emulator, app, seeded, arguments.changed, arguments.edit
            )
            incremental = sync_all(emulator, app, addresses, database_url)
        finally:
            emulator.stop()

    minimum = len(addresses) + incremental["written"]
    result = {
        "mailboxes": len(addresses),
        "series": len(seeded),
        "changed_events": changed,
        "edit": arguments.edit,
        "first_sync": first,
        "incremental_sync": incremental,
        "incremental_minimum": minimum,
        "incremental_ratio": round(incremental["requests"] / minimum, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
