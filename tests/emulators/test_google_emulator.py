"""The Google emulator driven by google-api-python-client over real HTTP.

Every response the client receives passes through ValidatingHttp, which
checks it against the discovery document's schema for that method.
"""

from __future__ import annotations

import json
import time

import google.auth.exceptions
import google.oauth2.service_account
import google_helpers as helpers
import httpx
import pytest
from google_fixtures import (  # noqa: F401 - fixtures used by name
    calendar_for_fixture,
    control_fixture,
    emulator_fixture,
    listener_fixture,
)
from googleapiclient.errors import HttpError

from emulators.google import schemas

ALICE = "alice@example.com"
BOB = "bob@example.com"
OUTSIDER = "olga@other.example"


def weekly(count: int = 10, **extra: object) -> dict:
    """A weekly 1:1 organised by Alice, Mondays 10:00 Amsterdam time from 3 March."""
    return {
        "summary": "Alice / Bob 1:1",
        "start": {
            "dateTime": "2025-03-03T10:00:00+01:00",
            "timeZone": "Europe/Amsterdam",
        },
        "end": {
            "dateTime": "2025-03-03T10:30:00+01:00",
            "timeZone": "Europe/Amsterdam",
        },
        "recurrence": [f"RRULE:FREQ=WEEKLY;COUNT={count}"],
        "attendees": [{"email": ALICE}, {"email": BOB}],
        **extra,
    }


def single(day: int, hour: int = 9, **extra: object) -> dict:
    return {
        "summary": f"single {day}",
        "start": {"dateTime": f"2025-04-{day:02d}T{hour:02d}:00:00Z"},
        "end": {"dateTime": f"2025-04-{day:02d}T{hour:02d}:45:00Z"},
        **extra,
    }


def reason(error: HttpError) -> str:
    return json.loads(error.content)["error"]["errors"][0]["reason"]


def list_all(api, **params: object) -> tuple[list[dict], str]:
    """Follow nextPageToken to the end; return the items and nextSyncToken."""
    items, token = [], None
    while True:
        page = (
            api.events().list(calendarId="primary", pageToken=token, **params).execute()
        )
        items.extend(page["items"])
        token = page.get("nextPageToken")
        if token is None:
            return items, page["nextSyncToken"]


def patch(api, event_id: str, body: dict, etag: str | None = None, **params: object):
    request = api.events().patch(
        calendarId="primary", eventId=event_id, body=body, **params
    )
    if etag is not None:
        request.headers["If-Match"] = etag
    return request.execute()


# -- insert, get, update ---------------------------------------------------------


def test_insert_then_get(calendar_for) -> None:
    api = calendar_for(ALICE)

    created = api.events().insert(calendarId="primary", body=weekly()).execute()
    fetched = api.events().get(calendarId="primary", eventId=created["id"]).execute()

    assert fetched["summary"] == "Alice / Bob 1:1"
    assert fetched["iCalUID"] == created["id"] + "@google.com"
    assert fetched["organizer"] == {"email": ALICE, "self": True}
    assert fetched["sequence"] == 0
    assert fetched["etag"].startswith('"')
    assert fetched["etag"].endswith('"')
    assert fetched["etag"][1:-1].isdigit()


def test_insert_duplicate_id(calendar_for) -> None:
    api = calendar_for(ALICE)
    api.events().insert(
        calendarId="primary", body=single(1, id="tandem00001")
    ).execute()

    with pytest.raises(HttpError) as caught:
        api.events().insert(
            calendarId="primary", body=single(2, id="tandem00001")
        ).execute()

    assert caught.value.resp.status == 409
    assert reason(caught.value) == "duplicate"


MEET_REQUEST = {
    "createRequest": {
        "requestId": "followup-1",
        "conferenceSolutionKey": {"type": "hangoutsMeet"},
    }
}


def test_insert_creates_meet(calendar_for) -> None:
    api = calendar_for(ALICE)
    body = single(1, conferenceData=MEET_REQUEST)

    created = (
        api.events()
        .insert(calendarId="primary", body=body, conferenceDataVersion=1)
        .execute()
    )

    conference = created["conferenceData"]
    assert conference["createRequest"]["status"] == {"statusCode": "success"}
    assert conference["conferenceSolution"]["key"] == {"type": "hangoutsMeet"}
    [entry] = conference["entryPoints"]
    assert entry["entryPointType"] == "video"
    assert entry["uri"] == "https://meet.google.com/" + conference["conferenceId"]
    assert created["hangoutLink"] == entry["uri"]


def test_insert_ignores_meet_in_version_0(calendar_for) -> None:
    api = calendar_for(ALICE)
    body = single(1, conferenceData=MEET_REQUEST)

    created = api.events().insert(calendarId="primary", body=body).execute()

    assert "conferenceData" not in created
    assert "hangoutLink" not in created


def test_insert_rejects_other_conference(calendar_for) -> None:
    api = calendar_for(ALICE)
    request = {"requestId": "x1", "conferenceSolutionKey": {"type": "addOn"}}
    body = single(1, conferenceData={"createRequest": request})

    with pytest.raises(HttpError) as caught:
        api.events().insert(
            calendarId="primary", body=body, conferenceDataVersion=1
        ).execute()

    assert caught.value.resp.status == 400


def test_insert_invalid_id(calendar_for) -> None:
    api = calendar_for(ALICE)

    with pytest.raises(HttpError) as caught:
        api.events().insert(
            calendarId="primary", body=single(1, id="Not_Base32")
        ).execute()

    assert caught.value.resp.status == 400
    assert reason(caught.value) == "invalid"


def test_insert_keeps_given_ical_uid(calendar_for) -> None:
    api = calendar_for(ALICE)

    created = (
        api.events()
        .insert(calendarId="primary", body=single(1, iCalUID="abc@tandem.test"))
        .execute()
    )

    assert created["iCalUID"] == "abc@tandem.test"


