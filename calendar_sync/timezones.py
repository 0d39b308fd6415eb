"""Time-zone names as calendar exports write them, resolved to IANA zones.

Exchange and Outlook write Windows names ("W. Europe Standard Time") in TZID,
Evolution and old Thunderbird versions prefix IANA names with a vendor path
("/mozilla.org/20070129_1/America/New_York"), and some exporters quote the
value or change its case. `resolve_timezone` accepts all of these and returns
None for anything else, so the caller decides what to do with the event.
"""

from __future__ import annotations

import functools
import logging
import zoneinfo
from datetime import UTC, tzinfo

logger = logging.getLogger(__name__)

# Windows time-zone ids to the IANA zone that CLDR's windowsZones table lists
# for territory "001" (the default for that id). Where CLDR still names an
# old link ("Asia/Calcutta", "Europe/Kiev"), the current IANA name is used;
# both resolve to the same rules in tzdata.
WINDOWS_TO_IANA: dict[str, str] = {
    # Europe and Africa
    "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "W. Europe Standard Time": "Europe/Berlin",
    "Central Europe Standard Time": "Europe/Budapest",
    "Romance Standard Time": "Europe/Paris",
    "Central European Standard Time": "Europe/Warsaw",
    "E. Europe Standard Time": "Europe/Chisinau",
    "FLE Standard Time": "Europe/Kyiv",
    "GTB Standard Time": "Europe/Bucharest",
    "Turkey Standard Time": "Europe/Istanbul",
    "Kaliningrad Standard Time": "Europe/Kaliningrad",
    "Belarus Standard Time": "Europe/Minsk",
    "Russian Standard Time": "Europe/Moscow",
    "Russia Time Zone 3": "Europe/Samara",
    "Astrakhan Standard Time": "Europe/Astrakhan",
    "Saratov Standard Time": "Europe/Saratov",
    "Volgograd Standard Time": "Europe/Volgograd",
    "Azores Standard Time": "Atlantic/Azores",
    "Cape Verde Standard Time": "Atlantic/Cape_Verde",
    "Morocco Standard Time": "Africa/Casablanca",
    "W. Central Africa Standard Time": "Africa/Lagos",
    "South Africa Standard Time": "Africa/Johannesburg",
    "Egypt Standard Time": "Africa/Cairo",
    "E. Africa Standard Time": "Africa/Nairobi",
    "Libya Standard Time": "Africa/Tripoli",
    "Namibia Standard Time": "Africa/Windhoek",
    "Sudan Standard Time": "Africa/Khartoum",
    "South Sudan Standard Time": "Africa/Juba",
    "Sao Tome Standard Time": "Africa/Sao_Tome",
    "Mauritius Standard Time": "Indian/Mauritius",
    # Asia and the Middle East
    "Israel Standard Time": "Asia/Jerusalem",
    "West Bank Standard Time": "Asia/Hebron",
    "Jordan Standard Time": "Asia/Amman",
    "Middle East Standard Time": "Asia/Beirut",
    "Syria Standard Time": "Asia/Damascus",
    "Arabic Standard Time": "Asia/Baghdad",
    "Arab Standard Time": "Asia/Riyadh",
    "Arabian Standard Time": "Asia/Dubai",
    "Iran Standard Time": "Asia/Tehran",
    "Azerbaijan Standard Time": "Asia/Baku",
    "Georgian Standard Time": "Asia/Tbilisi",
    "Caucasus Standard Time": "Asia/Yerevan",
    "Afghanistan Standard Time": "Asia/Kabul",
    "Pakistan Standard Time": "Asia/Karachi",
    "West Asia Standard Time": "Asia/Tashkent",
    "Ekaterinburg Standard Time": "Asia/Yekaterinburg",
    "Qyzylorda Standard Time": "Asia/Qyzylorda",
    "India Standard Time": "Asia/Kolkata",
    "Sri Lanka Standard Time": "Asia/Colombo",
    "Nepal Standard Time": "Asia/Kathmandu",
    "Central Asia Standard Time": "Asia/Bishkek",
    "Bangladesh Standard Time": "Asia/Dhaka",
    "Omsk Standard Time": "Asia/Omsk",
    "Myanmar Standard Time": "Asia/Yangon",
    "SE Asia Standard Time": "Asia/Bangkok",
    "Altai Standard Time": "Asia/Barnaul",
    "W. Mongolia Standard Time": "Asia/Hovd",
    "North Asia Standard Time": "Asia/Krasnoyarsk",
    "N. Central Asia Standard Time": "Asia/Novosibirsk",
    "Tomsk Standard Time": "Asia/Tomsk",
    "China Standard Time": "Asia/Shanghai",
    "North Asia East Standard Time": "Asia/Irkutsk",
    "Singapore Standard Time": "Asia/Singapore",
    "Taipei Standard Time": "Asia/Taipei",
    "Ulaanbaatar Standard Time": "Asia/Ulaanbaatar",
    "Transbaikal Standard Time": "Asia/Chita",
    "Tokyo Standard Time": "Asia/Tokyo",
    "North Korea Standard Time": "Asia/Pyongyang",
    "Korea Standard Time": "Asia/Seoul",
    "Yakutsk Standard Time": "Asia/Yakutsk",
    "Vladivostok Standard Time": "Asia/Vladivostok",
    "Sakhalin Standard Time": "Asia/Sakhalin",
    "Magadan Standard Time": "Asia/Magadan",
    "Russia Time Zone 10": "Asia/Srednekolymsk",
    "Russia Time Zone 11": "Asia/Kamchatka",
    # Australia and the Pacific
    "W. Australia Standard Time": "Australia/Perth",
    "Aus Central W. Standard Time": "Australia/Eucla",
    "Cen. Australia Standard Time": "Australia/Adelaide",
    "AUS Central Standard Time": "Australia/Darwin",
    "E. Australia Standard Time": "Australia/Brisbane",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "Tasmania Standard Time": "Australia/Hobart",
    "Lord Howe Standard Time": "Australia/Lord_Howe",
    "West Pacific Standard Time": "Pacific/Port_Moresby",
    "Bougainville Standard Time": "Pacific/Bougainville",
    "Norfolk Standard Time": "Pacific/Norfolk",
    "Central Pacific Standard Time": "Pacific/Guadalcanal",
    "New Zealand Standard Time": "Pacific/Auckland",
    "Chatham Islands Standard Time": "Pacific/Chatham",
    "Fiji Standard Time": "Pacific/Fiji",
    "Tonga Standard Time": "Pacific/Tongatapu",
    "Samoa Standard Time": "Pacific/Apia",
    "Line Islands Standard Time": "Pacific/Kiritimati",
    "Hawaiian Standard Time": "Pacific/Honolulu",
    "Marquesas Standard Time": "Pacific/Marquesas",
    "Easter Island Standard Time": "Pacific/Easter",
    # The Americas
    "Aleutian Standard Time": "America/Adak",
    "Alaskan Standard Time": "America/Anchorage",
    "Pacific Standard Time": "America/Los_Angeles",
    "Pacific Standard Time (Mexico)": "America/Tijuana",
    "Yukon Standard Time": "America/Whitehorse",
    "US Mountain Standard Time": "America/Phoenix",
    "Mountain Standard Time": "America/Denver",
    "Mountain Standard Time (Mexico)": "America/Mazatlan",
    "Central Standard Time": "America/Chicago",
    "Central Standard Time (Mexico)": "America/Mexico_City",
    "Canada Central Standard Time": "America/Regina",
    "Central America Standard Time": "America/Guatemala",
    "Eastern Standard Time": "America/New_York",
    "Eastern Standard Time (Mexico)": "America/Cancun",
    "US Eastern Standard Time": "America/Indiana/Indianapolis",
    "Haiti Standard Time": "America/Port-au-Prince",
    "Cuba Standard Time": "America/Havana",
    "Turks And Caicos Standard Time": "America/Grand_Turk",
    "SA Pacific Standard Time": "America/Bogota",
    "Venezuela Standard Time": "America/Caracas",
    "Atlantic Standard Time": "America/Halifax",
    "SA Western Standard Time": "America/La_Paz",
    "Central Brazilian Standard Time": "America/Cuiaba",
    "Paraguay Standard Time": "America/Asuncion",
    "Pacific SA Standard Time": "America/Santiago",
    "Newfoundland Standard Time": "America/St_Johns",
    "E. South America Standard Time": "America/Sao_Paulo",
    "Tocantins Standard Time": "America/Araguaina",
    "Bahia Standard Time": "America/Bahia",
    "Argentina Standard Time": "America/Argentina/Buenos_Aires",
    "SA Eastern Standard Time": "America/Cayenne",
    "Greenland Standard Time": "America/Nuuk",
    "Saint Pierre Standard Time": "America/Miquelon",
    "Montevideo Standard Time": "America/Montevideo",
    "Magallanes Standard Time": "America/Punta_Arenas",
    # Fixed offsets. Windows "UTC-11" is 11 hours behind UTC, which tzdata
    # spells "Etc/GMT+11" (POSIX inverts the sign).
    "UTC": "Etc/UTC",
    "Dateline Standard Time": "Etc/GMT+12",
    "UTC-11": "Etc/GMT+11",
    "UTC-09": "Etc/GMT+9",
    "UTC-08": "Etc/GMT+8",
    "UTC-02": "Etc/GMT+2",
    "UTC+12": "Etc/GMT-12",
    "UTC+13": "Etc/GMT-13",
    # Ids that Windows has since renamed but older Exchange servers still
    # write; CLDR keeps them as aliases of the zones above.
    "Mexico Standard Time": "America/Mexico_City",
    "Mexico Standard Time 2": "America/Chihuahua",
    "Kamchatka Standard Time": "Asia/Kamchatka",
    "Armenian Standard Time": "Asia/Yerevan",
    "Mid-Atlantic Standard Time": "Etc/GMT+2",
}

