"""The `tandem` command line.

Exit codes: 0 success, 1 the run finished but some series failed, 2 bad
input (a file that cannot be read, an unknown id, an invalid option).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
from sqlalchemy.orm import Session

from addon import db, records
from addon.agenda import Section
from addon.errors import InputError, TandemError
from addon.logs import configure_logging
from addon.service import (
    SyncReport,
    SyncService,
    apply_settings,
    get_or_create_calendar,
    get_or_create_tenant,
)
from addon.settings import Settings, get_settings
from calendar_sync.engine import Scan
from calendar_sync.errors import CalendarFileError
from calendar_sync.providers.ical import ICalendarProvider

log = logging.getLogger(__name__)

FORMATS = click.Choice(["table", "json"])


class UserError(click.ClickException):
    """A problem the user can fix; printed without a traceback, exit code 2."""

    exit_code = 2


def _parse_now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UserError(
            f"--now {value!r} is not an ISO 8601 time; "
            "write it like 2026-12-04T09:00+01:00"
        ) from None
    if moment.tzinfo is None:
        raise UserError(f"--now {value!r} has no UTC offset; add one, such as +01:00")
    return moment


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(
            f"--due {value!r} is not a valid date; write an existing date as "
            "YYYY-MM-DD, for example 2027-01-15"
        ) from None


def _local(moment: datetime, zone_name: str) -> datetime:
    """Return `moment` in the named zone, as the summaries show times."""
    try:
        return moment.astimezone(ZoneInfo(zone_name))
    except (ZoneInfoNotFoundError, ValueError):
        return moment


def _load_calendar(path: Path, settings: Settings) -> ICalendarProvider:
    try:
        return ICalendarProvider(path, default_timezone=settings.default_timezone)
    except CalendarFileError as error:
        raise UserError(f"Cannot read the calendar: {error}") from None


@contextmanager
def _database(settings: Settings) -> Iterator[Session]:
    engine = db.make_engine(settings.database_url)
    db.migrate(engine)
    try:
        with db.transaction(db.session_factory(engine)) as session:
            yield session
    except InputError as error:
        raise UserError(str(error)) from None
    finally:
        engine.dispose()


def _settings(domains: tuple[str, ...], locale: str | None) -> Settings:
    settings = get_settings()
    update: dict[str, Any] = {}
    if domains:
        update["domains"] = [domain.lower() for domain in domains]
    if locale:
        update["locale"] = locale
    return settings.model_copy(update=update) if update else settings


def _progress(enabled: bool):  # type: ignore[no-untyped-def]
    if not enabled:
        return None

    def report(done: int, total: int) -> None:
        if done == total or done % 50 == 0:
            click.echo(f"\rreading series {done}/{total}", err=True, nl=done == total)

    return report


@click.group()
@click.option(
    "-v", "--verbose", count=True, help="Log more: -v for info, -vv for debug."
)
def cli(verbose: int) -> None:
    """Find recurring 1:1s in calendars and write agendas into their invites."""
    configure_logging(verbose)


domain_option = click.option(
    "--domain",
    "domains",
    multiple=True,
    help="An email domain of the tenant; repeat for several. Overrides TANDEM_DOMAINS.",
)
locale_option = click.option(
    "--locale", type=click.Choice(["en", "nl"]), help="Language of the agenda block."
)
now_option = click.option(
    "--now", help="Treat this ISO 8601 time as now (default: the current time)."
)


@cli.command()
@click.option(
    "--ics",
    "source",
    required=True,
    type=click.Path(path_type=Path),
    help="Calendar file to read.",
)
@click.option(
    "--out",
    "target",
    required=True,
    type=click.Path(path_type=Path),
    help="Where to write the updated calendar.",
)
@click.option(
    "--calendar",
    "calendar_name",
    default="default",
    show_default=True,
    help="Name under which Tandem remembers this calendar.",
)
@click.option(
    "--format", "output_format", type=FORMATS, default="table", show_default=True
)
@domain_option
@locale_option
@now_option
def sync(
    source: Path,
    target: Path,
    calendar_name: str,
    output_format: str,
    domains: tuple[str, ...],
    locale: str | None,
    now: str | None,
) -> None:
    """Detect 1:1s in a calendar file, write agendas, plan follow-ups, save the file."""
    settings = _settings(domains, locale)
    moment = _parse_now(now)
    provider = _load_calendar(source, settings)

    with _database(settings) as session:
        tenant = get_or_create_tenant(session, settings)
        apply_settings(tenant, settings)
        calendar = get_or_create_calendar(session, tenant, "ics", calendar_name)
        # A reply to an agenda email refreshes this file's invites later on.
        from addon.mail.refresh import remember_calendar_files

        remember_calendar_files(session, calendar, source, target)
        service = SyncService(session, tenant, settings, moment)
        report = service.sync(
            provider, calendar, progress=_progress(sys.stderr.isatty())
        )
        _save(provider, target)

    _print_sync(report, output_format, target)
    if any(row.action == "failed" for row in report.series):
        sys.exit(1)


def _save(provider: ICalendarProvider, target: Path) -> None:
    """Write the calendar, or abort the run so that no write is recorded."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        provider.save(target)
    except OSError as error:
        raise UserError(
            f"Cannot write {target}: {error.strerror or error}; "
            "choose a writable --out path."
        ) from None


