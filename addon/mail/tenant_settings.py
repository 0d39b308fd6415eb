"""Read and change one tenant's email settings.

A tenant's choices live in two rows: `TenantEmailSettings` (agenda emails on
or off, the reminder lead) and `TenantGraphSender` (the mailbox that sends
through Graph). A missing row means the process-wide settings apply, so
reading never creates rows and writing creates them on first use.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from addon.mail.models import TenantGraphSender
from addon.models import Tenant, TenantEmailSettings
from addon.settings import Settings

log = logging.getLogger(__name__)

#: Maximum reminder lead a tenant may set: two weeks, in hours. The beat run
#: looks only a few days ahead, so a longer lead would never be reached.
MAX_LEAD_HOURS = 14 * 24


@dataclass(frozen=True, slots=True)
class EmailSettingsView:
    """A tenant's effective email settings, and which of them it set itself."""

    tenant: str
    agenda_emails: bool
    reminder_lead_hours: int
    lead_is_default: bool
    graph_sender: str

    def to_dict(self) -> dict[str, object]:
        """Return the settings as plain JSON-serialisable values."""
        return {
            "tenant": self.tenant,
            "agenda_emails": self.agenda_emails,
            "reminder_lead_hours": self.reminder_lead_hours,
            "reminder_lead_is_default": self.lead_is_default,
            "graph_sender": self.graph_sender,
        }


@dataclass(frozen=True, slots=True)
class EmailSettingsChange:
    """The settings to change; None leaves a value as it is.

    `reminder_lead_hours=-1` clears the tenant's own lead so the process-wide
    default applies again, and `graph_sender=""` removes the Graph sender.
    """

    agenda_emails: bool | None = None
    reminder_lead_hours: int | None = None
    graph_sender: str | None = None


def read_email_settings(
    session: Session, tenant: Tenant, settings: Settings
) -> EmailSettingsView:
    """Return the tenant's email settings, with the defaults filled in."""
    choice = _choice(session, tenant)
    sender = session.get(TenantGraphSender, tenant.id)
    own_lead = choice.reminder_lead_hours if choice is not None else None
    return EmailSettingsView(
        tenant=tenant.name,
        agenda_emails=choice.agenda_emails if choice is not None else True,
        reminder_lead_hours=own_lead
        if own_lead is not None
        else settings.reminder_lead_hours,
        lead_is_default=own_lead is None,
        graph_sender=sender.mailbox if sender is not None else "",
    )


def change_email_settings(
    session: Session, tenant: Tenant, change: EmailSettingsChange
) -> None:
    """Apply `change` to the tenant's rows, creating them when needed.

    Raises ValueError with the bad value when a lead or mailbox is invalid.
    """
    _check(change)
    if change.agenda_emails is not None or change.reminder_lead_hours is not None:
        choice = _choice(session, tenant) or _new_choice(session, tenant)
        if change.agenda_emails is not None:
            choice.agenda_emails = change.agenda_emails
        if change.reminder_lead_hours is not None:
            lead = change.reminder_lead_hours
            choice.reminder_lead_hours = None if lead < 0 else lead

    if change.graph_sender is not None:
        _set_graph_sender(session, tenant, change.graph_sender)
    session.flush()
    log.info("email settings changed", extra={"tenant": tenant.id})


def _check(change: EmailSettingsChange) -> None:
    lead = change.reminder_lead_hours
    if lead is not None and lead > MAX_LEAD_HOURS:
        raise ValueError(
            f"A reminder lead of {lead} hours is too long; use 0 (the working "
            f"day before) up to {MAX_LEAD_HOURS} hours."
        )
    sender = change.graph_sender
    if sender and ("@" not in sender or sender.startswith("@") or " " in sender):
        raise ValueError(
            f"{sender!r} is not a mailbox address; give one such as "
            "tandem@contoso.com, or an empty value to stop sending through Graph."
        )


def _choice(session: Session, tenant: Tenant) -> TenantEmailSettings | None:
    return session.scalar(
        select(TenantEmailSettings).where(TenantEmailSettings.tenant_id == tenant.id)
    )


def _new_choice(session: Session, tenant: Tenant) -> TenantEmailSettings:
    choice = TenantEmailSettings(
        tenant_id=tenant.id, agenda_emails=True, reminder_lead_hours=None
    )
    session.add(choice)
    return choice


def _set_graph_sender(session: Session, tenant: Tenant, mailbox: str) -> None:
    sender = session.get(TenantGraphSender, tenant.id)
    if not mailbox:
        if sender is not None:
            session.delete(sender)
        return
    if sender is None:
        session.add(TenantGraphSender(tenant_id=tenant.id, mailbox=mailbox.strip()))
    else:
        sender.mailbox = mailbox.strip()
