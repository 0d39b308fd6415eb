"""Tables of the email feature that extend rows of `addon.models`.

They live here, beside the code that reads them, and are registered on the
same `Base`, so `Base.metadata` contains them once this module is imported. The
migration that creates them imports it for that reason.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from addon.models import Base


class CalendarFiles(Base):
    """The source and output file of a calendar synced from an iCalendar file.

    `tandem sync --ics SOURCE --out OUTPUT --calendar NAME` stores the
    calendar under NAME, which is not a path, so an invite refresh after a
    reply needs both paths to repeat that sync.
    """

    __tablename__ = "mail_calendar_files"

    calendar_id: Mapped[int] = mapped_column(
        ForeignKey("calendars.id", ondelete="CASCADE"), primary_key=True
    )
    source_path: Mapped[str] = mapped_column(String(1000))
    output_path: Mapped[str] = mapped_column(String(1000))


class TenantGraphSender(Base):
    """The Microsoft 365 mailbox that sends a tenant's email through Graph.

    Graph's app-only `sendMail` sends from a mailbox of the tenant that gave
    admin consent, so each tenant names its own (such as
    tandem@contoso.com).
    """

    __tablename__ = "mail_tenant_graph_senders"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    mailbox: Mapped[str] = mapped_column(String(320))
