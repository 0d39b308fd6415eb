"""The people of a Workspace domain, from the Admin SDK Directory API users.list.

The Directory lists users only to an administrator, so the service account
impersonates the admin named on the domain connection. A user's `relations`
of type "manager" names their manager, which 1:1 detection reads as a
signal that two people meet one-on-one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from calendar_sync.models import normalise_email
from calendar_sync.providers.google.client import GoogleClient

log = logging.getLogger(__name__)

#: users.list maxResults; 500 is the most the Directory API returns per page.
PAGE_SIZE = 500


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    """One account of the domain."""

    email: str
    name: str
    manager_email: str | None
    suspended: bool


def list_users(client: GoogleClient, domain: str = "") -> list[DirectoryUser]:
    """List every user of the customer (or of one `domain`), suspended included."""
    scope = {"domain": domain} if domain else {"customer": "my_customer"}
    users = client.directory.users()
    request = users.list(maxResults=PAGE_SIZE, **scope)
    found: list[DirectoryUser] = []
    while request is not None:
        page = client.execute(request, "directory.users.list")
        found.extend(_user(item) for item in page.get("users", []))
        request = users.list_next(request, page)
    log.info("listed directory users", extra={"users": len(found)})
    return found


def _user(item: dict[str, Any]) -> DirectoryUser:
    managers = [
        relation.get("value", "")
        for relation in item.get("relations") or []
        if relation.get("type") == "manager" and relation.get("value")
    ]
    return DirectoryUser(
        email=normalise_email(str(item["primaryEmail"])),
        name=str((item.get("name") or {}).get("fullName", "")),
        manager_email=normalise_email(managers[0]) if managers else None,
        suspended=bool(item.get("suspended")),
    )
