"""`tandem google` and `tandem microsoft`: connect a domain or tenant and sync it.

These commands call the same Celery tasks the web app queues, in this
process (`Task.apply`), so the command line and the workers share one code
path. Tasks those tasks queue in turn (the first sync of each new calendar,
push channels) run in this process too when CELERY_BROKER_URL is empty, and
go to the broker otherwise. The endpoints come from the settings
(TANDEM_GOOGLE_API_ENDPOINT, TANDEM_GOOGLE_TOKEN_URI, TANDEM_MS_AUTHORITY_HOST,
TANDEM_MS_GRAPH_URL, TANDEM_MS_CA_BUNDLE), so the same commands work against
Google and Microsoft or against the emulators.

The addon.cli helpers are imported inside the functions because addon.cli
imports this module at its end to register the groups.
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from addon import models
from addon.service import apply_settings, get_or_create_tenant
from addon.settings import Settings, get_settings
from calendar_sync.errors import ProviderError

log = logging.getLogger(__name__)

ACTIVE = "active"
#: Fields a service-account key file must have for the JWT bearer grant.
KEY_FIELDS = ("client_email", "private_key", "token_uri")

format_option = click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
)
now_option = click.option(
    "--now", help="Treat this ISO 8601 time as now (default: the current time)."
)


def _fail(message: str) -> click.ClickException:
    from addon.cli import UserError

    return UserError(message)


def _tenant(session: Session, settings: Settings) -> models.Tenant:
    tenant = get_or_create_tenant(session, settings)
    apply_settings(tenant, settings)
    return tenant


# -- Google -----------------------------------------------------------------


@click.group()
def google() -> None:
    """Connect a Google Workspace domain and sync its calendars."""


@google.command("enable-domain")
@click.option("--domain", required=True, help="The Workspace domain, e.g. example.com.")
@click.option(
    "--admin",
    "admin_email",
    required=True,
    help="Email address of an administrator; the Directory is read as this person.",
)
@click.option(
    "--key-file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON key file of the service account that has domain-wide delegation.",
)
def enable_domain(domain: str, admin_email: str, key_file: Path) -> None:
    """Store the delegation, read the Directory and add every person's calendar."""
    from addon.cli import _database
    from workers import google_tasks

    settings = get_settings()
    key_info = _read_key_file(key_file)
    domain = domain.lower()

    with _database(settings) as session:
        tenant = _tenant(session, settings)
        connection_id = google_tasks.connect_domain(
            session, settings, tenant, key_info, admin_email.lower(), domain
        )
    added = _run(google_tasks.enable_google_domain, connection_id)

    _check_google_connection(settings, connection_id, domain)
    click.echo(
        f"Enabled {domain}: {added} calendars added (connection {connection_id})."
    )


def _read_key_file(path: Path) -> dict[str, Any]:
    try:
        key_info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _fail(
            f"Cannot read the key file {path}: {error}; pass the JSON key file "
            "of the service account as downloaded from the Cloud console."
        ) from None
    missing = [
        name
        for name in KEY_FIELDS
        if not isinstance(key_info, dict) or name not in key_info
    ]
    if missing:
        raise _fail(
            f"The key file {path} has no {', '.join(missing)}; pass a service "
            "account's JSON key file, not an OAuth client file."
        )
    return key_info


def _check_google_connection(
    settings: Settings, connection_id: int, domain: str
) -> None:
    """Raise when Google rejected the delegation, so the user sees why at once."""
    from addon.cli import _database

    with _database(settings) as session:
        connection = session.get(models.GoogleConnection, connection_id)
        state = connection.state if connection else "missing"
        reason = connection.last_error if connection else ""
    if state != ACTIVE:
        raise _fail(
            f"Google rejected the delegation for {domain} ({reason or state}). "
            "Check that the service account's client ID has domain-wide "
            "delegation for the calendar and directory scopes, and that the "
            "admin address belongs to the domain."
        )


@google.command("sync")
@now_option
@format_option
def google_sync(now: str | None, output_format: str) -> None:
    """Sync every connected Google calendar in this process and print a summary."""
    from addon.cli import _database, _parse_now
    from workers import google_tasks

    settings = get_settings()
    moment = _parse_now(now)
    with _database(settings) as session:
        tenant = _tenant(session, settings)
        ids = _google_calendar_ids(session, tenant)

    results = [
        _run(google_tasks.sync_google_calendar, row_id, moment.isoformat())
        for row_id in ids
    ]
    _print_results(results, output_format, "google_calendar_id")


