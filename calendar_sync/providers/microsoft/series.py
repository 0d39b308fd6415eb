"""What one incremental delta round shows about a series without reading it again.

`calendarView/delta` lists instances (occurrences and exceptions), never
series masters. An occurrence is a projection of its master: Graph gives it
the master's subject, body, organizer, attendees and show-as status, at the
master's time of day and with its duration (learn.microsoft.com/graph/api/
resources/event, `type`). So where Tandem has the master stored, its new
fields can be taken from any changed occurrence. The series' instances can
be completed from the stored copy too, because an instance the round did not
list has not changed since the round before.
"""

from __future__ import annotations

from dataclasses import replace

from calendar_sync.models import Event, EventStatus
from calendar_sync.providers.microsoft import mapping


def master_from_occurrence(master: Event, occurrence: Event) -> Event | None:
    """Return the stored `master` with the series fields that `occurrence` shows.

    Returns None where the occurrence does not fit the stored master (another
    time of day, zone or all-day flag, or a cancelled instance), because then
    the recurrence itself may have changed and only a read of the master
    shows how.
    """
    # NOTE: the stored RRULE is kept. A range change that leaves the window's
    # instances as they were (an end date moved beyond the window) shows up
    # only at the next read of the master, such as the next full round.
    if not _fits(master, occurrence):
        return None

    updated = replace(
        master,
        summary=occurrence.summary,
        end=master.start + occurrence.duration,
        organizer=occurrence.organizer,
        attendees=occurrence.attendees,
        status=occurrence.status,
        description=occurrence.description,
        extra={
            **master.extra,
            "is_organizer": occurrence.extra.get("is_organizer", "false"),
        },
    )
    if mapping.content_hash(updated) == mapping.content_hash(master):
        return master
    # Graph's ETag of the changed master is unknown without reading it. An
    # empty ETag never matches a stored one, so the store takes the new fields.
    return replace(updated, etag="")


def _fits(master: Event, occurrence: Event) -> bool:
    # Stored times carry a fixed UTC offset, so both are shown in the series'
    # zone before their times of day are compared across a DST change.
    zone = mapping.zone_of(master.timezone)
    return (
        occurrence.status is not EventStatus.CANCELLED
        and occurrence.timezone == master.timezone
        and occurrence.all_day == master.all_day
        and occurrence.start.astimezone(zone).time()
        == master.start.astimezone(zone).time()
    )


def complete_instances(
    stored: list[Event], listed: list[Event], removed: frozenset[str] = frozenset()
) -> list[Event] | None:
    """Return every instance of a series in the round's window, or None.

    `stored` is the stored master followed by its stored exceptions, and
    `listed` the instances of the series that this round returned. `removed`
    contains the ids the round reported `@removed`, which are gone. An instance
    the round did not list is unchanged, so it must be one Tandem has stored:
    an exception stored whole, or an id in the master's list of instance ids.
    The result is None when an unlisted id is only known as a plain
    occurrence, whose fields Tandem does not store.
    """
    if not stored or stored[0].recurrence_id is not None:
        return None
    master, exceptions = stored[0], stored[1:]
    known = set(master.extra.get(mapping.INSTANCE_IDS, "").split()) - removed
    if not known and not listed:
        return None

    listed_ids = {event.extra.get("graph_id", "") for event in listed}
    kept = {
        event.extra.get("graph_id", ""): event
        for event in exceptions
        if event.extra.get("graph_id", "") not in listed_ids | removed
    }
    if not known - listed_ids <= set(kept):
        return None
    instances = {event.key: event for event in kept.values()}
    instances.update((event.key, event) for event in listed)
    return sorted(instances.values(), key=lambda event: event.start)
