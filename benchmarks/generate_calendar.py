"""Generate a company calendar for the sync benchmark, the same for the same seed.

Usage: python benchmarks/generate_calendar.py OUT.ics [--seed N] [--early-years N]

The calendar belongs to a company of 200 people in 25 teams (a manager and
seven reports each) at bench.example, and spans the 20 months before
`ANCHOR` and the 4 months after it. It contains about 5,000 VEVENTs:

- a weekly or biweekly 1:1 between each manager and each report, with
  EXDATEs and RECURRENCE-ID overrides (moved, cancelled, a third person
  added, the agenda edited, a goal review near `ANCHOR`);
- a weekly team meeting per team, with moved and cancelled instances;
- weekly focus blocks, transparent or marked free or busy the way Outlook
  writes X-MICROSOFT-CDO-BUSYSTATUS;
- one-off meetings and all-day absences for the rest.

Most times carry TZID=Europe/Amsterdam, about one series in eight carries the
Windows name "W. Europe Standard Time" (as Outlook exports do) and about one
in ten is written in UTC. Descriptions run from a line to a few paragraphs,
and some events carry an Outlook X-ALT-DESC HTML body as well. About one
series in twelve has an RRULE without COUNT or UNTIL. `--early-years N` moves
the start of those unbounded series N years back, which leaves every
occurrence from the first of the original calendar on unchanged.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
WINDOWS_ZONE = "W. Europe Standard Time"
DOMAIN = "bench.example"

#: The moment the benchmark passes to `tandem sync --now`.
ANCHOR = datetime(2027, 1, 11, 9, 0, tzinfo=AMSTERDAM)
SPAN_BEFORE = timedelta(days=610)
SPAN_AFTER = timedelta(days=120)

TEAMS = 25
REPORTS_PER_TEAM = 7
TARGET_EVENTS = 5000

_FIRST_NAMES = (
    "Anna",
    "Bram",
    "Chris",
    "Daan",
    "Eva",
    "Femke",
    "Gijs",
    "Hanna",
    "Ilse",
    "Joost",
    "Kim",
    "Lars",
    "Maud",
    "Noah",
    "Olga",
    "Pim",
    "Quinten",
    "Roos",
    "Sven",
    "Tess",
    "Umut",
    "Vera",
    "Wout",
    "Yara",
    "Zoë",
    "Ayla",
    "Bas",
    "Lotte",
    "Milan",
    "Nina",
    "Ruben",
    "Sanne",
    "Thijs",
    "Lieke",
    "Jesse",
    "Fleur",
)
_LAST_NAMES = (
    "de Vries",
    "Jansen",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "de Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "van Leeuwen",
    "Dekker",
    "Brouwer",
    "de Wit",
    "Dijkstra",
    "Smits",
    "de Graaf",
    "van der Meer",
    "Kok",
    "Jacobs",
    "Vermeulen",
    "van den Berg",
)
_WORDS = (
    "roadmap",
    "release",
    "customer",
    "feedback",
    "planning",
    "budget",
    "hiring",
    "onboarding",
    "review",
    "sprint",
    "backlog",
    "incident",
    "postmortem",
    "quarter",
    "targets",
    "training",
    "mentoring",
    "workload",
    "priorities",
    "dependencies",
    "migration",
    "contract",
    "invoice",
    "workshop",
    "presentation",
    "stakeholders",
    "architecture",
    "security",
    "audit",
    "metrics",
    "deadline",
    "handover",
    "vacation",
    "conference",
    "proposal",
    "estimate",
    "pilot",
    "rollout",
)
_ONE_OFF_TITLES = (
    "Project sync",
    "Klantoverleg",
    "Design review",
    "Budget planning",
    "Incident review",
    "Lunch & learn",
    "Sollicitatiegesprek",
    "Vendor demo",
    "Retrospective",
    "Kwartaalplanning",
)

_VTIMEZONES = f"""BEGIN:VTIMEZONE
TZID:Europe/Amsterdam
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
BEGIN:VTIMEZONE
TZID:{WINDOWS_ZONE}
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE"""


@dataclass(frozen=True, slots=True)
class Person:
    email: str
    name: str


@dataclass(frozen=True, slots=True)
class Team:
    number: int
    manager: Person
    reports: tuple[Person, ...]

    @property
    def members(self) -> tuple[Person, ...]:
        return (self.manager, *self.reports)


@dataclass(slots=True)
class Series:
    """A recurring event: its master's fields and the rule's shape."""

    uid: str
    summary: str
    start: datetime
    duration: timedelta
    organizer: Person
    attendees: tuple[Person, ...]
    interval_weeks: int
    zone_style: str
    count: int | None = None
    until: datetime | None = None
    extra: list[str] = field(default_factory=list)
    lead_weeks: int = 0

    @property
    def unbounded(self) -> bool:
        return self.count is None and self.until is None

    def occurrence(self, index: int) -> datetime:
        """Start of occurrence `index`, as the RRULE expands it.

        A rule in a named zone keeps the wall-clock time across daylight-saving
        changes; a rule written in UTC keeps the UTC time.
        """
        utc = self.zone_style == "utc"
        base = self.start.astimezone(UTC) if utc else self.start
        # Aware arithmetic on one tzinfo adds wall-clock time.
        return base + timedelta(weeks=index * self.interval_weeks)

    def first_start(self) -> datetime:
        """DTSTART of the master: `start`, moved back by `lead_weeks`."""
        return self.occurrence(-self.lead_weeks // self.interval_weeks)

    def last_index(self) -> int:
        """Index of the last occurrence inside the calendar's span."""
        end = ANCHOR + SPAN_AFTER
        if self.until is not None:
            end = min(end, self.until)
        step = timedelta(weeks=self.interval_weeks)
        last = max(0, int((end - self.start) / step))
        if self.count is not None:
            last = min(last, self.count - 1)
        return last


