"""A small demo world for `python -m emulators.microsoft --demo`.

It holds one tenant whose admin has already consented to the demo app, two
people and a weekly 1:1 that the first organizes. The ids and the secret are
fixed, so the steps in docs/try-microsoft.md can name them.
"""

from datetime import UTC, datetime, timedelta

from . import events
from .identity import grant_admin_consent
from .state import Application, EmulatorState, Tenant, User, new_guid

DEMO_TENANT_ID = "6f1c2a9e-3b7d-4c5e-8a1f-0d2e4b6c8a10"
DEMO_DOMAIN = "contoso.example"  # .example is reserved for documentation (RFC 2606)
DEMO_CLIENT_ID = "tandem-local"
DEMO_CLIENT_SECRET = "tandem-local-secret"
# The sign-in and admin consent callbacks of Tandem's web app at its default
# address (TANDEM_MS_REDIRECT_URI and TANDEM_MS_ADMIN_CONSENT_REDIRECT_URI).
DEMO_REDIRECT_URIS = [
    "http://127.0.0.1:8000/microsoft/callback",
    "http://127.0.0.1:8000/microsoft/admin-consent/callback",
]
DEMO_TIME_ZONE = "W. Europe Standard Time"


def seed_demo(state: EmulatorState) -> None:
    """Create the consented tenant, its two people and their weekly 1:1."""
    tenant = Tenant(id=DEMO_TENANT_ID, domain=DEMO_DOMAIN)
    state.tenants[tenant.id] = tenant
    state.applications[DEMO_CLIENT_ID] = Application(
        DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, list(DEMO_REDIRECT_URIS)
    )
    grant_admin_consent(state, DEMO_CLIENT_ID, tenant.id)

    manager = _add_user(tenant, "mila", "Mila Jansen")
    report = _add_user(tenant, "ravi", "Ravi Patel")
    events.create_event(state, manager, _weekly_one_on_one(manager, report))


def _add_user(tenant: Tenant, name: str, display_name: str) -> User:
    user = User(
        id=new_guid(),
        tenant_id=tenant.id,
        display_name=display_name,
        mail=f"{name}@{DEMO_DOMAIN}",
        time_zone=DEMO_TIME_ZONE,
    )
    tenant.users[user.id] = user
    return user


def _weekly_one_on_one(manager: User, report: User) -> dict:
    """Return a Graph event: Mondays 10:00 to 10:30 from this week's Monday on."""
    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday())
    return {
        "subject": f"{manager.display_name.split()[0]} / "
        f"{report.display_name.split()[0]} 1:1",
        "body": {"contentType": "html", "content": "<p>Our weekly catch-up.</p>"},
        "start": {"dateTime": f"{monday}T10:00:00", "timeZone": DEMO_TIME_ZONE},
        "end": {"dateTime": f"{monday}T10:30:00", "timeZone": DEMO_TIME_ZONE},
        "attendees": [
            {"emailAddress": {"address": report.mail}, "type": "required"},
        ],
        "recurrence": {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
            "range": {"type": "noEnd", "startDate": monday.isoformat()},
        },
    }
