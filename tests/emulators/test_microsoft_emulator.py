"""The Microsoft emulator driven by the real msal, O365 and requests over HTTPS."""

import datetime as dt
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
from ms_fixtures import (  # noqa: F401
    GRAPH_DEFAULT_SCOPE,
    REDIRECT_URI,
    Listener,
    TenantSetup,
    ms_listener_fixture,
    ms_server_fixture,
    ms_tenant_fixture,
)
from ms_graph_schema import schema_violations

from emulators.microsoft.bodies import rewrite_body
from emulators.microsoft.recurrence import occurrence_starts

UTC = dt.UTC
PROPERTY_ID = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name TandemState"
WEEKLY_SERIES = {
    "subject": "Mila / Ravi 1:1",
    "body": {"contentType": "html", "content": "<p>Standing 1:1</p>"},
    "start": {"dateTime": "2030-03-04T09:00:00", "timeZone": "W. Europe Standard Time"},
    "end": {"dateTime": "2030-03-04T09:30:00", "timeZone": "W. Europe Standard Time"},
    "attendees": [
        {"emailAddress": {"address": "ravi@contoso.example"}, "type": "required"}
    ],
    "recurrence": {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
        "range": {"type": "noEnd", "startDate": "2030-03-04"},
    },
}
WINDOW = {
    "startDateTime": "2030-03-01T00:00:00Z",
    "endDateTime": "2030-04-01T00:00:00Z",
}


def assert_event_shape(event: dict) -> None:
    """Check one event against the Graph v1.0 schema."""
    assert schema_violations(event, "event") == []


def seed(setup: TenantSetup, payload: dict, mailbox: str | None = None) -> dict:
    """Store an event through the control API and return it."""
    path = f"/users/{mailbox or setup.organizer}/events"
    return setup.control("POST", path, payload).json()


