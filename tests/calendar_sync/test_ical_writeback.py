"""Writing back to iCalendar files: Outlook's HTML description, busy status, saving.

Each calendar is written inline, with CRLF line ends, so the case is visible
next to what it checks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from calendar_sync import merge
from calendar_sync.models import BusyInterval, EventKey
from calendar_sync.providers.ical import ICalendarProvider

AMS = ZoneInfo("Europe/Amsterdam")

OUTLOOK_HTML = (
    '<html>\\n<head>\\n<meta name="Generator" content="Microsoft Exchange '
    'Server">\\n</head>\\n<body>\\n<div>Bring the Q3 numbers\\, please.</div>'
    "\\n</body>\\n</html>"
)
ORIGINAL_HTML = (
    '<html>\n<head>\n<meta name="Generator" content="Microsoft Exchange '
    'Server">\n</head>\n<body>\n<div>Bring the Q3 numbers, please.</div>'
    "\n</body>\n</html>"
)


def calendar(*events: str) -> str:
    return "\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Tandem tests//writeback//EN",
            *events,
            "END:VCALENDAR",
            "",
        ]
    )


def outlook_series(uid: str = "series@example.test", html: bool = True) -> str:
    lines = [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20260101T000000Z",
        "DTSTART;TZID=Europe/Amsterdam:20270104T100000",
        "DTEND;TZID=Europe/Amsterdam:20270104T103000",
        "RRULE:FREQ=WEEKLY;BYDAY=MO",
        "SUMMARY:1:1 Anna / Bram",
        "DESCRIPTION:Bring the Q3 numbers\\, please.",
        "ORGANIZER;CN=Anna:mailto:anna@example.test",
        "ATTENDEE;CN=Bram;PARTSTAT=ACCEPTED:mailto:bram@example.test",
        "END:VEVENT",
    ]
    if html:
        lines.insert(-1, f"X-ALT-DESC;FMTTYPE=text/html:{OUTLOOK_HTML}")
    return "\n".join(lines)


def unescape(value: str) -> str:
    """Undo the TEXT escapes of RFC 5545, 3.3.11 that the parser keeps in X- values."""
    escapes = {"\\n": "\n", "\\N": "\n", "\\,": ",", "\\;": ";", "\\\\": "\\"}
    return re.sub(r"\\[nN,;\\]", lambda found: escapes[found.group(0)], value)


def html_of(path: Path, uid: str, recurrence_id: datetime | None) -> str:
    for component in icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT"):
        found = component.get("RECURRENCE-ID")
        found_id = found.dt if found is not None else None
        if str(component["UID"]) == uid and found_id == recurrence_id:
            return unescape(str(component["X-ALT-DESC"]))
    raise AssertionError(f"no VEVENT {uid} {recurrence_id} in {path}")


def html_of_provider(provider: ICalendarProvider, uid: str) -> str:
    """Save the provider next to its file and return the master's HTML description."""
    path = Path(provider.path).with_suffix(".out.ics")
    provider.save(path)
    return html_of(path, uid, None)


def write_block(
    provider: ICalendarProvider, key: EventKey, html_block: str | None
) -> None:
    event = provider.get_event(key)
    assert event is not None
    description = merge.merge_block(event.description, "PERSONAL\nHow are you?")
    provider.update_description(key, description, event.etag, html_block=html_block)


# -- X-ALT-DESC ----------------------------------------------------------------


def test_html_block_written(ics_text: Callable[[str], Path], tmp_path: Path) -> None:
    provider = ICalendarProvider(ics_text(calendar(outlook_series())))
    key = EventKey("series@example.test")
    saved = tmp_path / "saved.ics"

    write_block(provider, key, "<b>PERSONAL</b><br>How are you?")
    provider.save(saved)

    html = html_of(saved, "series@example.test", None)
    assert merge.block_body_html(html) == "PERSONAL\nHow are you?"
    assert "<b>PERSONAL</b><br>How are you?" in html
    assert html.startswith(ORIGINAL_HTML.removesuffix("\n</body>\n</html>"))
    assert html.endswith("</body>\n</html>")