class CalendarText:
    """The content lines of one VCALENDAR, folded as RFC 5545, 3.1 requires."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.events = 0

    def add(self, name: str, value: str) -> None:
        self.lines.extend(_fold(f"{name}:{value}"))

    def begin_event(self) -> None:
        self.lines.append("BEGIN:VEVENT")
        self.events += 1

    def end_event(self) -> None:
        self.lines.append("END:VEVENT")

    def to_bytes(self) -> bytes:
        header = [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Tandem//sync benchmark//EN",
            "METHOD:PUBLISH",
            "X-WR-CALNAME:Bench company",
            *_VTIMEZONES.splitlines(),
        ]
        return "\r\n".join([*header, *self.lines, "END:VCALENDAR", ""]).encode()


def _fold(line: str) -> list[str]:
    """Split a content line into lines of at most 75 octets (RFC 5545, 3.1)."""
    folded: list[str] = []
    current = ""
    limit = 75
    for character in line:
        if len((current + character).encode()) > limit:
            folded.append(current)
            current = " "
            limit = 75
        current += character
    folded.append(current)
    return folded


def _escape(text: str) -> str:
    # RFC 5545, 3.3.11: backslash, semicolon, comma and newline are escaped.
    escaped = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return escaped.replace("\n", "\\n")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _date_value(name: str, moment: datetime, zone_style: str) -> tuple[str, str]:
    """Return the property name with parameters and the value, in the series' style."""
    if zone_style == "utc":
        return name, _utc(moment)
    tzid = WINDOWS_ZONE if zone_style == "windows" else "Europe/Amsterdam"
    local = moment.astimezone(AMSTERDAM).strftime("%Y%m%dT%H%M%S")
    return f'{name};TZID="{tzid}"' if " " in tzid else f"{name};TZID={tzid}", local


def _add_date(calendar: CalendarText, name: str, moment: datetime, style: str) -> None:
    calendar.add(*_date_value(name, moment, style))


def _address(person: Person) -> tuple[str, str]:
    return f"CN={person.name}", f"mailto:{person.email}"


def _add_people(
    calendar: CalendarText, organizer: Person, attendees: tuple[Person, ...]
) -> None:
    cn, uri = _address(organizer)
    calendar.add(f"ORGANIZER;{cn}", uri)
    for attendee in attendees:
        cn, uri = _address(attendee)
        calendar.add(
            f"ATTENDEE;{cn};ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=TRUE", uri
        )


# -- text ----------------------------------------------------------------------


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(6, 16))]
    return " ".join(words).capitalize() + "."


def _description(rng: random.Random) -> str:
    paragraphs = []
    for _ in range(rng.choice((1, 1, 2, 3, 5))):
        paragraphs.append(" ".join(_sentence(rng) for _ in range(rng.randint(1, 5))))
    return "\n\n".join(paragraphs)