def view(setup: TenantSetup, token: str, **headers: str) -> list[dict]:
    """Return the organizer's calendarView for March 2030."""
    response = setup.graph(
        "GET",
        f"/users/{setup.organizer}/calendarView",
        token,
        params={**WINDOW, "$top": "50"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return response.json()["value"]


# Identity platform


def test_client_credentials_token(ms_tenant: TenantSetup) -> None:
    app = ms_tenant.msal_app()

    result = app.acquire_token_for_client(scopes=[GRAPH_DEFAULT_SCOPE])

    assert result.get("token_type") == "Bearer"
    assert result.get("expires_in", 0) > 3000


def test_client_credentials_token_is_cached(ms_tenant: TenantSetup) -> None:
    # msal files an application token under the scope it asked for only when
    # the response names none, as the identity platform's does not.
    app = ms_tenant.msal_app()
    ms_tenant.control("DELETE", "/requests")

    first = app.acquire_token_for_client(
        scopes=[f"{ms_tenant.server.base_url}/.default"]
    )
    second = app.acquire_token_for_client(
        scopes=[f"{ms_tenant.server.base_url}/.default"]
    )

    token_calls = [r for r in ms_tenant.requests_log() if r["path"].endswith("/token")]
    assert "scope" not in first
    assert second["access_token"] == first["access_token"]
    assert len(token_calls) == 1


def test_instance_discovery_endpoint(ms_tenant: TenantSetup) -> None:
    import msal

    app = msal.ConfidentialClientApplication(
        ms_tenant.client_id,
        client_credential=ms_tenant.client_secret,
        authority=ms_tenant.server.authority(ms_tenant.tenant_id),
        instance_discovery=ms_tenant.server.instance_discovery_url(),
    )

    result = app.acquire_token_for_client(scopes=[GRAPH_DEFAULT_SCOPE])

    assert "access_token" in result, result


def test_credentials_without_consent(ms_tenant: TenantSetup) -> None:
    other = ms_tenant.control("POST", "/tenants", {"domain": "fabrikam.example"}).json()
    app = ms_tenant.msal_app(other["id"])

    result = app.acquire_token_for_client(scopes=[GRAPH_DEFAULT_SCOPE])

    assert result.get("error") == "unauthorized_client"
    assert result.get("error_codes") == [700016]


def test_credentials_scope_needs_default(ms_tenant: TenantSetup) -> None:
    app = ms_tenant.msal_app()

    result = app.acquire_token_for_client(
        scopes=["https://graph.microsoft.com/Calendars.ReadWrite"]
    )

    assert result.get("error") == "invalid_scope"
    assert result.get("error_codes") == [1002012]


def test_unknown_tenant_discovery(ms_tenant: TenantSetup) -> None:
    response = requests.get(
        f"{ms_tenant.server.base_url}/nowhere.example/v2.0/.well-known/openid-configuration",
        timeout=10,
    )

    assert response.status_code == 400
    assert response.json()["error_codes"] == [90002]


# msal 1.39 recommends response_mode=form_post; the emulator redirects with a
# query string, which msal still accepts.
QUERY_MODE_WARNING = "ignore:response_mode='form_post' is recommended:UserWarning"


def sign_in(setup: TenantSetup, mail: str) -> tuple[object, dict]:
    """Run the authorization code flow with msal; return the app and result."""
    app = setup.msal_app()
    flow = app.initiate_auth_code_flow(
        ["https://graph.microsoft.com/Calendars.ReadWrite"],
        redirect_uri=REDIRECT_URI,
        login_hint=mail,
    )
    redirect = requests.get(flow["auth_uri"], allow_redirects=False, timeout=10)
    assert redirect.status_code == 302, redirect.text
    query = parse_qs(urlsplit(redirect.headers["Location"]).query)
    auth_response = {key: values[0] for key, values in query.items()}
    return app, app.acquire_token_by_auth_code_flow(flow, auth_response)


@pytest.mark.filterwarnings(QUERY_MODE_WARNING)
def test_authorization_code_flow(ms_tenant: TenantSetup) -> None:
    _, result = sign_in(ms_tenant, "mila@contoso.example")

    assert "refresh_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == "mila@contoso.example"
    me = ms_tenant.graph("GET", "/me", result["access_token"])
    assert me.json()["mail"] == "mila@contoso.example"


@pytest.mark.filterwarnings(QUERY_MODE_WARNING)
def test_delegated_token_other_mailbox(ms_tenant: TenantSetup) -> None:
    _, result = sign_in(ms_tenant, "mila@contoso.example")

    response = ms_tenant.graph(
        "GET", f"/users/{ms_tenant.attendee}/events", result["access_token"]
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "ErrorAccessDenied"


@pytest.mark.filterwarnings(QUERY_MODE_WARNING)
def test_refresh_after_password_reset(ms_tenant: TenantSetup) -> None:
    app, result = sign_in(ms_tenant, "mila@contoso.example")
    ms_tenant.control(
        "POST", "/users/mila@contoso.example/revoke", {"reason": "sessions"}
    )

    refreshed = app.acquire_token_by_refresh_token(  # type: ignore[attr-defined]
        result["refresh_token"],
        scopes=["https://graph.microsoft.com/Calendars.ReadWrite"],
    )

    assert refreshed.get("error") == "invalid_grant"
    assert refreshed.get("error_codes") == [50173]
    assert refreshed["error_description"].startswith("AADSTS50173:")


@pytest.mark.filterwarnings(QUERY_MODE_WARNING)
def test_refresh_after_consent_removed(ms_tenant: TenantSetup) -> None:
    app, result = sign_in(ms_tenant, "mila@contoso.example")
    ms_tenant.control(
        "POST", "/users/mila@contoso.example/revoke", {"reason": "consent"}
    )

    refreshed = app.acquire_token_by_refresh_token(  # type: ignore[attr-defined]
        result["refresh_token"],
        scopes=["https://graph.microsoft.com/Calendars.ReadWrite"],
    )
    old_token = ms_tenant.graph("GET", "/me", result["access_token"])

    assert refreshed.get("error_codes") == [70000]
    assert old_token.status_code == 401


def test_graph_without_token(ms_tenant: TenantSetup) -> None:
    response = requests.get(
        f"{ms_tenant.server.base_url}/v1.0/users/{ms_tenant.organizer}/events",
        timeout=10,
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_graph_after_consent_withdrawn(ms_tenant: TenantSetup) -> None:
    token = ms_tenant.app_token()
    ms_tenant.control(
        "DELETE", f"/tenants/{ms_tenant.tenant_id}/admin-consent/{ms_tenant.client_id}"
    )

    response = ms_tenant.graph("GET", f"/users/{ms_tenant.organizer}/events", token)
    retry = ms_tenant.msal_app().acquire_token_for_client(scopes=[GRAPH_DEFAULT_SCOPE])

    assert response.status_code == 401
    assert retry.get("error_codes") == [700016]


def test_admin_consent_redirect(ms_tenant: TenantSetup) -> None:
    other = ms_tenant.control("POST", "/tenants", {"domain": "fabrikam.example"}).json()

    response = requests.get(
        f"{ms_tenant.server.base_url}/{other['id']}/adminconsent",
        params={
            "client_id": ms_tenant.client_id,
            "redirect_uri": REDIRECT_URI,
            "state": "s1",
        },
        allow_redirects=False,
        timeout=10,
    )
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    token = ms_tenant.msal_app(other["id"]).acquire_token_for_client(
        scopes=[GRAPH_DEFAULT_SCOPE]
    )

    assert query["admin_consent"] == ["True"]
    assert query["tenant"] == [other["id"]]
    assert query["state"] == ["s1"]
    assert "access_token" in token


# Users and paging


def test_users_next_link(ms_tenant: TenantSetup) -> None:
    for index in range(3):
        ms_tenant.control(
            "POST",
            f"/tenants/{ms_tenant.tenant_id}/users",
            {"mail": f"person{index}@contoso.example"},
        )
    token = ms_tenant.app_token()

    first = ms_tenant.graph("GET", "/users", token, params={"$top": "2"}).json()
    rest = requests.get(
        first["@odata.nextLink"],
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()

    assert len(first["value"]) == 2
    assert len(rest["value"]) == 2
    assert "@odata.nextLink" in rest
    assert "$skip=2" in first["@odata.nextLink"]


# Events through O365


def test_o365_creates_and_lists(ms_tenant: TenantSetup) -> None:
    account = ms_tenant.o365_account("mila@contoso.example")
    calendar = account.schedule().get_default_calendar()
    event = calendar.new_event()
    event.subject = "Quarterly goals"
    event.start = dt.datetime(2030, 3, 5, 10, 0, tzinfo=ZoneInfo("UTC"))
    event.end = dt.datetime(2030, 3, 5, 11, 0, tzinfo=ZoneInfo("UTC"))

    assert event.save()
    found = list(
        calendar.get_events(
            include_recurring=True,
            start_recurring=dt.datetime(2030, 3, 1, tzinfo=UTC),
            end_recurring=dt.datetime(2030, 4, 1, tzinfo=UTC),
        )
    )

    assert [item.subject for item in found] == ["Quarterly goals"]
    assert found[0].start.astimezone(UTC) == dt.datetime(2030, 3, 5, 10, 0, tzinfo=UTC)


def test_o365_retries_after_429(ms_tenant: TenantSetup) -> None:
    account = ms_tenant.o365_account("mila@contoso.example")
    ms_tenant.control("DELETE", "/requests")
    ms_tenant.control(
        "POST",
        "/faults",
        {"status": 429, "count": 1, "retry_after": 1, "method": "GET"},
    )

    calendar = account.schedule().get_default_calendar()

    log = [entry for entry in ms_tenant.requests_log() if entry["method"] == "GET"]
    assert calendar.name == "Calendar"
    assert [entry["status"] for entry in log] == [429, 200]


def test_throttled_response_headers(ms_tenant: TenantSetup) -> None:
    token = ms_tenant.app_token()
    ms_tenant.control("POST", "/faults", {"status": 503, "count": 2, "retry_after": 7})

    first = ms_tenant.graph("GET", f"/users/{ms_tenant.organizer}/calendar", token)
    second = ms_tenant.graph("GET", f"/users/{ms_tenant.organizer}/calendar", token)
    third = ms_tenant.graph("GET", f"/users/{ms_tenant.organizer}/calendar", token)

    assert first.status_code == 503
    assert first.headers["Retry-After"] == "7"
    assert first.json()["error"]["code"] == "ServiceNotAvailable"
    assert second.status_code == 503
    assert third.status_code == 200


# ETags, bodies and extended properties


def test_stale_etag_rejected(ms_tenant: TenantSetup) -> None:
    token = ms_tenant.app_token()
    event = seed(ms_tenant, {**WEEKLY_SERIES, "recurrence": None})
    path = f"/users/{ms_tenant.organizer}/events/{event['id']}"
    first = ms_tenant.graph(
        "PATCH",
        path,
        token,
        json={"subject": "A"},
        headers={"If-Match": event["@odata.etag"]},
    )

    second = ms_tenant.graph(
        "PATCH",
        path,
        token,
        json={"subject": "B"},
        headers={"If-Match": event["@odata.etag"]},
    )

    assert first.status_code == 200
    assert first.json()["changeKey"] != event["changeKey"]
    assert second.status_code == 412
    assert second.json()["error"]["code"] == "ErrorIrresolvableConflict"
    log = [entry for entry in ms_tenant.requests_log() if entry["method"] == "PATCH"]
    assert [entry["ifMatch"] for entry in log] == [event["@odata.etag"]] * 2


def test_body_rewritten_on_write(ms_tenant: TenantSetup) -> None:
    token = ms_tenant.app_token()
    event = seed(ms_tenant, {**WEEKLY_SERIES, "recurrence": None})
    block = '<div id="tandem-agenda" data-tandem="1"><p>Personal</p><!-- v1 --></div>'
    path = f"/users/{ms_tenant.organizer}/events/{event['id']}"

    written = ms_tenant.graph(
        "PATCH", path, token, json={"body": {"contentType": "html", "content": block}}
    ).json()
    content = written["body"]["content"]

    assert content.startswith("<html>\r\n<head>\r\n<meta http-equiv=")
    assert '<div class="elementToProof"' in content
    assert '<div id="tandem-agenda">' in content
    assert "data-tandem" not in content
    assert "<!--" not in content
    assert '<p style="margin-top: 0px; margin-bottom: 0px;">Personal</p>' in content
    assert rewrite_body(content, "html") == content
    assert_event_shape(written)


def test_text_body_converted(ms_tenant: TenantSetup) -> None:
    event = seed(
        ms_tenant,
        {
            **WEEKLY_SERIES,
            "recurrence": None,
            "body": {"contentType": "text", "content": "a < b\nnext"},
        },
    )
    token = ms_tenant.app_token()

    as_text = ms_tenant.graph(
        "GET",
        f"/users/{ms_tenant.organizer}/events/{event['id']}",
        token,
        headers={"Prefer": 'outlook.body-content-type="text"'},
    ).json()

    assert event["body"]["contentType"] == "html"
    assert "a &lt; b<br>\r\nnext" in event["body"]["content"]
    assert as_text["body"] == {"contentType": "text", "content": "a < b\r\nnext"}


def test_teams_blob_kept(ms_tenant: TenantSetup) -> None:
    event = seed(
        ms_tenant,
        {**WEEKLY_SERIES, "recurrence": None, "teamsMeeting": True},
    )

    content = event["body"]["content"]

    assert "Microsoft Teams meeting" in content
    assert "https://teams.microsoft.com/l/meetup-join/" in content
    assert event["isOnlineMeeting"] is True
    assert event["onlineMeetingProvider"] == "teamsForBusiness"
    assert "data-tid" not in content
    assert_event_shape(event)


def test_extended_property_expand(ms_tenant: TenantSetup) -> None:
    token = ms_tenant.app_token()
    event = seed(ms_tenant, {**WEEKLY_SERIES, "recurrence": None})
    path = f"/users/{ms_tenant.organizer}/events/{event['id']}"
    ms_tenant.graph(
        "PATCH",
        path,
        token,
        json={"singleValueExtendedProperties": [{"id": PROPERTY_ID, "value": "v=3"}]},
    )

    plain = ms_tenant.graph("GET", path, token).json()
    expanded = ms_tenant.graph(
        "GET",
        path,
        token,
        params={
            "$expand": f"singleValueExtendedProperties($filter=id eq '{PROPERTY_ID}')"
        },
    ).json()
    other = ms_tenant.graph(
        "GET",
        path,
        token,
        params={
            "$expand": "singleValueExtendedProperties"
            "($filter=id eq 'String {0} Name X')"
        },
    ).json()

    assert "singleValueExtendedProperties" not in plain
    assert expanded["singleValueExtendedProperties"] == [
        {"id": PROPERTY_ID, "value": "v=3"}
    ]
    assert "singleValueExtendedProperties" not in other
    assert_event_shape(expanded)


def test_unknown_property_rejected(ms_tenant: TenantSetup) -> None:
    token = ms_tenant.app_token()
    event = seed(ms_tenant, {**WEEKLY_SERIES, "recurrence": None})

    response = ms_tenant.graph(
        "PATCH",
        f"/users/{ms_tenant.organizer}/events/{event['id']}",
        token,
        json={"agenda": "x"},
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "RequestBodyRead"


def test_prefer_time_zone(ms_tenant: TenantSetup) -> None:
    token = ms_tenant.app_token()
    seed(ms_tenant, {**WEEKLY_SERIES, "recurrence": None})

    events = view(ms_tenant, token, Prefer='outlook.timezone="Pacific Standard Time"')
    utc_events = view(ms_tenant, token)

    assert events[0]["start"] == {
        "dateTime": "2030-03-04T00:00:00.0000000",
        "timeZone": "Pacific Standard Time",
    }
    assert utc_events[0]["start"]["timeZone"] == "UTC"
    assert utc_events[0]["start"]["dateTime"] == "2030-03-04T08:00:00.0000000"
    assert utc_events[0]["originalStartTimeZone"] == "W. Europe Standard Time"


# Series, occurrences and exceptions


def test_series_occurrences(ms_tenant: TenantSetup) -> None:
    token = ms_tenant.app_token()
    master = seed(ms_tenant, WEEKLY_SERIES)

    instances = view(ms_tenant, token)

    assert master["type"] == "seriesMaster"
    assert [item["start"]["dateTime"][:16] for item in instances] == [
        "2030-03-04T08:00",
        "2030-03-11T08:00",
        "2030-03-18T08:00",
        "2030-03-25T08:00",
    ]
    assert {item["type"] for item in instances} == {"occurrence"}
    assert {item["seriesMasterId"] for item in instances} == {master["id"]}
    for item in instances:
        assert_event_shape(item)


def test_occurrences_have_their_own_ical_uid(ms_tenant: TenantSetup) -> None:
    master = seed(ms_tenant, WEEKLY_SERIES)

    uids = [item["iCalUId"] for item in view(ms_tenant, ms_tenant.app_token())]

    # The class id and the random tail are the master's; bytes 16 to 19 hold
    # each occurrence's date (2030-03-04 is 07EE 03 04).
    assert master["iCalUId"][32:40] == "00000000"
    assert uids[0] == master["iCalUId"][:32] + "07EE0304" + master["iCalUId"][40:]
    assert len(set(uids)) == 4


def test_seeded_invitation_keeps_its_uid(ms_tenant: TenantSetup) -> None:
    copy = seed(
        ms_tenant,
        {
            **WEEKLY_SERIES,
            "organizer": {"address": "olga@other.example"},
            "iCalUId": "abc123@google.com",
        },
    )

    # Exchange wraps another system's UID in a global object id: class id,
    # 20 zero bytes, the size 0x1E (30), "vCal-Uid", 1, the UID, a zero byte.
    assert copy["iCalUId"] == (
        "040000008200E00074C5B7101A82E008" + "00" * 20 + "1E000000"
        "7643616C2D55696401000000" + b"abc123@google.com".hex().upper() + "00"
    )
    assert copy["isOrganizer"] is False


def test_occurrence_becomes_exception(ms_tenant: TenantSetup) -> None:
    token = ms_tenant.app_token()
    master = seed(ms_tenant, WEEKLY_SERIES)
    second = view(ms_tenant, token)[1]
    path = f"/users/{ms_tenant.organizer}/events/{second['id']}"

    patched = ms_tenant.graph(
        "PATCH",
        path,
        token,
        json={"subject": "Moved 1:1"},
        headers={"If-Match": second["@odata.etag"]},
    ).json()
    instances = view(ms_tenant, token)

    assert patched["id"] == second["id"]
    assert patched["type"] == "exception"
    assert patched["originalStart"] == second["originalStart"]
    assert [item["type"] for item in instances] == [
        "occurrence",
        "exception",
        "occurrence",
        "occurrence",
    ]
    assert instances[1]["subject"] == "Moved 1:1"
    assert instances[0]["subject"] == master["subject"]


def test_cancelled_occurrence(ms_tenant: TenantSetup) -> None:
    token = ms_tenant.app_token()
    master = seed(ms_tenant, WEEKLY_SERIES)
    third = view(ms_tenant, token)[2]

    deleted = ms_tenant.graph(
        "DELETE", f"/users/{ms_tenant.organizer}/events/{third['id']}", token
    )
    instances = view(ms_tenant, token)
    stored = ms_tenant.graph(
        "GET", f"/users/{ms_tenant.organizer}/events/{master['id']}", token
    ).json()
    after_delete = ms_tenant.graph(
        "GET", f"/users/{ms_tenant.organizer}/events/{third['id']}", token
    )

    assert deleted.status_code == 204
    assert third["id"] not in [item["id"] for item in instances]
    assert len(instances) == 3
    assert stored["cancelledOccurrences"] == [f"OID.{master['id']}.2030-03-18"]
    assert after_delete.status_code == 404
    assert_event_shape(stored)


def test_instances_window(ms_tenant: TenantSetup) -> None:
    token = ms_tenant.app_token()
    master = seed(ms_tenant, WEEKLY_SERIES)

    response = ms_tenant.graph(
        "GET",
        f"/users/{ms_tenant.organizer}/events/{master['id']}/instances",
        token,
        params={
            "startDateTime": "2030-03-10T00:00:00Z",
            "endDateTime": "2030-03-20T00:00:00Z",
        },
    )
    missing_window = ms_tenant.graph(
        "GET", f"/users/{ms_tenant.organizer}/events/{master['id']}/instances", token
    )

    assert [item["originalStart"][:10] for item in response.json()["value"]] == [
        "2030-03-11",
        "2030-03-18",
    ]
    assert missing_window.status_code == 400


def test_weekly_keeps_wall_clock() -> None:
    recurrence = WEEKLY_SERIES["recurrence"]
    start = dt.datetime(2030, 3, 25, 8, 0, tzinfo=UTC)

    starts = occurrence_starts(
        recurrence,
        start,
        "W. Europe Standard Time",
        dt.timedelta(minutes=30),
        dt.datetime(2030, 3, 20, tzinfo=UTC),
        dt.datetime(2030, 4, 5, tzinfo=UTC),
    )

    # Central European Summer Time starts on 31 March 2030: 09:00 local moves
    # from 08:00 to 07:00 UTC.
    assert starts == [
        dt.datetime(2030, 3, 25, 8, 0, tzinfo=UTC),
        dt.datetime(2030, 4, 1, 7, 0, tzinfo=UTC),
    ]


def test_monthly_patterns() -> None:
    cases = [
        ({"type": "daily", "interval": 2}, ["2030-01-01", "2030-01-03", "2030-01-05"]),
        (
            {"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 31},
            ["2030-01-31", "2030-03-31", "2030-05-31"],
        ),
        (
            {
                "type": "relativeMonthly",
                "interval": 1,
                "daysOfWeek": ["friday"],
                "index": "last",
            },
            ["2030-01-25", "2030-02-22", "2030-03-29"],
        ),
        (
            {
                "type": "relativeMonthly",
                "interval": 1,
                "daysOfWeek": ["tuesday"],
                "index": "first",
            },
            ["2030-01-01", "2030-02-05", "2030-03-05"],
        ),
    ]
    for pattern, expected in cases:
        recurrence = {
            "pattern": pattern,
            "range": {
                "type": "numbered",
                "startDate": "2030-01-01",
                "numberOfOccurrences": 3,
            },
        }

        starts = occurrence_starts(
            recurrence,
            dt.datetime(2030, 1, 1, 9, 0, tzinfo=UTC),
            "UTC",
            dt.timedelta(hours=1),
            dt.datetime(2029, 12, 1, tzinfo=UTC),
            dt.datetime(2031, 1, 1, tzinfo=UTC),
        )

        assert [start.date().isoformat() for start in starts] == expected, pattern


# Delta


def delta_round(
    setup: TenantSetup, token: str, url: str
) -> tuple[list[dict], str, int]:
    """Follow nextLinks to the deltaLink; return items, deltaLink and page count."""
    items, pages = [], 0
    headers = {"Authorization": f"Bearer {token}", "Prefer": "odata.maxpagesize=2"}
    while True:
        response = requests.get(url, headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["value"])
        pages += 1
        if "@odata.deltaLink" in body:
            return items, body["@odata.deltaLink"], pages
        url = body["@odata.nextLink"]


def test_delta_rounds(ms_tenant: TenantSetup) -> None:
    token = ms_tenant.app_token()
    seed(ms_tenant, WEEKLY_SERIES)
    single = seed(ms_tenant, {**WEEKLY_SERIES, "recurrence": None, "subject": "Single"})
    start = (
        f"{ms_tenant.server.base_url}/v1.0/users/{ms_tenant.organizer}/calendarView/delta"
        "?startDateTime=2030-03-01T00:00:00Z&endDateTime=2030-04-01T00:00:00Z"
    )
    first, delta_link, pages = delta_round(ms_tenant, token, start)
    ms_tenant.graph(
        "PATCH",
        f"/users/{ms_tenant.organizer}/events/{single['id']}",
        token,
        json={"subject": "Renamed"},
    )
    occurrence = next(item for item in first if item["type"] == "occurrence")
    ms_tenant.graph(
        "DELETE", f"/users/{ms_tenant.organizer}/events/{occurrence['id']}", token
    )

    changes, next_delta, _ = delta_round(ms_tenant, token, delta_link)
    empty, _, empty_pages = delta_round(ms_tenant, token, next_delta)

    assert len(first) == 5
    assert pages == 3
    assert "$skiptoken=" not in delta_link
    assert "$deltatoken=" in delta_link
    assert [item.get("subject") for item in changes if "@removed" not in item] == [
        "Renamed"
    ]
    assert [item["id"] for item in changes if "@removed" in item] == [occurrence["id"]]
    assert empty == []
    assert empty_pages == 1
    for item in first:
        assert_event_shape(item)


def test_delta_token_expired(ms_tenant: TenantSetup) -> None:
    token = ms_tenant.app_token()
    seed(ms_tenant, WEEKLY_SERIES)
    start = (
        f"{ms_tenant.server.base_url}/v1.0/users/{ms_tenant.organizer}/calendarView/delta"
        "?startDateTime=2030-03-01T00:00:00Z&endDateTime=2030-04-01T00:00:00Z"
    )
    _, delta_link, _ = delta_round(ms_tenant, token, start)
    ms_tenant.control("POST", "/delta-tokens/expire")

    response = requests.get(
        delta_link, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )

    assert response.status_code == 410
    assert response.json()["error"]["code"] == "syncStateNotFound"


# getSchedule


def test_get_schedule(ms_tenant: TenantSetup) -> None:
    token = ms_tenant.app_token()
    seed(ms_tenant, {**WEEKLY_SERIES, "recurrence": None})
    seed(
        ms_tenant,
        {
            **WEEKLY_SERIES,
            "recurrence": None,
            "showAs": "tentative",
            "subject": "Maybe",
        },
        mailbox=ms_tenant.attendee,
    )
    body = {
        "schedules": [
            "mila@contoso.example",
            "ravi@contoso.example",
            "nobody@x.example",
        ],
        "startTime": {"dateTime": "2030-03-04T08:00:00", "timeZone": "UTC"},
        "endTime": {"dateTime": "2030-03-04T10:00:00", "timeZone": "UTC"},
        "availabilityViewInterval": 30,
    }

    response = ms_tenant.graph(
        "POST", f"/users/{ms_tenant.organizer}/calendar/getSchedule", token, json=body
    )
    mila, ravi, nobody = response.json()["value"]

    assert mila["availabilityView"] == "2000"
    assert ravi["availabilityView"] == "1000"
    assert mila["scheduleItems"][0]["status"] == "busy"
    assert mila["workingHours"]["timeZone"]["name"] == "W. Europe Standard Time"
    assert nobody["error"]["responseCode"] == "ErrorMailRecipientNotFound"
    for item in (mila, ravi, nobody):
        assert schema_violations(item, "scheduleInformation") == []


# Subscriptions and notifications


def subscribe(
    setup: TenantSetup, token: str, url: str, **extra: str
) -> requests.Response:
    """Create a subscription on the organizer's events."""
    expiration = dt.datetime.now(UTC) + dt.timedelta(days=2)
    body = {
        "changeType": "created,updated,deleted",
        "notificationUrl": url,
        "resource": f"/users/{setup.organizer}/events",
        "expirationDateTime": expiration.isoformat().replace("+00:00", "Z"),
        "clientState": "secret-7f3a",
        **extra,
    }
    return setup.graph("POST", "/subscriptions", token, json=body)


def test_subscription_handshake_and_notify(
    ms_tenant: TenantSetup, ms_listener: Listener
) -> None:
    token = ms_tenant.app_token()

    created = subscribe(ms_tenant, token, ms_listener.url)
    event = seed(ms_tenant, {**WEEKLY_SERIES, "recurrence": None})
    notification = ms_listener.next_notification()

    assert created.status_code == 201, created.text
    assert len(ms_listener.validations) == 1
    assert notification["clientState"] == "secret-7f3a"
    assert notification["changeType"] == "created"
    assert notification["resourceData"]["id"] == event["id"]
    assert notification["subscriptionId"] == created.json()["id"]
    assert schema_violations(created.json(), "subscription") == []
    assert schema_violations(notification, "changeNotification") == []


def test_subscription_bad_echo(ms_tenant: TenantSetup, ms_listener: Listener) -> None:
    token = ms_tenant.app_token()
    ms_listener.echo_validation = False

    response = subscribe(ms_tenant, token, ms_listener.url)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ValidationError"


def test_subscription_non_loopback(ms_tenant: TenantSetup) -> None:
    token = ms_tenant.app_token()

    response = subscribe(ms_tenant, token, "https://hooks.example.com/graph")

    assert response.status_code == 400


def test_subscription_renew_limits(
    ms_tenant: TenantSetup, ms_listener: Listener
) -> None:
    token = ms_tenant.app_token()
    subscription = subscribe(ms_tenant, token, ms_listener.url).json()
    path = f"/subscriptions/{subscription['id']}"
    too_far = dt.datetime.now(UTC) + dt.timedelta(minutes=10081)
    later = dt.datetime.now(UTC) + dt.timedelta(days=6)

    rejected = ms_tenant.graph(
        "PATCH", path, token, json={"expirationDateTime": too_far.isoformat()}
    )
    renewed = ms_tenant.graph(
        "PATCH", path, token, json={"expirationDateTime": later.isoformat()}
    )

    assert rejected.status_code == 400
    assert renewed.status_code == 200
    assert renewed.json()["expirationDateTime"][:16] == later.strftime("%Y-%m-%dT%H:%M")


def test_lifecycle_notifications(ms_tenant: TenantSetup, ms_listener: Listener) -> None:
    token = ms_tenant.app_token()
    subscription = subscribe(
        ms_tenant, token, ms_listener.url, lifecycleNotificationUrl=ms_listener.url
    ).json()
    path = f"/subscriptions/{subscription['id']}"

    ms_tenant.control("POST", f"{path}/lifecycle", {"event": "reauthorizationRequired"})
    reauthorize = ms_listener.next_notification()
    ms_tenant.control("DELETE", path)
    removed = ms_listener.next_notification()
    after = ms_tenant.graph("GET", path, token)

    assert reauthorize["lifecycleEvent"] == "reauthorizationRequired"
    assert reauthorize["clientState"] == "secret-7f3a"
    assert removed["lifecycleEvent"] == "subscriptionRemoved"
    assert after.status_code == 404
    assert schema_violations(removed, "changeNotification") == []


# $batch


def test_batch_limit(ms_tenant: TenantSetup) -> None:
    token = ms_tenant.app_token()
    requests_21 = [
        {"id": str(index), "method": "GET", "url": f"/users/{ms_tenant.organizer}"}
        for index in range(21)
    ]

    response = ms_tenant.graph("POST", "/$batch", token, json={"requests": requests_21})

    assert response.status_code == 400


def test_batch_throttle_and_depends(ms_tenant: TenantSetup) -> None:
    token = ms_tenant.app_token()
    ms_tenant.control(
        "POST",
        "/faults",
        {"status": 429, "count": 1, "retry_after": 3, "path_contains": "/calendar"},
    )
    batch = {
        "requests": [
            {
                "id": "1",
                "method": "GET",
                "url": f"/users/{ms_tenant.organizer}/calendar",
            },
            {
                "id": "2",
                "method": "GET",
                "url": f"/users/{ms_tenant.organizer}",
                "dependsOn": ["1"],
            },
            {"id": "3", "method": "GET", "url": f"/users/{ms_tenant.attendee}"},
        ]
    }

    response = ms_tenant.graph("POST", "/$batch", token, json=batch)
    by_id = {item["id"]: item for item in response.json()["responses"]}

    assert response.status_code == 200
    assert by_id["1"]["status"] == 429
    assert by_id["1"]["headers"]["retry-after"] == "3"
    assert by_id["2"]["status"] == 424
    assert by_id["3"]["status"] == 200
    assert by_id["3"]["body"]["mail"] == "ravi@contoso.example"
