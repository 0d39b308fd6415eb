from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from calendar_sync.errors import CalendarFileError, ConflictError, NotFoundError
from calendar_sync.models import (
    Attendee,
    AttendeeRole,
    BusyInterval,
    CalendarUserType,
    EventKey,
    EventStatus,
    NewEvent,
    ParticipationStatus,
)
from calendar_sync.providers.ical import ICalendarProvider

AMS = ZoneInfo("Europe/Amsterdam")
SERIES = "weekly-1on1@example.test"
SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "team.ics"

MINIMAL = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Tandem tests//minimal//EN
BEGIN:VEVENT
UID:one@example.test
DTSTART:20261001T090000Z
DTEND:20261001T100000Z
SUMMARY:One
END:VEVENT
END:VCALENDAR
"""


def ams(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=AMS)


def load(ics_copy: Callable[[str], Path], name: str) -> ICalendarProvider:
    return ICalendarProvider(ics_copy(name), default_timezone="Europe/Amsterdam")


# -- files that cannot be read --


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CalendarFileError) as caught:
        ICalendarProvider(tmp_path / "absent.ics")

    assert "could not be read" in caught.value.reason
    assert caught.value.path.endswith("absent.ics")


def test_load_empty_file(ics_text: Callable[[str], Path]) -> None:
    with pytest.raises(CalendarFileError) as caught:
        ICalendarProvider(ics_text("  \n"))

    assert "empty" in caught.value.reason


def test_load_not_icalendar(ics_text: Callable[[str], Path]) -> None:
    with pytest.raises(CalendarFileError) as caught:
        ICalendarProvider(ics_text("Subject: hello\n\nThis is an email.\n"))

    assert "BEGIN:VCALENDAR" in caught.value.reason
    assert caught.value.line == 1


def test_load_bare_vevent(ics_text: Callable[[str], Path]) -> None:
    text = "BEGIN:VEVENT\nUID:x\nDTSTART:20261001T090000Z\nEND:VEVENT\n"

    with pytest.raises(CalendarFileError) as caught:
        ICalendarProvider(ics_text(text))

    assert "not an iCalendar file" in caught.value.reason


def test_load_truncated(ics_text: Callable[[str], Path]) -> None:
    truncated = MINIMAL.split("END:VEVENT")[0]

    with pytest.raises(CalendarFileError) as caught:
        ICalendarProvider(ics_text(truncated))

    assert "truncated" in caught.value.reason
    assert "END:VEVENT" in caught.value.reason
    assert caught.value.line == 4


def test_load_missing_end_vcalendar(ics_text: Callable[[str], Path]) -> None:
    with pytest.raises(CalendarFileError) as caught:
        ICalendarProvider(ics_text(MINIMAL.replace("END:VCALENDAR\n", "")))

    assert "END:VCALENDAR" in caught.value.reason
    assert caught.value.line == 1


def test_load_mismatched_end(ics_text: Callable[[str], Path]) -> None:
    damaged = MINIMAL.replace("END:VEVENT", "END:VTODO")

    with pytest.raises(CalendarFileError) as caught:
        ICalendarProvider(ics_text(damaged))

    assert "END:VTODO does not match BEGIN:VEVENT on line 4" in caught.value.reason
    assert caught.value.line == 9


def test_load_two_calendars(ics_text: Callable[[str], Path]) -> None:
    with pytest.raises(CalendarFileError) as caught:
        ICalendarProvider(ics_text(MINIMAL + MINIMAL))

    assert "more than one VCALENDAR" in caught.value.reason
    assert caught.value.line == 11


def test_load_undecodable(tmp_path: Path) -> None:
    path = tmp_path / "latin1.ics"
    path.write_bytes(MINIMAL.replace("One", "Caf\u00e9").encode("latin-1"))

    with pytest.raises(CalendarFileError) as caught:
        ICalendarProvider(path)

    assert "UTF-8" in caught.value.reason
    assert caught.value.line == 8


def test_load_invalid_content_line(ics_text: Callable[[str], Path]) -> None:
    damaged = MINIMAL.replace("VERSION:2.0\n", "VERSION:2.0\nthis line has no colon\n")

    with pytest.raises(CalendarFileError) as caught:
        ICalendarProvider(ics_text(damaged))

    assert "not a valid content line" in caught.value.reason
    assert "no colon" not in caught.value.reason
    assert caught.value.line == 3


def test_invalid_line_in_event_skipped(ics_text: Callable[[str], Path]) -> None:
    damaged = MINIMAL.replace("SUMMARY:One\n", "SUMMARY:One\nthis line has no colon\n")

    provider = ICalendarProvider(ics_text(damaged))

    assert len(provider.skipped) == 1
    assert provider.skipped[0].where == "UID one@example.test"
    assert "line 4" in provider.skipped[0].reason
    assert "no colon" not in provider.skipped[0].reason


def test_load_invalid_calendar_value(ics_text: Callable[[str], Path]) -> None:
    damaged = MINIMAL.replace(
        "VERSION:2.0\n", "VERSION:2.0\nREFRESH-INTERVAL;VALUE=DURATION:PT-2H\n"
    )

    with pytest.raises(CalendarFileError) as caught:
        ICalendarProvider(ics_text(damaged))

    assert "PT-2H" in caught.value.reason
    assert caught.value.line == 3


def test_invalid_zone_offset_kept(ics_text: Callable[[str], Path]) -> None:
    zone = (
        "BEGIN:VTIMEZONE\nTZID:Broken\nBEGIN:STANDARD\nDTSTART:19700101T000000\n"
        "TZOFFSETFROM:+5328\nTZOFFSETTO:+0100\nEND:STANDARD\nEND:VTIMEZONE\n"
    )
    damaged = MINIMAL.replace("BEGIN:VEVENT", zone + "BEGIN:VEVENT")
    provider = ICalendarProvider(ics_text(damaged))
    event = provider.get_event(EventKey("one@example.test"))
    assert event is not None

    provider.update_description(event.key, "Agenda", event.etag)

    assert provider.skipped == []
    assert b"TZOFFSETFROM:+5328" in provider.to_bytes()


def test_invalid_alarm_trigger_kept(ics_text: Callable[[str], Path]) -> None:
    alarm = "BEGIN:VALARM\nACTION:DISPLAY\nTRIGGER:PT-2H\nEND:VALARM\n"
    damaged = MINIMAL.replace("END:VEVENT", alarm + "END:VEVENT")
    provider = ICalendarProvider(ics_text(damaged))
    event = provider.get_event(EventKey("one@example.test"))
    assert event is not None

    provider.update_description(event.key, "Agenda", event.etag)

    assert provider.skipped == []
    assert b"TRIGGER:PT-2H" in provider.to_bytes()


def test_load_unknown_default_timezone(ics_text: Callable[[str], Path]) -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        ICalendarProvider(ics_text(MINIMAL), default_timezone="Mars/Olympus")


# -- events that are skipped --


def test_skipped_events_reasons(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "broken_events.ics")

    reasons = {skipped.where: skipped.reason for skipped in provider.skipped}

    assert "Nowhere Standard Time" in reasons["UID unknown-tzid@example.test"]
    assert "VTIMEZONE" in reasons["UID unknown-tzid@example.test"]
    assert "invalid DTSTART" in reasons["UID bad-date@example.test"]
    assert "before it starts" in reasons["UID backwards@example.test"]
    assert "no DTSTART" in reasons["UID no-start@example.test"]
    assert "no UID" in reasons["line 31"]
    assert "VALUE=TIME" in reasons["UID time-rdate@example.test"]
    assert "RSCALE" in reasons["UID lunar@example.test"]
    assert "second VEVENT" in reasons["UID good@example.test"]
    assert len(provider.skipped) == 8


def test_skipped_events_rest_loaded(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "broken_events.ics")

    uids = [event.uid for event in provider.list_changes(None).events]

    assert uids == [
        "good@example.test",
        "empty-rule@example.test",
        "no-end@example.test",
    ]


def test_skipped_events_stay_in_file(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "broken_events.ics")
    good = provider.get_event(EventKey("good@example.test"))
    assert good is not None

    provider.update_description(good.key, "Agenda", good.etag)

    assert b"UID:bad-date@example.test" in provider.to_bytes()
    assert b"DTSTART:20261341T090000" in provider.to_bytes()


def test_empty_rrule_single_event(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "broken_events.ics")

    event = provider.get_event(EventKey("empty-rule@example.test"))

    assert event is not None
    assert event.rrule is None
    assert event.all_day is True
    assert event.end - event.start == timedelta(days=1)


def test_missing_dtend_timed(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "broken_events.ics")

    event = provider.get_event(EventKey("no-end@example.test"))

    assert event is not None
    assert event.end == event.start


# -- normalising --


def test_master_fields(ics_copy: Callable[[str], Path]) -> None:
    path = ics_copy("series.ics")
    provider = ICalendarProvider(path, default_timezone="Europe/Amsterdam")

    master = provider.get_event(EventKey(SERIES))

    assert master is not None
    assert master.summary == "1:1 Anna / Bram"
    assert master.description == "Bring the roadmap."
    assert master.start == ams(2026, 9, 7, 10)
    assert master.end == ams(2026, 9, 7, 10, 30)
    assert master.timezone == "Europe/Amsterdam"
    assert master.rrule == "FREQ=WEEKLY;BYDAY=MO"
    assert master.status is EventStatus.CONFIRMED
    assert master.all_day is False
    assert master.recurrence_id is None
    assert master.source == str(path)


def test_master_exdates_and_rdates(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")

    master = provider.get_event(EventKey(SERIES))

    assert master is not None
    assert master.exdates == (
        ams(2026, 9, 14, 10),
        ams(2026, 9, 21, 10),
        ams(2026, 10, 5, 10),
    )
    assert master.rdates == (ams(2026, 9, 10, 15),)


def test_master_extra(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")

    master = provider.get_event(EventKey(SERIES))

    assert master is not None
    assert master.extra["TRANSP"] == "OPAQUE"
    assert master.extra["X-MICROSOFT-CDO-BUSYSTATUS"] == "BUSY"
    assert master.extra["SEQUENCE"] == "2"


def test_attendees_normalised(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")

    master = provider.get_event(EventKey(SERIES))

    assert master is not None
    assert master.organizer == Attendee("anna.devries@example.test", "Anna de Vries")
    anna, bram, room = master.attendees
    assert anna.partstat is ParticipationStatus.ACCEPTED
    assert bram.email == "bram@example.test"
    assert bram.name == "Bram Jansen"
    assert bram.role is AttendeeRole.REQUIRED
    assert bram.partstat is ParticipationStatus.NEEDS_ACTION
    assert room.cutype is CalendarUserType.ROOM
    assert room.role is AttendeeRole.NON_PARTICIPANT
    assert room.is_person is False


def test_attendee_unknown_parameters(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")

    event = provider.get_event(EventKey("offsite@example.test"))

    assert event is not None
    (bram,) = event.attendees
    assert bram.cutype is CalendarUserType.UNKNOWN
    assert bram.role is AttendeeRole.REQUIRED


def test_group_attendee(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")

    event = provider.get_event(EventKey("team-day@example.test"))

    assert event is not None
    assert event.attendees[0].cutype is CalendarUserType.GROUP
    assert event.attendees[1].partstat is ParticipationStatus.DECLINED


def test_all_day_midnight(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")

    event = provider.get_event(EventKey("offsite@example.test"))

    assert event is not None
    assert event.all_day is True
    assert event.start == ams(2026, 9, 11)
    assert event.end == ams(2026, 9, 12)
    assert event.timezone == "Europe/Amsterdam"


def test_duration_instead_of_dtend(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")

    event = provider.get_event(EventKey("open-ended@example.test"))

    assert event is not None
    assert event.duration == timedelta(minutes=45)
    assert event.timezone == "UTC"


def test_etag_stable(ics_copy: Callable[[str], Path]) -> None:
    first = load(ics_copy, "series.ics").list_changes(None).events
    second = load(ics_copy, "series.ics").list_changes(None).events

    assert [event.etag for event in first] == [event.etag for event in second]
    assert len({event.etag for event in first}) == len(first)


def test_windows_tzid_without_vtimezone(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "windows_zones.ics")

    event = provider.get_event(EventKey("win-no-vtimezone@example.test"))

    assert event is not None
    assert event.start == datetime(2026, 11, 2, 8, tzinfo=UTC)
    assert event.timezone == "Europe/Berlin"


def test_windows_custom_vtimezone(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "windows_zones.ics")

    event = provider.get_event(EventKey("win-custom@example.test"))

    assert event is not None
    assert event.start == datetime(2026, 11, 3, 8, tzinfo=UTC)
    assert event.extra["X-MICROSOFT-CDO-BUSYSTATUS"] == "TENTATIVE"


def test_vendor_prefixed_tzid(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "windows_zones.ics")

    event = provider.get_event(EventKey("mozilla-prefix@example.test"))

    assert event is not None
    assert event.start == datetime(2026, 11, 4, 0, tzinfo=UTC)
    assert event.timezone == "Asia/Tokyo"


def test_x_wr_timezone_floating(ics_copy: Callable[[str], Path]) -> None:
    provider = ICalendarProvider(ics_copy("google_export.ics"))

    event = provider.get_event(EventKey("google-floating@example.test"))

    assert event is not None
    assert event.start == ams(2026, 10, 20, 15)
    assert event.timezone == "Europe/Amsterdam"


def test_x_wr_timezone_keeps_local_time(ics_copy: Callable[[str], Path]) -> None:
    provider = ICalendarProvider(ics_copy("google_export.ics"))

    instances = provider.list_instances(
        "google-weekly@example.test", ams(2026, 10, 1), ams(2026, 11, 3)
    )

    assert [i.start for i in instances] == [
        ams(2026, 10, 19, 10),
        ams(2026, 10, 26, 10),
        ams(2026, 11, 2, 10),
    ]


def test_floating_default_timezone(ics_copy: Callable[[str], Path]) -> None:
    in_amsterdam = load(ics_copy, "orphans.ics")
    in_utc = ICalendarProvider(ics_copy("orphans.ics"))

    key = EventKey("floating-series@example.test")
    local = in_amsterdam.get_event(key)
    universal = in_utc.get_event(key)

    assert local is not None
    assert universal is not None
    assert local.start == ams(2026, 11, 2, 9)
    assert universal.start == datetime(2026, 11, 2, 9, tzinfo=UTC)


# -- list_changes --


def test_list_changes_full(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")

    changes = provider.list_changes(None)

    assert changes.full is True
    assert len(changes.events) == 6
    assert sum(1 for e in changes.events if e.recurrence_id is not None) == 2
    assert len(changes.cursor) == 64


def test_list_changes_same_cursor(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")
    cursor = provider.list_changes(None).cursor

    changes = provider.list_changes(cursor)

    assert changes.events == ()
    assert changes.full is False
    assert changes.cursor == cursor


def test_list_changes_after_write(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")
    cursor = provider.list_changes(None).cursor
    master = provider.get_event(EventKey(SERIES))
    assert master is not None

    provider.update_description(master.key, "New agenda", master.etag)
    changes = provider.list_changes(cursor)

    assert changes.full is True
    assert changes.cursor != cursor


# -- list_instances --


def test_instances_overrides_and_exdates(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")

    instances = provider.list_instances(SERIES, ams(2026, 9, 1), ams(2026, 10, 20))

    assert [(i.recurrence_id, i.start) for i in instances] == [
        (ams(2026, 9, 7, 10), ams(2026, 9, 7, 10)),
        (ams(2026, 9, 10, 15), ams(2026, 9, 10, 15)),
        (ams(2026, 9, 28, 10), ams(2026, 9, 29, 14)),
        (ams(2026, 10, 19, 10), ams(2026, 10, 19, 10)),
    ]
    assert instances[2].summary == "1:1 Anna / Bram (moved)"


def test_instances_across_dst(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")

    instances = provider.list_instances(SERIES, ams(2026, 10, 20), ams(2026, 11, 3))

    assert [i.start.hour for i in instances] == [10, 10]
    assert [i.start.utcoffset() for i in instances] == [
        timedelta(hours=1),
        timedelta(hours=1),
    ]


def test_instances_unbounded_far_window(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")

    instances = provider.list_instances(
        "open-ended@example.test",
        datetime(2031, 1, 1, tzinfo=UTC),
        datetime(2031, 1, 8, tzinfo=UTC),
    )

    assert len(instances) == 7
    assert instances[0].start == datetime(2031, 1, 1, 8, tzinfo=UTC)


def test_instances_start_in_window(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")

    instances = provider.list_instances(
        "open-ended@example.test",
        datetime(2026, 9, 2, 8, 30, tzinfo=UTC),
        datetime(2026, 9, 3, 8, 0, tzinfo=UTC),
    )

    assert instances == []


def test_instances_all_day(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")

    instances = provider.list_instances(
        "team-day@example.test", ams(2026, 9, 1), ams(2027, 1, 1)
    )

    assert [i.start for i in instances] == [
        ams(2026, 9, 8),
        ams(2026, 10, 8),
        ams(2026, 11, 8),
    ]
    assert all(i.all_day for i in instances)


def test_instances_orphan_override(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "orphans.ics")

    instances = provider.list_instances(
        "orphan@example.test", ams(2026, 11, 1), ams(2026, 12, 1)
    )

    assert len(instances) == 1
    assert instances[0].recurrence_id == datetime(2026, 11, 5, 9, tzinfo=UTC)
    assert instances[0].start == datetime(2026, 11, 5, 10, tzinfo=UTC)


def test_instances_until_date(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "orphans.ics")

    instances = provider.list_instances(
        "until-date@example.test", ams(2026, 11, 1), ams(2026, 12, 31)
    )

    assert [i.start for i in instances] == [
        ams(2026, 11, 2, 9),
        ams(2026, 11, 9, 9),
        ams(2026, 11, 16, 9),
    ]


def test_instances_until_date_rrule_text(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "orphans.ics")

    master = provider.get_event(EventKey("until-date@example.test"))

    assert master is not None
    assert master.rrule == "FREQ=WEEKLY;UNTIL=20261116"


def test_instances_single_event(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")

    instances = provider.list_instances(
        "offsite@example.test", ams(2026, 9, 1), ams(2026, 10, 1)
    )

    assert len(instances) == 1
    assert instances[0].recurrence_id == ams(2026, 9, 11)


def test_instances_unknown_uid(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")

    assert provider.list_instances("nope", ams(2026, 9, 1), ams(2026, 10, 1)) == []


# -- get_event --


def test_get_plain_occurrence(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")
    master = provider.get_event(EventKey(SERIES))
    assert master is not None

    occurrence = provider.get_event(EventKey(SERIES, ams(2026, 10, 19, 10)))

    assert occurrence is not None
    assert occurrence.recurrence_id == ams(2026, 10, 19, 10)
    assert occurrence.start == ams(2026, 10, 19, 10)
    assert occurrence.end == ams(2026, 10, 19, 10, 30)
    assert occurrence.rrule is None
    assert occurrence.etag == master.etag


def test_get_override(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")

    override = provider.get_event(EventKey(SERIES, ams(2026, 9, 28, 10)))

    assert override is not None
    assert override.start == ams(2026, 9, 29, 14)


@pytest.mark.parametrize(
    "recurrence_id",
    [
        ams(2026, 9, 14, 10),  # excluded by EXDATE
        ams(2026, 9, 15, 10),  # not an instance of a Monday series
    ],
)
def test_get_missing_instance(
    ics_copy: Callable[[str], Path], recurrence_id: datetime
) -> None:
    provider = load(ics_copy, "series.ics")

    assert provider.get_event(EventKey(SERIES, recurrence_id)) is None


def test_get_cancelled_override(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")

    event = provider.get_event(EventKey(SERIES, ams(2026, 10, 12, 10)))

    assert event is not None
    assert event.status is EventStatus.CANCELLED


def test_get_unknown_uid(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")

    assert provider.get_event(EventKey("nope")) is None


# -- update_description --


def test_update_master(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")
    master = provider.get_event(EventKey(SERIES))
    assert master is not None

    updated = provider.update_description(master.key, "Agenda\nPersonal", master.etag)

    assert updated.description == "Agenda\nPersonal"
    assert updated.etag != master.etag
    assert b"DESCRIPTION:Agenda\\nPersonal" in provider.to_bytes()


def test_update_occurrence_adds_override(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")
    key = EventKey(SERIES, ams(2026, 10, 19, 10))
    occurrence = provider.get_event(key)
    assert occurrence is not None

    updated = provider.update_description(key, "Agenda for 19 October", occurrence.etag)
    blocks = provider.to_bytes().decode().split("BEGIN:VEVENT")
    rid = "RECURRENCE-ID;TZID=Europe/Amsterdam:20261019T100000"
    (override,) = [block for block in blocks if rid in block]

    assert updated.recurrence_id == ams(2026, 10, 19, 10)
    assert updated.description == "Agenda for 19 October"
    assert "DTSTART;TZID=Europe/Amsterdam:20261019T100000" in override
    assert "DTEND;TZID=Europe/Amsterdam:20261019T103000" in override
    assert "SEQUENCE:2" in override
    assert "RRULE" not in override
    assert "EXDATE" not in override
    assert "RDATE" not in override
    assert "BEGIN:VALARM" in override


def test_update_occurrence_leaves_others(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")
    key = EventKey(SERIES, ams(2026, 10, 19, 10))
    occurrence = provider.get_event(key)
    assert occurrence is not None

    provider.update_description(key, "Only this one", occurrence.etag)
    instances = provider.list_instances(SERIES, ams(2026, 10, 19), ams(2026, 10, 27))

    assert [i.description for i in instances] == ["Only this one", "Bring the roadmap."]


def test_update_survives_save(ics_copy: Callable[[str], Path]) -> None:
    path = ics_copy("series.ics")
    provider = ICalendarProvider(path, default_timezone="Europe/Amsterdam")
    key = EventKey(SERIES, ams(2026, 10, 19, 10))
    occurrence = provider.get_event(key)
    assert occurrence is not None

    provider.update_description(key, "Saved agenda", occurrence.etag)
    provider.save()
    reloaded = ICalendarProvider(path, default_timezone="Europe/Amsterdam")
    event = reloaded.get_event(key)

    assert event is not None
    assert event.description == "Saved agenda"
    assert reloaded.skipped == []


def test_update_same_text_no_change(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")
    key = EventKey(SERIES, ams(2026, 10, 19, 10))
    occurrence = provider.get_event(key)
    assert occurrence is not None
    first = provider.update_description(key, "Agenda", occurrence.etag)
    written = provider.to_bytes()

    again = provider.update_description(key, "Agenda", first.etag)

    assert again.etag == first.etag
    assert provider.to_bytes() == written


def test_update_unchanged_plain_occurrence(ics_copy: Callable[[str], Path]) -> None:
    path = ics_copy("series.ics")
    provider = ICalendarProvider(path, default_timezone="Europe/Amsterdam")
    key = EventKey(SERIES, ams(2026, 10, 19, 10))
    occurrence = provider.get_event(key)
    assert occurrence is not None

    provider.update_description(key, "Bring the roadmap.", occurrence.etag)

    assert provider.to_bytes() == path.read_bytes()


def test_update_conflict(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")

    with pytest.raises(ConflictError):
        provider.update_description(EventKey(SERIES), "Agenda", "stale-etag")


def test_update_stale_after_master_change(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")
    key = EventKey(SERIES, ams(2026, 10, 19, 10))
    occurrence = provider.get_event(key)
    master = provider.get_event(EventKey(SERIES))
    assert occurrence is not None
    assert master is not None
    provider.update_description(master.key, "Changed series", master.etag)

    with pytest.raises(ConflictError):
        provider.update_description(key, "Agenda", occurrence.etag)


def test_update_not_found(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")

    with pytest.raises(NotFoundError):
        provider.update_description(EventKey("nope"), "Agenda", "")


def test_update_excluded_instance(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")
    master = provider.get_event(EventKey(SERIES))
    assert master is not None

    with pytest.raises(NotFoundError):
        provider.update_description(
            EventKey(SERIES, ams(2026, 9, 14, 10)), "Agenda", master.etag
        )


def test_update_x_wr_timezone_shape(ics_copy: Callable[[str], Path]) -> None:
    provider = ICalendarProvider(ics_copy("google_export.ics"))
    key = EventKey("google-weekly@example.test", ams(2026, 11, 2, 10))
    occurrence = provider.get_event(key)
    assert occurrence is not None

    provider.update_description(key, "Agenda", occurrence.etag)
    text = provider.to_bytes().decode()

    assert "X-WR-TIMEZONE:Europe/Amsterdam" in text
    assert "RECURRENCE-ID:20261102T090000Z" in text
    assert "DTSTART:20261102T090000Z" in text
    assert "DTSTART:20261019T080000Z" in text
    assert "TZID" not in text


def test_update_floating_series(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "orphans.ics")
    key = EventKey("floating-series@example.test", ams(2026, 11, 3, 9))
    occurrence = provider.get_event(key)
    assert occurrence is not None

    provider.update_description(key, "Agenda", occurrence.etag)

    assert b"RECURRENCE-ID:20261103T090000\r\n" in provider.to_bytes()


def test_update_all_day_series(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")
    key = EventKey("team-day@example.test", ams(2026, 10, 8))
    occurrence = provider.get_event(key)
    assert occurrence is not None

    updated = provider.update_description(key, "Agenda", occurrence.etag)

    assert b"RECURRENCE-ID;VALUE=DATE:20261008" in provider.to_bytes()
    assert updated.all_day is True
    assert updated.start == ams(2026, 10, 8)


def test_update_single_event_instance(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")
    key = EventKey("offsite@example.test", ams(2026, 9, 11))
    event = provider.get_event(key)
    assert event is not None

    provider.update_description(key, "Agenda", event.etag)

    assert b"RECURRENCE-ID" not in provider.to_bytes().split(b"UID:offsite")[1]


# -- create_event --


def new_event(uid: str = "followup@tandem.test") -> NewEvent:
    return NewEvent(
        uid=uid,
        summary="Follow-up: goal review",
        start=ams(2026, 12, 10, 14),
        end=ams(2026, 12, 10, 14, 30),
        timezone="Europe/Amsterdam",
        organizer=Attendee("anna@example.test", "Anna"),
        attendees=(
            Attendee(
                "anna@example.test", "Anna", partstat=ParticipationStatus.ACCEPTED
            ),
            Attendee("bram@example.test", "Bram"),
        ),
        description="Agenda",
    )


def test_create_event_fields(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "google_export.ics")

    created = provider.create_event(new_event())
    text = provider.to_bytes().decode()

    assert created.start == ams(2026, 12, 10, 14)
    assert created.status is EventStatus.CONFIRMED
    assert [a.email for a in created.attendees] == [
        "anna@example.test",
        "bram@example.test",
    ]
    assert "DTSTART;TZID=Europe/Amsterdam:20261210T140000" in text
    assert "ORGANIZER;CN=Anna:mailto:anna@example.test" in text
    assert "PARTSTAT=NEEDS-ACTION" in text
    assert "RSVP=TRUE" in text
    assert "SEQUENCE:0" in text
    assert "BEGIN:VTIMEZONE" in text


def test_create_event_found_by_key(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")

    created = provider.create_event(new_event())

    assert provider.get_event(EventKey("followup@tandem.test")) == created


def test_create_event_twice(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")
    first = provider.create_event(new_event())
    written = provider.to_bytes()

    second = provider.create_event(new_event())

    assert second == first
    assert provider.to_bytes() == written


def test_create_event_existing_uid(ics_copy: Callable[[str], Path]) -> None:
    path = ics_copy("series.ics")
    provider = ICalendarProvider(path, default_timezone="Europe/Amsterdam")

    existing = provider.create_event(new_event(uid=SERIES))

    assert existing.summary == "1:1 Anna / Bram"
    assert provider.to_bytes() == path.read_bytes()


# -- busy_intervals --


def test_busy_attendee(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")

    busy = provider.busy_intervals(
        ["Bram@Example.test"], ams(2026, 9, 7), ams(2026, 9, 8)
    )

    assert busy == {
        "bram@example.test": [
            BusyInterval(
                ams(2026, 9, 7, 8, 0) + timedelta(hours=2), ams(2026, 9, 7, 10, 45)
            )
        ]
    }


def test_busy_merges_overlaps(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")

    busy = provider.busy_intervals(
        ["anna.devries@example.test"], ams(2026, 9, 7), ams(2026, 9, 8)
    )

    assert busy["anna.devries@example.test"] == [
        BusyInterval(ams(2026, 9, 7, 10), ams(2026, 9, 7, 10, 30))
    ]


def test_busy_skips_transparent_and_declined(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")

    busy = provider.busy_intervals(
        ["anna.devries@example.test", "bram@example.test"],
        ams(2026, 9, 8),
        ams(2026, 9, 9),
    )

    assert busy["anna.devries@example.test"] == []
    assert busy["bram@example.test"] == [
        BusyInterval(ams(2026, 9, 8, 10), ams(2026, 9, 8, 10, 45))
    ]


def test_busy_all_day_opaque(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")

    busy = provider.busy_intervals(
        ["anna.devries@example.test"], ams(2026, 9, 11), ams(2026, 9, 12)
    )

    assert busy["anna.devries@example.test"] == [
        BusyInterval(ams(2026, 9, 11), ams(2026, 9, 12))
    ]


def test_busy_skips_cancelled(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")

    busy = provider.busy_intervals(
        ["anna.devries@example.test"], ams(2026, 10, 12), ams(2026, 10, 13)
    )

    assert busy["anna.devries@example.test"] == []


def test_busy_clipped_to_window(ics_copy: Callable[[str], Path]) -> None:
    provider = load(ics_copy, "series.ics")

    busy = provider.busy_intervals(
        ["anna.devries@example.test"], ams(2026, 9, 7, 10, 15), ams(2026, 9, 7, 12)
    )

    assert busy["anna.devries@example.test"] == [
        BusyInterval(ams(2026, 9, 7, 10, 15), ams(2026, 9, 7, 10, 30))
    ]


# -- saving --


def test_save_unchanged_same_bytes(
    ics_copy: Callable[[str], Path], tmp_path: Path
) -> None:
    path = ics_copy("windows_zones.ics")
    provider = ICalendarProvider(path)
    target = tmp_path / "out.ics"

    provider.save(target)

    assert target.read_bytes() == path.read_bytes()


def test_save_failure_keeps_target(
    ics_copy: Callable[[str], Path], tmp_path: Path
) -> None:
    provider = ICalendarProvider(ics_copy("series.ics"))
    target = tmp_path / "occupied"
    target.mkdir()
    (target / "keep.txt").write_text("kept")

    with pytest.raises(OSError):
        provider.save(target)

    assert (target / "keep.txt").read_text() == "kept"
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []


def test_save_keeps_other_properties(ics_copy: Callable[[str], Path]) -> None:
    path = ics_copy("windows_zones.ics")
    provider = ICalendarProvider(path)
    event = provider.get_event(EventKey("win-custom@example.test"))
    assert event is not None

    provider.update_description(event.key, "Agenda", event.etag)
    provider.save()
    text = path.read_text()

    assert "TZID:Customized Time Zone" in text
    assert "DTSTART;TZID=W. Europe Standard Time:20261102T090000" in text
    assert "X-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE" in text
    assert "PRODID:Microsoft Exchange Server 2010" in text


# -- the bundled sample --


def test_sample_loads_cleanly() -> None:
    provider = ICalendarProvider(SAMPLE, default_timezone="Europe/Amsterdam")

    events = provider.list_changes(None).events

    assert provider.skipped == []
    assert 20 <= len(events) <= 60
    assert all(e.start.date() >= date(2026, 9, 1) for e in events)


def test_sample_series_continue() -> None:
    provider = ICalendarProvider(SAMPLE, default_timezone="Europe/Amsterdam")
    masters = [e for e in provider.list_changes(None).events if e.is_recurring]

    upcoming = [
        m.uid
        for m in masters
        if provider.list_instances(m.uid, ams(2026, 12, 4), ams(2027, 1, 31))
    ]

    assert len(upcoming) >= 8