def test_insert_unknown_field(calendar_for) -> None:
    api = calendar_for(ALICE)

    with pytest.raises(HttpError) as caught:
        api.events().insert(calendarId="primary", body=single(1, agenda="x")).execute()

    assert caught.value.resp.status == 400
    assert "agenda" in json.loads(caught.value.content)["error"]["message"]


def test_insert_end_before_start(calendar_for) -> None:
    api = calendar_for(ALICE)
    body = single(1)
    body["end"] = {"dateTime": "2025-04-01T08:00:00Z"}

    with pytest.raises(HttpError) as caught:
        api.events().insert(calendarId="primary", body=body).execute()

    assert reason(caught.value) == "timeRangeEmpty"


def test_recurring_needs_time_zone(calendar_for) -> None:
    api = calendar_for(ALICE)
    body = weekly()
    del body["start"]["timeZone"]

    with pytest.raises(HttpError) as caught:
        api.events().insert(calendarId="primary", body=body).execute()

    assert reason(caught.value) == "required"


def test_update_replaces_fields(calendar_for) -> None:
    api = calendar_for(ALICE)
    created = (
        api.events()
        .insert(
            calendarId="primary", body=single(1, location="Room 1", description="old")
        )
        .execute()
    )

    body = single(1, description="new")
    updated = (
        api.events()
        .update(calendarId="primary", eventId=created["id"], body=body)
        .execute()
    )

    assert updated["description"] == "new"
    assert "location" not in updated
    assert updated["sequence"] == 1
    assert updated["id"] == created["id"]


def test_patch_keeps_other_fields(calendar_for) -> None:
    api = calendar_for(ALICE)
    created = (
        api.events()
        .insert(calendarId="primary", body=single(1, location="Room 1"))
        .execute()
    )

    patched = patch(api, created["id"], {"description": "agenda"})

    assert patched["description"] == "agenda"
    assert patched["location"] == "Room 1"
    assert patched["sequence"] == 0
    assert patched["etag"] != created["etag"]


def test_concurrent_edit_fails_patch(calendar_for, control) -> None:
    api = calendar_for(ALICE)
    created = (
        api.events()
        .insert(calendarId="primary", body=single(1, description="agenda"))
        .execute()
    )
    control.post(
        "/_emulator/faults",
        json={
            "method": "calendar.events.patch",
            "kind": "concurrentEdit",
            "text": "Room 4.",
        },
    ).raise_for_status()

    with pytest.raises(HttpError) as caught:
        patch(api, created["id"], {"description": "new"}, etag=created["etag"])

    assert caught.value.resp.status == 412
    fetched = api.events().get(calendarId="primary", eventId=created["id"]).execute()
    assert fetched["description"].startswith("Room 4.")
    assert "agenda" in fetched["description"]
    assert fetched["etag"] != created["etag"]


def test_get_missing_event(calendar_for) -> None:
    api = calendar_for(ALICE)

    with pytest.raises(HttpError) as caught:
        api.events().get(calendarId="primary", eventId="nosuchevent").execute()

    assert caught.value.resp.status == 404
    assert reason(caught.value) == "notFound"


def test_delete_twice(calendar_for) -> None:
    api = calendar_for(ALICE)
    created = api.events().insert(calendarId="primary", body=single(1)).execute()
    api.events().delete(calendarId="primary", eventId=created["id"]).execute()

    fetched = api.events().get(calendarId="primary", eventId=created["id"]).execute()
    with pytest.raises(HttpError) as caught:
        api.events().delete(calendarId="primary", eventId=created["id"]).execute()

    assert fetched["status"] == "cancelled"
    assert caught.value.resp.status == 410
    assert reason(caught.value) == "deleted"


# -- ETags ---------------------------------------------------------------------


def test_patch_stale_etag(calendar_for) -> None:
    api = calendar_for(ALICE)
    created = api.events().insert(calendarId="primary", body=single(1)).execute()
    patch(api, created["id"], {"description": "first"}, etag=created["etag"])

    with pytest.raises(HttpError) as caught:
        patch(api, created["id"], {"description": "second"}, etag=created["etag"])

    current = api.events().get(calendarId="primary", eventId=created["id"]).execute()
    assert caught.value.resp.status == 412
    assert reason(caught.value) == "conditionNotMet"
    assert current["description"] == "first"


def test_patch_current_etag(calendar_for) -> None:
    api = calendar_for(ALICE)
    created = api.events().insert(calendarId="primary", body=single(1)).execute()

    patched = patch(api, created["id"], {"description": "x"}, etag=created["etag"])

    assert patched["description"] == "x"


# -- lists, pages and sync -------------------------------------------------------


def test_list_pages(calendar_for) -> None:
    api = calendar_for(ALICE)
    for day in range(1, 6):
        api.events().insert(calendarId="primary", body=single(day)).execute()

    first = api.events().list(calendarId="primary", maxResults=2).execute()
    second = (
        api.events()
        .list(calendarId="primary", maxResults=2, pageToken=first["nextPageToken"])
        .execute()
    )
    third = (
        api.events()
        .list(calendarId="primary", maxResults=2, pageToken=second["nextPageToken"])
        .execute()
    )

    assert [len(p["items"]) for p in (first, second, third)] == [2, 2, 1]
    assert "nextSyncToken" not in first
    assert "nextSyncToken" not in second
    assert "nextPageToken" not in third
    assert "nextSyncToken" in third
    summaries = [i["summary"] for p in (first, second, third) for i in p["items"]]
    assert summaries == [f"single {day}" for day in range(1, 6)]


def test_sync_lists_changes(calendar_for) -> None:
    api = calendar_for(ALICE)
    kept = api.events().insert(calendarId="primary", body=single(1)).execute()
    changed = api.events().insert(calendarId="primary", body=single(2)).execute()
    _items, token = list_all(api)

    patch(api, changed["id"], {"description": "new"})
    delta = api.events().list(calendarId="primary", syncToken=token).execute()
    again = (
        api.events()
        .list(calendarId="primary", syncToken=delta["nextSyncToken"])
        .execute()
    )

    assert [i["id"] for i in delta["items"]] == [changed["id"]]
    assert delta["items"][0]["description"] == "new"
    assert kept["id"] not in [i["id"] for i in delta["items"]]
    assert again["items"] == []


