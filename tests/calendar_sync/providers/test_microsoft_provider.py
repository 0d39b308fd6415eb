"""GraphProvider against the Graph emulator, through the real msal and O365.

Each test gets a fresh tenant with an organizer (Mila, W. Europe Standard
Time) and an attendee (Ravi). Events are seeded with plain Graph requests on
an application token; everything Tandem does goes through the provider.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from ms_fixtures import TenantSetup, ms_server_fixture, ms_tenant_fixture  # noqa: F401
from sqlalchemy.orm import Session

from addon import event_store, models
from calendar_sync import merge
from calendar_sync.errors import ConflictError, ProviderError
from calendar_sync.inject import Outcome, inject_block
from calendar_sync.models import Attendee, Event, EventKey, NewEvent
from calendar_sync.providers.microsoft import mapping
from calendar_sync.providers.microsoft.auth import MicrosoftConfig
from calendar_sync.providers.microsoft.errors import (
    ConsentRequiredError,
    ThrottledError,
)
from calendar_sync.providers.microsoft.provider import GraphProvider, tenant_provider

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
MILA = "mila@contoso.example"
RAVI = "ravi@contoso.example"


def config_for(tenant: TenantSetup, max_retry_wait: float = 30.0) -> MicrosoftConfig:
    return MicrosoftConfig(
        client_id=tenant.client_id,
        client_secret=tenant.client_secret,
        authority_host=tenant.server.base_url,
        graph_url=tenant.server.base_url,
        ca_bundle=str(tenant.server.ca_path),
        timeout=15,
        max_retry_wait=max_retry_wait,
    )


def provider_for(
    tenant: TenantSetup, mailbox: str = MILA, **options: object
) -> GraphProvider:
    waits: list[float] = []
    config = config_for(tenant, float(options.pop("max_retry_wait", 30.0)))  # type: ignore[arg-type]
    provider = tenant_provider(
        config, tenant.tenant_id, mailbox, now=lambda: NOW, **options
    )
    provider.client._sleep = waits.append  # record Retry-After waits, skip sleeping
    provider.waits = waits  # type: ignore[attr-defined]
    return provider


def seed(tenant: TenantSetup, body: dict, mailbox: str = MILA) -> dict:
    """Create an event in `mailbox` with a plain Graph request."""
    response = tenant.graph(
        "POST", f"/users/{mailbox}/events", tenant.app_token(), json=body
    )
    assert response.status_code == 201, response.text
    return response.json()


def weekly_one_on_one(tenant: TenantSetup, **extra: object) -> dict:
    return seed(
        tenant,
        {
            "subject": "Mila / Ravi 1:1",
            "body": {"contentType": "html", "content": "<p>Our weekly check-in.</p>"},
            "start": {
                "dateTime": "2027-03-02T10:00:00",
                "timeZone": "W. Europe Standard Time",
            },
            "end": {
                "dateTime": "2027-03-02T10:30:00",
                "timeZone": "W. Europe Standard Time",
            },
            "attendees": [
                {
                    "emailAddress": {"address": RAVI, "name": "Ravi Patel"},
                    "type": "required",
                }
            ],
            "recurrence": {
                "pattern": {
                    "type": "weekly",
                    "interval": 1,
                    "daysOfWeek": ["tuesday"],
                    "firstDayOfWeek": "monday",
                },
                "range": {"type": "noEnd", "startDate": "2027-03-02"},
            },
            **extra,
        },
    )


def graph_requests(tenant: TenantSetup) -> list[dict]:
    return [row for row in tenant.requests_log() if "/v1.0/" in row["path"]]


# -- mapping ----------------------------------------------------------------


def test_rrule_weekly_pattern() -> None:
    recurrence = {
        "pattern": {"type": "weekly", "interval": 2, "daysOfWeek": ["Tuesday"]},
        "range": {"type": "numbered", "numberOfOccurrences": 10},
    }

    rule = mapping.rrule_from(recurrence, datetime(2027, 3, 2, 10, tzinfo=BERLIN))

    assert rule == "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;WKST=SU;COUNT=10"


def test_rrule_relative_monthly_until() -> None:
    recurrence = {
        "pattern": {
            "type": "relativeMonthly",
            "interval": 1,
            "daysOfWeek": ["thursday"],
            "index": "last",
        },
        "range": {"type": "endDate", "endDate": "2027-12-30"},
    }

    rule = mapping.rrule_from(recurrence, datetime(2027, 1, 28, 9, tzinfo=BERLIN))

    assert rule == "FREQ=MONTHLY;BYDAY=TH;BYSETPOS=-1;UNTIL=20271230T225959Z"


def test_rrule_absolute_yearly() -> None:
    recurrence = {
        "pattern": {
            "type": "absoluteYearly",
            "interval": 1,
            "dayOfMonth": 15,
            "month": 6,
        },
        "range": {"type": "noEnd"},
    }

    rule = mapping.rrule_from(recurrence, datetime(2027, 6, 15, 9, tzinfo=UTC))

    assert rule == "FREQ=YEARLY;BYMONTHDAY=15;BYMONTH=6"


def test_windows_zone_resolved() -> None:
    data = {
        "id": "x",
        "type": "singleInstance",
        "subject": "s",
        "originalStartTimeZone": "W. Europe Standard Time",
        "start": {"dateTime": "2027-07-01T08:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2027-07-01T08:30:00.0000000", "timeZone": "UTC"},
    }

    event = mapping.event_from_graph(data)

    assert event.timezone == "Europe/Berlin"
    assert event.start == datetime(2027, 7, 1, 10, 0, tzinfo=BERLIN)
    assert event.start.utcoffset() == timedelta(hours=2)


def test_unknown_zone_falls_back() -> None:
    data = {
        "id": "x",
        "type": "singleInstance",
        "originalStartTimeZone": "Customized Time Zone",
        "start": {"dateTime": "2027-07-01T08:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2027-07-01T08:30:00", "timeZone": "UTC"},
    }

    event = mapping.event_from_graph(data)

    assert event.timezone == "UTC"
    assert event.start == datetime(2027, 7, 1, 8, tzinfo=UTC)


def test_cancelled_occurrences_become_exdates() -> None:
    data = {
        "id": "AAMk1",
        "type": "seriesMaster",
        "originalStartTimeZone": "W. Europe Standard Time",
        "start": {"dateTime": "2027-03-02T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2027-03-02T09:30:00", "timeZone": "UTC"},
        "recurrence": {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"]},
            "range": {"type": "noEnd"},
        },
        "cancelledOccurrences": ["OID.AAMk1.2027-03-16"],
    }

    event = mapping.event_from_graph(data)

    assert event.exdates == (datetime(2027, 3, 16, 10, 0, tzinfo=BERLIN),)
    assert event.is_recurring


@pytest.mark.parametrize(
    ("graph_url", "scope"),
    [
        ("https://graph.microsoft.com", "https://graph.microsoft.com/.default"),
        ("https://graph.microsoft.us/", "https://graph.microsoft.us/.default"),
        (
            "https://microsoftgraph.chinacloudapi.cn",
            "https://microsoftgraph.chinacloudapi.cn/.default",
        ),
        # An emulator or proxy in front of Graph still gets a token for Graph.
        ("https://127.0.0.1:8443", "https://graph.microsoft.com/.default"),
    ],
)
def test_app_scope_names_graph(graph_url: str, scope: str) -> None:
    config = MicrosoftConfig(client_id="c", client_secret="s", graph_url=graph_url)

    assert config.app_scope == scope


def _wrapped(uid: bytes, marker: bytes = b"vCal-Uid\x01\x00\x00\x00") -> str:
    """Build a global object id around another system's UID, in hex."""
    data = marker + uid + b"\x00"
    header = bytes.fromhex("040000008200E00074C5B7101A82E008") + bytes(20)
    return (header + len(data).to_bytes(4, "little") + data).hex().upper()


