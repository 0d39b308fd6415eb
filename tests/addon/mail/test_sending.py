"""The Microsoft Graph transport against a local stand-in for Graph's sendMail."""

from __future__ import annotations

import base64

import httpx
import pytest

from addon.mail.errors import PermanentSendError, TemporarySendError
from addon.mail.sending import GraphTransport

RAW = b"From: tandem@tandem.test\r\nSubject: hi\r\n\r\nhello\r\n"


def _transport(status: int, seen: list[httpx.Request]) -> GraphTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status)

    client = httpx.Client(transport=httpx.MockTransport(answer))
    return GraphTransport("tandem@tandem.test", lambda: "access-1", client=client)


def test_graph_posts_mime() -> None:
    seen: list[httpx.Request] = []

    _transport(202, seen).send(RAW, "tandem@tandem.test", ["ravi@example.test"])

    [request] = seen
    assert request.url.path == "/v1.0/users/tandem@tandem.test/sendMail"
    assert request.headers["Authorization"] == "Bearer access-1"
    assert request.headers["Content-Type"] == "text/plain"
    assert base64.b64decode(request.content) == RAW


@pytest.mark.parametrize("status", [429, 503])
def test_graph_throttled_is_temporary(status: int) -> None:
    with pytest.raises(TemporarySendError) as raised:
        _transport(status, []).send(RAW, "tandem@tandem.test", ["ravi@example.test"])

    assert raised.value.code == status


def test_graph_forbidden_is_permanent() -> None:
    with pytest.raises(PermanentSendError) as raised:
        _transport(403, []).send(RAW, "tandem@tandem.test", ["ravi@example.test"])

    assert raised.value.code == 403