def test_html_rest_kept(ics_text: Callable[[str], Path], tmp_path: Path) -> None:
    provider = ICalendarProvider(ics_text(calendar(outlook_series())))
    saved = tmp_path / "saved.ics"

    write_block(provider, EventKey("series@example.test"), "<b>PERSONAL</b>")
    provider.save(saved)

    html = html_of(saved, "series@example.test", None)
    assert merge.remove_block_html(html) == ORIGINAL_HTML


def test_html_block_from_plain_text(ics_text: Callable[[str], Path]) -> None:
    provider = ICalendarProvider(ics_text(calendar(outlook_series())))
    key = EventKey("series@example.test")
    event = provider.get_event(key)
    assert event is not None
    description = merge.merge_block(event.description, "Goals & <targets>")

    provider.update_description(key, description, event.etag)

    html = html_of_provider(provider, "series@example.test")
    assert "Goals &amp; &lt;targets&gt;" in html
    assert merge.block_body_html(html) == "Goals & <targets>"


def test_html_block_removed(ics_text: Callable[[str], Path]) -> None:
    provider = ICalendarProvider(ics_text(calendar(outlook_series())))
    key = EventKey("series@example.test")
    write_block(provider, key, "<b>PERSONAL</b>")
    event = provider.get_event(key)
    assert event is not None

    provider.update_description(key, merge.remove_block(event.description), event.etag)

    assert html_of_provider(provider, "series@example.test") == ORIGINAL_HTML


def test_html_override_instance(
    ics_text: Callable[[str], Path], tmp_path: Path
) -> None:
    provider = ICalendarProvider(ics_text(calendar(outlook_series())))
    instance = datetime(2027, 1, 11, 10, 0, tzinfo=AMS)
    saved = tmp_path / "saved.ics"

    write_block(provider, EventKey("series@example.test", instance), "<i>Agenda</i>")
    provider.save(saved)

    override = html_of(saved, "series@example.test", instance)
    master = html_of(saved, "series@example.test", None)
    assert merge.block_body_html(override) == "Agenda"
    assert master == ORIGINAL_HTML


def test_html_absent_not_added(ics_text: Callable[[str], Path], tmp_path: Path) -> None:
    provider = ICalendarProvider(ics_text(calendar(outlook_series(html=False))))
    saved = tmp_path / "saved.ics"

    write_block(provider, EventKey("series@example.test"), "<b>PERSONAL</b>")
    provider.save(saved)

    events = list(icalendar.Calendar.from_ical(saved.read_bytes()).walk("VEVENT"))
    assert len(events) == 1
    assert "X-ALT-DESC" not in events[0]
    assert "How are you?" in str(events[0]["DESCRIPTION"])


def test_html_unclosed_comment_kept(ics_text: Callable[[str], Path]) -> None:
    broken = outlook_series().replace(OUTLOOK_HTML, "<p>Notes</p><!-- draft")
    provider = ICalendarProvider(ics_text(calendar(broken)))
    key = EventKey("series@example.test")

    write_block(provider, key, "<b>PERSONAL</b>")

    event = provider.get_event(key)
    assert event is not None
    assert merge.block_body(event.description) == "PERSONAL\nHow are you?"
    assert html_of_provider(provider, "series@example.test") == (
        "<p>Notes</p><!-- draft"
    )


def test_html_block_invalid_rejected(ics_text: Callable[[str], Path]) -> None:
    provider = ICalendarProvider(ics_text(calendar(outlook_series())))
    key = EventKey("series@example.test")
    event = provider.get_event(key)
    assert event is not None

    with pytest.raises(ValueError, match="starts no tag"):
        provider.update_description(key, "Agenda", event.etag, html_block="a < b")

    unchanged = provider.get_event(key)
    assert unchanged is not None
    assert unchanged.description == event.description