def test_sync_lists_deletion(calendar_for) -> None:
    api = calendar_for(ALICE)
    created = api.events().insert(calendarId="primary", body=single(1)).execute()
    _items, token = list_all(api)

    api.events().delete(calendarId="primary", eventId=created["id"]).execute()
    delta = api.events().list(calendarId="primary", syncToken=token).execute()
    full = api.events().list(calendarId="primary").execute()

    assert delta["items"] == [
        {
            "kind": "calendar#event",
            "etag": delta["items"][0]["etag"],
            "id": created["id"],
            "status": "cancelled",
        }
    ]
    assert full["items"] == []


def test_sync_expired_token(calendar_for, control) -> None:
    api = calendar_for(ALICE)
    _items, token = list_all(api)
    control.post("/_emulator/sync-tokens/expire").raise_for_status()

    with pytest.raises(HttpError) as caught:
        api.events().list(calendarId="primary", syncToken=token).execute()

    assert caught.value.resp.status == 410
    assert reason(caught.value) == "fullSyncRequired"


def test_sync_unknown_token(calendar_for) -> None:
    api = calendar_for(ALICE)

    with pytest.raises(HttpError) as caught:
        api.events().list(calendarId="primary", syncToken="made-up").execute()

    assert caught.value.resp.status == 410


@pytest.mark.parametrize(
    "params",
    [
        {"timeMin": "2025-01-01T00:00:00Z"},
        {"timeMax": "2025-01-01T00:00:00Z"},
        {"q": "1:1"},
        {"orderBy": "updated"},
        {"privateExtendedProperty": "tandem=1"},
        {"updatedMin": "2025-01-01T00:00:00Z"},
        {"showDeleted": False},
    ],
)
def test_sync_rejects_restrictions(calendar_for, params) -> None:
    api = calendar_for(ALICE)
    _items, token = list_all(api)

    with pytest.raises(HttpError) as caught:
        api.events().list(calendarId="primary", syncToken=token, **params).execute()

    assert caught.value.resp.status == 400


def test_order_by_start_needs_single_events(calendar_for) -> None:
    api = calendar_for(ALICE)

    with pytest.raises(HttpError) as caught:
        api.events().list(calendarId="primary", orderBy="startTime").execute()

    assert caught.value.resp.status == 400


def test_list_time_window(calendar_for) -> None:
    api = calendar_for(ALICE)
    for day in (1, 5, 9):
        api.events().insert(calendarId="primary", body=single(day)).execute()

    page = (
        api.events()
        .list(
            calendarId="primary",
            timeMin="2025-04-01T09:45:00Z",
            timeMax="2025-04-09T09:00:00Z",
        )
        .execute()
    )

    assert [i["summary"] for i in page["items"]] == ["single 5"]


def test_list_single_events_ordered(calendar_for) -> None:
    api = calendar_for(ALICE)
    api.events().insert(calendarId="primary", body=single(20)).execute()
    api.events().insert(calendarId="primary", body=weekly(count=3)).execute()

    page = (
        api.events()
        .list(calendarId="primary", singleEvents=True, orderBy="startTime")
        .execute()
    )

    starts = [i["start"]["dateTime"] for i in page["items"]]
    assert starts == [
        "2025-03-03T10:00:00+01:00",
        "2025-03-10T10:00:00+01:00",
        "2025-03-17T10:00:00+01:00",
        "2025-04-20T09:00:00Z",
    ]


# -- series, instances and exceptions -------------------------------------------


def test_instances_follow_wall_clock(calendar_for) -> None:
    api = calendar_for(ALICE)
    series = api.events().insert(calendarId="primary", body=weekly(count=6)).execute()

    items = (
        api.events()
        .instances(calendarId="primary", eventId=series["id"])
        .execute()["items"]
    )

    assert len(items) == 6
    assert items[0]["id"] == series["id"] + "_20250303T090000Z"
    # Europe/Amsterdam moves to summer time on 30 March 2025.
    assert items[4]["start"]["dateTime"] == "2025-03-31T10:00:00+02:00"
    assert items[4]["id"] == series["id"] + "_20250331T080000Z"
    assert all(i["recurringEventId"] == series["id"] for i in items)
    assert items[2]["originalStartTime"] == items[2]["start"]


def test_instances_exdate_rdate(calendar_for) -> None:
    api = calendar_for(ALICE)
    body = weekly(count=3)
    body["recurrence"] += [
        "EXDATE;TZID=Europe/Amsterdam:20250310T100000",
        "RDATE;TZID=Europe/Amsterdam:20250312T100000",
    ]
    series = api.events().insert(calendarId="primary", body=body).execute()

    items = (
        api.events()
        .instances(calendarId="primary", eventId=series["id"])
        .execute()["items"]
    )

    assert [i["start"]["dateTime"][:10] for i in items] == [
        "2025-03-03",
        "2025-03-12",
        "2025-03-17",
    ]


def test_all_day_instance_ids(calendar_for) -> None:
    api = calendar_for(ALICE)
    body = {
        "summary": "day off",
        "start": {"date": "2025-03-03"},
        "end": {"date": "2025-03-04"},
        "recurrence": ["RRULE:FREQ=DAILY;COUNT=2"],
    }
    series = api.events().insert(calendarId="primary", body=body).execute()

    items = (
        api.events()
        .instances(calendarId="primary", eventId=series["id"])
        .execute()["items"]
    )

    assert [i["id"] for i in items] == [
        series["id"] + "_20250303",
        series["id"] + "_20250304",
    ]
    assert items[1]["start"] == {"date": "2025-03-04"}


