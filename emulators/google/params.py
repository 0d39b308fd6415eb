"""Query-parameter and request-body checks driven by the discovery documents.

Google rejects a query parameter the method does not declare and a body field
the schema does not have, with 400 INVALID_ARGUMENT. The emulator does the
same, reading the declarations from the shipped discovery document so that a
parameter or field Tandem misspells fails here the way it fails at Google.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from emulators.google import schemas
from emulators.google.errors import ApiError, bad_request

# Parameters every Google JSON API accepts on top of the method's own
# (the `parameters` block at the top of each discovery document).
_STANDARD = {
    "$.xgafv",
    "access_token",
    "alt",
    "callback",
    "fields",
    "key",
    "oauth_token",
    "prettyPrint",
    "quotaUser",
    "upload_protocol",
    "uploadType",
    "userIp",
}


def parse_query(
    document: str, method_id: str, query: list[tuple[str, str]]
) -> dict[str, Any]:
    """Check and convert the query string of a call to `method_id`.

    Repeated parameters (those the discovery document marks `repeated`) become
    lists; booleans and integers are converted. Path parameters are skipped.
    """
    declared = schemas.method(document, method_id).get("parameters", {})
    values: dict[str, Any] = {}
    for name, raw in query:
        if name in _STANDARD:
            continue
        spec = declared.get(name)
        if spec is None or spec.get("location") == "path":
            raise _unknown_parameter(name)
        value = _convert(name, raw, spec)
        if spec.get("repeated"):
            values.setdefault(name, []).append(value)
        else:
            values[name] = value
    return values


def _convert(name: str, raw: str, spec: dict[str, Any]) -> Any:
    kind = spec.get("type", "string")
    if kind == "boolean":
        if raw not in ("true", "false"):
            raise bad_request(f"Invalid boolean value for {name}: {raw!r}.")
        return raw == "true"
    if kind == "integer":
        return _convert_integer(name, raw, spec)
    if "enum" in spec and raw not in spec["enum"]:
        raise bad_request(
            f"Invalid value for {name}: {raw!r}; expected one of {spec['enum']}."
        )
    return raw


def _convert_integer(name: str, raw: str, spec: dict[str, Any]) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"Invalid integer value for {name}: {raw!r}.") from None
    low = int(spec.get("minimum", -(2**31)))
    high = int(spec.get("maximum", 2**31 - 1))
    if not low <= value <= high:
        raise bad_request(f"Invalid value for {name}: {value} (from {low} to {high}).")
    return value


def _unknown_parameter(name: str) -> ApiError:
    return bad_request(
        f"Invalid JSON payload received. Unknown name {name!r}: "
        "cannot bind query parameter; remove it or check its spelling."
    )


def check_body(document: str, schema_id: str, body: Any) -> dict[str, Any]:
    """Reject a request body that is not an object of `schema_id`."""
    if not isinstance(body, dict):
        raise ApiError(400, "parseError", "The request body is not a JSON object.")
    problems = [
        p
        for p in schemas.validate(document, schema_id, body)
        if not _zoned_local(body, p)
    ]
    if problems:
        first = problems[0]
        if first.problem == "field is not in the schema":
            field = first.path.removeprefix("$.")
            raise bad_request(
                f"Invalid JSON payload received. Unknown name {field!r} "
                f"at 'resource': the {schema_id} schema has no such field."
            )
        raise bad_request(f"Invalid value at {first.path}: {first.problem}.")
    return body


def _zoned_local(body: dict[str, Any], problem: schemas.Violation) -> bool:
    """Tell whether a problem is a dateTime without offset that has a timeZone.

    Google accepts such a value in a request and reads it in that zone, as
    the description of EventDateTime.dateTime in the discovery document states.
    """
    match = re.fullmatch(r"\$\.(start|end|originalStartTime)\.dateTime", problem.path)
    if match is None:
        return False
    when = body[match.group(1)]
    if not when.get("timeZone"):
        return False
    try:
        return datetime.fromisoformat(when["dateTime"]).tzinfo is None
    except ValueError:
        return False
