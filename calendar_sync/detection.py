"""Decide which recurring series are one-on-one meetings, and say why.

A series is taken as a 1:1 when every rule below passes. Each rule adds a
`Reason` to the decision, passed or not, so `tandem detect --explain` can
show exactly why a series was or was not taken.

1. It recurs, at most daily: the master has an RRULE or RDATEs. A one-off
   meeting has no next occurrence to prepare, and a rule that repeats every
   hour, minute or second is a reminder or a mistake, never a conversation.
2. It is not cancelled (STATUS:CANCELLED on the master).
3. It is not all-day: an all-day recurring event is a reminder or an absence,
   not a conversation.
4. It is not longer than the configured maximum (three hours by default):
   longer recurring blocks between two people are workshops or shared focus
   time.
5. It has a future occurrence inside the horizon: an ended series (UNTIL or
   COUNT in the past, or every remaining instance excluded) needs no agenda.
6. Its title is not one that marks a different kind of meeting (interview,
   focus time, lunch, travel, out of office) in Dutch or English. A title
   that names a 1:1 ("1:1", "one-on-one", "één-op-één", "bila", "check-in",
   "Anna <> Bram") is recorded as supporting evidence but is not required.
7. Exactly two distinct people take part: organizer and attendees, each
   address counted once, leaving out rooms, resources and groups (CUTYPE),
   non-participants (ROLE=NON-PARTICIPANT), and attendees that declined the
   series. A series where the second person declined therefore has one
   person and is not a 1:1.
8. Both people are inside the tenant's domains, when domains are configured.
   A recurring slot with an outside guest is an external meeting.
9. The pair is stable: when at least two instances were changed and more
   than half of those have a different pair of people than the master (an
   interview slot with a new candidate each time), the series is not a 1:1.
   A third person added to one instance does not change the decision, but
   that instance is flagged so prior notes stay out of its invite.

A manager relation from the directory, where known, is recorded as
supporting evidence. A series read from the calendar of someone who attends
but does not organize it is not judged there (rule "organizer"): Tandem
writes only as the organizer, so the organizer's calendar decides.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from calendar_sync.models import (
    AttendeeRole,
    CalendarUserType,
    Event,
    EventStatus,
    ParticipationStatus,
    email_domain,
)


class Rule(enum.StrEnum):
    """The rules of the module docstring, by the code shown in explanations."""

    RECURS = "recurs"
    NOT_CANCELLED = "not-cancelled"
    NOT_ALL_DAY = "not-all-day"
    DURATION = "duration"
    UPCOMING = "upcoming"
    TITLE = "title"
    TWO_PEOPLE = "two-people"
    DOMAINS = "domains"
    STABLE_PAIR = "stable-pair"
    EVIDENCE = "evidence"
    ORGANIZER = "organizer"


@dataclass(frozen=True, slots=True)
class Reason:
    """One rule's outcome for one series, in words a person can act on."""

    rule: Rule
    passed: bool
    message: str

    def to_dict(self) -> dict[str, object]:
        return {"rule": str(self.rule), "passed": self.passed, "message": self.message}


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a series is a 1:1, its two people (organizer first) and the reasons."""

    uid: str
    summary: str
    is_one_on_one: bool
    people: tuple[str, str] | None
    reasons: tuple[Reason, ...]
    next_start: datetime | None = None
    mixed_instances: tuple[datetime, ...] = ()

    @property
    def failed(self) -> list[Reason]:
        return [reason for reason in self.reasons if not reason.passed]


@dataclass(frozen=True, slots=True)
class DetectionPolicy:
    """The tenant-specific inputs of detection."""

    domains: frozenset[str] = frozenset()
    max_duration: timedelta = timedelta(hours=3)
    managers: Mapping[str, str] = field(default_factory=dict)


# Titles of recurring meetings that involve two people but are not 1:1s. Word
# boundaries keep "focus" from matching inside another word; Dutch compounds
# such as "sollicitatiegesprek" are matched by their stem.
_OTHER_KIND = re.compile(
    r"\b(interview\w*|sollicitatie\w*|kandidaat\w*|focus\w*|deep work|"
    r"niet storen|do not book|blocker|lunch\w*|reistijd|travel|commute|"
    r"out of office|ooo|afwezig|vakantie|holiday|standup|stand-up|"
    r"retro\w*|refinement)\b",
    re.IGNORECASE,
)
_ONE_ON_ONE = re.compile(
    r"(\b1\s*[:-]\s*1\b|\b1\s*on\s*1\b|one[- ]on[- ]one|één[- ]op[- ]één|"
    r"een[- ]op[- ]een|\bbila\b|bilateraal|check[- ]?in|\S\s*<>\s*\S|"
    r"\bo3\b|\bone2one\b)",
    re.IGNORECASE,
)


def decide(
    master: Event,
    overrides: Sequence[Event],
    upcoming: Sequence[Event],
    policy: DetectionPolicy,
) -> Decision:
    """Decide whether the series of `master` is a 1:1.

    `overrides` are the changed instances of the series; `upcoming` its
    instances from now to the end of the horizon, in order.
    """
    reasons: list[Reason] = []
    people = _participants(master)

    reasons.append(_check_recurs(master))
    reasons.append(_check_status(master))
    reasons.append(_check_all_day(master))
    reasons.append(_check_duration(master, policy.max_duration))
    reasons.append(_check_upcoming(upcoming))
    reasons.append(_check_title(master.summary))
    reasons.append(_check_two_people(master, people))
    pair = tuple(people) if len(people) == 2 else None
    if pair is not None:
        reasons.append(_check_domains(pair, policy.domains))
        reasons.append(_check_stable_pair(pair, overrides))
        reasons.extend(_evidence(master.summary, pair, policy.managers))

    is_one_on_one = all(reason.passed for reason in reasons)
    mixed = _mixed_instances(pair, overrides) if is_one_on_one and pair else ()
    return Decision(
        uid=master.uid,
        summary=master.summary,
        is_one_on_one=is_one_on_one,
        people=(pair[0], pair[1]) if is_one_on_one and pair else None,
        reasons=tuple(reasons),
        next_start=upcoming[0].start if upcoming else None,
        mixed_instances=mixed,
    )


def decide_orphan(override: Event) -> Decision:
    """Explain an instance whose series master is not in the calendar."""
    reason = Reason(
        Rule.RECURS,
        False,
        "only changed instances of this series are in the calendar, not the series "
        "itself; export or share the whole calendar to include it",
    )
    return Decision(override.uid, override.summary, False, None, (reason,))


def participants(event: Event) -> list[str]:
    """Return the distinct people of an event, organizer first, as rule 7 counts."""
    return _participants(event)


def _participants(event: Event) -> list[str]:
    people: list[str] = []
    if event.organizer and event.organizer.is_person and event.organizer.email:
        people.append(event.organizer.email)
    for attendee in event.attendees:
        if not attendee.is_person or not attendee.email:
            continue
        if attendee.role is AttendeeRole.NON_PARTICIPANT:
            continue
        if attendee.partstat is ParticipationStatus.DECLINED:
            if attendee.email in people:
                people.remove(attendee.email)
            continue
        if attendee.email not in people:
            people.append(attendee.email)
    return people


_SUB_DAILY = re.compile(r"(?:^|;)FREQ=(SECONDLY|MINUTELY|HOURLY)(?:;|$)", re.IGNORECASE)


def recurs_more_than_daily(master: Event) -> bool:
    """Return whether the master's RRULE repeats hourly, minutely or secondly."""
    return bool(master.rrule and _SUB_DAILY.search(master.rrule))


