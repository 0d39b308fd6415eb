"""Check a Google Workspace add-on deployment for the HTTP runtime.

Field names and values follow Google's deployment resource reference
(developers.google.com/apps-script/manifest/addons and .../calendar-addons):
`runFunction` of an HTTP deployment is the endpoint's URL, and
`currentEventAccess` is METADATA, READ, WRITE or READ_WRITE.
"""

from __future__ import annotations

from typing import Any

from manifests.errors import ManifestError

EXECUTE_SCOPE = "https://www.googleapis.com/auth/calendar.addons.execute"
READ_SCOPE = "https://www.googleapis.com/auth/calendar.addons.current.event.read"
WRITE_SCOPE = "https://www.googleapis.com/auth/calendar.addons.current.event.write"

#: The scopes Google requires for each level of event access. METADATA needs
#: none beyond the execute scope.
ACCESS_SCOPES: dict[str, tuple[str, ...]] = {
    "METADATA": (),
    "READ": (READ_SCOPE,),
    "WRITE": (WRITE_SCOPE,),
    "READ_WRITE": (READ_SCOPE, WRITE_SCOPE),
}

TOP_KEYS = frozenset({"oauthScopes", "addOns"})
COMMON_KEYS = frozenset({"name", "logoUrl", "homepageTrigger", "layoutProperties"})
CALENDAR_KEYS = frozenset(
    {"eventOpenTrigger", "eventUpdateTrigger", "currentEventAccess", "homepageTrigger"}
)


def validate_google(document: Any, base_url: str) -> None:
    """Raise ManifestError listing every fault of a rendered deployment."""
    problems: list[str] = []
    if not isinstance(document, dict):
        raise ManifestError(["The deployment must be a JSON object."])

    _check_keys(document, TOP_KEYS, "the deployment", problems)
    scopes = _scopes(document.get("oauthScopes"), problems)
    add_ons = _object(document, "addOns", "the deployment", problems)
    common = _object(add_ons, "common", "addOns", problems)
    calendar = _object(add_ons, "calendar", "addOns", problems)
    _check_common(common, problems)
    _check_calendar(calendar, scopes, problems)
    _check_urls(google_urls(document), base_url, problems)

    if problems:
        raise ManifestError(problems)


def google_urls(document: Any) -> list[str]:
    """Return every URL the deployment names, in document order.

    Parts of the wrong type are skipped, so this also works on a deployment
    that `validate_google` rejects.
    """
    add_ons = _mapping(_mapping(document).get("addOns"))
    common = _mapping(add_ons.get("common"))
    calendar = _mapping(add_ons.get("calendar"))
    urls = [
        common.get("logoUrl"),
        _mapping(common.get("homepageTrigger")).get("runFunction"),
        _mapping(calendar.get("homepageTrigger")).get("runFunction"),
        _mapping(calendar.get("eventOpenTrigger")).get("runFunction"),
        _mapping(calendar.get("eventUpdateTrigger")).get("runFunction"),
    ]
    return [url for url in urls if isinstance(url, str)]


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _check_keys(
    value: dict[str, Any], allowed: frozenset[str], where: str, problems: list[str]
) -> None:
    for key in sorted(set(value) - allowed):
        problems.append(f"Key {key!r} in {where} is not a known field; remove it.")


def _object(
    parent: dict[str, Any], key: str, where: str, problems: list[str]
) -> dict[str, Any]:
    value = parent.get(key)
    if not isinstance(value, dict):
        problems.append(f"{where} must have an object {key!r}; found {value!r}.")
        return {}
    return value


def _scopes(value: Any, problems: list[str]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"oauthScopes must be a list of strings; found {value!r}.")
        return []
    if EXECUTE_SCOPE not in value:
        problems.append(
            f"oauthScopes must contain {EXECUTE_SCOPE}, which every Calendar "
            "add-on needs to run."
        )
    return value


def _check_common(common: dict[str, Any], problems: list[str]) -> None:
    _check_keys(common, COMMON_KEYS, "addOns.common", problems)
    name = common.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(
            f"addOns.common.name must be a non-empty string; found {name!r}."
        )
    if not isinstance(common.get("logoUrl"), str):
        problems.append("addOns.common.logoUrl must be a URL string.")
    _check_trigger(
        common.get("homepageTrigger"), "addOns.common.homepageTrigger", problems
    )


def _check_calendar(
    calendar: dict[str, Any], scopes: list[str], problems: list[str]
) -> None:
    _check_keys(calendar, CALENDAR_KEYS, "addOns.calendar", problems)
    _check_trigger(
        calendar.get("eventOpenTrigger"), "addOns.calendar.eventOpenTrigger", problems
    )
    access = calendar.get("currentEventAccess")
    if access not in ACCESS_SCOPES:
        problems.append(
            f"addOns.calendar.currentEventAccess {access!r} is invalid; use one of "
            f"{', '.join(ACCESS_SCOPES)}."
        )
        return
    for scope in ACCESS_SCOPES[access]:
        if scope not in scopes:
            problems.append(
                f"currentEventAccess {access} needs the scope {scope} in oauthScopes."
            )


def _check_trigger(trigger: Any, where: str, problems: list[str]) -> None:
    if not isinstance(trigger, dict):
        problems.append(f"{where} must be an object; found {trigger!r}.")
        return
    if not isinstance(trigger.get("runFunction"), str):
        problems.append(f"{where}.runFunction must be the endpoint's URL string.")
    if "enabled" in trigger and not isinstance(trigger["enabled"], bool):
        problems.append(f"{where}.enabled must be true or false.")


def _check_urls(urls: list[str], base_url: str, problems: list[str]) -> None:
    prefix = base_url.rstrip("/") + "/"
    for url in urls:
        if not url.startswith(prefix):
            problems.append(f"URL {url!r} is not under the base URL {prefix!r}.")
