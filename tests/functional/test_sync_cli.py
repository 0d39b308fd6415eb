"""`tandem sync` and `tandem detect` end to end: file in, database, file out.

Each test runs the real command line in process against a real database
(SQLite, and PostgreSQL when DATABASE_URL is set) under its own tenant.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import icalendar
import pytest
from click.testing import CliRunner, Result

from addon.cli import cli
from addon.settings import get_settings
from calendar_sync import merge

DATA = Path(__file__).with_name("data")
OFFICE = DATA / "office.ics"
NOW = "2027-01-01T09:00+01:00"

Run = Callable[..., Result]


@pytest.fixture
def run(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Run `tandem ARGS` under this test's own tenant, checking the exit code."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TANDEM_TENANT", f"test-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("TANDEM_DOMAINS", "office.test")

    def invoke(*args: str, code: int = 0) -> Result:
        get_settings.cache_clear()
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    yield invoke
    get_settings.cache_clear()


def events(path: Path) -> list[icalendar.Event]:
    return list(icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT"))


def description_of(path: Path, uid: str, recurrence: str) -> str:
    for event in events(path):
        rid = event.get("RECURRENCE-ID")
        if (
            str(event["UID"]) == uid
            and rid
            and rid.dt.isoformat().startswith(recurrence)
        ):
            return str(event.get("DESCRIPTION", ""))
    raise AssertionError(f"no instance {recurrence} of {uid} in {path}")


def sync_json(run: Run, source: Path, target: Path, *extra: str) -> dict:
    result = run(
        "sync",
        "--ics",
        str(source),
        "--out",
        str(target),
        "--format",
        "json",
        "--now",
        NOW,
        *extra,
    )
    return json.loads(result.output)


def series_id(report: dict, uid: str) -> int:
    return next(row["series_id"] for row in report["series"] if row["uid"] == uid)


def test_sync_writes_only_one_on_ones(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "out.ics"

    report = sync_json(run, OFFICE, out)

    taken = {row["uid"] for row in report["series"] if row["is_one_on_one"]}
    assert taken == {
        "pair-anna-bram@office.test",
        "pair-anna-chris@office.test",
        "pair-anna-eva@office.test",
    }
    assert report["written"] == 3
    description = description_of(out, "pair-anna-bram@office.test", "2027-01-04T10:00")
    assert description.startswith("Agenda van Anna:\nkoffie meenemen\n")
    assert "CURRENT ROLE" in description
    team = [e for e in events(out) if str(e["UID"]) == "team-weekly@office.test"]
    assert [str(e.get("DESCRIPTION", "")) for e in team] == [""]


def test_second_sync_changes_nothing(run: Run, tmp_path: Path) -> None:
    first, second = tmp_path / "first.ics", tmp_path / "second.ics"
    sync_json(run, OFFICE, first)

    report = sync_json(run, first, second)

    assert report["written"] == 0
    assert second.read_bytes() == first.read_bytes()


def test_text_outside_block_survives_removal(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "out.ics"
    sync_json(run, OFFICE, out)

    description = description_of(out, "pair-anna-bram@office.test", "2027-01-04T10:00")

    assert merge.remove_block(description) == "Agenda van Anna:\nkoffie meenemen\n"


def test_topic_carries_over_until_discussed(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "out.ics"
    report = sync_json(run, OFFICE, out)
    ident = str(series_id(report, "pair-anna-bram@office.test"))
    run("topic", "add", ident, "Feedback op de presentatie", "--section", "role")
    run("topic", "add", ident, "Verhuizing", "--section", "personal")
    discussed = run("topic", "list", ident).output.splitlines()[-1].split()[0]
    run("topic", "done", discussed)

    run("sync", "--ics", str(out), "--out", str(out), "--now", "2027-01-05T09:00+01:00")

    next_block = merge.block_body(
        description_of(out, "pair-anna-bram@office.test", "2027-01-11T10:00")
    )
    assert next_block is not None
    assert (
        "Feedback op de presentatie (on the agenda since 4 January 2027)" in next_block
    )
    assert "Verhuizing" not in next_block


def test_edit_inside_block_becomes_topic(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "out.ics"
    report = sync_json(run, OFFICE, out)
    uid = "pair-anna-bram@office.test"
    calendar = icalendar.Calendar.from_ical(out.read_bytes())
    for event in calendar.walk("VEVENT"):
        if str(event["UID"]) == uid and event.get("RECURRENCE-ID"):
            text = str(event["DESCRIPTION"]).replace(
                "No topics yet.", "- Budget voor de cursus", 1
            )
            event["DESCRIPTION"] = text
    out.write_bytes(calendar.to_ical())

    again = sync_json(run, out, out)

    row = next(row for row in again["series"] if row["uid"] == uid)
    assert row["topics_from_invite"] == 1
    listed = run("topic", "list", str(series_id(report, uid))).output
    assert "Budget voor de cursus" in listed
    block = merge.block_body(description_of(out, uid, "2027-01-04T10:00"))
    assert block is not None and block.count("Budget voor de cursus") == 1


def test_private_note_never_in_invite(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "out.ics"
    ident = str(series_id(sync_json(run, OFFICE, out), "pair-anna-bram@office.test"))
    run("note", ident, "Gedeelde notitie over het project", "--by", "anna@office.test")
    run(
        "note",
        ident,
        "Geheime notitie over Bram",
        "--by",
        "anna@office.test",
        "--private",
    )
    run(
        "note",
        ident,
        "Niet in de uitnodiging",
        "--by",
        "bram@office.test",
        "--hide-from-invite",
    )

    run("sync", "--ics", str(out), "--out", str(out), "--now", "2027-01-05T09:00+01:00")

    text = out.read_text()
    block = merge.block_body(
        description_of(out, "pair-anna-bram@office.test", "2027-01-11T10:00")
    )
    assert block is not None
    assert "Gedeelde notitie over het project" in block
    assert "Geheime notitie" not in text
    assert "Niet in de uitnodiging" not in text


def test_third_person_instance_gets_no_notes(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "out.ics"
    ident = str(series_id(sync_json(run, OFFICE, out), "pair-anna-chris@office.test"))
    run("note", ident, "Notitie voor Chris", "--by", "anna@office.test")

    # The note belongs to the 5 January occurrence, which has Dirk as a third person;
    # the next one (19 January) is the plain pair again and may show it.
    run("sync", "--ics", str(out), "--out", str(out), "--now", "2027-01-06T09:00+01:00")

    first = description_of(out, "pair-anna-chris@office.test", "2027-01-05T14:00")
    later = description_of(out, "pair-anna-chris@office.test", "2027-01-19T14:00")
    assert "Notitie voor Chris" not in first
    assert "Notitie voor Chris" in later


def test_opt_out_removes_blocks(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "out.ics"
    sync_json(run, OFFICE, out)
    run("opt-out", "Bram@Office.test")

    report = sync_json(run, out, out)

    row = next(
        row for row in report["series"] if row["uid"] == "pair-anna-bram@office.test"
    )
    assert row["action"] == "removed"
    description = description_of(out, "pair-anna-bram@office.test", "2027-01-04T10:00")
    assert description == "Agenda van Anna:\nkoffie meenemen\n"


def test_goal_review_plans_one_followup(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "out.ics"
    sync_json(run, OFFICE, out)
    sync_json(run, out, out)

    followups = [e for e in events(out) if str(e["UID"]).startswith("tandem-followup-")]

    assert len(followups) == 1
    event = followups[0]
    # Six weeks after 14 January is Thursday 25 February; Anna is at the dentist 9-10.
    assert event["DTSTART"].dt.isoformat() == "2027-02-25T10:00:00+01:00"
    attendees = sorted(str(value).lower() for value in event.get("ATTENDEE"))
    assert attendees == ["mailto:anna@office.test", "mailto:eva@office.test"]


def test_goal_review_marked_from_cli(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "out.ics"
    ident = str(series_id(sync_json(run, OFFICE, out), "pair-anna-bram@office.test"))

    run("goal-review", ident)
    sync_json(run, out, out)

    followups = [e for e in events(out) if str(e["UID"]).startswith("tandem-followup-")]
    assert sorted(str(e["SUMMARY"]) for e in followups) == [
        "Follow-up: 1:1 Anna / Bram",
        "Follow-up: Check-in Anna en Eva",
    ]


def test_unreadable_file_writes_nothing(run: Run, tmp_path: Path) -> None:
    broken = tmp_path / "broken.ics"
    broken.write_text("BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:x\n")
    out = tmp_path / "out.ics"

    result = run("sync", "--ics", str(broken), "--out", str(out), code=2)

    assert "broken.ics" in result.output
    assert not out.exists()


def test_missing_file_is_reported(run: Run, tmp_path: Path) -> None:
    result = run(
        "sync",
        "--ics",
        str(tmp_path / "nope.ics"),
        "--out",
        str(tmp_path / "o.ics"),
        code=2,
    )

    assert "nope.ics" in result.output


def test_detect_explains_each_series(run: Run) -> None:
    result = run(
        "detect", "--ics", str(OFFICE), "--explain", "--format", "json", "--now", NOW
    )

    payload = json.loads(result.output)
    by_uid = {series["uid"]: series for series in payload["series"]}
    assert len(by_uid) == 5
    team = {
        reason["rule"]: reason
        for reason in by_uid["team-weekly@office.test"]["reasons"]
    }
    assert team["two-people"]["passed"] is False
    assert "3 people" in team["two-people"]["message"]
    focus = by_uid["focus-bram@office.test"]
    assert focus["is_one_on_one"] is False
    assert by_uid["pair-anna-bram@office.test"]["people"] == [
        "anna@office.test",
        "bram@office.test",
    ]


def test_detect_table_lists_one_on_ones(run: Run) -> None:
    result = run("detect", "--ics", str(OFFICE), "--now", NOW)

    lines = result.output.splitlines()
    assert lines[0].split() == ["1:1", "People", "Next"]
    assert any(
        "1:1 Anna / Bram" in line and "2027-01-04 10:00" in line for line in lines
    )
    assert lines[-1] == "3 one-on-ones in 5 series"


def test_followup_kept_when_rerun_from_original(run: Run, tmp_path: Path) -> None:
    first, second = tmp_path / "first.ics", tmp_path / "second.ics"
    sync_json(run, OFFICE, first)

    sync_json(run, OFFICE, second)

    def followup_starts(path: Path) -> list[str]:
        return [
            event["DTSTART"].dt.isoformat()
            for event in events(path)
            if str(event["UID"]).startswith("tandem-followup-")
        ]

    assert followup_starts(first) == ["2027-02-25T10:00:00+01:00"]
    assert followup_starts(second) == followup_starts(first)