def test_html_only_change_written(ics_text: Callable[[str], Path]) -> None:
    provider = ICalendarProvider(ics_text(calendar(outlook_series())))
    key = EventKey("series@example.test")
    write_block(provider, key, None)
    event = provider.get_event(key)
    assert event is not None

    updated = provider.update_description(
        key, event.description, event.etag, html_block="<b>New</b>"
    )

    assert updated.etag != event.etag
    html = html_of_provider(provider, "series@example.test")
    assert merge.block_body_html(html) == "New"


# -- X-MICROSOFT-CDO-BUSYSTATUS ------------------------------------------------


def busy_event(uid: str, extra: list[str]) -> str:
    return "\n".join(
        [
            "BEGIN:VEVENT",
            f"UID:{uid}",
            "DTSTAMP:20260101T000000Z",
            "DTSTART;TZID=Europe/Amsterdam:20270104T140000",
            "DTEND;TZID=Europe/Amsterdam:20270104T160000",
            "SUMMARY:Block",
            "ORGANIZER:mailto:anna@example.test",
            *extra,
            "END:VEVENT",
        ]
    )


@pytest.mark.parametrize(
    ("extra", "busy"),
    [
        (["X-MICROSOFT-CDO-BUSYSTATUS:FREE"], False),
        (["X-MICROSOFT-CDO-BUSYSTATUS:free"], False),
        (["TRANSP:OPAQUE", "X-MICROSOFT-CDO-BUSYSTATUS:FREE"], False),
        (["X-MICROSOFT-CDO-BUSYSTATUS:BUSY"], True),
        (["X-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE"], True),
        (["X-MICROSOFT-CDO-BUSYSTATUS:OOF"], True),
        (["TRANSP:TRANSPARENT", "X-MICROSOFT-CDO-BUSYSTATUS:OOF"], True),
        (["TRANSP:TRANSPARENT"], False),
        (["TRANSP:TRANSPARENT", "X-MICROSOFT-CDO-BUSYSTATUS:WORKINGELSEWHERE"], False),
        ([], True),
    ],
)
def test_busy_status_decides(
    ics_text: Callable[[str], Path], extra: list[str], busy: bool
) -> None:
    provider = ICalendarProvider(ics_text(calendar(busy_event("block@x.test", extra))))
    day = datetime(2027, 1, 4, tzinfo=AMS)

    found = provider.busy_intervals(["anna@example.test"], day, day + timedelta(days=1))

    expected = [
        BusyInterval(
            datetime(2027, 1, 4, 14, 0, tzinfo=AMS),
            datetime(2027, 1, 4, 16, 0, tzinfo=AMS),
        )
    ]
    assert found == {"anna@example.test": expected if busy else []}


def test_busy_status_on_override(ics_text: Callable[[str], Path]) -> None:
    series = outlook_series(html=False)
    free_instance = "\n".join(
        [
            "BEGIN:VEVENT",
            "UID:series@example.test",
            "RECURRENCE-ID;TZID=Europe/Amsterdam:20270111T100000",
            "DTSTART;TZID=Europe/Amsterdam:20270111T100000",
            "DTEND;TZID=Europe/Amsterdam:20270111T103000",
            "SUMMARY:1:1 Anna / Bram",
            "ORGANIZER:mailto:anna@example.test",
            "ATTENDEE:mailto:bram@example.test",
            "X-MICROSOFT-CDO-BUSYSTATUS:FREE",
            "END:VEVENT",
        ]
    )
    provider = ICalendarProvider(ics_text(calendar(series, free_instance)))
    start = datetime(2027, 1, 4, tzinfo=AMS)

    found = provider.busy_intervals(
        ["bram@example.test"], start, start + timedelta(days=8)
    )

    assert found["bram@example.test"] == [
        BusyInterval(
            datetime(2027, 1, 4, 10, 0, tzinfo=AMS),
            datetime(2027, 1, 4, 10, 30, tzinfo=AMS),
        )
    ]


# -- saving and etags -----------------------------------------------------------