def _google_calendar_ids(session: Session, tenant: models.Tenant) -> list[int]:
    return list(
        session.scalars(
            select(models.GoogleCalendar.id)
            .join(models.GoogleConnection)
            .where(
                models.GoogleCalendar.tenant_id == tenant.id,
                models.GoogleConnection.state == ACTIVE,
            )
            .order_by(models.GoogleCalendar.id)
        )
    )


# -- Microsoft 365 ----------------------------------------------------------


@click.group()
def microsoft() -> None:
    """Connect a Microsoft 365 tenant and sync its mailboxes."""


@microsoft.command("enable-tenant")
@click.option(
    "--tenant-id",
    required=True,
    help="Directory (tenant) id of the Microsoft 365 organisation, a GUID.",
)
def enable_tenant(tenant_id: str) -> None:
    """Record a tenant's admin consent and add its mailboxes.

    Consent is proven with a client credentials token for the tenant. Without
    consent the command prints the admin consent URL and exits with code 2.
    """
    from addon.cli import _database
    from workers import microsoft_tasks

    settings = get_settings()
    tenant_id = tenant_id.strip().lower()
    if not settings.ms_client_id:
        raise _fail(
            "TANDEM_MS_CLIENT_ID is not set; set it and TANDEM_MS_CLIENT_SECRET "
            "to Tandem's app registration."
        )
    if not _has_consented(settings, tenant_id):
        url = _start_admin_consent(settings, tenant_id)
        click.echo(url)
        raise _fail(
            f"Tenant {tenant_id} has not consented to app {settings.ms_client_id}. "
            "A tenant admin must open the URL above and accept; then run this "
            "command again."
        )

    with _database(settings) as session:
        connection_id = _record_consent(session, settings, tenant_id)
    added = _run(microsoft_tasks.discover_mailboxes, connection_id)
    click.echo(
        f"Enabled tenant {tenant_id}: {added} mailboxes added "
        f"(connection {connection_id})."
    )


def _has_consented(settings: Settings, tenant_id: str) -> bool:
    from calendar_sync.providers.microsoft.auth import app_tokens
    from calendar_sync.providers.microsoft.errors import ConsentRequiredError
    from workers.microsoft_tasks import microsoft_config

    try:
        app_tokens(microsoft_config(settings), tenant_id).access_token()
    except ConsentRequiredError:
        return False
    except (ProviderError, ValueError) as error:
        # msal raises ValueError when the authority does not answer its
        # OpenID discovery, as for an unknown tenant or a wrong host.
        raise _fail(
            f"Cannot get a token for tenant {tenant_id} from "
            f"{settings.ms_authority_host}: {error}. Check the tenant id, "
            "TANDEM_MS_AUTHORITY_HOST and TANDEM_MS_CA_BUNDLE."
        ) from None
    return True


def _start_admin_consent(settings: Settings, tenant_id: str) -> str:
    """Store a pending connection as GET /microsoft/admin-consent does; return the URL.

    The pending row lets the web app's callback finish the consent when it
    runs at TANDEM_MS_ADMIN_CONSENT_REDIRECT_URI.
    """
    from addon.cli import _database
    from calendar_sync.providers.microsoft import auth
    from workers.microsoft_tasks import microsoft_config

    state = secrets.token_urlsafe(32)
    with _database(settings) as session:
        tenant = _tenant(session, settings)
        session.add(
            models.MicrosoftConnection(
                tenant_id=tenant.id, kind="tenant", auth_state=state
            )
        )
    return auth.admin_consent_url(microsoft_config(settings), state, tenant_id)


def _record_consent(session: Session, settings: Settings, tenant_id: str) -> int:
    """Mark the tenant's connection active, as the admin consent callback does."""
    tenant = _tenant(session, settings)
    connection = session.scalar(
        select(models.MicrosoftConnection).where(
            models.MicrosoftConnection.tenant_id == tenant.id,
            models.MicrosoftConnection.kind == "tenant",
            models.MicrosoftConnection.directory_id == tenant_id,
        )
    )
    if connection is None:
        connection = models.MicrosoftConnection(tenant_id=tenant.id, kind="tenant")
        session.add(connection)
    connection.auth_state = None
    connection.state, connection.last_error = ACTIVE, ""
    connection.directory_id = tenant_id
    session.flush()
    log.info("admin consent recorded", extra={"connection": connection.id})
    return connection.id