@pytest.mark.parametrize(
    ("ical_uid", "expected"),
    [
        (_wrapped(b"7kq2example@google.com"), "7kq2example@google.com"),
        # An Exchange meeting's own id is what its invitations carry.
        (
            "040000008200E00074C5B7101A82E00800000000" + "AB" * 36,
            "040000008200E00074C5B7101A82E00800000000" + "AB" * 36,
        ),
        ("plain-uid@example.com", "plain-uid@example.com"),
        # Not hexadecimal, an odd length, another class id, another marker,
        # and a UID that is not UTF-8: each is kept as Graph gave it.
        ("Z" * 120, "Z" * 120),
        (_wrapped(b"x") + "0", _wrapped(b"x") + "0"),
        ("FF" + _wrapped(b"x")[2:], "FF" + _wrapped(b"x")[2:]),
        (_wrapped(b"x", b"other-id"), _wrapped(b"x", b"other-id")),
        (_wrapped(b"\xff\xfe"), _wrapped(b"\xff\xfe")),
    ],
)
def test_invitation_uid(ical_uid: str, expected: str) -> None:
    assert mapping.invitation_uid(ical_uid) == expected


def test_master_carries_the_invitation_uid() -> None:
    data = {
        "id": "AAMk2",
        "type": "seriesMaster",
        "iCalUId": _wrapped(b"series@google.com"),
        "start": {"dateTime": "2027-03-02T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2027-03-02T09:30:00", "timeZone": "UTC"},
        "recurrence": {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"]},
            "range": {"type": "noEnd"},
        },
    }
    occurrence = {
        **data,
        "id": "AAMk2occ",
        "type": "occurrence",
        "seriesMasterId": "AAMk2",
        "recurrence": None,
    }

    assert mapping.event_from_graph(data).ical_uid == "series@google.com"
    # An occurrence's own iCalUId is not the series' UID, so it is not used.
    assert mapping.event_from_graph(occurrence).ical_uid == "AAMk2"