def test_patch_instance_creates_exception(calendar_for) -> None:
    api = calendar_for(ALICE)
    series = api.events().insert(calendarId="primary", body=weekly(count=4)).execute()
    instance_id = series["id"] + "_20250310T090000Z"
    instance = api.events().get(calendarId="primary", eventId=instance_id).execute()

    exception = patch(
        api, instance_id, {"description": "agenda"}, etag=instance["etag"]
    )
    items = (
        api.events()
        .instances(calendarId="primary", eventId=series["id"])
        .execute()["items"]
    )
    master = api.events().get(calendarId="primary", eventId=series["id"]).execute()
    listed = api.events().list(calendarId="primary").execute()["items"]

    assert exception["id"] == instance_id
    assert exception["recurringEventId"] == series["id"]
    assert exception["originalStartTime"]["dateTime"] == "2025-03-10T10:00:00+01:00"
    assert exception["etag"] != series["etag"]
    assert [i.get("description") for i in items] == [None, "agenda", None, None]
    assert "description" not in master
    assert [i["id"] for i in listed] == [series["id"], instance_id]


def test_moved_instance_keeps_original(calendar_for) -> None:
    api = calendar_for(ALICE)
    series = api.events().insert(calendarId="primary", body=weekly(count=2)).execute()
    instance_id = series["id"] + "_20250303T090000Z"
    moved = {
        "start": {
            "dateTime": "2025-03-04T15:00:00+01:00",
            "timeZone": "Europe/Amsterdam",
        },
        "end": {
            "dateTime": "2025-03-04T15:30:00+01:00",
            "timeZone": "Europe/Amsterdam",
        },
    }

    exception = patch(api, instance_id, moved)

    assert exception["sequence"] == 1
    assert exception["originalStartTime"]["dateTime"] == "2025-03-03T10:00:00+01:00"
    assert exception["start"]["dateTime"] == "2025-03-04T15:00:00+01:00"


def test_deleted_instance_shown_when_asked(calendar_for) -> None:
    api = calendar_for(ALICE)
    series = api.events().insert(calendarId="primary", body=weekly(count=3)).execute()
    instance_id = series["id"] + "_20250310T090000Z"

    api.events().delete(calendarId="primary", eventId=instance_id).execute()
    hidden = (
        api.events().instances(calendarId="primary", eventId=series["id"]).execute()
    )
    shown = (
        api.events()
        .instances(calendarId="primary", eventId=series["id"], showDeleted=True)
        .execute()
    )
    listed = api.events().list(calendarId="primary", singleEvents=True).execute()

    assert [i["id"] for i in hidden["items"]] == [
        series["id"] + "_20250303T090000Z",
        series["id"] + "_20250317T090000Z",
    ]
    assert shown["items"][1]["status"] == "cancelled"
    assert shown["items"][1]["recurringEventId"] == series["id"]
    assert "summary" not in shown["items"][1]
    assert len(listed["items"]) == 2


def test_sync_lists_cancelled_instance(calendar_for) -> None:
    api = calendar_for(ALICE)
    series = api.events().insert(calendarId="primary", body=weekly(count=3)).execute()
    _items, token = list_all(api)

    api.events().delete(
        calendarId="primary", eventId=series["id"] + "_20250310T090000Z"
    ).execute()
    delta = api.events().list(calendarId="primary", syncToken=token).execute()

    assert len(delta["items"]) == 1
    assert delta["items"][0]["status"] == "cancelled"
    assert (
        delta["items"][0]["originalStartTime"]["dateTime"]
        == "2025-03-10T10:00:00+01:00"
    )


def test_single_events_sync_lists_exception(calendar_for) -> None:
    api = calendar_for(ALICE)
    series = api.events().insert(calendarId="primary", body=weekly(count=3)).execute()
    _items, token = list_all(api, singleEvents=True)
    instance_id = series["id"] + "_20250317T090000Z"

    patch(api, instance_id, {"description": "agenda"})
    delta = (
        api.events()
        .list(calendarId="primary", singleEvents=True, syncToken=token)
        .execute()
    )

    assert [i["id"] for i in delta["items"]] == [instance_id]
    assert delta["items"][0]["description"] == "agenda"


def test_local_date_time_with_zone(calendar_for) -> None:
    api = calendar_for(ALICE)
    body = {
        "summary": "local",
        "start": {"dateTime": "2025-07-01T10:00:00", "timeZone": "Europe/Amsterdam"},
        "end": {"dateTime": "2025-07-01T11:00:00", "timeZone": "Europe/Amsterdam"},
    }

    created = api.events().insert(calendarId="primary", body=body).execute()

    assert created["start"]["dateTime"] == "2025-07-01T10:00:00+02:00"
    assert created["start"]["timeZone"] == "Europe/Amsterdam"


def test_instances_time_window(calendar_for) -> None:
    api = calendar_for(ALICE)
    series = api.events().insert(calendarId="primary", body=weekly(count=10)).execute()

    page = (
        api.events()
        .instances(
            calendarId="primary",
            eventId=series["id"],
            timeMin="2025-03-10T09:15:00Z",
            timeMax="2025-03-24T09:00:00Z",
        )
        .execute()
    )

    assert [i["start"]["dateTime"][:10] for i in page["items"]] == [
        "2025-03-10",
        "2025-03-17",
    ]


# -- attendees, sendUpdates and extended properties ------------------------------


def test_attendee_sees_copy(calendar_for) -> None:
    alice = calendar_for(ALICE)
    bob = calendar_for(BOB)
    series = alice.events().insert(calendarId="primary", body=weekly()).execute()

    copy = bob.events().get(calendarId="primary", eventId=series["id"]).execute()

    assert copy["organizer"] == {"email": ALICE}
    assert {"email": BOB, "responseStatus": "needsAction", "self": True} in copy[
        "attendees"
    ]


