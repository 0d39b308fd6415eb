"""GoogleCalendarProvider on the Google emulator, through the real client libraries.

Every test gets a reset emulator with an organizer (Anna) and an attendee
(Bram) in one domain. Events are seeded through the emulator's control API;
everything Tandem does goes through the provider over HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import google_helpers as helpers
import httpx
import pytest
from google_fixtures import control_fixture, emulator_fixture  # noqa: F401

from calendar_sync import merge
from calendar_sync.errors import ConflictError, NotFoundError
from calendar_sync.inject import Outcome, inject_block
from calendar_sync.models import Attendee, EventKey, EventStatus, NewEvent
from calendar_sync.providers.google import auth, mapping
from calendar_sync.providers.google.client import GoogleClient, GoogleConfig, Pacer
from calendar_sync.providers.google.errors import (
    ConsentRequiredError,
    NotOrganizerError,
    RateLimitedError,
)
from calendar_sync.providers.google.provider import GoogleCalendarProvider
from emulators.google import EmulatorServer

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
ANNA = "anna@tandem.test"
BRAM = "bram@tandem.test"
FIRST = datetime(2027, 3, 1, 10, 0, tzinfo=AMS)


def config_for(emulator: EmulatorServer, max_retries: int = 4) -> GoogleConfig:
    return GoogleConfig(
        client_id=helpers.CLIENT_ID,
        client_secret=helpers.CLIENT_SECRET,
        api_endpoint=emulator.url,
        token_uri=emulator.url + "token",
        auth_uri=emulator.url + "o/oauth2/v2/auth",
        revoke_uri=emulator.url + "revoke",
        redirect_uri=helpers.REDIRECT_URI,
        timeout=10,
        max_retries=max_retries,
    )


@pytest.fixture
def people(control: httpx.Client) -> None:
    helpers.add_user(control, ANNA, given_name="Anna", time_zone="Europe/Amsterdam")
    helpers.add_user(control, BRAM, given_name="Bram", time_zone="Europe/Amsterdam")


@pytest.fixture
def provider_for(
    emulator: EmulatorServer, control: httpx.Client, people: None
) -> Callable[..., GoogleCalendarProvider]:
    """Return a factory: the provider of one person, connected through OAuth."""

    def make(email: str = ANNA, max_retries: int = 4) -> GoogleCalendarProvider:
        refresh = helpers.refresh_token_for(control, email, [auth.CALENDAR_SCOPE])
        config = config_for(emulator, max_retries)
        credentials = auth.user_credentials(config, refresh)
        waits: list[float] = []
        client = GoogleClient(
            config, credentials, email, pacer=Pacer(0), sleep=waits.append
        )
        provider = GoogleCalendarProvider(
            client, default_timezone="Europe/Amsterdam", now=lambda: NOW
        )
        provider.waits = waits  # type: ignore[attr-defined]
        return provider

    return make


def seed(control: httpx.Client, body: dict, calendar: str = ANNA) -> dict:
    reply = control.post(f"/_emulator/calendars/{calendar}/events", json=body)
    assert reply.status_code == 201, reply.text
    return reply.json()


def weekly(control: httpx.Client, **extra: object) -> dict:
    return seed(
        control,
        {
            "summary": "Anna / Bram 1:1",
            "description": "<p>Our weekly check-in.</p>",
            "start": {
                "dateTime": "2027-03-01T10:00:00",
                "timeZone": "Europe/Amsterdam",
            },
            "end": {"dateTime": "2027-03-01T10:30:00", "timeZone": "Europe/Amsterdam"},
            "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO"],
            "attendees": [
                {"email": ANNA, "responseStatus": "accepted"},
                {"email": BRAM, "responseStatus": "accepted"},
            ],
            **extra,
        },
    )


def requests_of(control: httpx.Client, method: str | None = None) -> list[dict]:
    params = {"method": method} if method else {}
    return control.get("/_emulator/requests", params=params).json()


def fault(
    control: httpx.Client, method: str, kind: str, count: int = 1, **extra: object
) -> None:
    body = {"method": method, "kind": kind, "count": count, **extra}
    control.post("/_emulator/faults", json=body).raise_for_status()


# -- mapping ----------------------------------------------------------------


def test_event_id_is_base32hex() -> None:
    event_id = mapping.event_id_for("tandem-followup-1@tandem")

    assert event_id == mapping.event_id_for("tandem-followup-1@tandem")
    assert set(event_id) <= set("0123456789abcdefghijklmnopqrstuv")
    assert 5 <= len(event_id) <= 1024


def test_recurrence_lines_split() -> None:
    lines = [
        "RRULE:FREQ=WEEKLY;BYDAY=MO",
        "EXDATE;TZID=Europe/Amsterdam:20270308T100000,20270315T100000",
        "EXDATE:20270322T090000Z",
        "RDATE;VALUE=DATE:20270401",
    ]

    rrule, rdates, exdates = mapping.parse_recurrence(lines, "UTC")

    assert rrule == "FREQ=WEEKLY;BYDAY=MO"
    assert exdates == (
        datetime(2027, 3, 8, 10, tzinfo=AMS),
        datetime(2027, 3, 15, 10, tzinfo=AMS),
        datetime(2027, 3, 22, 10, tzinfo=AMS),
    )
    assert rdates == (datetime(2027, 4, 1, tzinfo=ZoneInfo("UTC")),)


def test_all_day_event_maps_midnight() -> None:
    item = {
        "id": "abcde12345",
        "status": "confirmed",
        "start": {"date": "2027-03-02"},
        "end": {"date": "2027-03-03"},
    }

    event = mapping.event_from_google(item, "Europe/Amsterdam")

    assert event.all_day
    assert event.start == datetime(2027, 3, 2, tzinfo=AMS)
    assert event.end - event.start == timedelta(days=1)


def test_room_attendee_is_not_a_person() -> None:
    item = {
        "id": "abcde12345",
        "start": {"dateTime": "2027-03-02T10:00:00+01:00"},
        "end": {"dateTime": "2027-03-02T10:30:00+01:00"},
        "attendees": [
            {"email": "Room-1@resource.calendar.google.com", "resource": True},
            {"email": "BRAM@tandem.test", "responseStatus": "declined"},
        ],
    }

    event = mapping.event_from_google(item)

    assert not event.attendees[0].is_person
    assert event.attendees[1].email == BRAM
    assert event.attendees[1].partstat == "DECLINED"


# -- changes ----------------------------------------------------------------


def test_full_listing_returns_series(provider_for, control) -> None:
    series = weekly(control)
    provider = provider_for()

    changes = provider.list_changes(None)

    assert changes.full
    assert changes.cursor
    [event] = changes.events
    assert event.uid == series["id"]
    assert event.rrule == "FREQ=WEEKLY;BYDAY=MO"
    assert event.start == FIRST
    assert event.organizer is not None and event.organizer.email == ANNA
    assert event.extra["organizer_self"] == "true"


def test_overlong_event_id_left_out(provider_for, control) -> None:
    # Google takes ids of up to 1,024 base32hex characters; Tandem's UID
    # columns take 1,000.
    weekly(control, id="a" * 1024)
    ordinary = weekly(control)
    provider = provider_for()

    changes = provider.list_changes(None)

    assert [event.uid for event in changes.events] == [ordinary["id"]]


def test_listing_follows_pages(provider_for, control) -> None:
    for day in range(1, 8):
        seed(
            control,
            {
                "summary": f"Single {day}",
                "start": {"dateTime": f"2027-03-{day + 1:02d}T09:00:00Z"},
                "end": {"dateTime": f"2027-03-{day + 1:02d}T09:30:00Z"},
            },
        )
    provider = provider_for()
    from calendar_sync.providers.google import provider as module

    original, module.PAGE_SIZE = module.PAGE_SIZE, 3
    try:
        changes = provider.list_changes(None)
    finally:
        module.PAGE_SIZE = original

    assert len(changes.events) == 7
    assert len(requests_of(control, "calendar.events.list")) == 3


def test_unchanged_sync_costs_one_request(provider_for, control) -> None:
    weekly(control)
    provider = provider_for()
    first = provider.list_changes(None)
    control.delete("/_emulator/requests")

    changes = provider.list_changes(first.cursor)

    assert changes.events == ()
    assert changes.removed == ()
    assert not changes.full
    assert len(requests_of(control)) == 1


def test_sync_lists_changed_instance(provider_for, control) -> None:
    series = weekly(control)
    provider = provider_for()
    first = provider.list_changes(None)
    bram = provider_for(BRAM)
    del bram
    instance_id = mapping.instance_id(
        series["id"], datetime(2027, 3, 8, 10, tzinfo=AMS), False
    )
    control.post(
        f"/_emulator/calendars/{ANNA}/events/{instance_id}/ui-edit",
        json={"description": "Moved topic"},
    ).raise_for_status()

    changes = provider.list_changes(first.cursor)

    [event] = changes.events
    assert event.uid == series["id"]
    assert event.recurrence_id == datetime(2027, 3, 8, 10, tzinfo=AMS)
    assert event.description == "Moved topic"


def test_cancelled_instance_is_removed(provider_for, control) -> None:
    series = weekly(control)
    provider = provider_for()
    first = provider.list_changes(None)
    original = datetime(2027, 3, 15, 10, tzinfo=AMS)
    events = provider.client.calendar.events()
    instance_id = mapping.instance_id(series["id"], original, False)
    events.delete(calendarId="primary", eventId=instance_id).execute()

    changes = provider.list_changes(first.cursor)

    assert changes.removed == (EventKey(series["id"], original),)


def test_deleted_series_is_removed(provider_for, control) -> None:
    series = weekly(control)
    provider = provider_for()
    first = provider.list_changes(None)
    provider.client.calendar.events().delete(
        calendarId="primary", eventId=series["id"]
    ).execute()

    changes = provider.list_changes(first.cursor)

    assert changes.removed == (EventKey(series["id"]),)


def test_expired_token_lists_in_full(provider_for, control) -> None:
    weekly(control)
    provider = provider_for()
    first = provider.list_changes(None)
    control.post("/_emulator/sync-tokens/expire").raise_for_status()

    changes = provider.list_changes(first.cursor)

    assert changes.full
    assert len(changes.events) == 1
    assert changes.cursor != first.cursor


# -- instances and single reads ---------------------------------------------


def test_instances_in_window(provider_for, control) -> None:
    series = weekly(control)
    provider = provider_for()

    instances = provider.list_instances(series["id"], NOW, NOW + timedelta(days=21))

    assert [event.start for event in instances] == [
        FIRST,
        datetime(2027, 3, 8, 10, tzinfo=AMS),
        datetime(2027, 3, 15, 10, tzinfo=AMS),
    ]
    assert all(event.recurrence_id == event.start for event in instances)


def test_instances_skip_cancelled(provider_for, control) -> None:
    series = weekly(control)
    provider = provider_for()
    second = datetime(2027, 3, 8, 10, tzinfo=AMS)
    instance_id = mapping.instance_id(series["id"], second, False)
    provider.client.calendar.events().delete(
        calendarId="primary", eventId=instance_id
    ).execute()

    instances = provider.list_instances(series["id"], NOW, NOW + timedelta(days=14))

    assert [event.start for event in instances] == [FIRST]


def test_instances_of_missing_series(provider_for, control) -> None:
    provider = provider_for()

    assert provider.list_instances("nosuchseries1", NOW, NOW + timedelta(days=7)) == []


def test_get_event_of_instance(provider_for, control) -> None:
    series = weekly(control)
    provider = provider_for()
    key = EventKey(series["id"], datetime(2027, 3, 8, 10, tzinfo=AMS))

    event = provider.get_event(key)

    assert event is not None
    assert event.key == key
    assert event.etag


def test_listed_instance_read_once(provider_for, control) -> None:
    series = weekly(control)
    provider = provider_for()
    [listed] = provider.list_instances(series["id"], NOW, NOW + timedelta(days=7))

    first = provider.get_event(listed.key)
    second = provider.get_event(listed.key)

    assert first == listed
    assert second is not None
    assert second.etag == listed.etag
    assert len(requests_of(control, "calendar.events.get")) == 1


def test_listed_instance_forgotten_on_sync(provider_for, control) -> None:
    series = weekly(control)
    provider = provider_for()
    [listed] = provider.list_instances(series["id"], NOW, NOW + timedelta(days=7))

    provider.list_changes(None)
    provider.get_event(listed.key)

    assert len(requests_of(control, "calendar.events.get")) == 1


def test_listed_instance_edited_is_merged(provider_for, control) -> None:
    series = weekly(control)
    provider = provider_for()
    [listed] = provider.list_instances(series["id"], NOW, NOW + timedelta(days=7))
    # A person edits the instance after Tandem listed it, before it writes.
    control.post(
        f"/_emulator/calendars/{ANNA}/events/{listed.extra['google_id']}/ui-edit",
        json={"description": "Bring the laptop"},
    ).raise_for_status()

    result = inject_block(provider, listed.key, lambda _edits: "<p>Agenda</p>", None)

    patches = requests_of(control, "calendar.events.patch")
    assert result.outcome is Outcome.WRITTEN
    assert [row["status"] for row in patches] == [412, 200]
    assert len(requests_of(control, "calendar.events.get")) == 1
    assert result.event is not None
    assert "Bring the laptop" in result.event.description
    assert "Agenda" in result.event.description


def _two_series_with_changes(control: httpx.Client, provider) -> tuple[dict, dict]:
    """Seed two of Anna's series; move one instance of the first, cancel one."""
    first = weekly(control)
    second = weekly(
        control,
        summary="Anna / Bram planning",
        start={"dateTime": "2027-03-02T14:00:00", "timeZone": "Europe/Amsterdam"},
        end={"dateTime": "2027-03-02T14:30:00", "timeZone": "Europe/Amsterdam"},
        recurrence=["RRULE:FREQ=WEEKLY;BYDAY=TU"],
    )
    events = provider.client.calendar.events()
    moved = mapping.instance_id(
        first["id"], datetime(2027, 3, 8, 10, tzinfo=AMS), False
    )
    events.patch(
        calendarId="primary",
        eventId=moved,
        body={
            "start": {
                "dateTime": "2027-03-09T11:00:00",
                "timeZone": "Europe/Amsterdam",
            },
            "end": {"dateTime": "2027-03-09T11:30:00", "timeZone": "Europe/Amsterdam"},
        },
    ).execute()
    cancelled = mapping.instance_id(
        first["id"], datetime(2027, 3, 15, 10, tzinfo=AMS), False
    )
    events.delete(calendarId="primary", eventId=cancelled).execute()
    return first, second


