"""Write Tandem's agenda block into one event's description, and take it out again.

Both operations follow the same loop: read the event, compute the new
description, write only when it differs, and on a concurrency conflict read
again and recompute, so a concurrent edit by a person is merged, not lost.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass

from calendar_sync import merge
from calendar_sync.errors import ConflictError, NotFoundError, ProviderError
from calendar_sync.models import Event, EventKey
from calendar_sync.providers.base import CalendarProvider

log = logging.getLogger(__name__)

#: Writes attempted before a series of conflicts is reported as a failure.
MAX_ATTEMPTS = 3

#: Builds the block text from the lines a person typed into the current block.
RenderBlock = Callable[[list[str]], str]


class Outcome(enum.StrEnum):
    WRITTEN = "written"
    UNCHANGED = "unchanged"
    REMOVED = "removed"
    MISSING = "missing"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class InjectResult:
    outcome: Outcome
    event: Event | None
    block: str = ""
    detail: str = ""


def inject_block(
    provider: CalendarProvider,
    key: EventKey,
    render: RenderBlock,
    previous_body: str | None,
) -> InjectResult:
    """Merge the block that `render` returns into the description of `key`.

    `previous_body` is the block body Tandem wrote last time. Lines a person
    added inside the block since then are passed to `render` before the block
    is rewritten, so the caller can keep them (as topics).
    """
    for attempt in range(1, MAX_ATTEMPTS + 1):
        event = provider.get_event(key)
        if event is None:
            return InjectResult(
                Outcome.MISSING, None, detail="the event no longer exists"
            )

        current_body = merge.block_body(event.description)
        edits = _edits(previous_body, current_body)
        block = render(edits)
        description = merge.merge_block(event.description, block)
        if description == event.description:
            return InjectResult(Outcome.UNCHANGED, event, block)

        try:
            written = provider.update_description(key, description, event.etag)
        except ConflictError:
            log.info(
                "write conflict, reading again",
                extra={"event": str(key), "attempt": attempt},
            )
            continue
        except NotFoundError:
            return InjectResult(Outcome.MISSING, None, detail="the event was deleted")
        except ProviderError as error:
            log.error(
                "write failed", extra={"event": str(key), "error": type(error).__name__}
            )
            return InjectResult(Outcome.FAILED, event, detail=str(error))
        return InjectResult(Outcome.WRITTEN, written, block)

    return InjectResult(
        Outcome.FAILED,
        None,
        detail=f"the event kept changing during {MAX_ATTEMPTS} writes",
    )


def remove_block(provider: CalendarProvider, key: EventKey) -> InjectResult:
    """Take Tandem's block out of the description of `key`, if it has one."""
    for _attempt in range(MAX_ATTEMPTS):
        event = provider.get_event(key)
        if event is None:
            return InjectResult(Outcome.MISSING, None)

        description = merge.remove_block(event.description)
        if description == event.description:
            return InjectResult(Outcome.UNCHANGED, event)
        try:
            written = provider.update_description(key, description, event.etag)
        except ConflictError:
            continue
        except NotFoundError:
            return InjectResult(Outcome.MISSING, None)
        return InjectResult(Outcome.REMOVED, written)

    return InjectResult(
        Outcome.FAILED,
        None,
        detail=f"the event kept changing during {MAX_ATTEMPTS} writes",
    )


def _edits(previous_body: str | None, current_body: str | None) -> list[str]:
    if previous_body is None or current_body is None or previous_body == current_body:
        return []
    return merge.user_lines(previous_body, current_body)
