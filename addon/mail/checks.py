"""Checks on an inbound reply that need more than the parsed text.

Authentication-Results (RFC 8601) is added by the receiving MTA. A sender
can write a forged one too, so only the header of the trusted authserv-id
is read, or, when none is configured, the topmost one, which the receiving
MTA prepends above everything the sender wrote.
"""

from __future__ import annotations

import re
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser

_HEADERS = BytesHeaderParser(policy=policy.default)
# method=result pairs such as "dkim=fail" or "dmarc=pass (p=reject)".
_RESULT = re.compile(r"\b(dkim|dmarc)\s*=\s*([a-z]+)", re.IGNORECASE)
_FAILING = {"fail", "permerror"}
_COMMENT = re.compile(r"\([^()]*\)")


def read_headers(raw: bytes) -> Message:
    return _HEADERS.parsebytes(raw)


def authentication_failure(headers: Message, trusted_id: str = "") -> str:
    """Return "dkim" or "dmarc" when the trusted Authentication-Results fails it.

    Returns "" when the header is absent or reports no DKIM or DMARC failure.
    A DKIM failure counts only when no other DKIM signature passed, because
    a message may carry several signatures and one valid one is enough.
    """
    header = _trusted_header(
        headers.get_all("Authentication-Results") or [], trusted_id
    )
    if header is None:
        return ""

    results: dict[str, set[str]] = {"dkim": set(), "dmarc": set()}
    for method, result in _RESULT.findall(_COMMENT.sub("", header)):
        results[method.lower()].add(result.lower())
    if results["dmarc"] & _FAILING:
        return "dmarc"
    if results["dkim"] & _FAILING and "pass" not in results["dkim"]:
        return "dkim"
    return ""


def _trusted_header(values: list[object], trusted_id: str) -> str | None:
    texts = [str(value) for value in values]
    if not trusted_id:
        return texts[0] if texts else None
    for text in texts:
        authserv_id = text.split(";", 1)[0].split()[0] if text.strip() else ""
        if authserv_id.lower() == trusted_id.lower():
            return text
    return None


def is_loop(sender: str, own_addresses: tuple[str, ...], inbound_domain: str) -> bool:
    """Return whether an email to `sender` would reach Tandem itself."""
    address = sender.lower()
    if address in {own.lower() for own in own_addresses}:
        return True
    return address.endswith("@" + inbound_domain.lower())
