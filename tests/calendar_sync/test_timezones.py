from datetime import UTC, datetime
from zoneinfo import ZoneInfo, available_timezones

import pytest

from calendar_sync.timezones import WINDOWS_TO_IANA, resolve_timezone, timezone_name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Europe/Amsterdam", "Europe/Amsterdam"),
        ("europe/amsterdam", "Europe/Amsterdam"),
        ("America/Los Angeles", "America/Los_Angeles"),
        ('"Europe/Paris"', "Europe/Paris"),
        ("W. Europe Standard Time", "Europe/Berlin"),
        ("w. europe standard time", "Europe/Berlin"),
        ("Romance Standard Time", "Europe/Paris"),
        ("GMT Standard Time", "Europe/London"),
        ("Eastern Standard Time", "America/New_York"),
        ("Pacific Standard Time", "America/Los_Angeles"),
        ("E. South America Standard Time", "America/Sao_Paulo"),
        ("India Standard Time", "Asia/Kolkata"),
        ("Tokyo Standard Time", "Asia/Tokyo"),
        ("AUS Eastern Standard Time", "Australia/Sydney"),
        ("New Zealand Standard Time", "Pacific/Auckland"),
        ("UTC-11", "Etc/GMT+11"),
        ("/mozilla.org/20070129_1/America/New_York", "America/New_York"),
        (
            "/example.net/Tzfile/America/Argentina/Buenos_Aires",
            "America/Argentina/Buenos_Aires",
        ),
    ],
)
def test_resolve_timezone_known(name: str, expected: str) -> None:
    zone = resolve_timezone(name)

    assert zone is not None
    assert zone.key == expected


@pytest.mark.parametrize(
    "name", ["", "   ", "foo", "Nowhere Standard Time", "Western/Central Europe"]
)
def test_resolve_timezone_unknown(name: str) -> None:
    assert resolve_timezone(name) is None


def test_windows_table_names_exist() -> None:
    # "UTC" is an IANA name too, and IANA names resolve first.
    for windows_name, iana_name in WINDOWS_TO_IANA.items():
        if windows_name in available_timezones():
            continue
        zone = resolve_timezone(windows_name)

        assert zone is not None, windows_name
        assert zone.key == iana_name


def test_windows_table_offsets() -> None:
    winter = datetime(2026, 1, 15, 12, tzinfo=UTC)
    expected_hours = {
        "W. Europe Standard Time": 1,
        "Central Standard Time": -6,
        "China Standard Time": 8,
        "W. Australia Standard Time": 8,
        "Nepal Standard Time": 5.75,
    }

    for windows_name, hours in expected_hours.items():
        zone = resolve_timezone(windows_name)
        assert zone is not None
        offset = winter.astimezone(zone).utcoffset()

        assert offset is not None
        assert offset.total_seconds() == hours * 3600, windows_name


def test_timezone_name_of_zoneinfo() -> None:
    assert timezone_name(ZoneInfo("Europe/Amsterdam")) == "Europe/Amsterdam"


def test_timezone_name_of_utc() -> None:
    assert timezone_name(UTC) == "UTC"


def test_timezone_name_from_tzid() -> None:
    assert timezone_name(None, "Romance Standard Time") == "Europe/Paris"


def test_timezone_name_unknown() -> None:
    assert timezone_name(None, "Customized Time Zone") is None