def _html_of(description: str) -> str:
    paragraphs = "".join(f"<p>{part}</p>" for part in description.split("\n\n"))
    return (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2//EN">\n<HTML>\n<HEAD>\n'
        '<META NAME="Generator" CONTENT="MS Exchange Server">\n</HEAD>\n<BODY>\n'
        f"{paragraphs}\n</BODY>\n</HTML>"
    )


def _add_description(calendar: CalendarText, rng: random.Random) -> None:
    if rng.random() < 0.15:
        return
    text = _description(rng)
    calendar.add("DESCRIPTION", _escape(text))
    if rng.random() < 0.2:
        calendar.add("X-ALT-DESC;FMTTYPE=text/html", _escape(_html_of(text)))


# -- people --------------------------------------------------------------------


def make_teams(rng: random.Random) -> list[Team]:
    names = [f"{first} {last}" for first in _FIRST_NAMES for last in _LAST_NAMES]
    rng.shuffle(names)
    people = []
    for index, name in enumerate(names[: TEAMS * (REPORTS_PER_TEAM + 1)]):
        local = name.lower().replace(" ", ".").replace("ë", "e")
        people.append(Person(f"{local}.{index}@{DOMAIN}", name))

    size = REPORTS_PER_TEAM + 1
    return [
        Team(n, people[n * size], tuple(people[n * size + 1 : (n + 1) * size]))
        for n in range(TEAMS)
    ]


# -- series --------------------------------------------------------------------


