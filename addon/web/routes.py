"""API routes under /api: the tenant's 1:1s, their agendas and topics.

Requests authenticate with `Authorization: Bearer <TANDEM_API_TOKEN>` when
that setting is set, and name their tenant in the `X-Tandem-Tenant` header
(the settings' tenant by default). Every query is scoped to that tenant.
"""

from __future__ import annotations

import hmac
import html
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from addon import models, records
from addon.agenda import Section
from addon.agendas import build_agenda
from addon.errors import InputError, NotFound
from addon.settings import Settings
from mail_templates.render import render_invite_block

router = APIRouter(prefix="/api", tags=["api"])
pages = APIRouter(tags=["pages"])


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request):  # type: ignore[no-untyped-def]
    from addon.web.app import get_session as app_session

    yield from app_session(request)


def authenticate(
    request: Request, authorization: Annotated[str, Header()] = ""
) -> None:
    expected = _settings(request).api_token
    if not expected:
        return
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.encode(), expected.encode()
    ):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Missing or wrong bearer token; "
            "send Authorization: Bearer <TANDEM_API_TOKEN>.",
        )


def current_tenant(
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    x_tandem_tenant: Annotated[str | None, Header()] = None,
    _auth: None = Depends(authenticate),
) -> models.Tenant:
    name = x_tandem_tenant or _settings(request).tenant
    tenant = session.scalar(select(models.Tenant).where(models.Tenant.name == name))
    if tenant is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"Tenant {name!r} is not known.")
    return tenant


SessionDep = Annotated[Session, Depends(get_session)]
TenantDep = Annotated[models.Tenant, Depends(current_tenant)]


class SeriesOut(BaseModel):
    id: int
    uid: str
    summary: str
    people: list[str] | None
    is_one_on_one: bool
    next_occurrence: datetime | None
    state: str
    reasons: list[dict[str, object]]


class TopicIn(BaseModel):
    text: str = Field(min_length=1, max_length=records.MAX_TEXT)
    section: Section = Section.ROLE
    author: str = ""


class TopicOut(BaseModel):
    id: int
    section: Section
    text: str
    raised_for: datetime
    discussed: bool


def _series_out(series: models.Series) -> SeriesOut:
    people = (
        [series.person_a, series.person_b]
        if series.person_a and series.person_b
        else None
    )
    return SeriesOut(
        id=series.id,
        uid=series.uid,
        summary=series.summary,
        people=people,
        is_one_on_one=series.is_one_on_one,
        next_occurrence=series.next_occurrence,
        state=series.state,
        reasons=series.reasons,
    )


def _find(session: Session, tenant: models.Tenant, series_id: int) -> models.Series:
    try:
        return records.find_series(session, tenant, series_id)
    except NotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None


def _find_agenda(
    session: Session, tenant: models.Tenant, series_id: int
) -> models.Series:
    try:
        return records.find_agenda_series(session, tenant, series_id)
    except NotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None


def _next_occurrence(session: Session, series: models.Series) -> models.Occurrence:
    occurrence = session.scalar(
        select(models.Occurrence).where(
            models.Occurrence.series_id == series.id,
            models.Occurrence.recurrence_id == series.next_recurrence_id,
        )
    )
    if occurrence is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"Series {series.id} has no upcoming occurrence synced yet; "
            "run a sync first.",
        )
    return occurrence


@router.get("/series", response_model=list[SeriesOut])
def list_series(
    session: SessionDep, tenant: TenantDep, all: bool = False
) -> list[SeriesOut]:
    """List the tenant's 1:1s (every series with `all=true`) with their reasons."""
    query = select(models.Series).where(models.Series.tenant_id == tenant.id)
    if not all:
        query = query.where(models.Series.is_one_on_one.is_(True))
    return [
        _series_out(row) for row in session.scalars(query.order_by(models.Series.id))
    ]


@router.get("/series/{series_id}", response_model=SeriesOut)
def get_series(series_id: int, session: SessionDep, tenant: TenantDep) -> SeriesOut:
    return _series_out(_find(session, tenant, series_id))


@router.get("/series/{series_id}/agenda")
def get_agenda(
    series_id: int, session: SessionDep, tenant: TenantDep, request: Request
) -> dict[str, object]:
    """The agenda of the next occurrence, structured and as the invite shows it."""
    series = _find_agenda(session, tenant, series_id)
    occurrence = _next_occurrence(session, series)
    link = f"{_settings(request).public_url.rstrip('/')}/series/{series.id}"
    agenda = build_agenda(
        session, tenant, series, occurrence, private_invite=False, link=link
    )
    return {
        "series_id": series.id,
        "occurrence_start": occurrence.start,
        "locale": agenda.locale,
        "topics": {
            str(section): [
                {"id": t.id, "text": t.text, "carried_from": t.carried_from}
                for t in topics
            ]
            for section, topics in agenda.topics.items()
        },
        "action_items": [
            {"id": a.id, "text": a.text, "owner": a.owner, "due": a.due}
            for a in agenda.action_items
        ],
        "text": render_invite_block(agenda, "text"),
    }


@pages.get("/series/{series_id}", response_class=HTMLResponse)
def agenda_page(
    series_id: int, session: SessionDep, tenant: TenantDep, request: Request
) -> HTMLResponse:
    """The page the link in every invite opens: the next occurrence's agenda."""
    series = _find_agenda(session, tenant, series_id)
    occurrence = _next_occurrence(session, series)
    agenda = build_agenda(
        session, tenant, series, occurrence, private_invite=False, link=""
    )
    title = html.escape(f"{series.summary} · {occurrence.start:%Y-%m-%d}")
    body = render_invite_block(agenda, "html")
    return HTMLResponse(
        f'<!doctype html><html lang="{agenda.locale}"><head><meta charset="utf-8">'
        f"<title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"
    )


@router.post("/series/{series_id}/topics", response_model=TopicOut, status_code=201)
def add_topic(
    series_id: int, body: TopicIn, session: SessionDep, tenant: TenantDep
) -> TopicOut:
    """Add a topic to the next occurrence; the invite is refreshed on the next sync."""
    try:
        topic = records.add_topic(
            session, tenant, series_id, body.text, body.section, body.author, "api"
        )
    except NotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
    except InputError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
    return TopicOut(
        id=topic.id,
        section=topic.section,
        text=topic.text,
        raised_for=topic.raised_for,
        discussed=False,
    )