def decide_elsewhere(master: Event, owner: str) -> Decision:
    """Explain a series seen in the calendar of someone who does not organize it."""
    organizer = master.organizer.email if master.organizer else "its organizer"
    why = Reason(
        Rule.ORGANIZER,
        False,
        f"{owner} attends but does not organize it; Tandem judges it from the "
        f"calendar of {organizer}",
    )
    return Decision(master.uid, master.summary, False, None, (why,))


def decide_unexpandable(master: Event, reason: str) -> Decision:
    """Explain a series whose recurrence cannot be expanded into instances."""
    why = Reason(Rule.RECURS, False, f"the recurrence cannot be expanded: {reason}")
    return Decision(master.uid, master.summary, False, None, (why,))


def _check_recurs(master: Event) -> Reason:
    if recurs_more_than_daily(master):
        return Reason(
            Rule.RECURS, False, f"recurs more often than daily ({master.rrule})"
        )
    if master.is_recurring:
        return Reason(Rule.RECURS, True, f"recurs ({master.rrule or 'RDATE'})")
    return Reason(
        Rule.RECURS, False, "does not recur: a single meeting is not a series"
    )


def _check_status(master: Event) -> Reason:
    if master.status is EventStatus.CANCELLED:
        return Reason(Rule.NOT_CANCELLED, False, "the series is cancelled")
    return Reason(Rule.NOT_CANCELLED, True, f"status {master.status}")


def _check_all_day(master: Event) -> Reason:
    if master.all_day:
        return Reason(Rule.NOT_ALL_DAY, False, "all-day events are not meetings")
    return Reason(Rule.NOT_ALL_DAY, True, "has a start and end time")