def test_attendee_cannot_patch(calendar_for) -> None:
    alice = calendar_for(ALICE)
    bob = calendar_for(BOB)
    series = alice.events().insert(calendarId="primary", body=weekly()).execute()

    with pytest.raises(HttpError) as caught:
        patch(bob, series["id"], {"description": "mine"})

    assert caught.value.resp.status == 403
    assert reason(caught.value) == "forbiddenForNonOrganizer"


def test_send_updates_recorded(calendar_for, control) -> None:
    api = calendar_for(ALICE)
    calendar_for(BOB)
    created = (
        api.events()
        .insert(calendarId="primary", body=weekly(), sendUpdates="all")
        .execute()
    )
    patch(api, created["id"], {"description": "agenda"}, sendUpdates="none")

    patches = control.get(
        "/_emulator/requests", params={"method": "calendar.events.patch"}
    )
    sent = control.get("/_emulator/sent-updates").json()

    assert [r["send_updates"] for r in patches.json()] == ["none"]
    assert sent == [
        {
            "method": "calendar.events.insert",
            "event_id": created["id"],
            "send_updates": "all",
            "recipients": [BOB],
        }
    ]


def test_extended_properties_scopes(calendar_for) -> None:
    alice = calendar_for(ALICE)
    bob = calendar_for(BOB)
    props = {"private": {"tandemBlock": "v3"}, "shared": {"series": "s1"}}
    created = (
        alice.events()
        .insert(calendarId="primary", body=weekly(extendedProperties=props))
        .execute()
    )

    bobs = bob.events().get(calendarId="primary", eventId=created["id"]).execute()
    found = (
        alice.events()
        .list(calendarId="primary", privateExtendedProperty="tandemBlock=v3")
        .execute()
    )
    missed = (
        alice.events()
        .list(calendarId="primary", privateExtendedProperty="tandemBlock=v2")
        .execute()
    )

    assert created["extendedProperties"] == props
    assert bobs["extendedProperties"] == {"shared": {"series": "s1"}}
    assert [i["id"] for i in found["items"]] == [created["id"]]
    assert missed["items"] == []


def test_patch_merges_private_properties(calendar_for) -> None:
    api = calendar_for(ALICE)
    body = single(1, extendedProperties={"private": {"a": "1", "b": "2"}})
    created = api.events().insert(calendarId="primary", body=body).execute()

    patched = patch(api, created["id"], {"extendedProperties": {"private": {"b": "3"}}})

    assert patched["extendedProperties"]["private"] == {"a": "1", "b": "3"}


# -- free/busy and calendar list ---------------------------------------------------


def test_freebusy_busy_periods(calendar_for) -> None:
    api = calendar_for(ALICE)
    calendar_for(BOB)
    api.events().insert(calendarId="primary", body=single(1, hour=9)).execute()
    api.events().insert(
        calendarId="primary", body=single(1, hour=9, summary="overlap")
    ).execute()
    api.events().insert(
        calendarId="primary", body=single(1, hour=11, transparency="transparent")
    ).execute()
    api.events().insert(calendarId="primary", body=weekly(count=1)).execute()

    reply = (
        api.freebusy()
        .query(
            body={
                "timeMin": "2025-03-01T00:00:00Z",
                "timeMax": "2025-04-02T00:00:00Z",
                "items": [{"id": ALICE}, {"id": BOB}, {"id": OUTSIDER}],
            }
        )
        .execute()
    )

    assert reply["calendars"][ALICE]["busy"] == [
        {"start": "2025-03-03T09:00:00Z", "end": "2025-03-03T09:30:00Z"},
        {"start": "2025-04-01T09:00:00Z", "end": "2025-04-01T09:45:00Z"},
    ]
    assert reply["calendars"][BOB]["busy"] == [
        {"start": "2025-03-03T09:00:00Z", "end": "2025-03-03T09:30:00Z"}
    ]
    assert reply["calendars"][OUTSIDER]["errors"] == [
        {"domain": "global", "reason": "notFound"}
    ]


def test_freebusy_skips_declined(calendar_for) -> None:
    alice = calendar_for(ALICE)
    bob = calendar_for(BOB)
    body = single(
        2, attendees=[{"email": ALICE}, {"email": BOB, "responseStatus": "declined"}]
    )
    alice.events().insert(calendarId="primary", body=body).execute()

    reply = (
        bob.freebusy()
        .query(
            body={
                "timeMin": "2025-04-01T00:00:00Z",
                "timeMax": "2025-04-03T00:00:00Z",
                "items": [{"id": BOB}, {"id": ALICE}],
            }
        )
        .execute()
    )

    assert reply["calendars"][BOB]["busy"] == []
    assert len(reply["calendars"][ALICE]["busy"]) == 1


def test_calendar_list_primary(calendar_for) -> None:
    api = calendar_for(ALICE, time_zone="Europe/Amsterdam")

    items = api.calendarList().list().execute()["items"]

    assert [(i["id"], i.get("primary"), i["timeZone"]) for i in items] == [
        (ALICE, True, "Europe/Amsterdam")
    ]


# -- push notifications ---------------------------------------------------------


def wait_for(received: list, count: int) -> None:
    deadline = time.monotonic() + 5
    while len(received) < count and time.monotonic() < deadline:
        time.sleep(0.02)


def test_watch_sends_sync_then_exists(calendar_for, listener) -> None:
    url, received = listener
    api = calendar_for(ALICE)
    channel = (
        api.events()
        .watch(
            calendarId="primary",
            body={
                "id": "chan-1",
                "type": "web_hook",
                "address": url,
                "token": "secret-1",
            },
        )
        .execute()
    )
    wait_for(received, 1)

    api.events().insert(calendarId="primary", body=single(1)).execute()
    wait_for(received, 2)

    assert [h["X-Goog-Resource-State"] for h in received] == ["sync", "exists"]
    assert [h["X-Goog-Message-Number"] for h in received] == ["1", "2"]
    assert {h["X-Goog-Channel-ID"] for h in received} == {"chan-1"}
    assert {h["X-Goog-Channel-Token"] for h in received} == {"secret-1"}
    assert {h["X-Goog-Resource-ID"] for h in received} == {channel["resourceId"]}
    assert received[0]["X-Goog-Channel-Expiration"].endswith("GMT")