# -- changes ----------------------------------------------------------------


def test_full_sync_lists_master(ms_tenant: TenantSetup) -> None:
    master = weekly_one_on_one(ms_tenant)
    provider = provider_for(ms_tenant)

    changes = provider.list_changes(None)

    assert changes.full is True
    masters = [event for event in changes.events if event.is_recurring]
    assert [event.uid for event in masters] == [master["id"]]
    assert masters[0].rrule == "FREQ=WEEKLY;BYDAY=TU;WKST=MO"
    assert masters[0].timezone == "Europe/Berlin"
    assert masters[0].start == datetime(2027, 3, 2, 10, tzinfo=BERLIN)
    assert masters[0].organizer is not None
    assert masters[0].organizer.email == MILA
    assert [person.email for person in masters[0].attendees] == [RAVI]
    assert "$deltatoken" in changes.cursor
    assert "#window-end=" in changes.cursor


def test_empty_incremental_one_request(ms_tenant: TenantSetup) -> None:
    weekly_one_on_one(ms_tenant)
    provider = provider_for(ms_tenant)
    cursor = provider.list_changes(None).cursor
    ms_tenant.control("DELETE", "/requests")

    changes = provider.list_changes(cursor)

    assert changes.events == ()
    assert changes.removed == ()
    assert changes.full is False
    requests = graph_requests(ms_tenant)
    assert len(requests) == 1
    assert requests[0]["path"].endswith("/calendarView/delta")


def test_incremental_exception_and_master(ms_tenant: TenantSetup) -> None:
    master = weekly_one_on_one(ms_tenant)
    provider = provider_for(ms_tenant)
    cursor = provider.list_changes(None).cursor
    occurrence = provider.list_instances(master["id"], NOW, NOW + timedelta(days=14))[1]
    graph_id = occurrence.extra["graph_id"]
    ms_tenant.graph(
        "PATCH",
        f"/users/{MILA}/events/{graph_id}",
        ms_tenant.app_token(),
        json={"subject": "Moved 1:1"},
    )

    changes = provider.list_changes(cursor)

    assert changes.full is False
    by_kind = {event.extra["graph_type"]: event for event in changes.events}
    assert set(by_kind) == {"seriesMaster", "exception"}
    assert by_kind["exception"].uid == master["id"]
    assert by_kind["exception"].recurrence_id == occurrence.recurrence_id
    assert by_kind["exception"].summary == "Moved 1:1"


def test_delta_paging_follows_next_link(ms_tenant: TenantSetup) -> None:
    for day in range(1, 6):
        seed(
            ms_tenant,
            {
                "subject": f"Single {day}",
                "start": {"dateTime": f"2027-03-0{day}T12:00:00", "timeZone": "UTC"},
                "end": {"dateTime": f"2027-03-0{day}T13:00:00", "timeZone": "UTC"},
            },
        )
    provider = provider_for(ms_tenant)
    ms_tenant.control("DELETE", "/requests")

    changes = provider_delta_in_pages(provider, page_size=2)

    assert sorted(event.summary for event in changes.events) == [
        f"Single {day}" for day in range(1, 6)
    ]
    assert len(graph_requests(ms_tenant)) == 3


def provider_delta_in_pages(provider: GraphProvider, page_size: int):  # type: ignore[no-untyped-def]
    from calendar_sync.providers.microsoft import provider as module

    original = module.DELTA_PAGE_SIZE
    module.DELTA_PAGE_SIZE = page_size
    try:
        return provider.list_changes(None)
    finally:
        module.DELTA_PAGE_SIZE = original


def test_removed_event_reported(ms_tenant: TenantSetup) -> None:
    single = seed(
        ms_tenant,
        {
            "subject": "Lunch",
            "start": {"dateTime": "2027-03-03T12:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2027-03-03T13:00:00", "timeZone": "UTC"},
        },
    )
    provider = provider_for(ms_tenant)
    cursor = provider.list_changes(None).cursor
    ms_tenant.graph(
        "DELETE", f"/users/{MILA}/events/{single['id']}", ms_tenant.app_token()
    )

    changes = provider.list_changes(cursor)

    assert changes.removed == (EventKey(single["id"]),)
    assert changes.events == ()