_WINDOWS_BY_LOWER_NAME = {name.lower(): iana for name, iana in WINDOWS_TO_IANA.items()}


def resolve_timezone(name: str) -> zoneinfo.ZoneInfo | None:
    """Resolve a TZID as exports write it to an IANA zone, or return None.

    Accepted: IANA names in any case, Windows ids, values in double quotes,
    and IANA names behind a vendor prefix such as "/mozilla.org/.../Europe/Paris".
    """
    cleaned = name.strip().strip('"').strip()
    if not cleaned:
        return None

    iana_name = _canonical_iana_name(cleaned) or _WINDOWS_BY_LOWER_NAME.get(
        cleaned.lower()
    )
    if iana_name is None and "/" in cleaned:
        iana_name = _iana_name_after_prefix(cleaned)
    if iana_name is None:
        return None
    return zoneinfo.ZoneInfo(iana_name)


def timezone_name(value: tzinfo | None, tzid: str | None = None) -> str | None:
    """Return the IANA name of a parsed zone, or None when it has no such name.

    `tzid` is the TZID parameter the value was read from. It decides for zones
    that the parser built from a VTIMEZONE, which carry no IANA key of their own.
    """
    if isinstance(value, zoneinfo.ZoneInfo):
        return value.key
    if value is not None and _is_utc(value):
        return "UTC"
    if tzid:
        resolved = resolve_timezone(tzid)
        if resolved is not None:
            return resolved.key
    return None


def _is_utc(value: tzinfo) -> bool:
    # dateutil's tzutc appears when the parser falls back to dateutil.
    return value is UTC or type(value).__name__ == "tzutc"


@functools.cache
def _iana_names_by_lower_name() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def _canonical_iana_name(name: str) -> str | None:
    # Zone files are looked up by path, so "europe/amsterdam" only works on a
    # case-insensitive file system; match case-insensitively on every system.
    # Some exporters also write the space that IANA names spell as "_".
    key = name.lower().replace(" ", "_")
    return _iana_names_by_lower_name().get(key)


def _iana_name_after_prefix(name: str) -> str | None:
    """Find the longest tail of a slash-separated TZID that is an IANA name.

    "/freeassociation.sourceforge.net/Tzfile/America/Argentina/Buenos_Aires"
    has three candidate tails; the longest one that names a zone wins.
    """
    parts = [part for part in name.split("/") if part]
    for start in range(len(parts)):
        candidate = _canonical_iana_name("/".join(parts[start:]))
        if candidate is not None:
            return candidate
    return None
