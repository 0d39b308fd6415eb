"""Tandem's main job for one calendar: detect 1:1s, refresh agendas, plan follow-ups.

`SyncService.sync` runs the steps in order and returns a `SyncReport`; each
series is handled on its own, so one failing series is reported and the rest
go on. Every write to a calendar is logged at info and recorded in the
tenant's audit log.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from addon import event_store, models
from addon.agenda import Section
from addon.agendas import build_agenda, locale_for
from addon.followups import (
    WorkingHours,
    find_slot,
    followup_uid,
    is_goal_review,
    search_window,
)
from addon.settings import Settings
from calendar_sync.detection import DetectionPolicy, Rule, decide, only_pair_invited
from calendar_sync.engine import (
    Progress,
    Scan,
    SeriesView,
    group_events,
    scan,
    view_series,
)
from calendar_sync.errors import ProviderError
from calendar_sync.inject import InjectResult, Outcome, inject_block, remove_block
from calendar_sync.merge import merge_block
from calendar_sync.models import (
    MAX_UID_LENGTH,
    Attendee,
    AttendeeRole,
    BusyInterval,
    Event,
    EventKey,
    NewEvent,
)
from calendar_sync.providers.base import CalendarProvider
from mail_templates.render import render_invite_block

log = logging.getLogger(__name__)

#: Goal reviews this long ago still get a follow-up planned.
REVIEW_LOOKBACK = timedelta(days=28)


@dataclass(slots=True)
class SeriesResult:
    """The outcome of one sync for one series: a row of `tandem sync`'s summary."""

    series_id: int
    uid: str
    summary: str
    is_one_on_one: bool
    people: tuple[str, str] | None
    next_start: datetime | None
    action: str = ""
    detail: str = ""
    topics_from_invite: int = 0
    followup: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "series_id": self.series_id,
            "uid": self.uid,
            "summary": self.summary,
            "is_one_on_one": self.is_one_on_one,
            "people": list(self.people) if self.people else None,
            "next_occurrence": self.next_start.isoformat() if self.next_start else None,
            "action": self.action,
            "detail": self.detail,
            "topics_from_invite": self.topics_from_invite,
            "followup": self.followup,
        }


@dataclass(slots=True)
class SyncReport:
    series: list[SeriesResult] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)

    @property
    def written(self) -> int:
        return sum(1 for row in self.series if row.action == Outcome.WRITTEN)

    def to_dict(self) -> dict[str, object]:
        return {
            "one_on_ones": sum(1 for row in self.series if row.is_one_on_one),
            "series": [row.to_dict() for row in self.series],
            "written": self.written,
            "followups": [row.followup for row in self.series if row.followup],
            "skipped": self.skipped,
        }


def get_or_create_tenant(
    session: Session, settings: Settings, name: str | None = None
) -> models.Tenant:
    """Return the tenant named in the settings, creating it with their defaults."""
    name = name or settings.tenant
    tenant = session.scalar(select(models.Tenant).where(models.Tenant.name == name))
    if tenant is None:
        tenant = models.Tenant(
            name=name,
            domains=list(settings.domains),
            locale=settings.locale,
            allow_notes_in_invite=settings.allow_notes_in_invite,
        )
        session.add(tenant)
        session.flush()
    return tenant


def apply_settings(tenant: models.Tenant, settings: Settings) -> None:
    """Copy the tenant-wide settings that were given explicitly onto the tenant row.

    The command line calls this on every run. A value from the environment
    or a flag (such as --domain) becomes the tenant's configuration and stays
    until it is given again, so later commands without the flag keep it.
    """
    given = settings.model_fields_set
    if "domains" in given:
        tenant.domains = list(settings.domains)
    if "locale" in given:
        tenant.locale = settings.locale
    if "allow_notes_in_invite" in given:
        tenant.allow_notes_in_invite = settings.allow_notes_in_invite