def test_lost_delta_token_full_resync(ms_tenant: TenantSetup) -> None:
    master = weekly_one_on_one(ms_tenant)
    provider = provider_for(ms_tenant)
    cursor = provider.list_changes(None).cursor
    ms_tenant.control("POST", "/delta-tokens/expire")

    changes = provider.list_changes(cursor)

    assert changes.full is True
    assert master["id"] in {event.uid for event in changes.events}
    assert changes.cursor != cursor


def test_used_up_window_full_resync(ms_tenant: TenantSetup) -> None:
    weekly_one_on_one(ms_tenant)
    provider = provider_for(ms_tenant)
    cursor = provider.list_changes(None).cursor
    provider.now = lambda: NOW + timedelta(days=60)

    changes = provider.list_changes(cursor)

    assert changes.full is True


# -- reading ------------------------------------------------------------------


def test_instances_in_window(ms_tenant: TenantSetup) -> None:
    master = weekly_one_on_one(ms_tenant)
    provider = provider_for(ms_tenant)

    instances = provider.list_instances(master["id"], NOW, NOW + timedelta(days=21))

    assert [event.start for event in instances] == [
        datetime(2027, 3, day, 10, tzinfo=BERLIN) for day in (2, 9, 16)
    ]
    assert all(event.recurrence_id == event.start for event in instances)
    assert all(event.uid == master["id"] for event in instances)


def test_instances_follow_dst(ms_tenant: TenantSetup) -> None:
    master = weekly_one_on_one(ms_tenant)
    provider = provider_for(ms_tenant)
    start = datetime(2027, 3, 22, tzinfo=UTC)

    instances = provider.list_instances(master["id"], start, start + timedelta(days=14))

    assert [event.start.astimezone(UTC).hour for event in instances] == [9, 8]


def test_get_occurrence_by_key(ms_tenant: TenantSetup) -> None:
    master = weekly_one_on_one(ms_tenant)
    key = EventKey(master["id"], datetime(2027, 3, 9, 10, tzinfo=BERLIN))
    provider = provider_for(ms_tenant)

    event = provider.get_event(key)

    assert event is not None
    assert event.key == key
    assert event.etag.startswith('W/"')
    assert "weekly check-in" in event.description


def test_get_missing_event_none(ms_tenant: TenantSetup) -> None:
    master = weekly_one_on_one(ms_tenant)
    provider = provider_for(ms_tenant)

    assert provider.get_event(EventKey("AAMkNoSuchEvent")) is None
    assert (
        provider.get_event(EventKey(master["id"], datetime(2027, 3, 10, tzinfo=UTC)))
        is None
    )


# -- writing ------------------------------------------------------------------


def test_update_sends_if_match(ms_tenant: TenantSetup) -> None:
    master = weekly_one_on_one(ms_tenant)
    key = EventKey(master["id"], datetime(2027, 3, 9, 10, tzinfo=BERLIN))
    provider = provider_for(ms_tenant)
    event = provider.get_event(key)
    assert event is not None
    ms_tenant.control("DELETE", "/requests")

    written = provider.update_description(
        key, "<p>Agenda</p>", event.etag, {"format": "1"}
    )

    patches = [row for row in graph_requests(ms_tenant) if row["method"] == "PATCH"]
    assert len(patches) == 1
    assert patches[0]["ifMatch"] == event.etag
    assert written.etag != event.etag
    reread = provider.get_event(key)
    assert reread is not None
    assert reread.extra["tandem_state"] == '{"format": "1"}'
    assert "Agenda" in reread.description


def test_stale_etag_conflict(ms_tenant: TenantSetup) -> None:
    master = weekly_one_on_one(ms_tenant)
    key = EventKey(master["id"], datetime(2027, 3, 9, 10, tzinfo=BERLIN))
    provider = provider_for(ms_tenant)
    event = provider.get_event(key)
    assert event is not None
    provider.update_description(key, "<p>First</p>", event.etag)

    with pytest.raises(ConflictError) as caught:
        provider.update_description(key, "<p>Second</p>", event.etag)

    assert caught.value.expected_etag == event.etag
    reread = provider.get_event(key)
    assert reread is not None
    assert "First" in reread.description


def test_attendee_copy_not_written(ms_tenant: TenantSetup) -> None:
    ms_tenant.control(
        "POST",
        f"/users/{RAVI}/events",
        {
            "subject": "Mila / Ravi 1:1",
            "start": {"dateTime": "2027-03-03T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2027-03-03T10:30:00", "timeZone": "UTC"},
            "organizer": {"name": "Mila Jansen", "address": MILA},
        },
    )
    provider = provider_for(ms_tenant, mailbox=RAVI)
    event = next(iter(provider.list_changes(None).events))

    with pytest.raises(ProviderError, match="attendee's copy"):
        provider.update_description(event.key, "<p>Agenda</p>", event.etag)