def test_full_round_lists_window_once(provider_for, control) -> None:
    provider = provider_for()
    first, second = _two_series_with_changes(control, provider)
    expected = {
        series["id"]: provider.list_instances(
            series["id"], NOW, NOW + timedelta(days=21)
        )
        for series in (first, second)
    }
    control.delete("/_emulator/requests").raise_for_status()

    provider.list_changes(None)
    found = {
        series["id"]: provider.list_instances(
            series["id"], NOW, NOW + timedelta(days=21)
        )
        for series in (first, second)
    }

    assert found == expected
    assert [event.start for event in found[first["id"]]] == [
        FIRST,
        datetime(2027, 3, 9, 11, tzinfo=AMS),
    ]
    assert len(found[second["id"]]) == 3
    assert requests_of(control, "calendar.events.instances") == []
    assert len(requests_of(control, "calendar.events.list")) == 2


def test_window_not_covering_reads_instances(provider_for, control) -> None:
    provider = provider_for()
    first, second = _two_series_with_changes(control, provider)
    provider.list_changes(None)
    provider.list_instances(first["id"], NOW, NOW + timedelta(days=7))
    control.delete("/_emulator/requests").raise_for_status()

    wider = provider.list_instances(second["id"], NOW, NOW + timedelta(days=21))

    assert len(wider) == 3
    assert len(requests_of(control, "calendar.events.instances")) == 1


