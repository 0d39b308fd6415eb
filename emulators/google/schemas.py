"""Validation of JSON bodies against the discovery documents of Google's APIs.

The schemas come from the discovery documents that google-api-python-client
ships (googleapiclient/discovery_cache/documents), so the emulator is checked
against the same description of the API that the client library is generated
from. Only the keywords those documents use for bodies are understood: `$ref`,
`type`, `format`, `properties`, `additionalProperties`, `items` and `enum`.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from typing import Any

# Discovery document file names inside googleapiclient's discovery cache.
CALENDAR = "calendar.v3.json"
DIRECTORY = "admin.directory_v1.json"

_INT_RANGES = {
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
}
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class Violation:
    """One place where a body does not match its schema."""

    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


@functools.cache
def load_document(name: str) -> dict[str, Any]:
    """Load a discovery document shipped with google-api-python-client."""
    folder = resources.files("googleapiclient") / "discovery_cache" / "documents"
    return json.loads((folder / name).read_text(encoding="utf-8"))


def method(document: str, method_id: str) -> dict[str, Any]:
    """Return the discovery description of a method such as `calendar.events.list`."""
    resources_ = load_document(document)["resources"]
    *path, verb = method_id.split(".")[1:]
    node: dict[str, Any] = {"resources": resources_}
    for part in path:
        node = node["resources"][part]
    return node["methods"][verb]


def validate(document: str, schema_id: str, value: Any) -> list[Violation]:
    """List every way `value` differs from the schema `schema_id` of `document`."""
    schemas = load_document(document)["schemas"]
    violations: list[Violation] = []
    _check(schemas, {"$ref": schema_id}, value, "$", violations)
    return violations


def _check(
    schemas: dict[str, Any],
    schema: dict[str, Any],
    value: Any,
    path: str,
    out: list[Violation],
) -> None:
    if "$ref" in schema:
        schema = schemas[schema["$ref"]]
    kind = schema.get("type", "any")
    checker = _CHECKERS.get(kind)
    if checker is None:
        out.append(Violation(path, f"schema type {kind!r} is not supported"))
        return
    checker(schemas, schema, value, path, out)


def _check_object(
    schemas: dict[str, Any],
    schema: dict[str, Any],
    value: Any,
    path: str,
    out: list[Violation],
) -> None:
    if not isinstance(value, dict):
        out.append(Violation(path, f"expected an object, got {_kind(value)}"))
        return

    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    for key, item in value.items():
        where = f"{path}.{key}"
        if key in properties:
            _check(schemas, properties[key], item, where, out)
        elif extra is not None:
            _check(schemas, extra, item, where, out)
        else:
            out.append(Violation(where, "field is not in the schema"))


def _check_array(
    schemas: dict[str, Any],
    schema: dict[str, Any],
    value: Any,
    path: str,
    out: list[Violation],
) -> None:
    if not isinstance(value, list):
        out.append(Violation(path, f"expected an array, got {_kind(value)}"))
        return
    for index, item in enumerate(value):
        _check(schemas, schema.get("items", {}), item, f"{path}[{index}]", out)


def _check_string(
    schemas: dict[str, Any],
    schema: dict[str, Any],
    value: Any,
    path: str,
    out: list[Violation],
) -> None:
    if not isinstance(value, str):
        out.append(Violation(path, f"expected a string, got {_kind(value)}"))
        return
    if "enum" in schema and value not in schema["enum"]:
        out.append(Violation(path, f"{value!r} is not one of {schema['enum']}"))
    problem = _format_problem(schema.get("format"), value)
    if problem:
        out.append(Violation(path, problem))


def _check_integer(
    schemas: dict[str, Any],
    schema: dict[str, Any],
    value: Any,
    path: str,
    out: list[Violation],
) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        out.append(Violation(path, f"expected an integer, got {_kind(value)}"))
        return
    low, high = _INT_RANGES.get(schema.get("format", ""), (None, None))
    if low is not None and not low <= value <= high:
        out.append(Violation(path, f"{value} is out of range for {schema['format']}"))


def _check_number(
    schemas: dict[str, Any],
    schema: dict[str, Any],
    value: Any,
    path: str,
    out: list[Violation],
) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        out.append(Violation(path, f"expected a number, got {_kind(value)}"))


def _check_boolean(
    schemas: dict[str, Any],
    schema: dict[str, Any],
    value: Any,
    path: str,
    out: list[Violation],
) -> None:
    if not isinstance(value, bool):
        out.append(Violation(path, f"expected a boolean, got {_kind(value)}"))


def _check_any(
    schemas: dict[str, Any],
    schema: dict[str, Any],
    value: Any,
    path: str,
    out: list[Violation],
) -> None:
    return None


_CHECKERS = {
    "object": _check_object,
    "array": _check_array,
    "string": _check_string,
    "integer": _check_integer,
    "number": _check_number,
    "boolean": _check_boolean,
    "any": _check_any,
}


def _format_problem(fmt: str | None, value: str) -> str | None:
    """Describe why `value` does not have the string format `fmt`, or return None."""
    if fmt in _INT_RANGES:
        # The JSON APIs send 64-bit integers as decimal strings.
        if not re.fullmatch(r"-?\d+", value):
            return f"{value!r} is not a decimal {fmt} string"
        low, high = _INT_RANGES[fmt]
        return None if low <= int(value) <= high else f"{value} is out of range"
    if fmt in ("date-time", "google-datetime"):
        return None if _is_rfc3339(value) else f"{value!r} is not an RFC 3339 date-time"
    if fmt == "date":
        return None if _is_date(value) else f"{value!r} is not a yyyy-mm-dd date"
    return None


def _is_rfc3339(value: str) -> bool:
    if not _RFC3339.match(value):
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_date(value: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