def test_create_event_once(ms_tenant: TenantSetup) -> None:
    provider = provider_for(ms_tenant)
    new = NewEvent(
        uid="followup-1@tandem",
        summary="Follow-up: Mila / Ravi 1:1",
        start=datetime(2027, 4, 13, 10, tzinfo=BERLIN),
        end=datetime(2027, 4, 13, 10, 30, tzinfo=BERLIN),
        timezone="Europe/Berlin",
        organizer=Attendee(MILA, "Mila Jansen"),
        attendees=(Attendee(MILA, "Mila Jansen"), Attendee(RAVI, "Ravi Patel")),
        description="How are the goals going?",
    )

    first = provider.create_event(new)
    second = provider.create_event(new)

    assert first.uid == second.uid
    assert [person.email for person in first.attendees] == [RAVI]
    assert first.start == new.start
    events = ms_tenant.graph(
        "GET", f"/users/{MILA}/events", ms_tenant.app_token()
    ).json()
    assert [item["subject"] for item in events["value"]] == [new.summary]


def test_busy_intervals_with_off_hours(ms_tenant: TenantSetup) -> None:
    seed(
        ms_tenant,
        {
            "subject": "Busy",
            "start": {"dateTime": "2027-03-03T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2027-03-03T11:00:00", "timeZone": "UTC"},
        },
        mailbox=RAVI,
    )
    provider = provider_for(ms_tenant)
    start = datetime(2027, 3, 3, 0, tzinfo=UTC)

    busy = provider.busy_intervals([MILA, RAVI], start, start + timedelta(days=1))

    ravi = busy[RAVI]
    assert any(
        item.start <= datetime(2027, 3, 3, 10, tzinfo=UTC)
        and item.end >= datetime(2027, 3, 3, 11, tzinfo=UTC)
        for item in ravi
    )
    assert busy[MILA][0].start == start
    assert all(item.start < item.end for item in busy[MILA])
    free_noon = datetime(2027, 3, 3, 12, tzinfo=UTC)
    assert not any(item.start <= free_noon < item.end for item in busy[MILA])


# -- faults -------------------------------------------------------------------


def test_retry_after_respected(ms_tenant: TenantSetup) -> None:
    master = weekly_one_on_one(ms_tenant)
    provider = provider_for(ms_tenant)
    ms_tenant.control("POST", "/faults", {"status": 429, "count": 2, "retry_after": 3})

    event = provider.get_event(EventKey(master["id"]))

    assert event is not None
    assert provider.waits == [3.0, 3.0]  # type: ignore[attr-defined]


def test_throttle_storm_gives_up(ms_tenant: TenantSetup) -> None:
    master = weekly_one_on_one(ms_tenant)
    provider = provider_for(ms_tenant, max_retry_wait=10)
    ms_tenant.control("POST", "/faults", {"status": 503, "count": 50, "retry_after": 4})

    with pytest.raises(ThrottledError) as caught:
        provider.get_event(EventKey(master["id"]))

    assert caught.value.status == 503
    assert provider.waits == [4.0, 4.0]  # type: ignore[attr-defined]
    ms_tenant.control("DELETE", "/faults")


def test_revoked_consent_raises(ms_tenant: TenantSetup) -> None:
    master = weekly_one_on_one(ms_tenant)
    provider = provider_for(ms_tenant)
    assert provider.get_event(EventKey(master["id"])) is not None
    ms_tenant.control(
        "DELETE", f"/tenants/{ms_tenant.tenant_id}/admin-consent/{ms_tenant.client_id}"
    )

    with pytest.raises(ConsentRequiredError) as caught:
        provider.get_event(EventKey(master["id"]))

    assert caught.value.error in {
        "unauthorized_client",
        "invalid_grant",
        "invalid_client",
    }


# -- HTML agenda blocks -----------------------------------------------------------


BLOCK = (
    "<b>PERSONAL</b><br>- How is the move going?<br><b>CURRENT ROLE</b><br>- Q2 goals"
)


def test_block_survives_rewriting(ms_tenant: TenantSetup) -> None:
    master = weekly_one_on_one(ms_tenant)
    provider = provider_for(ms_tenant)
    key = provider.list_instances(master["id"], NOW, NOW + timedelta(days=7))[0].key

    first = inject_block(provider, key, lambda edits: BLOCK, None)
    ms_tenant.control("DELETE", "/requests")
    second = inject_block(provider, key, lambda edits: BLOCK, first.block_body)

    assert first.outcome is Outcome.WRITTEN
    assert second.outcome is Outcome.UNCHANGED
    assert [row["method"] for row in graph_requests(ms_tenant)] == ["GET"]
    stored = provider.get_event(key)
    assert stored is not None
    assert "Our weekly check-in." in stored.description
    assert merge.block_body_html(stored.description) == (
        "PERSONAL\n- How is the move going?\nCURRENT ROLE\n- Q2 goals"
    )


