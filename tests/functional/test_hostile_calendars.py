"""`tandem sync` and `tandem detect` on hostile calendar files.

Each small case is a file in data/hostile/ with one hostile event next to the
control series "1:1 Anna / Chris" (control@hostile.test). The control series
must get its agenda whatever its neighbour does, because one broken event is
skipped and reported while the rest of the file is processed. A file that
cannot be read at all must leave --out as it was. Binary and large cases
(garbage bytes, UTF-16, a 20 MB description, 50,000 events, 10,000
attendees, deep nesting, dense rules) are generated into tmp_path.

Runs go through click's CliRunner in process, against a real database and
under a tenant of their own. A rule that may expand without end runs in a
subprocess that is killed after two minutes, so a hang fails the test.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import traceback
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import icalendar
import pytest
from click.testing import CliRunner, Result

from addon import db
from addon.cli import cli
from addon.settings import get_settings
from calendar_sync import merge

DATA = Path(__file__).with_name("data") / "hostile"
CONTROL = DATA / "control.ics"
CONTROL_UID = "control@hostile.test"
NOW = "2027-01-01T09:00+01:00"
# The first instance after NOW of every hostile Monday series.
MONDAY = "2027-01-04"
# Two minutes: the limit for one run of the command line on hostile input.
RUN_LIMIT_SECONDS = 120
# A test makes at most two runs.
pytestmark = pytest.mark.timeout(2 * RUN_LIMIT_SECONDS)

Run = Callable[..., Result]


@pytest.fixture(scope="module")
def hostile_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite database for this module alone.

    These tests are about reading files, which does not depend on the
    database, so they run once instead of once per database the suite uses.
    """
    url = f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'tandem.sqlite3'}"
    engine = db.make_engine(url)
    db.migrate(engine)
    engine.dispose()
    return url


@pytest.fixture
def tenant_env(hostile_database: str) -> dict[str, str]:
    return {
        "DATABASE_URL": hostile_database,
        "TANDEM_TENANT": f"hostile-{uuid.uuid4().hex[:8]}",
        "TANDEM_DOMAINS": "hostile.test",
    }