def test_incremental_round_reads_instances(provider_for, control) -> None:
    provider = provider_for()
    first, second = _two_series_with_changes(control, provider)
    cursor = provider.list_changes(None).cursor
    control.delete("/_emulator/requests").raise_for_status()

    provider.list_changes(cursor)
    provider.list_instances(first["id"], NOW, NOW + timedelta(days=21))
    provider.list_instances(second["id"], NOW, NOW + timedelta(days=21))

    assert len(requests_of(control, "calendar.events.instances")) == 2
    assert len(requests_of(control, "calendar.events.list")) == 1


def test_get_event_missing(provider_for, control) -> None:
    provider = provider_for()

    assert provider.get_event(EventKey("nosuchevent1")) is None


# -- writing ----------------------------------------------------------------


def test_update_patches_with_etag(provider_for, control) -> None:
    series = weekly(control)
    provider = provider_for()
    key = EventKey(series["id"], FIRST)
    event = provider.get_event(key)
    assert event is not None

    written = provider.update_description(
        key, "<p>Agenda</p>", event.etag, {"format": "1", "body_sha256": "ab"}
    )

    [patch] = requests_of(control, "calendar.events.patch")
    assert patch["if_match"] == event.etag
    assert patch["send_updates"] == "none"
    assert written.description == "<p>Agenda</p>"
    assert written.extra["state_body_sha256"] == "ab"
    assert written.etag != event.etag


