"""JSON batching: POST /v1.0/$batch with at most 20 requests.

Each inner request runs through the whole app (access checks, injected
faults, the request log), so one can fail with 429 inside a 200 batch
response, as Graph does. A request whose `dependsOn` names a failed request
gets 424 Failed Dependency. Requests run in the order given, so `dependsOn`
may only name an earlier request.
"""

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response

from .errors import GraphError, graph_error_body
from .graph import json_body, json_response
from .identity import base_url

router = APIRouter()

MAX_BATCH_REQUESTS = 20
BATCH_HEADER = "x-emulator-batch"


def check_batch(requests: object) -> list[dict]:
    """Validate the batch envelope and return its requests."""
    if not isinstance(requests, list) or not requests:
        raise GraphError(
            400, "BadRequest", "A batch needs a non-empty 'requests' list."
        )
    if len(requests) > MAX_BATCH_REQUESTS:
        raise GraphError(
            400,
            "BadRequest",
            f"The batch has {len(requests)} requests; the limit is "
            f"{MAX_BATCH_REQUESTS}. Split it into several batches.",
        )
    ids = [str(item.get("id")) for item in requests]
    if len(set(ids)) != len(ids):
        raise GraphError(
            400, "BadRequest", "Each request in a batch needs a unique id."
        )
    return requests


@router.post("/v1.0/$batch")
async def run_batch(request: Request) -> Response:
    """Run the batch's requests in order and return their responses."""
    payload = await json_body(request)
    requests = check_batch(payload.get("requests"))
    statuses: dict[str, int] = {}
    responses = []
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(
        transport=transport, base_url=base_url(request)
    ) as client:
        for item in requests:
            response = await run_one(client, request, item, statuses)
            statuses[response["id"]] = response["status"]
            responses.append(response)
    return json_response({"responses": responses})


async def run_one(
    client: httpx.AsyncClient, outer: Request, item: dict, statuses: dict[str, int]
) -> dict:
    """Run one inner request, or return 424 when a dependency failed."""
    request_id = str(item.get("id"))
    depends_on = [str(name) for name in item.get("dependsOn") or []]
    missing = [name for name in depends_on if name not in statuses]
    if missing:
        return inner_error(
            request_id,
            400,
            "BadRequest",
            f"dependsOn names {missing[0]!r}, which is not an earlier request "
            "in the batch.",
        )
    if any(statuses[name] >= 400 for name in depends_on):
        return inner_error(
            request_id, 424, "FailedDependency", "A request this one depends on failed."
        )

    headers = {
        str(key): str(value) for key, value in (item.get("headers") or {}).items()
    }
    headers[BATCH_HEADER] = "1"
    if "authorization" in outer.headers:
        headers["Authorization"] = outer.headers["authorization"]
    url = "/v1.0/" + str(item.get("url", "")).lstrip("/")
    body = item.get("body")
    response = await client.request(
        str(item.get("method", "GET")).upper(),
        url,
        headers=headers,
        json=body if body is not None else None,
    )
    return inner_response(request_id, response)


def inner_response(request_id: str, response: httpx.Response) -> dict:
    """Return one entry of the batch's `responses` list."""
    entry: dict[str, object] = {
        "id": request_id,
        "status": response.status_code,
        "headers": {
            key: value
            for key, value in response.headers.items()
            if key.lower()
            in ("content-type", "retry-after", "etag", "location", "preference-applied")
        },
    }
    if response.content:
        is_json = response.headers.get("content-type", "").startswith(
            "application/json"
        )
        entry["body"] = response.json() if is_json else response.text
    return entry


def inner_error(request_id: str, status: int, code: str, message: str) -> dict:
    """Return a batch entry for a request the batch itself rejected."""
    return {
        "id": request_id,
        "status": status,
        "headers": {"Content-Type": "application/json"},
        "body": graph_error_body(code, message),
    }