def _check_duration(master: Event, maximum: timedelta) -> Reason:
    minutes = int(master.duration.total_seconds() // 60)
    if master.duration <= timedelta(0):
        return Reason(Rule.DURATION, False, "has no duration (DTEND equals DTSTART)")
    if master.duration > maximum:
        limit = int(maximum.total_seconds() // 60)
        return Reason(
            Rule.DURATION,
            False,
            f"lasts {minutes} minutes, longer than the {limit} allowed",
        )
    return Reason(Rule.DURATION, True, f"lasts {minutes} minutes")


def _check_upcoming(upcoming: Sequence[Event]) -> Reason:
    if not upcoming:
        return Reason(
            Rule.UPCOMING,
            False,
            "no occurrence ahead within the horizon: ended or paused",
        )
    return Reason(
        Rule.UPCOMING, True, f"next occurrence {upcoming[0].start.isoformat()}"
    )


def _check_title(summary: str) -> Reason:
    match = _OTHER_KIND.search(summary)
    if match:
        return Reason(
            Rule.TITLE,
            False,
            f"the title says {match.group(0)!r}: a different kind of meeting",
        )
    return Reason(Rule.TITLE, True, "the title names no other kind of meeting")


def _check_two_people(master: Event, people: list[str]) -> Reason:
    if len(people) == 2:
        return Reason(Rule.TWO_PEOPLE, True, f"two people: {people[0]} and {people[1]}")

    declined = [
        attendee.email
        for attendee in master.attendees
        if attendee.partstat is ParticipationStatus.DECLINED
    ]
    left_out = sum(1 for attendee in master.attendees if not attendee.is_person)
    detail = f"{len(people)} {'person' if len(people) == 1 else 'people'}"
    if declined:
        detail += f" ({', '.join(declined)} declined)"
    if left_out:
        detail += f", not counting {left_out} room, resource or group"
    return Reason(Rule.TWO_PEOPLE, False, f"{detail}; a 1:1 has exactly two")


def _check_domains(pair: tuple[str, ...], domains: frozenset[str]) -> Reason:
    if not domains:
        return Reason(Rule.DOMAINS, True, "no tenant domains configured")

    outside = [email for email in pair if email_domain(email) not in domains]
    if outside:
        return Reason(
            Rule.DOMAINS,
            False,
            f"{', '.join(outside)} is outside the tenant's domains "
            f"({', '.join(sorted(domains))})",
        )
    return Reason(Rule.DOMAINS, True, "both people are inside the tenant's domains")


def _check_stable_pair(pair: tuple[str, ...], overrides: Sequence[Event]) -> Reason:
    changed = [
        event for event in overrides if event.status is not EventStatus.CANCELLED
    ]
    different = [
        event for event in changed if not set(pair) <= set(_participants(event))
    ]
    if len(changed) >= 2 and len(different) * 2 > len(changed):
        return Reason(
            Rule.STABLE_PAIR,
            False,
            f"{len(different)} of {len(changed)} changed instances have other people: "
            "the second person changes between meetings",
        )

    mixed = _mixed_instances(pair, overrides)
    if mixed:
        return Reason(
            Rule.STABLE_PAIR,
            True,
            f"the same two people, but {len(mixed)} instance(s) invite others too; "
            "their invites get no prior notes",
        )
    return Reason(Rule.STABLE_PAIR, True, "the same two people in every instance")


def _evidence(
    summary: str, pair: tuple[str, ...], managers: Mapping[str, str]
) -> Iterable[Reason]:
    if _ONE_ON_ONE.search(summary):
        yield Reason(Rule.EVIDENCE, True, "the title names a 1:1")
    first, second = pair
    if managers.get(first) == second or managers.get(second) == first:
        yield Reason(
            Rule.EVIDENCE, True, "one person is the other's manager in the directory"
        )


def _mixed_instances(
    pair: tuple[str, ...], overrides: Sequence[Event]
) -> tuple[datetime, ...]:
    """Return the changed instances that invite more than the pair."""
    mixed = [
        event.recurrence_id
        for event in overrides
        if event.recurrence_id is not None
        and event.status is not EventStatus.CANCELLED
        and not only_pair_invited(event, pair)
    ]
    return tuple(sorted(mixed))


def only_pair_invited(event: Event, pair: Iterable[str]) -> bool:
    """Return whether the invite goes to exactly the two people of the pair.

    Declined attendees still receive the invite's description, so they count
    here although rule 7 leaves them out; so do groups, which expand to their
    members. Rooms and resources do not count.
    """
    invited = set()
    if event.organizer and event.organizer.email:
        invited.add(event.organizer.email)
    for attendee in event.attendees:
        if attendee.cutype is CalendarUserType.GROUP:
            return False
        if attendee.is_person and attendee.email:
            invited.add(attendee.email)
    return invited == set(pair)
