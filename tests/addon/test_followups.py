"""Follow-up slot finding and the stable follow-up UID."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from addon.followups import (
    WorkingHours,
    find_slot,
    followup_uid,
    is_goal_review,
    search_window,
)
from calendar_sync.models import BusyInterval

AMS = ZoneInfo("Europe/Amsterdam")
HOURS = WorkingHours(9, 17, "Europe/Amsterdam")
HALF_HOUR = timedelta(minutes=30)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 1, day, hour, minute, tzinfo=AMS)


def test_first_free_slot_is_start_of_day() -> None:
    slot = find_slot(at(18, 7), HALF_HOUR, HOURS, [])

    assert slot == at(18, 9)


def test_busy_morning_moves_slot() -> None:
    busy = [BusyInterval(at(18, 9), at(18, 11, 10))]

    slot = find_slot(at(18, 7), HALF_HOUR, HOURS, busy)

    assert slot == at(18, 11, 15)


def test_weekend_is_skipped() -> None:
    saturday = at(16, 10)

    slot = find_slot(saturday, HALF_HOUR, HOURS, [])

    assert slot == at(18, 9)


def test_slot_must_end_inside_hours() -> None:
    busy = [BusyInterval(at(18, 9), at(18, 16, 45))]

    slot = find_slot(at(18, 9), HALF_HOUR, HOURS, busy)

    assert slot == at(19, 9)


def test_earliest_inside_day_is_respected() -> None:
    slot = find_slot(at(18, 13, 5), HALF_HOUR, HOURS, [])

    assert slot == at(18, 13, 15)


def test_no_slot_when_fully_booked() -> None:
    busy = [BusyInterval(at(1, 0), at(31, 0))]

    assert find_slot(at(4, 9), HALF_HOUR, HOURS, busy) is None


def test_working_hours_follow_the_zone_across_dst() -> None:
    hours = WorkingHours(9, 17, "Europe/Amsterdam")
    after_switch = datetime(2027, 3, 29, 6, 0, tzinfo=ZoneInfo("UTC"))

    slot = find_slot(after_switch, HALF_HOUR, hours, [])

    assert slot is not None
    assert slot.astimezone(ZoneInfo("UTC")).hour == 7  # 09:00 CEST is 07:00 UTC


def test_search_window_covers_ten_working_days() -> None:
    first, last = search_window(at(18, 10), HOURS)

    assert first == at(18, 0)
    assert last == at(30, 0)  # Mon 18th to Fri 29th, end exclusive


def test_followup_uid_is_stable() -> None:
    review = at(12, 10)

    first = followup_uid("acme", "series-1", review)
    second = followup_uid("acme", "series-1", review)

    assert first == second
    assert first != followup_uid("acme", "series-1", review + timedelta(weeks=1))
    assert first.endswith("@tandem")


def test_goal_review_titles() -> None:
    assert is_goal_review("Doelgesprek Q1")
    assert is_goal_review("1:1 + goal review")
    assert is_goal_review("Functioneringsgesprek Bram")
    assert not is_goal_review("1:1 Anna / Bram")
    assert not is_goal_review("Doelpunt")