def test_stale_etag_is_conflict(provider_for, control) -> None:
    series = weekly(control)
    provider = provider_for()
    key = EventKey(series["id"], FIRST)
    event = provider.get_event(key)
    assert event is not None
    provider.update_description(key, "<p>First</p>", event.etag)

    with pytest.raises(ConflictError):
        provider.update_description(key, "<p>Second</p>", event.etag)


def test_attendee_copy_is_not_written(provider_for, control) -> None:
    series = weekly(control)
    provider = provider_for(BRAM)
    key = EventKey(series["id"], FIRST)
    event = provider.get_event(key)
    assert event is not None

    with pytest.raises(NotOrganizerError, match=r"organized by anna@tandem\.test"):
        provider.update_description(key, "<p>Agenda</p>", event.etag)

    assert requests_of(control, "calendar.events.patch") == []


def test_update_of_deleted_event(provider_for, control) -> None:
    provider = provider_for()

    with pytest.raises(NotFoundError):
        provider.update_description(EventKey("nosuchevent1"), "x", '"1"')


def test_block_survives_ui_rewrite(provider_for, control) -> None:
    series = weekly(control)
    provider = provider_for()
    key = EventKey(series["id"], FIRST)
    block = "<p><b>Agenda</b></p><ul><li>Werkdruk</li></ul>"
    first = inject_block(provider, key, lambda _edits: block, None)
    instance_id = first.event.extra["google_id"] if first.event else ""
    edited = first.event.description.replace(  # type: ignore[union-attr]
        "<li>Werkdruk</li>", "<li>Werkdruk</li><li>Salaris</li>"
    )
    control.post(
        f"/_emulator/calendars/{ANNA}/events/{instance_id}/ui-edit",
        json={"description": edited},
    ).raise_for_status()
    seen: list[list[str]] = []

    def render(edits: list[str]) -> str:
        seen.append(edits)
        return "<p><b>Agenda</b></p><ul><li>Werkdruk</li><li>Salaris</li></ul>"

    second = inject_block(provider, key, render, first.block_body)

    assert first.outcome is Outcome.WRITTEN
    assert seen == [["Salaris"]]
    assert second.outcome is Outcome.UNCHANGED
    assert len(requests_of(control, "calendar.events.patch")) == 1
    event = provider.get_event(key)
    assert event is not None
    assert "Our weekly check-in." in event.description
    assert merge.find_block_html(event.description) is not None


