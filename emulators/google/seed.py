"""A small demo world for `python -m emulators.google --demo`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from emulators.google import events
from emulators.google.state import EmulatorState, OAuthClient, User

DEMO_DOMAIN = "example.com"  # reserved for documentation (RFC 2606)
DEMO_CLIENT_ID = "tandem-local"
DEMO_CLIENT_SECRET = "tandem-local-secret"
# Redirect URIs the demo OAuth client accepts; register others through
# POST /_emulator/oauth-clients.
DEMO_REDIRECT_URIS = [
    "http://127.0.0.1:8000/oauth/google/callback",
    "http://localhost:8000/oauth/google/callback",
]


def seed_demo(state: EmulatorState) -> None:
    """Create an admin who manages one report, a client and their weekly 1:1."""
    manager = User(
        email=f"alex@{DEMO_DOMAIN}",
        given_name="Alex",
        family_name="Manager",
        id=state.next_user_id(),
        is_admin=True,
        time_zone="Europe/Amsterdam",
    )
    report = User(
        email=f"sam@{DEMO_DOMAIN}",
        given_name="Sam",
        family_name="Report",
        id=state.next_user_id(),
        manager=manager.email,
        time_zone="Europe/Amsterdam",
    )
    calendar = state.add_user(manager)
    state.add_user(report)
    state.clients[DEMO_CLIENT_ID] = OAuthClient(
        DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, list(DEMO_REDIRECT_URIS)
    )
    events.insert_event(state, calendar, _weekly_one_on_one(manager, report), None)


def _weekly_one_on_one(manager: User, report: User) -> dict:
    monday = datetime.now(UTC).date() - timedelta(days=datetime.now(UTC).weekday())
    start = f"{monday.isoformat()}T10:00:00"
    end = f"{monday.isoformat()}T10:30:00"
    return {
        "summary": f"{manager.given_name} / {report.given_name} 1:1",
        "description": "Our weekly catch-up.",
        "start": {"dateTime": start, "timeZone": manager.time_zone},
        "end": {"dateTime": end, "timeZone": manager.time_zone},
        "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO"],
        "attendees": [
            {"email": manager.email, "responseStatus": "accepted"},
            {"email": report.email, "responseStatus": "accepted"},
        ],
    }