def _zone_style(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.125:
        return "windows"
    return "utc" if roll < 0.225 else "iana"


def _series_start(rng: random.Random, weekday: int, hour: int, minute: int) -> datetime:
    first_day = (ANCHOR - SPAN_BEFORE).date() + timedelta(days=rng.randint(0, 300))
    first_day += timedelta(days=(weekday - first_day.weekday()) % 7)
    return datetime.combine(first_day, time(hour, minute), AMSTERDAM)


def _bound(series: Series, rng: random.Random) -> None:
    """Give most series a COUNT or an UNTIL; about one in twelve stays unbounded."""
    roll = rng.random()
    if roll < 0.08:
        return
    if roll < 0.4:
        series.count = rng.randint(60, 120)
        return
    end_day = (ANCHOR + SPAN_AFTER).date() - timedelta(days=rng.randint(0, 200))
    series.until = datetime.combine(end_day, time(23, 0), UTC)


def one_on_one_series(team: Team, rng: random.Random) -> Iterator[Series]:
    for number, report in enumerate(team.reports):
        start = _series_start(rng, number % 5, 9 + number % 7, rng.choice((0, 30)))
        series = Series(
            uid=f"1on1-{team.number}-{number}@{DOMAIN}",
            summary=rng.choice(("1:1 {a} / {b}", "{a} <> {b}", "Bila {b}")).format(
                a=team.manager.name.split()[0], b=report.name.split()[0]
            ),
            start=start,
            duration=timedelta(minutes=rng.choice((30, 30, 45, 60))),
            organizer=team.manager,
            attendees=(report,),
            interval_weeks=rng.choice((1, 1, 1, 2, 2)),
            zone_style=_zone_style(rng),
        )
        _bound(series, rng)
        yield series


def team_series(team: Team, rng: random.Random) -> Series:
    series = Series(
        uid=f"team-{team.number}@{DOMAIN}",
        summary=f"Team {team.number} weekly",
        start=_series_start(rng, rng.randint(0, 4), 11, 0),
        duration=timedelta(hours=1),
        organizer=team.manager,
        attendees=team.reports,
        interval_weeks=1,
        zone_style=_zone_style(rng),
    )
    _bound(series, rng)
    return series


def focus_series(person: Person, number: int, rng: random.Random) -> Series:
    """Return a weekly focus block, marked free (often without TRANSP) or busy."""
    busy = rng.choice(("FREE", "FREE", "BUSY", "TENTATIVE"))
    extra = [f"X-MICROSOFT-CDO-BUSYSTATUS:{busy}"]
    if busy == "FREE" and rng.random() < 0.5:
        extra.append("TRANSP:TRANSPARENT")
    series = Series(
        uid=f"focus-{number}@{DOMAIN}",
        summary=rng.choice(("Focus time", "Deep work", "Focustijd")),
        start=_series_start(rng, rng.randint(0, 4), 14, 0),
        duration=timedelta(hours=2),
        organizer=person,
        attendees=(),
        interval_weeks=1,
        zone_style=_zone_style(rng),
        extra=extra,
    )
    _bound(series, rng)
    return series


def write_master(
    calendar: CalendarText, series: Series, exdates: list[datetime], rng: random.Random
) -> None:
    calendar.begin_event()
    calendar.add("UID", series.uid)
    calendar.add("DTSTAMP", _utc(ANCHOR - SPAN_BEFORE))
    first = series.first_start()
    _add_date(calendar, "DTSTART", first, series.zone_style)
    _add_date(calendar, "DTEND", first + series.duration, series.zone_style)
    calendar.add("RRULE", _rule_text(series))
    for excluded in exdates:
        _add_date(calendar, "EXDATE", excluded, series.zone_style)
    calendar.add("SUMMARY", _escape(series.summary))
    _add_description(calendar, rng)
    _add_people(calendar, series.organizer, series.attendees)
    for line in series.extra:
        calendar.add(*line.split(":", 1))
    calendar.add("SEQUENCE", "0")
    calendar.add("STATUS", "CONFIRMED")
    calendar.end_event()


def _rule_text(series: Series) -> str:
    weekday = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[series.start.weekday()]
    parts = ["FREQ=WEEKLY"]
    if series.interval_weeks > 1:
        parts.append(f"INTERVAL={series.interval_weeks}")
    parts.append(f"BYDAY={weekday}")
    if series.count is not None:
        parts.append(f"COUNT={series.count}")
    if series.until is not None:
        parts.append(f"UNTIL={_utc(series.until)}")
    return ";".join(parts)


def _add_override(
    calendar: CalendarText,
    series: Series,
    original: datetime,
    rng: random.Random,
    *,
    start: datetime | None = None,
    summary: str | None = None,
    attendees: tuple[Person, ...] | None = None,
    cancelled: bool = False,
) -> None:
    start = start or original
    calendar.begin_event()
    calendar.add("UID", series.uid)
    _add_date(calendar, "RECURRENCE-ID", original, series.zone_style)
    calendar.add("DTSTAMP", _utc(ANCHOR - SPAN_BEFORE))
    _add_date(calendar, "DTSTART", start, series.zone_style)
    _add_date(calendar, "DTEND", start + series.duration, series.zone_style)
    calendar.add("SUMMARY", _escape(summary or series.summary))
    _add_description(calendar, rng)
    _add_people(calendar, series.organizer, attendees or series.attendees)
    calendar.add("SEQUENCE", "1")
    calendar.add("STATUS", "CANCELLED" if cancelled else "CONFIRMED")
    calendar.end_event()


def write_series(
    calendar: CalendarText,
    series: Series,
    rng: random.Random,
    guests: tuple[Person, ...],
    goal_review: bool,
) -> None:
    """Write a master with two EXDATEs and its overrides of every kind."""
    last = series.last_index()
    picks = rng.sample(range(last + 1), k=min(last + 1, 7))
    excluded = [series.occurrence(i) for i in picks[:2]]
    write_master(calendar, series, excluded, rng)

    kinds = ("moved", "cancelled", "guest", "edited")
    # A series with few occurrences gets fewer overrides, so zip may stop early.
    for kind, index in zip(kinds, picks[2:], strict=False):
        original = series.occurrence(index)
        if kind == "moved":
            later = original + timedelta(days=1, hours=rng.choice((0, 2)))
            _add_override(calendar, series, original, rng, start=later)
        elif kind == "cancelled":
            _add_override(calendar, series, original, rng, cancelled=True)
        elif kind == "guest":
            extra = (*series.attendees, rng.choice(guests))
            _add_override(calendar, series, original, rng, attendees=extra)
        else:
            _add_override(calendar, series, original, rng)

    review = _index_near_anchor(series, rng)
    if goal_review and review is not None and review not in picks:
        title = rng.choice(("Goal review", "Doelgesprek"))
        _add_override(calendar, series, series.occurrence(review), rng, summary=title)


def _index_near_anchor(series: Series, rng: random.Random) -> int | None:
    """Index of an occurrence within four weeks either side of ANCHOR, if any."""
    step = timedelta(weeks=series.interval_weeks)
    centre = int((ANCHOR - series.start) / step) + rng.randint(-2, 2)
    if 0 <= centre <= series.last_index():
        return centre
    return None


# -- one-off events ------------------------------------------------------------


def write_one_off(
    calendar: CalendarText, number: int, people: list[Person], rng: random.Random
) -> None:
    """Write a single meeting, or an all-day absence for about one in ten."""
    day = (ANCHOR - SPAN_BEFORE).date() + timedelta(
        days=rng.randint(0, (SPAN_BEFORE + SPAN_AFTER).days)
    )
    organizer = rng.choice(people)
    calendar.begin_event()
    calendar.add("UID", f"single-{number}@{DOMAIN}")
    calendar.add("DTSTAMP", _utc(ANCHOR - SPAN_BEFORE))
    if rng.random() < 0.1:
        _write_absence(calendar, day, organizer)
    else:
        _write_meeting(calendar, day, organizer, people, rng)
    calendar.end_event()


def _write_absence(calendar: CalendarText, day: date, person: Person) -> None:
    calendar.add("DTSTART;VALUE=DATE", day.strftime("%Y%m%d"))
    calendar.add("DTEND;VALUE=DATE", (day + timedelta(days=1)).strftime("%Y%m%d"))
    calendar.add("SUMMARY", f"Out of office {person.name}")
    _add_people(calendar, person, ())
    calendar.add("X-MICROSOFT-CDO-BUSYSTATUS", "OOF")


def _write_meeting(
    calendar: CalendarText,
    day: date,
    organizer: Person,
    people: list[Person],
    rng: random.Random,
) -> None:
    style = _zone_style(rng)
    start = datetime.combine(day, time(rng.randint(8, 16), rng.choice((0, 30))))
    start = start.replace(tzinfo=AMSTERDAM)
    _add_date(calendar, "DTSTART", start, style)
    length = timedelta(minutes=rng.choice((30, 45, 60, 90)))
    _add_date(calendar, "DTEND", start + length, style)
    calendar.add("SUMMARY", _escape(rng.choice(_ONE_OFF_TITLES)))
    calendar.add("LOCATION", _escape(f"Room {rng.randint(1, 12)}"))
    _add_description(calendar, rng)
    guests = tuple(p for p in rng.sample(people, k=rng.randint(1, 6)) if p != organizer)
    _add_people(calendar, organizer, guests)
    calendar.add("STATUS", "CONFIRMED")


# -- the whole calendar --------------------------------------------------------


def make_series(teams: list[Team], rng: random.Random) -> list[Series]:
    series: list[Series] = []
    for team in teams:
        series.extend(one_on_one_series(team, rng))
        series.append(team_series(team, rng))
    people = [person for team in teams for person in team.members]
    for number, person in enumerate(rng.sample(people, k=100)):
        series.append(focus_series(person, number, rng))
    return series


def move_unbounded_back(series: list[Series], years: int) -> None:
    """Start each unbounded series `years` years earlier, on the same weekday.

    52 weeks is a whole number of intervals for weekly and biweekly rules, so
    every later occurrence, EXDATE and RECURRENCE-ID stays where it was.
    """
    for item in series:
        if item.unbounded:
            item.lead_weeks = 52 * years


def generate(seed: int = 1, early_years: int = 0) -> bytes:
    """Return the calendar for `seed` as iCalendar bytes."""
    rng = random.Random(seed)
    teams = make_teams(rng)
    people = [person for team in teams for person in team.members]
    series = make_series(teams, rng)
    if early_years:
        move_unbounded_back(series, early_years)

    calendar = CalendarText()
    for item in series:
        is_one_on_one = item.uid.startswith("1on1-")
        goal_review = is_one_on_one and rng.random() < 0.25
        write_series(calendar, item, rng, tuple(people), goal_review)
    number = 0
    while calendar.events < TARGET_EVENTS:
        write_one_off(calendar, number, people, rng)
        number += 1
    return calendar.to_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="Where to write the .ics file.")
    parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
    parser.add_argument(
        "--early-years",
        type=int,
        default=0,
        help="Start the unbounded series this many years earlier (default 0).",
    )
    arguments = parser.parse_args()
    arguments.out.write_bytes(generate(arguments.seed, arguments.early_years))


if __name__ == "__main__":
    main()