def test_teams_blob_kept(ms_tenant: TenantSetup) -> None:
    seeded = ms_tenant.control(
        "POST",
        f"/users/{MILA}/events",
        {
            "subject": "Mila / Ravi 1:1",
            "body": {
                "contentType": "html",
                "content": "<p>Notes folder: see wiki.</p>",
            },
            "start": {"dateTime": "2027-03-03T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2027-03-03T10:30:00", "timeZone": "UTC"},
            "teamsMeeting": True,
        },
    ).json()
    provider = provider_for(ms_tenant)
    before = provider.get_event(EventKey(seeded["id"]))
    assert before is not None
    teams_at = before.description.index("teams")

    result = inject_block(provider, EventKey(seeded["id"]), lambda edits: BLOCK, None)

    assert result.outcome is Outcome.WRITTEN
    after = provider.get_event(EventKey(seeded["id"]))
    assert after is not None
    teams_blob = before.description[teams_at - 200 : teams_at + 200]
    assert teams_blob in after.description
    assert "Notes folder: see wiki." in after.description


def test_edit_inside_block_read_back(ms_tenant: TenantSetup) -> None:
    master = weekly_one_on_one(ms_tenant)
    provider = provider_for(ms_tenant)
    key = provider.list_instances(master["id"], NOW, NOW + timedelta(days=7))[0].key
    first = inject_block(provider, key, lambda edits: BLOCK, None)
    stored = provider.get_event(key)
    assert stored is not None
    edited = stored.description.replace(
        "- Q2 goals", "- Q2 goals<br>- Ask about training"
    )
    provider.update_description(key, edited, stored.etag)
    seen: list[list[str]] = []

    def render(edits: list[str]) -> str:
        seen.append(edits)
        return BLOCK + "".join(f"<br>- {line.lstrip('- ')}" for line in edits)

    result = inject_block(provider, key, render, first.block_body)

    assert seen[0] == ["- Ask about training"]
    assert result.outcome is Outcome.UNCHANGED
    assert "Ask about training" in (result.block_body or "")


# -- the stored copy ----------------------------------------------------------


def stored_calendar(session: Session) -> models.Calendar:
    tenant = models.Tenant(name=f"stored-{uuid.uuid4().hex[:8]}")
    session.add(tenant)
    session.flush()
    calendar = models.Calendar(tenant_id=tenant.id, provider="microsoft", address=MILA)
    session.add(calendar)
    session.flush()
    return calendar


def synced_provider(
    tenant: TenantSetup, session: Session
) -> tuple[GraphProvider, models.Calendar, str]:
    """Return a provider whose first full round is stored, and its cursor."""
    calendar = stored_calendar(session)
    provider = provider_for(tenant, stored=event_store.StoredEvents(session, calendar))
    changes = provider.list_changes(None)
    event_store.apply_changes(session, calendar, changes)
    return provider, calendar, changes.cursor


def write_occurrence(
    provider: GraphProvider, session: Session, calendar: models.Calendar, key: EventKey
) -> Event:
    """PATCH one occurrence's body and store the result, as SyncService does."""
    event = provider.get_event(key)
    assert event is not None
    written = provider.update_description(key, "<p>Agenda</p>", event.etag)
    event_store.remember(session, calendar.id, calendar.tenant_id, written)
    return written


def test_own_write_one_request(ms_tenant: TenantSetup, session: Session) -> None:
    master = weekly_one_on_one(ms_tenant)
    provider, calendar, cursor = synced_provider(ms_tenant, session)
    key = EventKey(master["id"], datetime(2027, 3, 9, 10, tzinfo=BERLIN))
    write_occurrence(provider, session, calendar, key)
    ms_tenant.control("DELETE", "/requests")

    changes = provider.list_changes(cursor)

    assert changes.events == ()
    assert changes.removed == ()
    requests = graph_requests(ms_tenant)
    assert len(requests) == 1
    assert requests[0]["path"].endswith("/calendarView/delta")


def test_own_write_matched_by_content(ms_tenant: TenantSetup, session: Session) -> None:
    master = weekly_one_on_one(ms_tenant)
    provider, calendar, cursor = synced_provider(ms_tenant, session)
    key = EventKey(master["id"], datetime(2027, 3, 9, 10, tzinfo=BERLIN))
    written = write_occurrence(provider, session, calendar, key)
    # As if Graph had given the item a new ETag without changing what Tandem reads.
    event_store.remember(
        session, calendar.id, calendar.tenant_id, replace(written, etag='W/"older"')
    )

    changes = provider.list_changes(cursor)

    assert changes.events == ()