def test_unchanged_block_is_not_written(provider_for, control) -> None:
    series = weekly(control)
    provider = provider_for()
    key = EventKey(series["id"], FIRST)
    first = inject_block(provider, key, lambda _edits: "<p>Agenda</p>", None)

    second = inject_block(
        provider, key, lambda _edits: "<p>Agenda</p>", first.block_body
    )

    assert second.outcome is Outcome.UNCHANGED
    assert len(requests_of(control, "calendar.events.patch")) == 1


def test_conflict_reads_again(provider_for, control) -> None:
    series = weekly(control)
    provider = provider_for()
    key = EventKey(series["id"], FIRST)
    event = provider.get_event(key)
    assert event is not None
    # Someone edits the event between Tandem's read and its write.
    instance_id = event.extra["google_id"]
    original_get = provider.get_event
    calls = []

    def get_then_edit(wanted: EventKey):  # type: ignore[no-untyped-def]
        found = original_get(wanted)
        if not calls:
            control.post(
                f"/_emulator/calendars/{ANNA}/events/{instance_id}/ui-edit",
                json={"description": "Bring the laptop"},
            ).raise_for_status()
        calls.append(wanted)
        return found

    provider.get_event = get_then_edit  # type: ignore[method-assign]

    result = inject_block(provider, key, lambda _edits: "<p>Agenda</p>", None)

    patches = requests_of(control, "calendar.events.patch")
    assert result.outcome is Outcome.WRITTEN
    assert [row["status"] for row in patches] == [412, 200]
    assert result.event is not None
    assert "Bring the laptop" in result.event.description


