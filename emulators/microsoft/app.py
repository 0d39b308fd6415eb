"""The emulator's ASGI app: identity platform, Graph v1.0 and the control API."""

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from . import batch, control, delta, graph, identity, mail, schedule, subscriptions
from .errors import GraphError, graph_error_body, graph_error_response
from .state import EmulatorState, Fault, LoggedRequest

logger = logging.getLogger(__name__)

# delta, schedule and mail add their routes to graph.router when imported.
ROUTE_MODULES = (delta, schedule, mail)

FAULT_ERRORS = {
    # As when another client saved the event between the caller's read and
    # its write; the event itself is left as it was.
    412: (
        "ErrorIrresolvableConflict",
        "The send or update operation could not be performed because the change "
        "key passed in the request does not match the current change key for the "
        "item.",
    ),
    429: ("ApplicationThrottled", "Application is over its MailboxConcurrency limit."),
    500: ("InternalServerError", "The server encountered an internal error."),
    503: ("ServiceNotAvailable", "The service is temporarily unavailable."),
    504: ("GatewayTimeout", "The gateway timed out."),
}


def create_app(state: EmulatorState | None = None) -> FastAPI:
    """Return a new emulator app holding `state` (a fresh one by default)."""
    app = FastAPI(title="Microsoft Graph and identity platform emulator")
    app.state.emulator = state or EmulatorState()
    app.state.notifier = subscriptions.Notifier(app.state.emulator)

    app.include_router(control.router)
    app.include_router(identity.router)
    app.include_router(batch.router)
    app.include_router(subscriptions.router)
    app.include_router(graph.router)
    app.add_exception_handler(GraphError, handle_graph_error)  # type: ignore[arg-type]
    app.middleware("http")(log_and_inject_faults)
    return app


async def handle_graph_error(request: Request, error: GraphError) -> Response:
    """Turn a GraphError raised by a route into Graph's error response."""
    return graph_error_response(error)


def take_fault(state: EmulatorState, request: Request) -> Fault | None:
    """Return (and use up) the first pending fault that matches the request."""
    path = request.url.path
    if not path.startswith("/v1.0/"):
        return None
    for fault in state.faults:
        if fault.method and fault.method != request.method:
            continue
        if fault.path_contains is None and path == "/v1.0/$batch":
            continue
        if fault.path_contains and fault.path_contains not in path:
            continue
        fault.remaining -= 1
        if fault.remaining <= 0:
            state.faults.remove(fault)
        return fault
    return None


def fault_response(fault: Fault) -> Response:
    """Return the throttling or outage response for an injected fault."""
    code, message = FAULT_ERRORS[fault.status]
    return JSONResponse(
        graph_error_body(code, message),
        status_code=fault.status,
        headers={"Retry-After": str(fault.retry_after)},
    )


async def log_and_inject_faults(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Answer with an injected fault if one matches, and log every request."""
    state: EmulatorState = request.app.state.emulator
    if request.url.path.startswith("/_emulator/"):
        return await call_next(request)

    fault = take_fault(state, request)
    response = fault_response(fault) if fault else await call_next(request)
    state.requests.append(
        LoggedRequest(
            method=request.method,
            path=request.url.path,
            query=request.url.query,
            if_match=request.headers.get("if-match"),
            prefer=request.headers.get("prefer"),
            status=response.status_code,
            in_batch=request.headers.get(batch.BATCH_HEADER) == "1",
        )
    )
    return response