@microsoft.command("sync")
@now_option
@format_option
def microsoft_sync(now: str | None, output_format: str) -> None:
    """Sync every connected Microsoft 365 mailbox in this process, print a summary."""
    from addon.cli import _database, _parse_now
    from workers import microsoft_tasks

    settings = get_settings()
    moment = _parse_now(now)
    with _database(settings) as session:
        tenant = _tenant(session, settings)
        ids = _mailbox_ids(session, tenant)

    results = [
        _run(microsoft_tasks.sync_mailbox, mailbox_id, moment.isoformat())
        for mailbox_id in ids
    ]
    _print_results(results, output_format, "mailbox_id")


def _mailbox_ids(session: Session, tenant: models.Tenant) -> list[int]:
    return list(
        session.scalars(
            select(models.MicrosoftMailbox.id)
            .join(models.MicrosoftConnection)
            .where(
                models.MicrosoftMailbox.tenant_id == tenant.id,
                models.MicrosoftConnection.state == ACTIVE,
            )
            .order_by(models.MicrosoftMailbox.id)
        )
    )


# -- running tasks and printing their results -------------------------------


def _run(task: Any, *args: object) -> Any:
    """Run a Celery task in this process, with its retries, and return its result."""
    try:
        # The command line is the top of the call, never inside a task, so
        # Celery's guard against blocking inside a task does not apply.
        return task.apply(args=list(args), throw=True).get(disable_sync_subtasks=False)
    except ProviderError as error:
        raise _fail(
            f"{task.name} failed: {error} Check that the provider or emulator "
            "named by the endpoint settings is running."
        ) from None


def _print_results(
    results: list[dict[str, Any]], output_format: str, id_key: str
) -> None:
    """Print the task results as `tandem sync` prints its summary, or as JSON."""
    if output_format == "json":
        payload = {"calendars": results}
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
    else:
        _print_table(results, id_key)
    if any(
        row.get("action") == "failed"
        for result in results
        for row in result.get("series", [])
    ):
        sys.exit(1)


def _print_table(results: list[dict[str, Any]], id_key: str) -> None:
    from addon.cli import _clip, _echo_table

    series = [row for result in results for row in result.get("series", [])]
    rows = [row for row in series if row["is_one_on_one"]]
    table = [
        (
            str(row["series_id"]),
            _clip(row["summary"], 32),
            " & ".join(row["people"] or ()),
            _minutes(row["next_occurrence"]),
            row["action"]
            + (
                f" (+{row['topics_from_invite']} from invite)"
                if row["topics_from_invite"]
                else ""
            ),
            "planned" if row["followup"] else "",
        )
        for row in rows
    ]
    _echo_table(("ID", "1:1", "People", "Next", "Agenda", "Follow-up"), table)
    _echo_totals(results, series, len(rows), id_key)


def _echo_totals(
    results: list[dict[str, Any]], series: list[dict[str, Any]], ones: int, id_key: str
) -> None:
    synced = [result for result in results if "series" in result]
    written = sum(int(result["written"]) for result in synced)
    # A calendar that was not synced has a reason string under "skipped"; a
    # synced one has the list of events its sync skipped.
    skipped = [item for result in synced for item in result["skipped"]]
    click.echo(
        f"\n{ones} one-on-ones, {written} agendas written, "
        f"{len(series) - ones} other series, {len(skipped)} events skipped; "
        f"synced {len(synced)} of {len(results)} calendars"
    )
    for item in skipped:
        click.echo(f"skipped {item['where']}: {item['reason']}", err=True)
    for result in results:
        if isinstance(result.get("skipped"), str):
            click.echo(
                f"calendar {result[id_key]} not synced: {result['skipped']}", err=True
            )


def _minutes(value: str | None) -> str:
    """Format an ISO 8601 time as `tandem sync` does: date, hours and minutes."""
    if not value:
        return "-"
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M")