def _print_sync(report: SyncReport, output_format: str, target: Path) -> None:
    if output_format == "json":
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return

    rows = [row for row in report.series if row.is_one_on_one]
    table = [
        (
            str(row.series_id),
            _clip(row.summary, 32),
            " & ".join(row.people or ()),
            row.next_start.strftime("%Y-%m-%d %H:%M") if row.next_start else "-",
            row.action
            + (
                f" (+{row.topics_from_invite} from invite)"
                if row.topics_from_invite
                else ""
            ),
            "planned" if row.followup else "",
        )
        for row in rows
    ]
    _echo_table(("ID", "1:1", "People", "Next", "Agenda", "Follow-up"), table)
    others = len(report.series) - len(rows)
    click.echo(
        f"\n{len(rows)} one-on-ones, {report.written} agendas written, "
        f"{others} other series, {len(report.skipped)} events skipped; saved {target}"
    )
    for item in report.skipped:
        click.echo(f"skipped {item['where']}: {item['reason']}", err=True)


@cli.command()
@click.option(
    "--ics",
    "source",
    required=True,
    type=click.Path(path_type=Path),
    help="Calendar file to read.",
)
@click.option(
    "--explain",
    is_flag=True,
    help="Show every series with the reasons for the decision.",
)
@click.option(
    "--format", "output_format", type=FORMATS, default="table", show_default=True
)
@domain_option
@now_option
def detect(
    source: Path,
    explain: bool,
    output_format: str,
    domains: tuple[str, ...],
    now: str | None,
) -> None:
    """List the recurring 1:1s in a calendar file, their people and next occurrence."""
    settings = _settings(domains, None)
    provider = _load_calendar(source, settings)
    with _database(settings) as session:
        tenant = get_or_create_tenant(session, settings)
        apply_settings(tenant, settings)
        service = SyncService(session, tenant, settings, _parse_now(now))
        result = service.scan(provider, _progress(sys.stderr.isatty()))
        session.rollback()
    _print_detect(result, provider, explain, output_format)


def _print_detect(
    result: Scan, provider: ICalendarProvider, explain: bool, output_format: str
) -> None:
    views = result.series if explain else tuple(result.one_on_ones)
    if output_format == "json":
        payload = {
            "series": [
                {
                    "uid": view.uid,
                    "summary": view.decision.summary,
                    "is_one_on_one": view.decision.is_one_on_one,
                    "people": list(view.decision.people)
                    if view.decision.people
                    else None,
                    "next_occurrence": view.decision.next_start.isoformat()
                    if view.decision.next_start
                    else None,
                    "reasons": [reason.to_dict() for reason in view.decision.reasons],
                }
                for view in views
            ],
            "skipped": _skipped(result, provider),
        }
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return

    if not explain:
        table = [
            (
                _clip(view.decision.summary, 36),
                " & ".join(view.decision.people or ()),
                view.decision.next_start.strftime("%Y-%m-%d %H:%M")
                if view.decision.next_start
                else "-",
            )
            for view in views
        ]
        _echo_table(("1:1", "People", "Next"), table)
        click.echo(f"\n{len(table)} one-on-ones in {len(result.series)} series")
        _echo_skipped(result, provider)
        return

    for view in views:
        verdict = "1:1" if view.decision.is_one_on_one else "not a 1:1"
        click.echo(
            f"{view.decision.summary or '(no title)'}  [{verdict}]  uid={view.uid}"
        )
        for reason in view.decision.reasons:
            mark = "+" if reason.passed else "-"
            click.echo(f"  {mark} {reason.rule}: {reason.message}")
        click.echo("")
    _echo_skipped(result, provider)


def _skipped(result: Scan, provider: ICalendarProvider) -> list[dict[str, str]]:
    """Events the file could not give, and series whose rule cannot be expanded."""
    items = [asdict(item) for item in provider.skipped]
    items += [
        {"where": f"UID {view.uid}", "reason": view.problem}
        for view in result.series
        if view.problem
    ]
    return items