def test_changed_exception_still_listed(
    ms_tenant: TenantSetup, session: Session
) -> None:
    master = weekly_one_on_one(ms_tenant)
    provider, calendar, cursor = synced_provider(ms_tenant, session)
    key = EventKey(master["id"], datetime(2027, 3, 9, 10, tzinfo=BERLIN))
    written = write_occurrence(provider, session, calendar, key)
    ms_tenant.graph(
        "PATCH",
        f"/users/{MILA}/events/{written.extra['graph_id']}",
        ms_tenant.app_token(),
        json={"subject": "Moved 1:1"},
    )

    changes = provider.list_changes(cursor)

    summaries = sorted(event.summary for event in changes.events)
    assert summaries == ["Mila / Ravi 1:1", "Moved 1:1"]


def test_full_round_keeps_own_writes(ms_tenant: TenantSetup, session: Session) -> None:
    master = weekly_one_on_one(ms_tenant)
    provider, calendar, cursor = synced_provider(ms_tenant, session)
    key = EventKey(master["id"], datetime(2027, 3, 9, 10, tzinfo=BERLIN))
    write_occurrence(provider, session, calendar, key)
    ms_tenant.control("POST", "/delta-tokens/expire")

    changes = provider.list_changes(cursor)

    assert changes.full is True
    assert key in {event.key for event in changes.events}


def test_master_keeps_instance_ids(ms_tenant: TenantSetup, session: Session) -> None:
    master = weekly_one_on_one(ms_tenant)
    provider, calendar, _ = synced_provider(ms_tenant, session)
    occurrence = provider.list_instances(master["id"], NOW, NOW + timedelta(days=8))[0]

    stored = event_store.StoredEvents(session, calendar)

    owners = stored.owners([occurrence.extra["graph_id"], "unknown-id"])
    assert owners == {occurrence.extra["graph_id"]: EventKey(master["id"])}


def test_deleted_series_found_gone(ms_tenant: TenantSetup, session: Session) -> None:
    master = weekly_one_on_one(ms_tenant)
    provider, calendar, cursor = synced_provider(ms_tenant, session)
    key = EventKey(master["id"], datetime(2027, 3, 9, 10, tzinfo=BERLIN))
    write_occurrence(provider, session, calendar, key)
    ms_tenant.graph(
        "DELETE", f"/users/{MILA}/events/{master['id']}", ms_tenant.app_token()
    )

    changes = provider.list_changes(cursor)
    affected = event_store.apply_changes(session, calendar, changes)

    assert EventKey(master["id"]) in changes.removed
    assert key in changes.removed
    assert affected == {master["id"]}
    assert event_store.series_members(session, calendar, master["id"]) == []


def test_cancelled_occurrence_rereads_master(
    ms_tenant: TenantSetup, session: Session
) -> None:
    master = weekly_one_on_one(ms_tenant)
    provider, _, cursor = synced_provider(ms_tenant, session)
    occurrence = provider.list_instances(master["id"], NOW, NOW + timedelta(days=8))[0]
    ms_tenant.graph(
        "DELETE",
        f"/users/{MILA}/events/{occurrence.extra['graph_id']}",
        ms_tenant.app_token(),
    )

    changes = provider.list_changes(cursor)

    assert changes.removed == ()
    assert [event.uid for event in changes.events] == [master["id"]]
    assert changes.events[0].exdates == (occurrence.start,)


# -- reads an incremental round saves -------------------------------------------

WINDOW = (NOW - timedelta(days=28), NOW + timedelta(days=92))


def test_master_edit_needs_no_reads(ms_tenant: TenantSetup, session: Session) -> None:
    master = weekly_one_on_one(ms_tenant)
    provider, calendar, cursor = synced_provider(ms_tenant, session)
    key = EventKey(master["id"], datetime(2027, 3, 9, 10, tzinfo=BERLIN))
    write_occurrence(provider, session, calendar, key)
    ms_tenant.graph(
        "PATCH",
        f"/users/{MILA}/events/{master['id']}",
        ms_tenant.app_token(),
        json={"subject": "Mila / Ravi weekly"},
    )
    ms_tenant.control("DELETE", "/requests")

    changes = provider.list_changes(cursor)
    instances = provider.list_instances(master["id"], *WINDOW)
    upcoming = provider.get_event(key)

    assert [event.summary for event in changes.events] == ["Mila / Ravi weekly"]
    assert changes.events[0].rrule == "FREQ=WEEKLY;BYDAY=TU;WKST=MO"
    assert changes.events[0].etag == ""
    assert [row["path"] for row in graph_requests(ms_tenant)] == [
        f"/v1.0/users/{MILA}/calendarView/delta"
    ]
    assert key in [event.key for event in instances]
    assert upcoming is not None
    assert "Agenda" in upcoming.description
    assert "weekly check-in" not in upcoming.description
    direct = provider_for(ms_tenant).list_instances(master["id"], *WINDOW)
    assert [(event.key, event.summary) for event in instances] == [
        (event.key, event.summary) for event in direct
    ]