def test_stopped_channel_is_silent(calendar_for, listener, control) -> None:
    url, received = listener
    api = calendar_for(ALICE)
    channel = (
        api.events()
        .watch(
            calendarId="primary",
            body={"id": "chan-2", "type": "web_hook", "address": url},
        )
        .execute()
    )
    wait_for(received, 1)

    api.channels().stop(
        body={"id": "chan-2", "resourceId": channel["resourceId"]}
    ).execute()
    api.events().insert(calendarId="primary", body=single(1)).execute()
    time.sleep(0.3)

    assert [h["X-Goog-Resource-State"] for h in received] == ["sync"]
    assert control.get("/_emulator/deliveries").json()[0]["status"] == 200


def test_watch_rejects_remote_address(calendar_for) -> None:
    api = calendar_for(ALICE)
    body = {
        "id": "chan-3",
        "type": "web_hook",
        "address": "https://tandem.example.com/hook",
    }

    with pytest.raises(HttpError) as caught:
        api.events().watch(calendarId="primary", body=body).execute()

    assert caught.value.resp.status == 400


def test_removed_calendar_not_exists(calendar_for, listener, control) -> None:
    url, received = listener
    api = calendar_for(ALICE)
    created = control.post(
        "/_emulator/calendars", json={"owner": ALICE, "summary": "Team"}
    ).json()
    api.events().watch(
        calendarId=created["calendar_id"],
        body={"id": "chan-4", "type": "web_hook", "address": url},
    ).execute()
    wait_for(received, 1)

    control.delete(f"/_emulator/calendars/{created['calendar_id']}").raise_for_status()
    wait_for(received, 2)

    assert [h["X-Goog-Resource-State"] for h in received] == ["sync", "not_exists"]


# -- faults -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "expected_reason"),
    [
        ("rateLimitExceeded", 403, "rateLimitExceeded"),
        ("userRateLimitExceeded", 403, "userRateLimitExceeded"),
        ("429", 429, "rateLimitExceeded"),
        ("500", 500, "backendError"),
        ("503", 503, "backendError"),
    ],
)
def test_fault_then_recovery(
    calendar_for, control, kind, status, expected_reason
) -> None:
    api = calendar_for(ALICE)
    created = api.events().insert(calendarId="primary", body=single(1)).execute()
    control.post(
        "/_emulator/faults",
        json={
            "method": "calendar.events.patch",
            "kind": kind,
            "count": 2,
            "retry_after": 3,
        },
    ).raise_for_status()

    failures = []
    for _attempt in range(2):
        with pytest.raises(HttpError) as caught:
            patch(api, created["id"], {"description": "x"})
        failures.append(caught.value)
    patched = patch(api, created["id"], {"description": "x"})

    assert [f.resp.status for f in failures] == [status, status]
    assert [reason(f) for f in failures] == [expected_reason, expected_reason]
    assert failures[0].resp["retry-after"] == "3"
    assert patched["description"] == "x"
    assert api.events().get(calendarId="primary", eventId=created["id"]).execute()


def test_fault_spares_other_methods(calendar_for, control) -> None:
    api = calendar_for(ALICE)
    control.post(
        "/_emulator/faults", json={"method": "calendar.events.patch", "kind": "503"}
    ).raise_for_status()

    page = api.events().list(calendarId="primary").execute()

    assert page["items"] == []


# -- descriptions edited in the web UI --------------------------------------------


def test_ui_edit_rewrites_description(calendar_for, control) -> None:
    api = calendar_for(ALICE)
    created = (
        api.events()
        .insert(
            calendarId="primary",
            body=single(1, description="Agenda\n- topic & more\nhttps://x.test/a"),
        )
        .execute()
    )

    control.post(
        f"/_emulator/calendars/{ALICE}/events/{created['id']}/ui-edit", json={}
    ).raise_for_status()
    fetched = api.events().get(calendarId="primary", eventId=created["id"]).execute()

    assert fetched["description"] == (
        'Agenda<br>- topic &amp; more<br><a href="https://x.test/a">https://x.test/a</a>'
    )
    assert fetched["etag"] != created["etag"]


# -- OAuth ------------------------------------------------------------------------


def test_token_refresh_and_revoke(emulator, control) -> None:
    helpers.add_user(control, ALICE)
    scopes = [helpers.CALENDAR_SCOPE]
    refresh = helpers.refresh_token_for(control, ALICE, scopes)
    api = helpers.service(
        "calendar",
        "v3",
        helpers.user_credentials(emulator.url, refresh, scopes),
        emulator.url,
    )
    api.calendarList().list().execute()

    control.post(
        "/_emulator/refresh-tokens/revoke", json={"user": ALICE}
    ).raise_for_status()
    control.post("/_emulator/access-tokens/expire").raise_for_status()
    fresh = helpers.service(
        "calendar",
        "v3",
        helpers.user_credentials(emulator.url, refresh, scopes),
        emulator.url,
    )

    with pytest.raises(google.auth.exceptions.RefreshError) as caught:
        fresh.calendarList().list().execute()
    assert "invalid_grant" in str(caught.value)


def test_pkce_wrong_verifier(control) -> None:
    helpers.add_user(control, ALICE)
    _verifier, challenge = helpers.pkce_pair()
    code = control.post(
        "/_emulator/authorization-codes",
        json={
            "client_id": helpers.CLIENT_ID,
            "redirect_uri": helpers.REDIRECT_URI,
            "user": ALICE,
            "scopes": [helpers.CALENDAR_SCOPE],
            "code_challenge": challenge,
        },
    ).json()["code"]

    reply = control.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": helpers.pkce_pair()[0],
            "client_id": helpers.CLIENT_ID,
            "client_secret": helpers.CLIENT_SECRET,
            "redirect_uri": helpers.REDIRECT_URI,
        },
    )

    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_grant"