def get_or_create_calendar(
    session: Session, tenant: models.Tenant, provider: str, address: str
) -> models.Calendar:
    calendar = session.scalar(
        select(models.Calendar).where(
            models.Calendar.tenant_id == tenant.id,
            models.Calendar.provider == provider,
            models.Calendar.address == address,
        )
    )
    if calendar is None:
        calendar = models.Calendar(
            tenant_id=tenant.id, provider=provider, address=address
        )
        session.add(calendar)
        session.flush()
    return calendar


#: Return a person's busy times in [start, end) from a calendar other than
#: the one being synced, or None when no such calendar can be read.
FreeBusyLookup = Callable[[str, datetime, datetime], list[BusyInterval] | None]


class SyncService:
    """Runs the main job for one tenant, inside the caller's transaction.

    `free_busy` fills in the busy times of a person whom the synced calendar's
    provider cannot see, such as the Google attendee of a Microsoft 365
    organizer, so that a follow-up lands in a slot free in both calendars.
    """

    def __init__(
        self,
        session: Session,
        tenant: models.Tenant,
        settings: Settings,
        now: datetime,
        free_busy: FreeBusyLookup | None = None,
    ) -> None:
        self.session = session
        self.tenant = tenant
        self.settings = settings
        self.now = now
        self.free_busy = free_busy
        self._remember_writes = True
        # Rows read once per sync instead of once per series: the calendar's
        # series by UID, and the tenant's people by address (None when the
        # address has no row). Only this service adds such rows meanwhile.
        self._series_rows: dict[int, dict[str, models.Series]] = {}
        self._people: dict[str, models.Person | None] = {}

    @property
    def policy(self) -> DetectionPolicy:
        rows = self.session.execute(
            select(models.Person.email, models.Person.manager_email).where(
                models.Person.tenant_id == self.tenant.id,
                models.Person.manager_email.is_not(None),
            )
        )
        managers = {email: manager for email, manager in rows if manager}
        return DetectionPolicy(
            domains=frozenset(self.tenant.domains),
            max_duration=timedelta(minutes=self.settings.max_duration_minutes),
            managers=managers,
        )

    def scan(
        self, provider: CalendarProvider, progress: Progress | None = None
    ) -> Scan:
        horizon = timedelta(days=self.settings.horizon_days)
        return scan(provider, self.policy, self.now, horizon, progress=progress)

    def sync(
        self,
        provider: CalendarProvider,
        calendar: models.Calendar,
        progress: Progress | None = None,
    ) -> SyncReport:
        """Detect, inject and plan for every series in the calendar of `provider`.

        A persistent calendar is synced incrementally: only series touched by
        the changes since the stored cursor are judged again, plus 1:1s whose
        next occurrence has passed or whose agenda changed in Tandem.
        """
        self._series_rows.clear()
        self._people.clear()
        persistent = provider.persistent
        # Only a persistent calendar reports Tandem's writes back on the next
        # sync, so only then is the stored copy worth keeping up to date.
        self._remember_writes = persistent
        changes = provider.list_changes(calendar.cursor if persistent else None)
        report = SyncReport(
            skipped=[asdict(item) for item in getattr(provider, "skipped", [])]
        )
        if persistent:
            affected = event_store.apply_changes(self.session, calendar, changes)
            groups = {
                uid: event_store.series_members(self.session, calendar, uid)
                for uid in sorted(affected)
            }
        else:
            groups, _singles = group_events(changes.events)
            self._forget_missing_series(calendar, set(groups))

        policy = self.policy
        horizon = timedelta(days=self.settings.horizon_days)
        for index, (uid, members) in enumerate(groups.items(), start=1):
            if not members or not _is_series(members):
                self._forget_series(calendar, uid)
            else:
                view = view_series(
                    provider, members, policy, self.now, horizon, REVIEW_LOOKBACK
                )
                self._process(provider, calendar, view, report)
            if progress:
                progress(index, len(groups))

        if persistent:
            due = self._due_one_on_ones(
                calendar, set(groups), provider.description_format
            )
            for series in due:
                members = event_store.series_members(self.session, calendar, series.uid)
                view = self._refresh_view(provider, series, members, policy, horizon)
                if view is not None:
                    self._process(provider, calendar, view, report)

        calendar.cursor = changes.cursor
        calendar.last_synced_at = self.now
        return report

    def _process(
        self,
        provider: CalendarProvider,
        calendar: models.Calendar,
        view: SeriesView,
        report: SyncReport,
    ) -> None:
        if view.problem:
            report.skipped.append({"where": f"UID {view.uid}", "reason": view.problem})
        series = self._store_series(calendar, view)
        row = SeriesResult(
            series.id,
            view.uid,
            view.decision.summary,
            view.decision.is_one_on_one,
            view.decision.people,
            view.decision.next_start,
        )
        report.series.append(row)
        if view.decision.is_one_on_one:
            self._handle_one_on_one(provider, series, view, row)

    def _due_one_on_ones(
        self, calendar: models.Calendar, exclude: set[str], fmt: str
    ) -> list[models.Series]:
        """1:1s the calendar did not change, but whose block may be out of date."""
        rows = self.session.scalars(
            select(models.Series).where(
                models.Series.calendar_id == calendar.id,
                models.Series.is_one_on_one.is_(True),
            )
        )
        return [
            series
            for series in rows
            if series.uid not in exclude and self._block_is_stale(series, fmt)
        ]

    def _block_is_stale(self, series: models.Series, fmt: str) -> bool:
        # The stored hash is of the block as rendered for the provider's
        # description format, so the comparison must render the same format.
        if series.next_occurrence is None or series.next_occurrence < self.now:
            return True
        occurrence = self._occurrence_row(series, series.next_recurrence_id)
        if occurrence is None or occurrence.block_hash is None:
            return True
        block = self._render(series, occurrence, occurrence.private_invite, fmt)
        return _hash(block) != occurrence.block_hash

    def _refresh_view(
        self,
        provider: CalendarProvider,
        series: models.Series,
        members: list[Event],
        policy: DetectionPolicy,
        horizon: timedelta,
    ) -> SeriesView | None:
        """Judge an unchanged series again; ask the provider only if time moved on."""
        if not members or not _is_series(members):
            return None
        passed = series.next_occurrence is None or series.next_occurrence < self.now
        if passed:
            return view_series(
                provider, members, policy, self.now, horizon, REVIEW_LOOKBACK
            )

        master, overrides = members[0], tuple(members[1:])
        upcoming = _stored_instance(master, overrides, series)
        decision = decide(master, overrides, (upcoming,), policy)
        return SeriesView(master, overrides, decision, (upcoming,), from_store=True)

    def _forget_missing_series(self, calendar: models.Calendar, uids: set[str]) -> None:
        for series in list(self._calendar_series(calendar).values()):
            if series.uid not in uids:
                self._forget_series(calendar, series.uid)

    def _forget_series(self, calendar: models.Calendar, uid: str) -> None:
        """Mark a series that left the calendar; its topics and notes are kept."""
        series = self._calendar_series(calendar).get(uid)
        if series is not None and series.state != "gone":
            series.is_one_on_one = False
            series.state = "gone"
            series.next_occurrence = series.next_recurrence_id = None

    # -- series -----------------------------------------------------------

    def _calendar_series(self, calendar: models.Calendar) -> dict[str, models.Series]:
        """Return the calendar's series rows by UID, read in one query per sync."""
        rows = self._series_rows.get(calendar.id)
        if rows is None:
            query = select(models.Series).where(
                models.Series.calendar_id == calendar.id
            )
            rows = {series.uid: series for series in self.session.scalars(query)}
            self._series_rows[calendar.id] = rows
        return rows

    def _store_series(
        self, calendar: models.Calendar, view: SeriesView
    ) -> models.Series:
        rows = self._calendar_series(calendar)
        series = rows.get(view.uid)
        created = series is None
        if series is None:
            series = models.Series(
                tenant_id=self.tenant.id, calendar_id=calendar.id, uid=view.uid
            )
            self.session.add(series)
            rows[view.uid] = series

        decision = view.decision
        master = view.master
        series.summary = decision.summary
        series.organizer_email = (
            master.organizer.email if master and master.organizer else ""
        )
        # A UID too long for the column links nothing; the series stays.
        ical_uid = master.ical_uid if master else ""
        series.ical_uid = ical_uid if len(ical_uid) <= MAX_UID_LENGTH else ""
        series.is_one_on_one = decision.is_one_on_one
        series.person_a, series.person_b = decision.people or (None, None)
        series.reasons = [reason.to_dict() for reason in decision.reasons]
        if any(reason.rule is Rule.ORGANIZER for reason in decision.failed):
            series.state = "not-organizer"
        elif not decision.is_one_on_one:
            series.state = "not-one-on-one"
        series.timezone = master.timezone if master else "UTC"
        upcoming = view.next_occurrence
        series.next_occurrence = upcoming.start if upcoming else None
        series.next_recurrence_id = upcoming.recurrence_id if upcoming else None
        if created:
            # The caller needs the new row's id; changes to a row that has one
            # go out with the next autoflush.
            self.session.flush()
        return series

    def _handle_one_on_one(
        self,
        provider: CalendarProvider,
        series: models.Series,
        view: SeriesView,
        row: SeriesResult,
    ) -> None:
        try:
            self._ensure_people(view)
            if self._is_switched_off(series):
                row.action, row.detail = self._clear_upcoming(provider, series, view)
                series.state = "opted-out"
            elif provider.owner and provider.owner != series.organizer_email:
                row.action = "skipped"
                row.detail = (
                    f"{provider.owner} does not organize this 1:1; its agenda is "
                    f"written from the calendar of {series.organizer_email}"
                )
                series.state = "not-organizer"
            else:
                self._refresh_agenda(provider, series, view, row)
                row.followup = self._plan_followups(provider, series, view)
        except ProviderError as error:
            log.error(
                "series failed",
                extra={"series": series.id, "error": type(error).__name__},
            )
            row.action, row.detail = "failed", str(error)
            series.state = "error"

    def _ensure_people(self, view: SeriesView) -> None:
        names = {}
        if view.master:
            everyone = [view.master.organizer, *view.master.attendees]
            names = {person.email: person.name for person in everyone if person}
        for email in view.decision.people or ():
            if self._person(email) is None:
                person = models.Person(
                    tenant_id=self.tenant.id, email=email, name=names.get(email, "")
                )
                self.session.add(person)
                self._people[email] = person

    def _person(self, email: str) -> models.Person | None:
        """Return the person row of `email`, querying each address once per sync."""
        if email not in self._people:
            self._people[email] = self.session.scalar(
                select(models.Person).where(
                    models.Person.tenant_id == self.tenant.id,
                    models.Person.email == email,
                )
            )
        return self._people[email]

    def _is_switched_off(self, series: models.Series) -> bool:
        if not self.tenant.enabled:
            return True
        for email in (series.person_a, series.person_b):
            person = self._person(email or "")
            if person is not None and person.opted_out:
                return True
        return False

    def _clear_upcoming(
        self, provider: CalendarProvider, series: models.Series, view: SeriesView
    ) -> tuple[str, str]:
        """Remove Tandem's block from every upcoming instance.

        An opt-out, or a tenant switched off, takes Tandem out of future
        invites; past occurrences keep what they had.
        """
        removed = 0
        for event in view.upcoming:
            result = remove_block(provider, event.key)
            if result.outcome is Outcome.REMOVED and result.event is not None:
                removed += 1
                reason = "a participant opted out or the tenant is off"
                self._audit("remove-block", result.event, reason, series.calendar_id)
        return ("removed" if removed else "unchanged", "opted out")

    # -- agenda -----------------------------------------------------------

    def _refresh_agenda(
        self,
        provider: CalendarProvider,
        series: models.Series,
        view: SeriesView,
        row: SeriesResult,
    ) -> None:
        event = view.next_occurrence
        if event is None:  # not reached: a 1:1 passed the "upcoming" rule
            return
        occurrence = self._store_occurrence(series, event)
        pair = (series.person_a or "", series.person_b or "")
        occurrence.private_invite = only_pair_invited(event, pair)
        added: list[int] = []
        rendered: list[str] = []

        def render(edited_lines: list[str]) -> str:
            added.extend(self._topics_from_invite(series, occurrence, edited_lines))
            block = self._render(
                series,
                occurrence,
                occurrence.private_invite,
                provider.description_format,
            )
            rendered.append(block)
            return block

        result = inject_block(provider, event.key, render, occurrence.block_body)
        self._record_write(
            series, occurrence, result, rendered[-1] if rendered else None
        )
        row.action, row.detail = str(result.outcome), result.detail
        row.topics_from_invite = len(set(added))
        series.state = "ok" if result.outcome is not Outcome.FAILED else "error"

    def _render(
        self,
        series: models.Series,
        occurrence: models.Occurrence,
        private: bool,
        fmt: str = "text",
    ) -> str:
        agenda = build_agenda(
            self.session,
            self.tenant,
            series,
            occurrence,
            private_invite=private,
            link=self.series_link(series),
        )
        return render_invite_block(agenda, fmt)

    def _occurrence_row(
        self, series: models.Series, recurrence_id: datetime | None
    ) -> models.Occurrence | None:
        if recurrence_id is None:
            return None
        return self.session.scalar(
            select(models.Occurrence).where(
                models.Occurrence.series_id == series.id,
                models.Occurrence.recurrence_id == recurrence_id,
            )
        )

    def _store_occurrence(
        self, series: models.Series, event: Event
    ) -> models.Occurrence:
        recurrence_id = event.recurrence_id or event.start
        occurrence = self._occurrence_row(series, recurrence_id)
        if occurrence is None:
            occurrence = models.Occurrence(
                tenant_id=self.tenant.id,
                series_id=series.id,
                recurrence_id=recurrence_id,
            )
            self.session.add(occurrence)
        occurrence.start, occurrence.end, occurrence.summary = (
            event.start,
            event.end,
            event.summary,
        )
        if occurrence.goal_review_source != "api":
            occurrence.is_goal_review = is_goal_review(event.summary)
            occurrence.goal_review_source = (
                "title" if occurrence.is_goal_review else None
            )
        self.session.flush()
        return occurrence

    def _topics_from_invite(
        self, series: models.Series, occurrence: models.Occurrence, lines: list[str]
    ) -> list[int]:
        """Store lines a person typed into the block as topics, once each."""
        ids = []
        for line in lines:
            text = line.strip().lstrip("-*•").strip()
            if not text:
                continue
            existing = self.session.scalar(
                select(models.Topic).where(
                    models.Topic.tenant_id == self.tenant.id,
                    models.Topic.series_id == series.id,
                    models.Topic.raised_for == occurrence.recurrence_id,
                    models.Topic.text == text,
                )
            )
            if existing is None:
                existing = models.Topic(
                    tenant_id=self.tenant.id,
                    series_id=series.id,
                    raised_for=occurrence.recurrence_id,
                    section=Section.ROLE,
                    text=text,
                    source="invite",
                )
                self.session.add(existing)
                self.session.flush()
            ids.append(existing.id)
        return ids

    def _record_write(
        self,
        series: models.Series,
        occurrence: models.Occurrence,
        result: InjectResult,
        block: str | None,
    ) -> None:
        """Remember what the invite's block holds now, to spot edits and changes."""
        if result.event is None or block is None:
            return
        occurrence.block_body = result.block_body
        occurrence.block_hash = _hash(block)
        if result.outcome is Outcome.WRITTEN:
            occurrence.written_at = self.now
            self._audit(
                "write-block", result.event, "agenda refresh", series.calendar_id
            )

    def _audit(self, action: str, event: Event, reason: str, calendar_id: int) -> None:
        log.info("calendar write", extra={"action": action, "event": str(event.key)})
        if self._remember_writes:
            event_store.remember(self.session, calendar_id, self.tenant.id, event)
        self.session.add(
            models.AuditEntry(
                tenant_id=self.tenant.id,
                at=self.now,
                actor="tandem",
                action=action,
                target=str(event.key),
                reason=reason,
            )
        )

    def series_link(self, series: models.Series) -> str:
        return f"{self.settings.public_url.rstrip('/')}/series/{series.id}"

    # -- follow-ups -------------------------------------------------------

    def _plan_followups(
        self, provider: CalendarProvider, series: models.Series, view: SeriesView
    ) -> str:
        """Plan one follow-up per goal review in the window.

        Returns the follow-up UIDs, created now or found from an earlier run.
        """
        if view.master is None:  # not reached: a 1:1 has a series master
            return ""
        if view.from_store:
            reviews = self._marked_reviews(series)
        else:
            reviews = self._reviews_in_window(series, view.window)

        planned = []
        for occurrence in reviews:
            uid = self._plan_followup(provider, series, view.master, occurrence)
            if uid:
                planned.append(uid)
        return ", ".join(planned)

    def _marked_reviews(self, series: models.Series) -> list[models.Occurrence]:
        """Goal reviews of the series in the window that have no follow-up yet."""
        horizon = timedelta(days=self.settings.horizon_days)
        planned = select(models.FollowUp.source_occurrence_id)
        return list(
            self.session.scalars(
                select(models.Occurrence).where(
                    models.Occurrence.series_id == series.id,
                    models.Occurrence.is_goal_review.is_(True),
                    models.Occurrence.start >= self.now - REVIEW_LOOKBACK,
                    models.Occurrence.start <= self.now + horizon,
                    models.Occurrence.id.not_in(planned),
                )
            )
        )

    def _reviews_in_window(
        self, series: models.Series, window: tuple[Event, ...]
    ) -> list[models.Occurrence]:
        """Goal reviews among `window`: marked through Tandem, or named in the title."""
        marked = {
            row.recurrence_id: row
            for row in self.session.scalars(
                select(models.Occurrence).where(
                    models.Occurrence.series_id == series.id,
                    models.Occurrence.is_goal_review.is_(True),
                )
            )
        }
        reviews = []
        for event in window:
            occurrence = marked.get(event.recurrence_id or event.start)
            if occurrence is None and is_goal_review(event.summary):
                occurrence = self._store_occurrence(series, event)
            if occurrence is not None:
                reviews.append(occurrence)
        return reviews

    def _plan_followup(
        self,
        provider: CalendarProvider,
        series: models.Series,
        master: Event,
        review: models.Occurrence,
    ) -> str:
        existing = self.session.scalar(
            select(models.FollowUp).where(
                models.FollowUp.source_occurrence_id == review.id
            )
        )
        if existing is not None:
            if not provider.persistent:
                self._restore_followup(provider, series, master, review, existing)
            return existing.uid

        hours = WorkingHours(
            *self.settings.working_hours, timezone=series.timezone or "UTC"
        )
        target_day = (
            review.start + timedelta(weeks=self.settings.followup_weeks)
        ).astimezone(hours.zone)
        earliest = max(
            datetime.combine(target_day.date(), time(0), hours.zone), self.now
        )
        window = search_window(earliest, hours)
        pair = [series.person_a or "", series.person_b or ""]
        busy = self._busy_of(provider, series, pair, window)
        slot = find_slot(
            earliest,
            master.duration,
            hours,
            [i for person in pair for i in busy.get(person, [])],
        )
        if slot is None:
            log.info("no free slot for follow-up", extra={"series": series.id})
            return ""

        # In UTC, so the UID is the same whether the occurrence row was just
        # made (in the event's zone) or read back from the database (in UTC);
        # a retried task then meets the event it created before.
        recurrence_id = review.recurrence_id.astimezone(UTC)
        uid = followup_uid(self.tenant.name, series.uid, recurrence_id)
        created = provider.create_event(
            self._followup_event(series, master, review, uid, slot)
        )
        self.session.add(
            models.FollowUp(
                tenant_id=self.tenant.id,
                series_id=series.id,
                source_occurrence_id=review.id,
                uid=uid,
                start=created.start,
                end=created.end,
            )
        )
        reason = f"goal review on {review.start.date()}"
        self._audit("create-followup", created, reason, series.calendar_id)
        return uid

    def _busy_of(
        self,
        provider: CalendarProvider,
        series: models.Series,
        pair: list[str],
        window: tuple[datetime, datetime],
    ) -> dict[str, list[BusyInterval]]:
        """Read both people's busy times, from another calendar where needed."""
        busy = provider.busy_intervals(pair, *window)
        for person in pair:
            if person in busy or self.free_busy is None:
                continue
            found = self.free_busy(person, *window)
            if found is not None:
                busy[person] = found
        unknown = [person for person in pair if person not in busy]
        if unknown:
            # NOTE: a person whose calendar no connection can read counts as
            # free, so the follow-up may clash with their own meetings.
            log.info(
                "free/busy unknown, counted as free",
                extra={"series": series.id, "people": len(unknown)},
            )
        return busy

    def _restore_followup(
        self,
        provider: CalendarProvider,
        series: models.Series,
        master: Event,
        review: models.Occurrence,
        followup: models.FollowUp,
    ) -> None:
        """Write a planned follow-up again into a file read afresh.

        A file calendar is read whole on every run, so a follow-up planned in
        an earlier run is missing when the run starts from the original file
        again. It goes back in at the time it was planned for.
        """
        if provider.get_event(EventKey(followup.uid)) is not None:
            return
        event = self._followup_event(
            series, master, review, followup.uid, followup.start
        )
        provider.create_event(event)

    def _followup_event(
        self,
        series: models.Series,
        master: Event,
        review: models.Occurrence,
        uid: str,
        start: datetime,
    ) -> NewEvent:
        organizer = master.organizer or Attendee(series.person_a or "")
        people = [person for person in (master.organizer, *master.attendees) if person]
        by_email = {person.email: person for person in people}
        attendees = tuple(
            Attendee(
                email,
                by_email[email].name if email in by_email else "",
                AttendeeRole.REQUIRED,
            )
            for email in (series.person_a or "", series.person_b or "")
        )
        locale = locale_for(self.session, self.tenant, organizer.email)
        return NewEvent(
            uid=uid,
            summary=_FOLLOWUP_TITLE[locale].format(summary=series.summary),
            start=start,
            end=start + master.duration,
            timezone=series.timezone or "UTC",
            organizer=organizer,
            attendees=attendees,
            description=self._followup_description(series, review, locale),
        )

    def _followup_description(
        self, series: models.Series, review: models.Occurrence, locale: str
    ) -> str:
        """Return the follow-up's intro line with the agenda block below it.

        The block is plain text because providers create the event's body as
        text. The invite goes to exactly the pair, so the agenda follows the
        same note rules as a private invite of the series.
        """
        intro = _FOLLOWUP_TEXT[locale].format(date=review.start.date().isoformat())
        block = self._render(series, review, private=True, fmt="text")
        return merge_block(intro, block)


_FOLLOWUP_TITLE = {"en": "Follow-up: {summary}", "nl": "Vervolg: {summary}"}
_FOLLOWUP_TEXT = {
    "en": "Follow-up of the goal review of {date}: how are the goals going?",
    "nl": "Vervolg op het doelgesprek van {date}: hoe staat het met de doelen?",
}

OnProgress = Callable[[int, int], None]


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _is_series(members: list[Event]) -> bool:
    """Return whether `members` form a series rather than one single event."""
    head = members[0]
    return not (
        len(members) == 1 and head.recurrence_id is None and not head.is_recurring
    )


def _stored_instance(
    master: Event, overrides: tuple[Event, ...], series: models.Series
) -> Event:
    """Return the series' next occurrence as stored, without asking the provider."""
    for event in overrides:
        if event.recurrence_id == series.next_recurrence_id:
            return event
    start = series.next_occurrence or master.start
    return replace(
        master,
        recurrence_id=series.next_recurrence_id,
        start=start,
        end=start + master.duration,
        rrule=None,
        rdates=(),
        exdates=(),
    )