# -- create and free/busy ---------------------------------------------------


def followup() -> NewEvent:
    return NewEvent(
        uid="tandem-followup-42@tandem",
        summary="Follow-up: Anna / Bram 1:1",
        start=datetime(2027, 4, 12, 14, tzinfo=AMS),
        end=datetime(2027, 4, 12, 14, 30, tzinfo=AMS),
        timezone="Europe/Amsterdam",
        organizer=Attendee(ANNA),
        attendees=(Attendee(ANNA), Attendee(BRAM, "Bram")),
        description="<p>How are the goals going?</p>",
    )


def test_create_invites_attendees(provider_for, control) -> None:
    provider = provider_for()

    created = provider.create_event(followup())

    [insert] = requests_of(control, "calendar.events.insert")
    assert insert["send_updates"] == "all"
    assert created.uid == mapping.event_id_for("tandem-followup-42@tandem")
    assert {a.email for a in created.attendees} == {ANNA, BRAM}
    [sent] = control.get("/_emulator/sent-updates").json()
    assert sent["recipients"] == [BRAM]


def test_create_twice_keeps_one(provider_for, control) -> None:
    provider = provider_for()
    first = provider.create_event(followup())

    second = provider.create_event(followup())

    assert second.uid == first.uid
    inserts = requests_of(control, "calendar.events.insert")
    assert [row["status"] for row in inserts] == [200, 409]
    listed = provider.list_changes(None)
    assert len([e for e in listed.events if e.uid == first.uid]) == 1


def test_create_with_meet_link(provider_for, control) -> None:
    provider = provider_for()
    provider.meet_links = True

    created = provider.create_event(followup())

    [insert] = requests_of(control, "calendar.events.insert")
    assert insert["query"]["conferenceDataVersion"] == ["1"]
    assert created.extra["meet_url"].startswith("https://meet.google.com/")
    stored = provider.get_event(created.key)
    assert stored is not None
    assert stored.extra["meet_url"] == created.extra["meet_url"]


def test_create_without_meet_link(provider_for, control) -> None:
    provider = provider_for()

    created = provider.create_event(followup())

    [insert] = requests_of(control, "calendar.events.insert")
    assert insert["query"]["conferenceDataVersion"] == ["0"]
    assert "meet_url" not in created.extra


