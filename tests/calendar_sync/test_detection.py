"""1:1 detection, one test per kind of series real calendars hold."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from calendar_sync.detection import DetectionPolicy, Rule, decide, only_pair_invited
from calendar_sync.models import (
    Attendee,
    AttendeeRole,
    CalendarUserType,
    Event,
    EventStatus,
    ParticipationStatus,
)

AMS = ZoneInfo("Europe/Amsterdam")
START = datetime(2026, 12, 8, 10, 0, tzinfo=AMS)
ANNA = Attendee("anna@example-bedrijf.nl", "Anna", AttendeeRole.CHAIR)
BRAM = Attendee("bram@example-bedrijf.nl", "Bram")
CHRIS = Attendee("chris@example-bedrijf.nl", "Chris")
POLICY = DetectionPolicy(domains=frozenset({"example-bedrijf.nl"}))


def series(
    summary: str = "1:1 Anna / Bram",
    attendees: tuple[Attendee, ...] = (ANNA, BRAM),
    **changes: object,
) -> Event:
    fields: dict[str, object] = {
        "uid": "weekly-1",
        "summary": summary,
        "start": START,
        "end": START + timedelta(minutes=30),
        "organizer": ANNA,
        "attendees": attendees,
        "rrule": "FREQ=WEEKLY;BYDAY=TU",
        "timezone": "Europe/Amsterdam",
    }
    fields.update(changes)
    return Event(**fields)  # type: ignore[arg-type]


def instance(master: Event, week: int, **changes: object) -> Event:
    start = master.start + timedelta(weeks=week)
    fields: dict[str, object] = {
        "uid": master.uid,
        "summary": master.summary,
        "start": start,
        "end": start + master.duration,
        "recurrence_id": start,
        "organizer": master.organizer,
        "attendees": master.attendees,
    }
    fields.update(changes)
    return Event(**fields)  # type: ignore[arg-type]


def upcoming(master: Event, count: int = 3) -> list[Event]:
    return [instance(master, week) for week in range(count)]


def failed_rules(
    master: Event, overrides: tuple[Event, ...] = (), policy: DetectionPolicy = POLICY
) -> set[Rule]:
    decision = decide(master, overrides, upcoming(master), policy)
    return {reason.rule for reason in decision.failed}


def test_weekly_pair_is_one_on_one() -> None:
    master = series()

    decision = decide(master, (), upcoming(master), POLICY)

    assert decision.is_one_on_one
    assert decision.people == ("anna@example-bedrijf.nl", "bram@example-bedrijf.nl")
    assert decision.next_start == START
    assert any(reason.rule is Rule.EVIDENCE for reason in decision.reasons)


def test_organizer_listed_as_attendee_counts_once() -> None:
    master = series(
        attendees=(
            Attendee(ANNA.email, "Anna", partstat=ParticipationStatus.ACCEPTED),
            BRAM,
        )
    )

    assert failed_rules(master) == set()


def test_focus_time_with_one_person() -> None:
    master = series("Focus time", attendees=())

    assert failed_rules(master) == {Rule.TITLE, Rule.TWO_PEOPLE}


def test_solo_block_without_keyword_has_one_person() -> None:
    master = series("Schrijven", attendees=(ANNA,))

    decision = decide(master, (), upcoming(master), POLICY)

    assert not decision.is_one_on_one
    assert [reason.rule for reason in decision.failed] == [Rule.TWO_PEOPLE]
    assert "1 person" in decision.failed[0].message


def test_second_person_declined() -> None:
    declined = Attendee(BRAM.email, "Bram", partstat=ParticipationStatus.DECLINED)
    master = series(attendees=(ANNA, declined))

    decision = decide(master, (), upcoming(master), POLICY)

    assert [reason.rule for reason in decision.failed] == [Rule.TWO_PEOPLE]
    assert "bram@example-bedrijf.nl declined" in decision.failed[0].message


def test_room_and_group_are_left_out() -> None:
    room = Attendee("zaal-3@example-bedrijf.nl", "Zaal 3", cutype=CalendarUserType.ROOM)
    projector = Attendee("beamer@example-bedrijf.nl", cutype=CalendarUserType.RESOURCE)
    master = series(attendees=(ANNA, BRAM, room, projector))

    assert failed_rules(master) == set()


def test_group_attendee_blocks_notes_but_not_detection() -> None:
    group = Attendee("team@example-bedrijf.nl", cutype=CalendarUserType.GROUP)
    master = series(attendees=(ANNA, BRAM, group))

    assert failed_rules(master) == set()
    assert not only_pair_invited(master, (ANNA.email, BRAM.email))


def test_non_participant_is_not_counted() -> None:
    assistant = Attendee(
        "secretariaat@example-bedrijf.nl", role=AttendeeRole.NON_PARTICIPANT
    )
    master = series(attendees=(ANNA, BRAM, assistant))

    assert failed_rules(master) == set()


def test_team_meeting_has_too_many_people() -> None:
    master = series("Teamoverleg", attendees=(ANNA, BRAM, CHRIS))

    assert failed_rules(master) == {Rule.TWO_PEOPLE}


def test_outside_guest_fails_domains() -> None:
    guest = Attendee("kandidaat.x@gmail.com")
    master = series("Kennismaking", attendees=(ANNA, guest))

    decision = decide(master, (), upcoming(master), POLICY)

    assert [reason.rule for reason in decision.failed] == [Rule.DOMAINS]
    assert "kandidaat.x@gmail.com" in decision.failed[0].message


def test_any_domain_when_none_configured() -> None:
    master = series(attendees=(ANNA, Attendee("bram@elders.example")))

    assert failed_rules(master, policy=DetectionPolicy()) == set()


def test_interview_slot_with_changing_guest() -> None:
    master = series("Slot", attendees=(ANNA, Attendee("first@example-bedrijf.nl")))
    overrides = tuple(
        instance(
            master, week, attendees=(ANNA, Attendee(f"guest{week}@example-bedrijf.nl"))
        )
        for week in range(1, 4)
    )

    assert failed_rules(master, overrides) == {Rule.STABLE_PAIR}


def test_interview_title_is_another_kind() -> None:
    master = series("Sollicitatiegesprekken", attendees=(ANNA, BRAM))

    assert failed_rules(master) == {Rule.TITLE}


def test_third_person_in_one_instance_keeps_series() -> None:
    master = series("Anna <> Bram", rrule="FREQ=WEEKLY;INTERVAL=2;BYDAY=TU")
    extra = instance(master, 2, attendees=(ANNA, BRAM, CHRIS))

    decision = decide(master, (extra,), upcoming(master), POLICY)

    assert decision.is_one_on_one
    assert decision.mixed_instances == (extra.recurrence_id,)


def test_cancelled_series() -> None:
    master = series(status=EventStatus.CANCELLED)

    assert Rule.NOT_CANCELLED in failed_rules(master)


def test_all_day_series() -> None:
    master = series(all_day=True, end=START + timedelta(days=1))

    assert failed_rules(master) == {Rule.NOT_ALL_DAY, Rule.DURATION}


def test_single_meeting_does_not_recur() -> None:
    master = series(rrule=None)

    assert Rule.RECURS in failed_rules(master)


def test_ended_series_has_no_upcoming() -> None:
    master = series(rrule="FREQ=WEEKLY;UNTIL=20250101T000000Z")

    decision = decide(master, (), [], POLICY)

    assert [reason.rule for reason in decision.failed] == [Rule.UPCOMING]


@pytest.mark.parametrize("minutes", [0, 181])
def test_duration_limits(minutes: int) -> None:
    master = series(end=START + timedelta(minutes=minutes))

    assert failed_rules(master) == {Rule.DURATION}


def test_manager_relation_is_evidence() -> None:
    master = series("Wekelijks overleg")
    policy = DetectionPolicy(domains=POLICY.domains, managers={BRAM.email: ANNA.email})

    decision = decide(master, (), upcoming(master), policy)

    messages = [
        reason.message for reason in decision.reasons if reason.rule is Rule.EVIDENCE
    ]
    assert messages == ["one person is the other's manager in the directory"]