def test_authorize_redirects_with_code(control) -> None:
    helpers.add_user(control, ALICE)

    reply = control.get(
        "/o/oauth2/v2/auth",
        params={
            "client_id": helpers.CLIENT_ID,
            "redirect_uri": helpers.REDIRECT_URI,
            "response_type": "code",
            "scope": helpers.CALENDAR_SCOPE,
            "state": "xyz",
            "login_hint": ALICE,
            "access_type": "offline",
        },
    )

    assert reply.status_code == 302
    assert reply.headers["location"].startswith(helpers.REDIRECT_URI + "?code=")
    assert "state=xyz" in reply.headers["location"]


def test_missing_token_unauthorized(emulator) -> None:
    reply = httpx.get(
        emulator.url + "calendar/v3/calendars/primary/events", trust_env=False
    )

    assert reply.status_code == 401
    assert reply.json()["error"]["errors"][0]["reason"] == "authError"
    assert reply.json()["error"]["status"] == "UNAUTHENTICATED"


def test_readonly_scope_cannot_write(emulator, control) -> None:
    helpers.add_user(control, ALICE)
    readonly = "https://www.googleapis.com/auth/calendar.readonly"
    token = control.post(
        "/_emulator/tokens", json={"user": ALICE, "scopes": [readonly]}
    ).json()["access_token"]

    reply = httpx.post(
        emulator.url + "calendar/v3/calendars/primary/events",
        json=single(1),
        headers={"Authorization": f"Bearer {token}"},
        trust_env=False,
    )

    assert reply.status_code == 403
    assert reply.json()["error"]["errors"][0]["reason"] == "insufficientPermissions"


def test_unknown_query_parameter(emulator, control) -> None:
    helpers.add_user(control, ALICE)
    token = control.post(
        "/_emulator/tokens", json={"user": ALICE, "scopes": [helpers.CALENDAR_SCOPE]}
    ).json()["access_token"]

    reply = httpx.get(
        emulator.url + "calendar/v3/calendars/primary/events",
        params={"singleEvent": "true"},
        headers={"Authorization": f"Bearer {token}"},
        trust_env=False,
    )

    assert reply.status_code == 400
    assert "singleEvent" in reply.json()["error"]["message"]


def test_other_users_calendar_hidden(calendar_for) -> None:
    alice = calendar_for(ALICE)
    calendar_for(BOB)

    with pytest.raises(HttpError) as caught:
        alice.events().list(calendarId=BOB).execute()

    assert caught.value.resp.status == 404


# -- service accounts and the Directory -------------------------------------------


def service_account(control, delegated: dict[str, list[str]]) -> dict:
    reply = control.post(
        "/_emulator/service-accounts",
        json={
            "client_email": "tandem@project.iam.gserviceaccount.com",
            "delegated_scopes": delegated,
        },
    )
    reply.raise_for_status()
    return reply.json()["key_file"]


def test_delegation_impersonates_subject(emulator, control) -> None:
    helpers.add_user(control, ALICE)
    helpers.add_user(control, BOB)
    key = service_account(control, {"example.com": [helpers.CALENDAR_SCOPE]})
    credentials = google.oauth2.service_account.Credentials.from_service_account_info(
        key, scopes=[helpers.CALENDAR_SCOPE]
    ).with_subject(BOB)
    api = helpers.service("calendar", "v3", credentials, emulator.url)

    created = api.events().insert(calendarId="primary", body=single(1)).execute()

    assert created["organizer"] == {"email": BOB, "self": True}


def test_delegation_not_granted(emulator, control) -> None:
    helpers.add_user(control, ALICE)
    key = service_account(control, {})
    credentials = google.oauth2.service_account.Credentials.from_service_account_info(
        key, scopes=[helpers.CALENDAR_SCOPE]
    ).with_subject(ALICE)
    api = helpers.service("calendar", "v3", credentials, emulator.url)

    with pytest.raises(google.auth.exceptions.RefreshError) as caught:
        api.calendarList().list().execute()

    assert "unauthorized_client" in str(caught.value)


def test_jwt_wrong_key_rejected(emulator, control) -> None:
    helpers.add_user(control, ALICE)
    key = service_account(control, {"example.com": [helpers.CALENDAR_SCOPE]})
    other = control.post(
        "/_emulator/service-accounts",
        json={"client_email": "other@project.iam.gserviceaccount.com"},
    ).json()["key_file"]
    forged = {**key, "private_key": other["private_key"]}
    credentials = google.oauth2.service_account.Credentials.from_service_account_info(
        forged, scopes=[helpers.CALENDAR_SCOPE]
    ).with_subject(ALICE)
    api = helpers.service("calendar", "v3", credentials, emulator.url)

    with pytest.raises(google.auth.exceptions.RefreshError) as caught:
        api.calendarList().list().execute()

    assert "invalid_grant" in str(caught.value)


def test_directory_lists_managers(emulator, control) -> None:
    helpers.add_user(control, ALICE, is_admin=True, given_name="Alice")
    helpers.add_user(control, BOB, manager=ALICE, given_name="Bob")
    helpers.add_user(control, OUTSIDER)
    key = service_account(control, {"example.com": [helpers.DIRECTORY_SCOPE]})
    credentials = google.oauth2.service_account.Credentials.from_service_account_info(
        key, scopes=[helpers.DIRECTORY_SCOPE]
    ).with_subject(ALICE)
    api = helpers.service("admin", "directory_v1", credentials, emulator.url)

    first = api.users().list(customer="my_customer", maxResults=1).execute()
    second = (
        api.users()
        .list(customer="my_customer", maxResults=1, pageToken=first["nextPageToken"])
        .execute()
    )

    assert [u["primaryEmail"] for u in first["users"] + second["users"]] == [ALICE, BOB]
    assert "nextPageToken" not in second
    assert second["users"][0]["relations"] == [{"value": ALICE, "type": "manager"}]
    assert "relations" not in first["users"][0]