def test_retried_create_keeps_one_meet(provider_for, control) -> None:
    provider = provider_for()
    provider.meet_links = True
    first = provider.create_event(followup())

    second = provider.create_event(followup())

    assert second.extra["meet_url"] == first.extra["meet_url"]


def test_create_as_attendee_is_refused(provider_for, control) -> None:
    provider = provider_for(BRAM)

    with pytest.raises(NotOrganizerError):
        provider.create_event(followup())

    assert requests_of(control, "calendar.events.insert") == []


def test_busy_intervals_of_both(provider_for, control) -> None:
    weekly(control)
    provider = provider_for()

    busy = provider.busy_intervals([ANNA, BRAM], NOW, NOW + timedelta(days=1))

    expected = [datetime(2027, 3, 1, 9, tzinfo=UTC)]
    assert [interval.start for interval in busy[ANNA]] == expected
    assert [interval.start for interval in busy[BRAM]] == expected
    assert busy[ANNA][0].end == datetime(2027, 3, 1, 9, 30, tzinfo=UTC)


# -- faults -----------------------------------------------------------------


@pytest.mark.parametrize(
    "kind", ["rateLimitExceeded", "userRateLimitExceeded", "429", "503"]
)
def test_throttling_is_retried(provider_for, control, kind: str) -> None:
    weekly(control)
    provider = provider_for()
    fault(control, "calendar.events.list", kind, count=3)

    changes = provider.list_changes(None)

    assert len(changes.events) == 1
    assert len(provider.waits) == 3
    assert provider.waits[0] < provider.waits[2]


def test_retry_after_is_respected(provider_for, control) -> None:
    provider = provider_for()
    fault(control, "calendar.events.list", "429", retry_after=7)

    provider.list_changes(None)

    assert provider.waits == [7.0]


def test_throttling_gives_up(provider_for, control) -> None:
    provider = provider_for(max_retries=2)
    fault(control, "calendar.events.list", "429", count=5)

    with pytest.raises(RateLimitedError):
        provider.list_changes(None)

    assert len(requests_of(control, "calendar.events.list")) == 3


def test_throttled_patch_writes_once(provider_for, control) -> None:
    series = weekly(control)
    provider = provider_for()
    key = EventKey(series["id"], FIRST)
    fault(control, "calendar.events.patch", "rateLimitExceeded", count=2)

    result = inject_block(provider, key, lambda _edits: "<p>Agenda</p>", None)

    statuses = [row["status"] for row in requests_of(control, "calendar.events.patch")]
    assert result.outcome is Outcome.WRITTEN
    assert statuses == [403, 403, 200]


def test_revoked_grant_needs_consent(provider_for, control) -> None:
    provider = provider_for()
    control.post(
        "/_emulator/refresh-tokens/revoke", json={"user": ANNA}
    ).raise_for_status()

    with pytest.raises(ConsentRequiredError) as caught:
        provider.list_changes(None)

    assert caught.value.error == "invalid_grant"


def test_delegation_reads_each_person(emulator, control, people) -> None:
    weekly(control)
    reply = control.post(
        "/_emulator/service-accounts",
        json={
            "client_email": "tandem@project.iam.gserviceaccount.com",
            "delegated_scopes": {"tandem.test": list(auth.DOMAIN_SCOPES)},
        },
    )
    key_info = reply.json()["key_file"]
    config = config_for(emulator)

    listed = {}
    for person in (ANNA, BRAM):
        credentials = auth.delegated_credentials(config, key_info, person)
        client = GoogleClient(config, credentials, person, pacer=Pacer(0))
        listed[person] = GoogleCalendarProvider(client, now=lambda: NOW).list_changes(
            None
        )

    assert [e.summary for e in listed[ANNA].events] == ["Anna / Bram 1:1"]
    assert [e.summary for e in listed[BRAM].events] == ["Anna / Bram 1:1"]
    assert listed[BRAM].events[0].extra["organizer_self"] == "false"
    assert listed[ANNA].events[0].status is EventStatus.CONFIRMED
