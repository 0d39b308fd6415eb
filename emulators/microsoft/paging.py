"""Collection responses with @odata.nextLink paging ($top and $skip)."""

from urllib.parse import urlencode

from fastapi import Request

from .errors import GraphError

DEFAULT_PAGE_SIZE = 10  # Graph's default page size for event collections
MAX_TOP = 1000


def top_and_skip(request: Request, default: int = DEFAULT_PAGE_SIZE) -> tuple[int, int]:
    """Return $top and $skip, rejecting values Graph would reject."""
    try:
        top = int(request.query_params.get("$top", default))
        skip = int(request.query_params.get("$skip", 0))
    except ValueError as error:
        raise GraphError(
            400,
            "BadRequest",
            "The $top and $skip query options must be non-negative integers.",
        ) from error
    if top < 1 or top > MAX_TOP or skip < 0:
        raise GraphError(
            400,
            "BadRequest",
            f"Invalid page request: $top={top}, $skip={skip}; $top must be between "
            f"1 and {MAX_TOP} and $skip must not be negative.",
        )
    return top, skip


def collection(
    request: Request,
    items: list[dict],
    context: str,
    default_top: int = DEFAULT_PAGE_SIZE,
) -> dict[str, object]:
    """Return one page of `items` with a nextLink when more remain."""
    top, skip = top_and_skip(request, default_top)
    page = items[skip : skip + top]
    base = str(request.base_url).rstrip("/")
    body: dict[str, object] = {
        "@odata.context": f"{base}/v1.0/$metadata#{context}",
        "value": page,
    }
    if skip + top < len(items):
        params = dict(request.query_params)
        params["$top"] = str(top)
        params["$skip"] = str(skip + top)
        body["@odata.nextLink"] = (
            f"{str(request.url).split('?')[0]}?{urlencode(params, safe='$')}"
        )
    return body
