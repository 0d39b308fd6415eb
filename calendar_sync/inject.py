"""Write Tandem's agenda block into one event's description, and take it out again.

Both operations follow the same loop: read the event, compute the new
description, write only when it differs, and on a concurrency conflict read
again and recompute, so a concurrent edit by a person is merged, not lost.

Providers whose `description_format` is "html" (Outlook, Google Calendar)
get the HTML functions of `calendar_sync.merge`. Their servers rewrite the
HTML they store, so an HTML block counts as unchanged when the text of its
lines is unchanged, whatever tags the server put around them. HTML writes
also pass Tandem's state (block format version and body hash) to the
provider.
"""

from __future__ import annotations

import enum
import hashlib
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

HTML = "html"

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
    #: The provider's `description_format`, which `block_body` reads in.
    description_format: str = "text"

    @property
    def block_body(self) -> str | None:
        """The body of Tandem's block in `event`, or None when it has none."""
        if self.event is None:
            return None
        if self.description_format == HTML:
            return merge.block_body_html(self.event.description)
        return merge.block_body(self.event.description)


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
    if provider.description_format == HTML:
        return _inject_html(provider, key, render, previous_body)

    for attempt in range(1, MAX_ATTEMPTS + 1):
        event = provider.get_event(key)
        if event is None:
            return InjectResult(
                Outcome.MISSING, None, detail="the event no longer exists"
            )

        current_body = merge.block_body(event.description)
        edits = _edits(previous_body, current_body, render)
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
    remove = merge.remove_block
    if provider.description_format == HTML:
        remove = merge.remove_block_html
    for _attempt in range(MAX_ATTEMPTS):
        event = provider.get_event(key)
        if event is None:
            return InjectResult(Outcome.MISSING, None)

        description = remove(event.description)
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


def _edits(
    previous_body: str | None, current_body: str | None, render: RenderBlock
) -> list[str]:
    """Return the lines a person typed into the block that Tandem did not write.

    Without a record of the last write (a block pasted from elsewhere, or
    written before Tandem's database was reset) the block is compared with
    what Tandem would write now, so a person's lines are kept, never dropped.
    """
    if current_body is None or previous_body == current_body:
        return []
    if previous_body is None:
        previous_body = render([])
    return merge.user_lines(previous_body, current_body)


# -- HTML -------------------------------------------------------------------


def _inject_html(
    provider: CalendarProvider,
    key: EventKey,
    render: RenderBlock,
    previous_body: str | None,
) -> InjectResult:
    for attempt in range(1, MAX_ATTEMPTS + 1):
        event = provider.get_event(key)
        if event is None:
            return InjectResult(
                Outcome.MISSING, None, detail="the event no longer exists"
            )

        current = merge.find_block_html(event.description)
        edits = _edits(previous_body, current.body if current else None, render)
        block = render(edits)
        try:
            description = merge.merge_block_html(event.description, block)
        except ValueError as error:
            # The description's own HTML is broken (an unclosed tag), so a
            # block written after it would be hidden; leave it as it is.
            log.info("description not writable", extra={"event": str(key)})
            return InjectResult(Outcome.FAILED, event, block, str(error), HTML)

        merged = merge.find_block_html(description)
        if (
            current is not None
            and merged is not None
            and _same_lines(current.body, merged.body)
        ):
            return InjectResult(
                Outcome.UNCHANGED, event, block, description_format=HTML
            )

        body = merged.body if merged else ""
        state = {
            "format": str(merge.FORMAT_VERSION),
            "body_sha256": hashlib.sha256(body.encode()).hexdigest(),
        }
        try:
            written = provider.update_description(key, description, event.etag, state)
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
        return InjectResult(Outcome.WRITTEN, written, block, description_format=HTML)

    return InjectResult(
        Outcome.FAILED,
        None,
        detail=f"the event kept changing during {MAX_ATTEMPTS} writes",
    )


def _same_lines(first: str, second: str) -> bool:
    """Whether two block bodies hold the same non-blank lines.

    Google Calendar's web editor stores a paragraph as its text followed by
    `<br>`, which adds or drops blank lines without changing what they say.
    """
    return _visible_lines(first) == _visible_lines(second)


def _visible_lines(body: str) -> list[str]:
    return [" ".join(line.split()) for line in body.splitlines() if line.strip()]