def test_master_edit_rereads_after_conflict(
    ms_tenant: TenantSetup, session: Session
) -> None:
    master = weekly_one_on_one(ms_tenant)
    provider, _, cursor = synced_provider(ms_tenant, session)
    ms_tenant.graph(
        "PATCH",
        f"/users/{MILA}/events/{master['id']}",
        ms_tenant.app_token(),
        json={"subject": "Mila / Ravi weekly"},
    )
    provider.list_changes(cursor)
    key = provider.list_instances(master["id"], *WINDOW)[5].key
    ms_tenant.control("DELETE", "/requests")

    first = provider.get_event(key)
    second = provider.get_event(key)

    assert first is not None
    assert second is not None
    assert first.etag == second.etag
    assert [row["method"] for row in graph_requests(ms_tenant)] == ["GET"]


def test_moved_series_rereads_master(ms_tenant: TenantSetup, session: Session) -> None:
    master = weekly_one_on_one(ms_tenant)
    provider, _, cursor = synced_provider(ms_tenant, session)
    ms_tenant.graph(
        "PATCH",
        f"/users/{MILA}/events/{master['id']}",
        ms_tenant.app_token(),
        json={
            "start": {
                "dateTime": "2027-03-02T11:00:00",
                "timeZone": "W. Europe Standard Time",
            },
            "end": {
                "dateTime": "2027-03-02T11:30:00",
                "timeZone": "W. Europe Standard Time",
            },
        },
    )
    ms_tenant.control("DELETE", "/requests")

    changes = provider.list_changes(cursor)

    masters = [event for event in changes.events if event.is_recurring]
    assert [event.start for event in masters] == [
        datetime(2027, 3, 2, 11, tzinfo=BERLIN)
    ]
    assert masters[0].etag.startswith('W/"')
    master_reads = [
        row for row in graph_requests(ms_tenant) if row["path"].endswith(master["id"])
    ]
    assert len(master_reads) == 1


def test_moved_clock_batches_instances(
    ms_tenant: TenantSetup, session: Session
) -> None:
    first = weekly_one_on_one(ms_tenant)
    second = weekly_one_on_one(ms_tenant, subject="Mila / Ravi second 1:1")
    provider, _, cursor = synced_provider(ms_tenant, session)
    for master in (first, second):
        ms_tenant.graph(
            "PATCH",
            f"/users/{MILA}/events/{master['id']}",
            ms_tenant.app_token(),
            json={"location": {"displayName": "Room 4"}},
        )
    later = NOW + timedelta(days=10)
    provider.now = lambda: later
    provider.list_changes(cursor)
    ms_tenant.control("DELETE", "/requests")

    window = (later - timedelta(days=28), later + timedelta(days=92))
    listed = [
        provider.list_instances(master["id"], *window) for master in (first, second)
    ]

    outer = [row for row in graph_requests(ms_tenant) if not row["inBatch"]]
    assert [row["path"] for row in outer] == ["/v1.0/$batch"]
    assert [len(instances) for instances in listed] == [15, 15]
    assert listed[0][-1].start == datetime(2027, 6, 8, 10, tzinfo=BERLIN)
    assert {event.uid for event in listed[1]} == {second["id"]}


def test_moved_series_needs_no_instance_read(
    ms_tenant: TenantSetup, session: Session
) -> None:
    master = weekly_one_on_one(ms_tenant)
    provider, _calendar, cursor = synced_provider(ms_tenant, session)
    token = ms_tenant.app_token()
    ms_tenant.graph(
        "PATCH",
        f"/users/{MILA}/events/{master['id']}",
        token,
        json={
            "start": {"dateTime": "2027-03-02T11:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2027-03-02T11:30:00", "timeZone": "UTC"},
        },
    )
    ms_tenant.control("DELETE", "/requests")

    provider.list_changes(cursor)
    instances = provider.list_instances(master["id"], NOW, NOW + timedelta(days=15))

    # Graph removed the old occurrences and listed the new ones, so the
    # stored copy completes the list; only the master is read.
    paths = [row["path"].rsplit("/", 1)[-1] for row in graph_requests(ms_tenant)]
    assert paths == ["delta", master["id"]]
    assert [event.start for event in instances] == [
        datetime(2027, 3, 2, 11, tzinfo=UTC),
        datetime(2027, 3, 9, 11, tzinfo=UTC),
    ]