def test_save_keeps_untouched_text(ics_text: Callable[[str], Path]) -> None:
    # Long unfolded lines and an unescaped comma are not what the serialiser
    # writes, so they show whether the file's own text was kept.
    untouched = "\n".join(
        [
            "BEGIN:VEVENT",
            "UID:other@example.test",
            "DTSTAMP:20260101T000000Z",
            "DTSTART:20270105T090000Z",
            "DTEND:20270105T100000Z",
            "SUMMARY:Planning, budget " + "and more " * 12,
            "X-VENDOR-FIELD;X-PARAM=keep:as,written",
            "END:VEVENT",
        ]
    )
    path = ics_text(calendar(outlook_series(), untouched))
    provider = ICalendarProvider(path)

    write_block(provider, EventKey("series@example.test"), None)

    saved = provider.to_bytes()
    assert untouched.replace("\n", "\r\n").encode() in saved
    assert b"How are you?" in saved


def test_save_keeps_skipped_event(ics_text: Callable[[str], Path]) -> None:
    skipped = "\n".join(
        [
            "BEGIN:VEVENT",
            "UID:broken@example.test",
            "DTSTART:20270105T090000Z",
            "this line has no colon",
            "END:VEVENT",
        ]
    )
    provider = ICalendarProvider(ics_text(calendar(outlook_series(), skipped)))

    write_block(provider, EventKey("series@example.test"), None)

    assert [item.where for item in provider.skipped] == ["UID broken@example.test"]
    assert skipped.replace("\n", "\r\n").encode() in provider.to_bytes()


def test_etag_matches_after_reload(
    ics_text: Callable[[str], Path], tmp_path: Path
) -> None:
    provider = ICalendarProvider(ics_text(calendar(outlook_series())))
    key = EventKey("series@example.test")
    write_block(provider, key, "<b>PERSONAL</b>")
    written = provider.get_event(key)
    saved = tmp_path / "saved.ics"
    provider.save(saved)

    reloaded = ICalendarProvider(saved).get_event(key)

    assert written is not None
    assert reloaded is not None
    assert reloaded.etag == written.etag
    assert reloaded.description == written.description


# -- expanding series that began long ago ---------------------------------------


@pytest.mark.parametrize(
    ("rule", "first", "expected_days"),
    [
        ("FREQ=WEEKLY;BYDAY=MO", "20050103T100000", [4, 11, 18, 25]),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", "20050110T100000", [11, 25]),
        ("FREQ=DAILY;INTERVAL=10", "20050101T100000", [6, 16, 26]),
        ("FREQ=MONTHLY;BYDAY=-1MO", "20050103T100000", [25]),
        ("FREQ=MONTHLY", "20050131T100000", [31]),
        ("FREQ=YEARLY", "20050115T100000", [15]),
        ("FREQ=WEEKLY;BYDAY=MO;UNTIL=20270112T000000Z", "20050103T100000", [4, 11]),
    ],
)
def test_old_unbounded_series_instances(
    ics_text: Callable[[str], Path], rule: str, first: str, expected_days: list[int]
) -> None:
    series = (
        outlook_series(html=False)
        .replace("20270104T100000", first, 1)
        .replace("20270104T103000", first[:-4] + "3000", 1)
        .replace("RRULE:FREQ=WEEKLY;BYDAY=MO", f"RRULE:{rule}")
    )
    provider = ICalendarProvider(ics_text(calendar(series)))
    start = datetime(2027, 1, 1, tzinfo=AMS)

    found = provider.list_instances(
        "series@example.test", start, start + timedelta(days=31)
    )

    assert [event.start.day for event in found] == expected_days
    assert {event.start.hour for event in found} == {10}
    assert {event.duration for event in found} == {timedelta(minutes=30)}


def test_old_series_earlier_window(ics_text: Callable[[str], Path]) -> None:
    series = outlook_series(html=False).replace("20270104", "20050103")
    provider = ICalendarProvider(ics_text(calendar(series)))
    recent = datetime(2027, 1, 1, tzinfo=AMS)
    early = datetime(2005, 1, 1, tzinfo=AMS)
    provider.list_instances("series@example.test", recent, recent + timedelta(days=7))

    found = provider.list_instances(
        "series@example.test", early, early + timedelta(days=14)
    )

    assert [event.start.date().isoformat() for event in found] == [
        "2005-01-03",
        "2005-01-10",
    ]