@pytest.fixture
def run(tenant_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    """Run `tandem ARGS` in process. An exception is kept in the result, not raised."""
    for name, value in tenant_env.items():
        monkeypatch.setenv(name, value)

    def invoke(*args: str) -> Result:
        get_settings.cache_clear()
        return CliRunner().invoke(cli, list(args))

    yield invoke
    get_settings.cache_clear()


def explain(result: Result) -> str:
    """Describe a run for an assertion message: its output and any traceback."""
    text = f"exit code {result.exit_code}\n{result.output}"
    if result.exc_info is not None and not isinstance(result.exception, SystemExit):
        text += "".join(traceback.format_exception(*result.exc_info))
    return text


def sync(run: Run, source: Path, target: Path, *extra: str) -> Result:
    return run("sync", "--ics", str(source), "--out", str(target), "--now", NOW, *extra)


def sync_report(run: Run, source: Path, target: Path, *extra: str) -> dict:
    """Run `tandem sync --format json`, require exit code 0 and return the report."""
    result = sync(run, source, target, "--format", "json", *extra)
    assert result.exit_code == 0, explain(result)
    return json.loads(result.stdout)


def detect_explained(run: Run, source: Path, *extra: str) -> Result:
    return run("detect", "--ics", str(source), "--explain", "--now", NOW, *extra)


def row_of(report: dict, uid: str) -> dict:
    return next(row for row in report["series"] if row["uid"] == uid)


def descriptions(path: Path, uid: str) -> list[str]:
    calendar = icalendar.Calendar.from_ical(path.read_bytes())
    return [
        str(event.get("DESCRIPTION", ""))
        for event in calendar.walk("VEVENT")
        if str(event["UID"]) == uid
    ]


def instance_description(path: Path, uid: str, day: str) -> str:
    """Return the description of the instance of `uid` on `day` (YYYY-MM-DD)."""
    calendar = icalendar.Calendar.from_ical(path.read_bytes())
    for event in calendar.walk("VEVENT"):
        recurrence_id = event.get("RECURRENCE-ID")
        if str(event["UID"]) != uid or recurrence_id is None:
            continue
        if recurrence_id.dt.date().isoformat() == day:
            return str(event.get("DESCRIPTION", ""))
    raise AssertionError(f"{path.name} has no instance of {uid} on {day}")


def assert_control_written(report: dict, target: Path) -> None:
    assert row_of(report, CONTROL_UID)["action"] == "written"
    description = instance_description(target, CONTROL_UID, "2027-01-05")
    assert "CURRENT ROLE" in description


def calendar_text(*events: str) -> str:
    """Return the control calendar with `events` (VEVENT text) before its series."""
    control = CONTROL.read_text()
    position = control.index("BEGIN:VEVENT")
    return control[:position] + "".join(events) + control[position:]


def pair_event(
    uid: str, *lines: str, rule: str = "FREQ=WEEKLY;BYDAY=MO", day: str = "20270104"
) -> str:
    """Return a 1:1 of Anna and Bram at 10:00 from `day`, with extra content `lines`."""
    body = [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20261201T080000Z",
        f"DTSTART;TZID=Europe/Amsterdam:{day}T100000",
        f"DTEND;TZID=Europe/Amsterdam:{day}T103000",
        f"RRULE:{rule}",
        "SUMMARY:1:1 Anna / Bram",
        "ORGANIZER:mailto:anna@hostile.test",
        "ATTENDEE;PARTSTAT=ACCEPTED:mailto:anna@hostile.test",
        "ATTENDEE;PARTSTAT=ACCEPTED:mailto:bram@hostile.test",
        *lines,
        "END:VEVENT",
    ]
    return "\n".join(body) + "\n"


# -- files that cannot be read at all ------------------------------------------


def truncated(path: Path) -> None:
    # Cut inside the last ATTENDEE line, so the last VEVENT has no END.
    text = CONTROL.read_text()
    path.write_text(text[: text.rindex("mailto:chris") + 9])


def binary_garbage(path: Path) -> None:
    path.write_bytes(random.Random(5545).randbytes(4096))


def garbage_after_header(path: Path) -> None:
    noise = random.Random(7986).randbytes(4096)
    path.write_bytes(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + noise)


def utf16_with_bom(path: Path) -> None:
    # Windows PowerShell 5 writes redirected output like this.
    path.write_bytes(CONTROL.read_text().encode("utf-16"))


UNREADABLE = {
    "truncated": (truncated, "truncated"),
    "binary-garbage": (binary_garbage, "UTF-8"),
    "garbage-after-header": (garbage_after_header, "UTF-8"),
    "utf16-bom": (utf16_with_bom, "UTF-8"),
}


@pytest.mark.parametrize("case", sorted(UNREADABLE))
def test_unreadable_file_writes_nothing(run: Run, tmp_path: Path, case: str) -> None:
    write, hint = UNREADABLE[case]
    source = tmp_path / "hostile.ics"
    write(source)
    target = tmp_path / "out" / "team.ics"
    target.parent.mkdir()
    target.write_bytes(b"previous output\n")

    result = sync(run, source, target)

    assert result.exit_code == 2, explain(result)
    assert "hostile.ics" in result.output
    assert "line " in result.output
    assert hint in result.output
    assert "Traceback" not in result.output
    assert target.read_bytes() == b"previous output\n"
    assert [p.name for p in target.parent.iterdir()] == ["team.ics"]


@pytest.mark.parametrize("case", sorted(UNREADABLE))
def test_unreadable_file_detect_fails(run: Run, tmp_path: Path, case: str) -> None:
    write, hint = UNREADABLE[case]
    source = tmp_path / "hostile.ics"
    write(source)

    result = detect_explained(run, source)

    assert result.exit_code == 2, explain(result)
    assert "hostile.ics" in result.output
    assert hint in result.output


def test_unreadable_file_in_place_kept(run: Run, tmp_path: Path) -> None:
    source = tmp_path / "team.ics"
    truncated(source)
    before = source.read_bytes()

    result = sync(run, source, source)

    assert result.exit_code == 2, explain(result)
    assert source.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["team.ics"]


def test_cr_only_line_endings_read(run: Run, tmp_path: Path) -> None:
    # Classic Mac OS ended lines with a bare CR; Tandem reads them as CRLF.
    source = tmp_path / "classic-mac.ics"
    source.write_bytes(CONTROL.read_bytes().replace(b"\n", b"\r"))
    target = tmp_path / "out.ics"

    report = sync_report(run, source, target)

    assert_control_written(report, target)


# -- readable files with odd bytes ---------------------------------------------


def test_mixed_line_endings_read(run: Run, tmp_path: Path) -> None:
    lines = calendar_text(pair_event("mixed@hostile.test")).splitlines()
    endings = ["\r\n" if number % 2 else "\n" for number in range(len(lines))]
    source = tmp_path / "mixed.ics"
    source.write_bytes("".join(map(str.__add__, lines, endings)).encode())
    target = tmp_path / "out.ics"

    report = sync_report(run, source, target)

    assert report["one_on_ones"] == 2
    assert report["written"] == 2
    assert report["skipped"] == []
    assert_control_written(report, target)


# -- one broken event among good ones ------------------------------------------

SKIPPED = {
    "unknown-tzid": ("unknown_tzid.ics", "unknown-zone@hostile.test", "Mars/Olympus"),
    "absolute-tzid-path": ("tzid_path.ics", "absolute-path@hostile.test", "'/etc/"),
    "relative-tzid-path": ("tzid_path.ics", "relative-path@hostile.test", "'../"),
    "february-30": ("feb30.ics", "february-30@hostile.test", "invalid DTSTART"),
    "duplicate-uid": ("duplicate_uid.ics", "twice@hostile.test", "second VEVENT"),
    "bysetpos-text": ("bysetpos_not_a_number.ics", "setpos-text@hostile.test", "RRULE"),
}


@pytest.mark.parametrize("case", sorted(SKIPPED))
def test_broken_event_detect_reports(run: Run, case: str) -> None:
    name, uid, phrase = SKIPPED[case]

    result = detect_explained(run, DATA / name)

    assert result.exit_code == 0, explain(result)
    assert f"uid={CONTROL_UID}" in result.stdout
    skips = [line for line in result.stderr.splitlines() if f"UID {uid}:" in line]
    assert len(skips) == 1
    assert phrase in skips[0]
    assert "root:" not in result.output


# Prints every file the run opens, one "opened PATH" line each, on stderr.
_TRACE_OPENS = """
import os
import sys

def trace(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        print("opened", os.fsdecode(args[0]), file=sys.stderr)

sys.addaudithook(trace)
from addon.cli import main
main()
"""


def test_tzid_path_opens_nothing(tenant_env: dict[str, str]) -> None:
    command = [sys.executable, "-c", _TRACE_OPENS, "detect", "--ics"]
    command += [str(DATA / "tzid_path.ics"), "--now", NOW]

    done = subprocess.run(
        command,
        env={**os.environ, **tenant_env},
        capture_output=True,
        text=True,
        timeout=RUN_LIMIT_SECONDS,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    opened = [line.removeprefix("opened ") for line in lines if line[:7] == "opened "]
    assert str(DATA / "tzid_path.ics") in opened
    assert "/etc/passwd" not in opened
    assert [path for path in opened if "/../" in path] == []


@pytest.mark.parametrize("case", sorted(SKIPPED))
def test_broken_event_sync_skips(run: Run, tmp_path: Path, case: str) -> None:
    name, uid, phrase = SKIPPED[case]
    target = tmp_path / "out.ics"

    report = sync_report(run, DATA / name, target)

    assert_control_written(report, target)
    skips = [item for item in report["skipped"] if item["where"] == f"UID {uid}"]
    assert len(skips) == 1
    assert phrase in skips[0]["reason"]


def test_broken_event_detect_json(run: Run) -> None:
    result = run(
        "detect", "--ics", str(DATA / "feb30.ics"), "--format", "json", "--now", NOW
    )

    assert result.exit_code == 0, explain(result)
    skipped = json.loads(result.stdout)["skipped"]
    assert [item["where"] for item in skipped] == ["UID february-30@hostile.test"]


def test_broken_event_detect_table(run: Run) -> None:
    result = run("detect", "--ics", str(DATA / "unknown_tzid.ics"), "--now", NOW)

    assert result.exit_code == 0, explain(result)
    assert "unknown-zone@hostile.test" in result.output


def test_overlong_uid_skipped(run: Run, tmp_path: Path) -> None:
    # RFC 5545 sets no limit on a UID, but Tandem's UID columns hold 1,000
    # characters, and PostgreSQL rejects a longer value.
    uid = "u" * 1500 + "@hostile.test"
    source, target = tmp_path / "in.ics", tmp_path / "out.ics"
    source.write_text(calendar_text(pair_event(uid)))

    report = sync_report(run, source, target)

    assert_control_written(report, target)
    [skip] = report["skipped"]
    assert skip["where"] == f"UID {'u' * 120}…"
    assert "1513 characters" in skip["reason"]
    assert descriptions(target, uid) == [""]


def test_nul_characters(run: Run, tmp_path: Path) -> None:
    # PostgreSQL stores no NUL in text, and RFC 5545 allows none in TEXT.
    in_summary = pair_event("nul-summary@hostile.test").replace(
        "SUMMARY:1:1 Anna / Bram", "SUMMARY:1:1 Anna\x00 / Bram"
    )
    in_uid = pair_event("nul\x00uid@hostile.test", day="20270105")
    source, target = tmp_path / "in.ics", tmp_path / "out.ics"
    source.write_text(calendar_text(in_summary, in_uid))

    report = sync_report(run, source, target)

    assert row_of(report, "nul-summary@hostile.test")["summary"] == "1:1 Anna / Bram"
    [skip] = report["skipped"]
    assert skip["where"] == "UID nul\\x00uid@hostile.test"
    assert "NUL" in skip["reason"]
    assert_control_written(report, target)


def test_vtimezone_without_rules_skipped(run: Run, tmp_path: Path) -> None:
    target = tmp_path / "out.ics"

    report = sync_report(run, DATA / "vtimezone_no_rules.ics", target)

    assert_control_written(report, target)
    skipped = {item["where"]: item["reason"] for item in report["skipped"]}
    assert "Office Time" in skipped["UID empty-zone@hostile.test"]


@pytest.mark.parametrize(
    ("name", "uid"),
    [
        ("bysetpos_out_of_range.ics", "setpos-400@hostile.test"),
        ("bysetpos_zero.ics", "setpos-zero@hostile.test"),
    ],
)
def test_bysetpos_nonsense_skipped(
    run: Run, tmp_path: Path, name: str, uid: str
) -> None:
    target = tmp_path / "out.ics"

    report = sync_report(run, DATA / name, target)

    assert_control_written(report, target)
    skipped = {item["where"]: item["reason"] for item in report["skipped"]}
    assert "BYSETPOS" in skipped[f"UID {uid}"]


def test_orphan_recurrence_id_reported(run: Run) -> None:
    result = detect_explained(run, DATA / "orphan_recurrence_id.ics")

    assert result.exit_code == 0, explain(result)
    assert "UID orphan@hostile.test" in result.stderr
    assert "2027-01-06" in result.stderr


# -- odd but valid events ------------------------------------------------------


def test_until_before_dtstart_not_taken(run: Run, tmp_path: Path) -> None:
    target = tmp_path / "out.ics"

    report = sync_report(run, DATA / "until_before_dtstart.ics", target)

    row = row_of(report, "ended-before-start@hostile.test")
    assert row["is_one_on_one"] is False
    assert row["next_occurrence"] is None
    assert_control_written(report, target)


def test_year_9999_not_taken(run: Run, tmp_path: Path) -> None:
    target = tmp_path / "out.ics"

    report = sync_report(run, DATA / "year_9999.ics", target)

    assert row_of(report, "year-9999@hostile.test")["is_one_on_one"] is False
    assert report["one_on_ones"] == 1
    assert report["skipped"] == []
    assert_control_written(report, target)


def test_year_0001_series_found(run: Run, tmp_path: Path) -> None:
    target = tmp_path / "out.ics"

    report = sync_report(run, DATA / "year_0001.ics", target)

    row = row_of(report, "year-0001@hostile.test")
    assert row["is_one_on_one"] is True
    assert row["next_occurrence"] == "2027-01-04T09:00:00+00:00"
    assert row["action"] == "written"
    assert_control_written(report, target)


def test_room_organizer_pair_found(run: Run, tmp_path: Path) -> None:
    target = tmp_path / "out.ics"

    report = sync_report(run, DATA / "room_organizer.ics", target)

    row = row_of(report, "room@hostile.test")
    assert row["people"] == ["anna@hostile.test", "bram@hostile.test"]
    assert row["action"] == "written"


def test_unicode_addresses_found(run: Run, tmp_path: Path) -> None:
    target = tmp_path / "out.ics"

    report = sync_report(run, DATA / "unicode_addresses.ics", target)

    row = row_of(report, "unicode@hostile.test")
    assert row["people"] == ["zoë@hostile.test", "josé.müller@hostile.test"]
    assert row["action"] == "written"
    assert "CURRENT ROLE" in instance_description(
        target, "unicode@hostile.test", MONDAY
    )


def test_mailto_spaces_normalised(run: Run, tmp_path: Path) -> None:
    target = tmp_path / "out.ics"

    report = sync_report(run, DATA / "mailto_spaces.ics", target)

    row = row_of(report, "spaces@hostile.test")
    assert row["people"] == ["anna@hostile.test", "bram@hostile.test"]


def test_attendee_crowd_not_taken(run: Run, tmp_path: Path) -> None:
    crowd = [f"ATTENDEE:mailto:person{n}@hostile.test" for n in range(10_000)]
    source = tmp_path / "crowd.ics"
    source.write_text(calendar_text(pair_event("crowd@hostile.test", *crowd)))
    target = tmp_path / "out.ics"

    report = sync_report(run, source, target)

    assert row_of(report, "crowd@hostile.test")["is_one_on_one"] is False
    assert_control_written(report, target)


# -- descriptions that already look like Tandem's ------------------------------


def test_lone_start_marker_kept(run: Run, tmp_path: Path) -> None:
    target = tmp_path / "out.ics"
    uid = "lone-marker@hostile.test"
    before = "Mijn notities\n[Tandem agenda start v1 abcdefgh]\nniet weggooien"

    report = sync_report(run, DATA / "marker_without_end.ics", target)

    assert row_of(report, uid)["action"] == "written"
    description = instance_description(target, uid, MONDAY)
    assert description.startswith(before + "\n\n[Tandem agenda start v1 ")
    assert merge.remove_block(description) == before


def test_pasted_block_text_kept(run: Run, tmp_path: Path) -> None:
    target = tmp_path / "out.ics"
    uid = "pasted-block@hostile.test"

    report = sync_report(run, DATA / "marker_with_end.ics", target)

    description = instance_description(target, uid, MONDAY)
    assert description.startswith("Mijn notities\n")
    assert description.endswith("na het blok")
    from_invite = row_of(report, uid)["topics_from_invite"]
    assert "niet weggooien" in description or from_invite == 1


# -- large files -----------------------------------------------------------------


def test_huge_description_kept(run: Run, tmp_path: Path) -> None:
    text = "Notulen " * (20 * 1024 * 1024 // 8)
    source = tmp_path / "huge.ics"
    source.write_text(
        calendar_text(pair_event("huge@hostile.test", f"DESCRIPTION:{text}"))
    )
    target = tmp_path / "out.ics"

    report = sync_report(run, source, target)

    assert row_of(report, "huge@hostile.test")["action"] == "written"
    description = instance_description(target, "huge@hostile.test", MONDAY)
    assert description.startswith(text + "\n\n[Tandem agenda start v1 ")
    assert_control_written(report, target)


def test_fifty_thousand_events_read(run: Run, tmp_path: Path) -> None:
    singles = [
        "BEGIN:VEVENT\n"
        f"UID:single-{n}@hostile.test\n"
        "DTSTAMP:20261201T080000Z\n"
        f"DTSTART:2027{n % 12 + 1:02d}{n % 28 + 1:02d}T{n % 9 + 8:02d}0000Z\n"
        "DURATION:PT30M\n"
        f"SUMMARY:Afspraak {n}\n"
        "END:VEVENT\n"
        for n in range(50_000)
    ]
    source = tmp_path / "many.ics"
    source.write_text(calendar_text(*singles))
    target = tmp_path / "out.ics"

    report = sync_report(run, source, target)

    assert report["one_on_ones"] == 1
    assert report["skipped"] == []
    assert_control_written(report, target)
    assert len(descriptions(target, "single-49999@hostile.test")) == 1


def test_deep_nesting_sync(run: Run, tmp_path: Path) -> None:
    depth = 5_000
    nested = [f"BEGIN:X-LEVEL{n}" for n in range(depth)]
    nested += [f"END:X-LEVEL{n}" for n in reversed(range(depth))]
    source = tmp_path / "deep.ics"
    source.write_text(calendar_text(pair_event("deep@hostile.test", *nested)))
    target = tmp_path / "out.ics"

    report = sync_report(run, source, target)

    assert_control_written(report, target)
    skipped = {item["where"]: item["reason"] for item in report["skipped"]}
    assert "levels deep" in skipped["UID deep@hostile.test"]


# -- rules that expand to very many instances ------------------------------------


def run_tandem(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run `tandem ARGS` in a subprocess that is killed after RUN_LIMIT_SECONDS."""
    command = [sys.executable, "-c", "from addon.cli import main; main()", *args]
    return subprocess.run(
        command,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=RUN_LIMIT_SECONDS,
        check=False,
    )


def test_million_count_daily_read(run: Run, tmp_path: Path) -> None:
    # COUNT=1000000 from 1970 ends in the year 4707, but only the horizon matters.
    rule = "FREQ=DAILY;COUNT=1000000"
    event = pair_event("daily@hostile.test", rule=rule, day="19700105")
    source = tmp_path / "daily.ics"
    source.write_text(calendar_text(event))
    target = tmp_path / "out.ics"

    report = sync_report(run, source, target)

    row = row_of(report, "daily@hostile.test")
    assert row["next_occurrence"] == "2027-01-01T10:00:00+01:00"
    assert_control_written(report, target)


DENSE_RULES = [
    pytest.param("FREQ=SECONDLY", id="secondly"),
    pytest.param("FREQ=MINUTELY;COUNT=1000000", id="minutely"),
]


@pytest.mark.parametrize("rule", DENSE_RULES)
def test_dense_rule_finishes(
    tenant_env: dict[str, str], tmp_path: Path, rule: str
) -> None:
    source = tmp_path / "dense.ics"
    source.write_text(calendar_text(pair_event("dense@hostile.test", rule=rule)))
    target = tmp_path / "out.ics"

    done = run_tandem(
        tenant_env,
        *("sync", "--ics", str(source), "--out", str(target), "--now", NOW),
        *("--format", "json"),
    )

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    # Expected rule: a series that meets more often than daily is no 1:1.
    assert row_of(report, "dense@hostile.test")["is_one_on_one"] is False
    assert_control_written(report, target)


# -- where the output goes -------------------------------------------------------


def test_out_directory_rejected(run: Run, tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()

    result = sync(run, CONTROL, folder)

    assert result.exit_code == 2, explain(result)
    assert f"Cannot write {folder}" in result.output
    assert "writable --out" in result.output
    assert list(folder.iterdir()) == []


def test_out_failure_records_nothing(run: Run, tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    failed = sync(run, CONTROL, folder)
    assert failed.exit_code == 2, explain(failed)
    target = tmp_path / "out.ics"

    report = sync_report(run, CONTROL, target)

    assert_control_written(report, target)


def test_out_under_file_rejected(run: Run, tmp_path: Path) -> None:
    blocker = tmp_path / "plain-file"
    blocker.write_text("not a folder\n")
    target = blocker / "out.ics"

    result = sync(run, CONTROL, target)

    assert result.exit_code == 2, explain(result)
    assert f"Cannot write {target}" in result.output
    assert blocker.read_text() == "not a folder\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to any folder")
def test_out_unwritable_rejected(run: Run, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    target = locked / "out.ics"

    result = sync(run, CONTROL, target)

    locked.chmod(0o700)
    assert result.exit_code == 2, explain(result)
    assert f"Cannot write {target}" in result.output
    assert list(locked.iterdir()) == []


def test_out_same_as_ics(run: Run, tmp_path: Path) -> None:
    source = tmp_path / "team.ics"
    source.write_bytes(CONTROL.read_bytes())

    first = sync_report(run, source, source)
    after_first = source.read_bytes()
    second = sync_report(run, source, source)

    assert_control_written(first, source)
    assert second["written"] == 0
    assert source.read_bytes() == after_first
    assert [p.name for p in tmp_path.iterdir()] == ["team.ics"]