def _echo_skipped(result: Scan, provider: ICalendarProvider) -> None:
    for item in _skipped(result, provider):
        click.echo(f"skipped {item['where']}: {item['reason']}", err=True)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _echo_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [
        max(len(cell) for cell in column) for column in zip(header, *rows, strict=False)
    ]
    for line in (header, *rows):
        click.echo(
            "  ".join(
                cell.ljust(width) for cell, width in zip(line, widths, strict=True)
            ).rstrip()
        )


@cli.command("series")
@click.option("--all", "show_all", is_flag=True, help="Include series that are no 1:1.")
@click.option(
    "--format", "output_format", type=FORMATS, default="table", show_default=True
)
def series_command(show_all: bool, output_format: str) -> None:
    """List the series found by earlier syncs, with the ids other commands take."""
    settings = get_settings()
    with _database(settings) as session:
        tenant = get_or_create_tenant(session, settings)
        rows = records.list_series(session, tenant, include_all=show_all)
        items = [
            {
                "id": row.id,
                "summary": row.summary,
                "people": [row.person_a, row.person_b] if row.person_a else None,
                "is_one_on_one": row.is_one_on_one,
                "next_occurrence": _local(row.next_occurrence, row.timezone).isoformat()
                if row.next_occurrence
                else None,
                "state": row.state,
            }
            for row in rows
        ]
    if output_format == "json":
        click.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return
    table = [
        (
            str(item["id"]),
            _clip(item["summary"], 32),
            " & ".join(item["people"] or ()),
            (item["next_occurrence"] or "-")[:16].replace("T", " "),
            item["state"],
        )
        for item in items
    ]
    _echo_table(("ID", "Series", "People", "Next", "State"), table)


# -- topics, notes, action items ------------------------------------------------


@cli.group()
def topic() -> None:
    """Add, list and tick off agenda topics."""


@topic.command("add")
@click.argument("series")
@click.argument("text")
@click.option(
    "--section",
    type=click.Choice([section.value for section in Section]),
    default=Section.ROLE.value,
    show_default=True,
)
@click.option(
    "--by", "author", default="", help="Email address of the person raising it."
)
def topic_add(series: str, text: str, section: str, author: str) -> None:
    """Add TEXT as a topic for the next occurrence of SERIES (an id or a UID)."""
    settings = get_settings()
    with _database(settings) as session:
        tenant = get_or_create_tenant(session, settings)
        row = records.add_topic(session, tenant, series, text, Section(section), author)
        click.echo(f"topic {row.id} added to {row.raised_for:%Y-%m-%d} ({row.section})")


@topic.command("list")
@click.argument("series")
@click.option("--all", "show_all", is_flag=True, help="Include discussed topics.")
def topic_list(series: str, show_all: bool) -> None:
    """List the topics of SERIES."""
    settings = get_settings()
    with _database(settings) as session:
        tenant = get_or_create_tenant(session, settings)
        rows = records.list_topics(session, tenant, series, include_discussed=show_all)
        table = [
            (
                str(row.id),
                f"{row.raised_for:%Y-%m-%d}",
                str(row.section),
                "yes" if row.discussed else "",
                _clip(row.text, 60),
            )
            for row in rows
        ]
    _echo_table(("ID", "Raised for", "Section", "Discussed", "Topic"), table)


@topic.command("done")
@click.argument("topic_id", type=int)
def topic_done(topic_id: int) -> None:
    """Mark topic TOPIC_ID as discussed, so it no longer carries over."""
    settings = get_settings()
    with _database(settings) as session:
        tenant = get_or_create_tenant(session, settings)
        records.mark_discussed(session, tenant, topic_id, datetime.now(UTC))
    click.echo(f"topic {topic_id} marked as discussed")


@cli.command("note")
@click.argument("series")
@click.argument("text")
@click.option(
    "--by", "author", required=True, help="Email address of the note's author."
)
@click.option(
    "--private",
    is_flag=True,
    help="Keep the note to its author; it never leaves Tandem.",
)
@click.option(
    "--hide-from-invite",
    is_flag=True,
    help="Share the note, but never show it in an invite.",
)
def note(
    series: str, text: str, author: str, private: bool, hide_from_invite: bool
) -> None:
    """Add a note to the next occurrence of SERIES."""
    settings = get_settings()
    with _database(settings) as session:
        tenant = get_or_create_tenant(session, settings)
        row = records.add_note(
            session,
            tenant,
            series,
            text,
            author,
            private=private,
            hide_from_invite=hide_from_invite,
        )
        click.echo(f"note {row.id} added ({row.visibility})")


