"""Admin SDK Directory API users.list.

Only an administrator of the domain may list its users (Google returns 403
otherwise). `customer=my_customer` means the caller's own account; `domain=`
must name the caller's domain. Managers appear as a `relations` entry of type
`manager`, the way the Directory stores them.
"""

from __future__ import annotations

import zlib
from typing import Any

from emulators.google.errors import ApiError, bad_request
from emulators.google.state import EmulatorState, PageSnapshot, User

DEFAULT_PAGE_SIZE = 100  # users.list default maxResults
MAX_PAGE_SIZE = 500


def list_users(
    state: EmulatorState, caller: str, query: dict[str, Any]
) -> dict[str, Any]:
    """List the users of the caller's domain (users.list)."""
    domain = _domain_of_request(state, caller, query)
    if "pageToken" in query:
        snapshot = state.pages.pop(query["pageToken"], None)
        if snapshot is None or snapshot.key != ("users.list", domain):
            raise bad_request(f"Invalid page token {query['pageToken']!r}.")
    else:
        users = sorted(
            (u for u in state.users.values() if u.domain == domain),
            key=lambda u: u.email,
        )
        users = [u for u in users if _matches_query(u, query.get("query"))]
        snapshot = PageSnapshot(
            ("users.list", domain), [_resource(u) for u in users], None
        )
    return _page(state, snapshot, query.get("maxResults", DEFAULT_PAGE_SIZE))


def _domain_of_request(state: EmulatorState, caller: str, query: dict[str, Any]) -> str:
    user = state.users.get(caller)
    if user is None or not user.is_admin:
        raise ApiError(403, "forbidden", "Not Authorized to access this resource/api")
    if query.get("customer") == "my_customer" or query.get("customer") == _customer_id(
        user
    ):
        return user.domain
    if "domain" in query:
        if query["domain"] != user.domain:
            raise ApiError(
                403, "forbidden", "Not Authorized to access this resource/api"
            )
        return user.domain
    raise bad_request(
        "Bad Request: pass customer=my_customer or domain=<your domain>.",
        reason="badRequest",
    )


def _matches_query(user: User, text: str | None) -> bool:
    # NOTE: only the isSuspended=true|false clause of the query language is
    # emulated; any other query is rejected rather than silently ignored.
    if not text:
        return True
    if text.replace(" ", "") in ("isSuspended=true", "isSuspended=false"):
        return user.suspended == text.replace(" ", "").endswith("true")
    raise bad_request(
        f"Unsupported users.list query {text!r}: use isSuspended=true|false."
    )


def _customer_id(user: User) -> str:
    return f"C{zlib.crc32(user.domain.encode()):08x}"


def _resource(user: User) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "admin#directory#user",
        "id": user.id,
        "etag": f'"{zlib.crc32(user.email.encode()):x}/emulator"',
        "primaryEmail": user.email,
        "name": {
            "givenName": user.given_name,
            "familyName": user.family_name,
            "fullName": f"{user.given_name} {user.family_name}".strip(),
        },
        "isAdmin": user.is_admin,
        "suspended": user.suspended,
        "orgUnitPath": "/",
        "customerId": _customer_id(user),
        "emails": [{"address": user.email, "primary": True}],
    }
    if user.manager:
        body["relations"] = [{"value": user.manager, "type": "manager"}]
    return body


def _page(state: EmulatorState, snapshot: PageSnapshot, size: int) -> dict[str, Any]:
    size = min(size, MAX_PAGE_SIZE)
    body: dict[str, Any] = {
        "kind": "admin#directory#users",
        "etag": f'"{len(snapshot.items)}/emulator"',
        "users": snapshot.items[:size],
    }
    rest = snapshot.items[size:]
    if rest:
        body["nextPageToken"] = state.issue_page(PageSnapshot(snapshot.key, rest, None))
    return body