def test_directory_needs_admin(emulator, control) -> None:
    helpers.add_user(control, BOB)
    key = service_account(control, {"example.com": [helpers.DIRECTORY_SCOPE]})
    credentials = google.oauth2.service_account.Credentials.from_service_account_info(
        key, scopes=[helpers.DIRECTORY_SCOPE]
    ).with_subject(BOB)
    api = helpers.service("admin", "directory_v1", credentials, emulator.url)

    with pytest.raises(HttpError) as caught:
        api.users().list(domain="example.com").execute()

    assert caught.value.resp.status == 403


def test_client_responses_checked(calendar_for) -> None:
    api = calendar_for(ALICE)

    api.calendarList().list().execute()
    api.events().list(calendarId="primary").execute()

    assert api._http.http.checked == 2


# -- the schema validator itself ---------------------------------------------------


def test_validator_flags_drift() -> None:
    event = {
        "id": "abcde",
        "agenda": "x",
        "sequence": "1",
        "updated": "yesterday",
        "start": {"date": "2025-02-30"},
        "extendedProperties": {"private": {"n": 1}},
    }

    problems = {str(p) for p in schemas.validate(schemas.CALENDAR, "Event", event)}

    assert problems == {
        "$.agenda: field is not in the schema",
        "$.sequence: expected an integer, got str",
        "$.updated: 'yesterday' is not an RFC 3339 date-time",
        "$.start.date: '2025-02-30' is not a yyyy-mm-dd date",
        "$.extendedProperties.private.n: expected a string, got int",
    }


def test_validator_accepts_captured_shape() -> None:
    channel = {
        "kind": "api#channel",
        "id": "c",
        "resourceId": "r",
        "expiration": "1426325213000",
    }

    assert schemas.validate(schemas.CALENDAR, "Channel", channel) == []


def imported(ical_uid: str = "040000008200e00074c5b7101a82e008-demo", **extra: object):
    """An invitation from an organizer outside Google, as events.import takes it."""
    return {
        **weekly(),
        "iCalUID": ical_uid,
        "organizer": {"email": OUTSIDER, "displayName": "Olga"},
        "attendees": [{"email": OUTSIDER, "organizer": True}, {"email": BOB}],
        **extra,
    }


def test_import_keeps_the_outside_organizer(calendar_for) -> None:
    bob = calendar_for(BOB)

    copy = bob.events().import_(calendarId="primary", body=imported()).execute()
    items, _ = list_all(bob)

    assert copy["organizer"] == {"email": OUTSIDER, "displayName": "Olga"}
    assert copy["iCalUID"] == "040000008200e00074c5b7101a82e008-demo"
    assert {"email": BOB, "responseStatus": "needsAction", "self": True} in copy[
        "attendees"
    ]
    assert [item["id"] for item in items] == [copy["id"]]


def test_import_is_a_private_copy(calendar_for, control) -> None:
    alice = calendar_for(ALICE)
    bob = calendar_for(BOB)
    control.delete("/_emulator/requests")

    bob.events().import_(
        calendarId="primary",
        body=imported(attendees=[{"email": ALICE}, {"email": BOB}]),
    ).execute()

    assert list_all(alice)[0] == []
    assert control.get("/_emulator/sent-updates").json() == []


def test_import_of_a_known_uid_replaces_the_copy(calendar_for) -> None:
    bob = calendar_for(BOB)
    first = bob.events().import_(calendarId="primary", body=imported()).execute()

    second = (
        bob.events()
        .import_(calendarId="primary", body=imported(summary="Moved 1:1"))
        .execute()
    )
    items, _ = list_all(bob)

    assert second["id"] == first["id"]
    assert second["etag"] != first["etag"]
    assert [item["summary"] for item in items] == ["Moved 1:1"]


@pytest.mark.parametrize("ical_uid", [None, "   "], ids=["missing", "blank"])
def test_import_needs_an_ical_uid(calendar_for, ical_uid) -> None:
    bob = calendar_for(BOB)
    body = imported()
    if ical_uid is None:
        del body["iCalUID"]
    else:
        body["iCalUID"] = ical_uid

    with pytest.raises(HttpError) as caught:
        bob.events().import_(calendarId="primary", body=body).execute()

    assert caught.value.resp.status == 400
    assert reason(caught.value) == "required"


def test_attendee_cannot_patch_an_imported_copy(calendar_for) -> None:
    bob = calendar_for(BOB)
    copy = bob.events().import_(calendarId="primary", body=imported()).execute()

    with pytest.raises(HttpError) as caught:
        patch(bob, copy["id"], {"description": "mine"}, etag=copy["etag"])

    assert caught.value.resp.status == 403
    assert reason(caught.value) == "forbiddenForNonOrganizer"


def test_import_over_invitation_rejected(calendar_for) -> None:
    alice = calendar_for(ALICE)
    bob = calendar_for(BOB)
    series = alice.events().insert(calendarId="primary", body=weekly()).execute()

    with pytest.raises(HttpError) as caught:
        bob.events().import_(
            calendarId="primary", body=imported(series["iCalUID"])
        ).execute()
    items, _ = list_all(bob)

    assert caught.value.resp.status == 409
    assert reason(caught.value) == "duplicate"
    assert [item["id"] for item in items] == [series["id"]]


def test_import_leaves_guests_copies_alone(calendar_for) -> None:
    alice = calendar_for(ALICE)
    bob = calendar_for(BOB)
    series = alice.events().insert(calendarId="primary", body=weekly()).execute()

    with pytest.raises(HttpError) as caught:
        alice.events().import_(
            calendarId="primary",
            body=imported(series["iCalUID"], summary="Replaced"),
        ).execute()
    [copy], _ = list_all(bob)

    assert caught.value.resp.status == 409
    assert copy["summary"] == "Alice / Bob 1:1"
    assert copy["organizer"] == {"email": ALICE}