@cli.group()
def action() -> None:
    """Add and close action items."""


@action.command("add")
@click.argument("series")
@click.argument("text")
@click.option("--owner", default="", help="Email address of the person who does it.")
@click.option("--due", help="Due date, YYYY-MM-DD.")
def action_add(series: str, text: str, owner: str, due: str | None) -> None:
    """Add an action item to SERIES."""
    settings = get_settings()
    due_date = _parse_date(due) if due else None
    with _database(settings) as session:
        tenant = get_or_create_tenant(session, settings)
        row = records.add_action_item(session, tenant, series, text, owner, due_date)
        click.echo(f"action item {row.id} added")


@action.command("done")
@click.argument("item_id", type=int)
def action_done(item_id: int) -> None:
    """Close action item ITEM_ID."""
    settings = get_settings()
    with _database(settings) as session:
        tenant = get_or_create_tenant(session, settings)
        records.close_action_item(session, tenant, item_id)
    click.echo(f"action item {item_id} closed")


@cli.command("goal-review")
@click.argument("series")
@click.option(
    "--occurrence",
    "when",
    help="RECURRENCE-ID of the occurrence, ISO 8601 (default: the next one).",
)
def goal_review(series: str, when: str | None) -> None:
    """Mark an occurrence of SERIES as a goal review, so a follow-up is planned."""
    settings = get_settings()
    moment = _parse_now(when) if when else None
    with _database(settings) as session:
        tenant = get_or_create_tenant(session, settings)
        row = records.mark_goal_review(session, tenant, series, moment)
        local = _local(row.start, row.series.timezone)
        click.echo(f"occurrence {local:%Y-%m-%d %H:%M} marked as a goal review")


@cli.command("opt-out")
@click.argument("email")
def opt_out(email: str) -> None:
    """Stop Tandem for EMAIL: its blocks leave future invites on the next sync."""
    settings = get_settings()
    with _database(settings) as session:
        tenant = get_or_create_tenant(session, settings)
        person = records.set_opt_out(session, tenant, email, True)
        known = records.has_one_on_ones(session, tenant, person.email)
    click.echo(f"{person.email} opted out")
    if not known:
        click.echo(
            f"Note: no 1:1 of {person.email} is known yet; check the address, or "
            "the opt-out takes effect once a sync finds one.",
            err=True,
        )


@cli.command("opt-in")
@click.argument("email")
def opt_in(email: str) -> None:
    """Start Tandem again for EMAIL after an opt-out."""
    settings = get_settings()
    with _database(settings) as session:
        tenant = get_or_create_tenant(session, settings)
        records.set_opt_out(session, tenant, email, False)
    click.echo(f"{email} opted in")


@cli.command("parse-reply")
@click.argument("message", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format", "output_format", type=FORMATS, default="table", show_default=True
)
def parse_reply_command(message: Path, output_format: str) -> None:
    """Show what Tandem would take from the email MESSAGE (an .eml file)."""
    from addon.inbound import parse_reply

    parsed = parse_reply(message.read_bytes())
    if output_format == "json":
        click.echo(json.dumps(parsed.to_dict(), indent=2, ensure_ascii=False))
        return
    if parsed.rejection is not None:
        click.echo(
            f"nothing taken ({parsed.rejection.code}): {parsed.rejection.message}"
        )
        return
    for candidate in parsed.topics:
        guessed = " (guessed)" if candidate.section_guessed else ""
        click.echo(f"{candidate.section}{guessed}: {candidate.text}")


# -- services -------------------------------------------------------------------


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Run the web app (API and webhooks)."""
    import uvicorn

    uvicorn.run("addon.web.app:create_app", factory=True, host=host, port=port)


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker(celery_args: tuple[str, ...]) -> None:
    """Run a Celery worker on CELERY_BROKER_URL; extra arguments go to Celery."""
    from workers.app import app

    if not get_settings().broker_url:
        raise UserError(
            "CELERY_BROKER_URL is not set; set it to a Redis or RabbitMQ URL."
        )
    app.worker_main(["worker", "--loglevel=INFO", *celery_args])


def main() -> None:
    try:
        cli()
    except TandemError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(2)


from addon.mail.cli import (  # noqa: E402 - commands attach last
    email_settings,
    send_agendas,
    smtpd,
)

cli.add_command(smtpd)
cli.add_command(send_agendas)
cli.add_command(email_settings)

from manifests.cli import manifests as manifests_command  # noqa: E402

cli.add_command(manifests_command)

from addon.providers_cli import google, microsoft  # noqa: E402

cli.add_command(google)
cli.add_command(microsoft)


if __name__ == "__main__":
    main()
