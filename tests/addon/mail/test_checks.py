"""Read Authentication-Results and spot mail loops."""

from __future__ import annotations

import pytest

from addon.mail.checks import authentication_failure, is_loop, read_headers


def _headers(*results: str) -> bytes:
    lines = "".join(f"Authentication-Results: {value}\r\n" for value in results)
    return f"{lines}From: a@example.test\r\n\r\nbody\r\n".encode()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("mx.test; dkim=pass header.d=example.test; dmarc=pass", ""),
        ("mx.test; dkim=fail (bad signature) header.d=example.test", "dkim"),
        ("mx.test; dkim=fail header.d=a.test; dkim=pass header.d=b.test", ""),
        ("mx.test; spf=pass; dmarc=fail (p=reject) header.from=example.test", "dmarc"),
        ("mx.test; dkim=permerror", "dkim"),
        ("mx.test; none", ""),
        ("mx.test; spf=fail smtp.mailfrom=example.test", ""),
    ],
)
def test_auth_results_topmost(value: str, expected: str) -> None:
    assert authentication_failure(read_headers(_headers(value))) == expected


def test_auth_results_absent() -> None:
    assert authentication_failure(read_headers(_headers())) == ""


def test_auth_results_forged_below_ignored() -> None:
    raw = _headers("mx.tandem.test; dmarc=fail", "mx.tandem.test; dmarc=pass")

    assert authentication_failure(read_headers(raw)) == "dmarc"


def test_auth_results_trusted_id() -> None:
    raw = _headers("forger.test; dmarc=pass", "mx.tandem.test; dkim=fail")

    assert authentication_failure(read_headers(raw), "mx.tandem.test") == "dkim"
    assert authentication_failure(read_headers(raw), "other.test") == ""


def test_loop_own_addresses() -> None:
    own = ("tandem@tandem.test",)

    assert is_loop("Tandem@Tandem.test", own, "in.tandem.test") is True
    assert is_loop("reply+x@in.tandem.test", own, "in.tandem.test") is True
    assert is_loop("ravi@example.test", own, "in.tandem.test") is False
