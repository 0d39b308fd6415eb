"""Time zone names and the dateTimeTimeZone format that Graph uses.

Graph accepts Windows time zone names ("W. Europe Standard Time") and IANA
names in `start.timeZone` and `end.timeZone`, and echoes back whatever
`Prefer: outlook.timezone` requested, or "UTC" when the header is absent.
The Windows-to-IANA table is the CLDR mapping shipped with tzlocal.
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import tz_win, win_tz


class UnknownTimeZoneError(ValueError):
    """A time zone name that is neither a Windows nor an IANA name."""


def resolve_zone(name: str) -> ZoneInfo:
    """Return the zone for a Windows or IANA time zone name."""
    if name in ("UTC", "tzone://Microsoft/Utc", "Coordinated Universal Time"):
        return ZoneInfo("UTC")

    iana_name = win_tz.get(name, name)
    try:
        return ZoneInfo(iana_name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise UnknownTimeZoneError(
            f"The time zone {name!r} is not a Windows or IANA time zone name; "
            "use a name such as 'W. Europe Standard Time' or 'Europe/Amsterdam'."
        ) from error


def windows_name(name: str) -> str:
    """Return the Windows name for a Windows or IANA name (unchanged if unknown)."""
    if name in win_tz or name == "UTC":
        return name
    return tz_win.get(name, name)


def parse_date_time_time_zone(value: object) -> datetime:
    """Parse a Graph dateTimeTimeZone object into an aware datetime."""
    if not isinstance(value, dict) or "dateTime" not in value:
        raise ValueError(
            f"Expected a dateTimeTimeZone object with 'dateTime' and 'timeZone', "
            f"got {value!r}."
        )

    zone = resolve_zone(str(value.get("timeZone") or "UTC"))
    moment = parse_naive(str(value["dateTime"]))
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    return moment.replace(tzinfo=zone).astimezone(UTC)


def parse_naive(text: str) -> datetime:
    """Parse Graph's ISO 8601 text, which may carry seven fractional digits."""
    text = text.strip().replace("Z", "+00:00")
    head, dot, tail = text.partition(".")
    if dot:
        digits = "".join(ch for ch in tail if ch.isdigit())
        offset = tail[len(digits) :]
        text = f"{head}.{digits[:6].ljust(6, '0')}{offset}"
    return datetime.fromisoformat(text)


def format_date_time_time_zone(moment: datetime, zone_name: str) -> dict[str, str]:
    """Format an aware datetime the way Graph does, in the named zone."""
    local = moment.astimezone(resolve_zone(zone_name))
    text = local.strftime("%Y-%m-%dT%H:%M:%S") + f".{local.microsecond:06d}0"
    return {"dateTime": text, "timeZone": zone_name}


def format_offset(moment: datetime) -> str:
    """Format an aware datetime as Edm.DateTimeOffset in UTC ("...Z")."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + f".{utc.microsecond // 1000:03d}Z"
