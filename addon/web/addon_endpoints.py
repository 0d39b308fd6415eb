"""The endpoints that the Google Workspace add-on and the Outlook add-in call.

Google (HTTP runtime): `POST /addons/google/homepage` and
`POST /addons/google/event-open` receive the add-on event object and return
a card, in Google's card JSON, wrapped in a render action. Each request must
carry a Google-signed ID token as `Authorization: Bearer`, issued to the
add-on's own service account (`TANDEM_ADDON_GOOGLE_SERVICE_ACCOUNT`) for this
endpoint's URL; anything else gets 401.

Outlook: `GET /addons/outlook/taskpane` is the task pane page. Its script
reads the open appointment's ids through Office.js and shows the agenda from
`GET /api/addons/series` and the existing `GET /api/series/{id}/agenda`.

Both add-ons show what the invite itself may show (never notes) and run for
the settings' tenant. The icons and the help page that the manifests name
are served here as well.
"""

from __future__ import annotations

import functools
import html
import json
import logging
import struct
import zlib
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any

import google.auth.exceptions
import google.auth.transport.requests
from fastapi import (
    APIRouter,
    Body,
    Depends,
    Header,
    HTTPException,
    Query,
    Request,
    status,
)
from fastapi.responses import HTMLResponse, Response
from google.oauth2 import id_token
from sqlalchemy import select
from sqlalchemy.orm import Session

from addon import models, records
from addon.agenda import Agenda, Section
from addon.agendas import build_agenda
from addon.settings import Settings
from addon.web.routes import current_tenant, get_session
from calendar_sync.models import normalise_email
from mail_templates.render import Catalogue, catalogue_for, section_title

log = logging.getLogger(__name__)

router = APIRouter(tags=["add-ons"])

#: Issuers Google puts in its ID tokens.
GOOGLE_ISSUERS = frozenset({"accounts.google.com", "https://accounts.google.com"})

#: Icon sizes in pixels that the manifests name: Outlook's ribbon takes 16,
#: 32 and 80, its add-in list 64 and 128, and Google's logo 128.
ICON_SIZES = frozenset({16, 32, 64, 80, 128})
ICON_RGB = (0x1F, 0x6F, 0x6B)

SessionDep = Annotated[Session, Depends(get_session)]


def _settings(request: Request) -> Settings:
    return request.app.state.settings


# -- Google: ID token ----------------------------------------------------------


def google_claims(
    request: Request, authorization: Annotated[str, Header()] = ""
) -> Mapping[str, Any]:
    """Verify the request's Google ID token and return its claims, or raise 401."""
    settings = _settings(request)
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "The request has no bearer ID token; Google sends one with every "
            "add-on request, so call this endpoint from the add-on only.",
        )
    if not settings.addon_google_service_account:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "TANDEM_ADDON_GOOGLE_SERVICE_ACCOUNT is not set; set it to the "
            "add-on's service account email to accept Google's requests.",
        )

    audience = settings.addon_google_audience or _endpoint_url(settings, request)
    claims = _verify(token, audience, settings.addon_google_certs_url)

    _check_claims(claims, settings.addon_google_service_account)
    return claims


def _endpoint_url(settings: Settings, request: Request) -> str:
    # Google sets `aud` to the runFunction URL named in the deployment, which
    # is the public URL, not the one the proxy in front of Tandem forwards to.
    return settings.public_url.rstrip("/") + request.url.path


def _verify(token: str, audience: str, certs_url: str) -> Mapping[str, Any]:
    # NOTE: google-auth reads the certificates on every call, so each add-on
    # request costs one extra GET to certs_url; nothing caches them yet.
    try:
        return id_token.verify_token(
            token,
            google.auth.transport.requests.Request(),
            audience=audience,
            certs_url=certs_url,
        )
    except google.auth.exceptions.TransportError as error:
        log.error("google certificates unavailable", extra={"error": str(error)})
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"Google's signing certificates could not be read from {certs_url}; "
            "try again, or check TANDEM_ADDON_GOOGLE_CERTS_URL.",
        ) from None
    except (ValueError, google.auth.exceptions.GoogleAuthError) as error:
        # Only the error's type is logged, because google-auth puts the token
        # itself into the message of some errors (a malformed token's, say).
        log.info("add-on ID token rejected", extra={"error": type(error).__name__})
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "The ID token is invalid, expired or meant for another endpoint.",
        ) from None


def _check_claims(claims: Mapping[str, Any], service_account: str) -> None:
    # Anyone can get a Google-signed ID token for any audience from a service
    # account of their own, so the signer's email is what proves the caller.
    email = str(claims.get("email", "")).lower()
    if (
        claims.get("iss") not in GOOGLE_ISSUERS
        or claims.get("email_verified") is not True
        or email != service_account.lower()
    ):
        log.info("add-on ID token from another account", extra={"email": email})
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            f"The ID token was issued to {email or 'no account'}, not to the "
            "add-on's service account; check TANDEM_ADDON_GOOGLE_SERVICE_ACCOUNT.",
        )


ClaimsDep = Annotated[Mapping[str, Any], Depends(google_claims)]
EventObject = Annotated[dict[str, Any], Body()]


# -- Google: cards ---------------------------------------------------------------


@router.post("/addons/google/homepage")
def google_homepage(_claims: ClaimsDep, event: EventObject) -> dict[str, Any]:
    """Return the card Calendar shows when no event is open."""
    card = _card(
        "Tandem",
        "One-on-one agendas",
        [
            _text_section(
                "",
                "Open a recurring 1:1 in your calendar to see its next agenda: "
                "topics, open action items and what carried over.",
            )
        ],
    )
    return _render(card)


@router.post("/addons/google/event-open")
def google_event_open(
    _claims: ClaimsDep, event: EventObject, session: SessionDep, request: Request
) -> dict[str, Any]:
    """Return the card for the opened event: its 1:1 agenda, or why it has none."""
    settings = _settings(request)
    tenant = _tenant(session, settings)
    calendar = event.get("calendar")
    calendar = calendar if isinstance(calendar, dict) else {}
    keys = google_event_keys(calendar)
    # Google sends the id of the calendar being viewed, the viewer's own. An
    # agenda is shown only when that person is one of the pair.
    viewer = normalise_email(str(calendar.get("calendarId") or ""))

    series = find_series(session, tenant, keys, viewer) if tenant else None
    if tenant is None or series is None:
        return _render(_unknown_card())
    if not series.is_one_on_one:
        return _render(_not_one_on_one_card(series))
    return _render(_agenda_card(session, tenant, series, settings))


def google_event_keys(calendar: Mapping[str, Any]) -> list[str]:
    """Return the ids under which Tandem may store the opened event's series.

    Tandem keys a Google series by its event id, which an instance carries as
    `recurringEventId`. Google builds an instance's own id as
    `<series id>_<original start>`, so that prefix is tried too, and so is the
    iCalendar UID for calendars synced from files.
    """
    keys: list[str] = []
    for name in ("recurringEventId", "id", "iCalUID"):
        value = calendar.get(name)
        if isinstance(value, str) and value:
            keys.append(value)
    event_id = calendar.get("id")
    if isinstance(event_id, str) and "_" in event_id:
        keys.append(event_id.partition("_")[0])
    return list(dict.fromkeys(keys))


def find_series(
    session: Session, tenant: models.Tenant, keys: list[str], viewer: str | None = None
) -> models.Series | None:
    """Find the tenant's series stored under one of `keys`, a 1:1 first.

    The same series is stored once per synced calendar that contains it, and
    only the organizer's copy may have been judged a 1:1. An attendee's copy
    leads to the organizer's 1:1 (`records.organizer_series`), also across
    Google and Microsoft 365. With `viewer`, a 1:1 is returned only when the
    viewer is one of its pair, so an event that carries the same ids does not
    show another pair's agenda.
    """
    # An empty key would match nothing useful and a blank one too much.
    keys = [key for key in keys if key.strip()]
    if not keys:
        return None
    query = (
        select(models.Series)
        .where(models.Series.tenant_id == tenant.id, models.Series.uid.in_(keys))
        .order_by(models.Series.is_one_on_one.desc(), models.Series.id)
        .limit(20)
    )
    found = [
        records.organizer_series(session, series) for series in session.scalars(query)
    ]
    if viewer is None:
        return found[0] if found else None
    for series in found:
        if series.is_one_on_one and viewer in (series.person_a, series.person_b):
            return series
    others = [series for series in found if not series.is_one_on_one]
    return others[0] if others else None


def _tenant(session: Session, settings: Settings) -> models.Tenant | None:
    return session.scalar(
        select(models.Tenant).where(models.Tenant.name == settings.tenant)
    )


def _agenda_card(
    session: Session,
    tenant: models.Tenant,
    series: models.Series,
    settings: Settings,
) -> dict[str, Any]:
    title = series.summary or "1:1"
    people = f"{series.person_a} & {series.person_b}"
    if not tenant.enabled or _opted_out(session, tenant, series):
        note = "Tandem is switched off for this 1:1, so it shows no agenda."
        return _card(title, people, [_text_section("", note)])

    occurrence = _next_occurrence(session, series)
    if occurrence is None:
        note = "This 1:1 has no upcoming occurrence synced yet."
        return _card(title, people, [_text_section("", note)])

    link = f"{settings.public_url.rstrip('/')}/series/{series.id}"
    # Anyone who can open the event sees the card, as they see the invite,
    # so the card gets the invite's content without prior notes.
    agenda = build_agenda(
        session, tenant, series, occurrence, private_invite=False, link=link
    )
    return _card(title, people, _agenda_sections(agenda))


def _opted_out(session: Session, tenant: models.Tenant, series: models.Series) -> bool:
    pair = [email for email in (series.person_a, series.person_b) if email]
    return (
        session.scalar(
            select(models.Person.id).where(
                models.Person.tenant_id == tenant.id,
                models.Person.email.in_(pair),
                models.Person.opted_out.is_(True),
            )
        )
        is not None
    )


def _next_occurrence(
    session: Session, series: models.Series
) -> models.Occurrence | None:
    return session.scalar(
        select(models.Occurrence).where(
            models.Occurrence.series_id == series.id,
            models.Occurrence.recurrence_id == series.next_recurrence_id,
        )
    )


def _agenda_sections(agenda: Agenda) -> list[dict[str, Any]]:
    catalogue = catalogue_for(agenda.locale)
    messages = catalogue.messages
    when = catalogue.format_date(agenda.occurrence_start.date())
    intro = html.escape(when)
    if agenda.is_goal_review:
        intro += "<br>" + html.escape(messages["goal_review"])
    sections = [{"widgets": [{"textParagraph": {"text": intro}}]}]

    for section in Section:
        lines = [
            _topic_line(topic.text, topic.carried_from, catalogue)
            for topic in agenda.topics.get(section, [])
        ]
        body = "<br>".join(lines) or html.escape(messages["no_topics"])
        title = section_title(section, agenda.locale)
        sections.append(_text_section(title, body))

    if agenda.action_items:
        lines = ["• " + html.escape(item.text) for item in agenda.action_items]
        sections.append(_text_section(messages["action_items"], "<br>".join(lines)))
    sections.append(_link_section(messages["link"], agenda.link))
    return sections


def _topic_line(text: str, carried_from: date | None, catalogue: Catalogue) -> str:
    line = "• " + html.escape(text)
    if carried_from is not None:
        since = catalogue.messages["carried_over"].format(
            date=catalogue.format_date(carried_from)
        )
        line += f" <i>({html.escape(since)})</i>"
    return line


def _not_one_on_one_card(series: models.Series) -> dict[str, Any]:
    failed = [reason for reason in series.reasons if not reason.get("passed")]
    lines = [
        "• " + html.escape(str(reason.get("message", reason.get("rule", ""))))
        for reason in failed or series.reasons
    ]
    body = "<br>".join(lines) or "Tandem recorded no reason for its decision."
    return _card(
        series.summary or "(no title)",
        "Not a 1:1",
        [_text_section("Why Tandem does not treat this as a 1:1", body)],
    )


def _unknown_card() -> dict[str, Any]:
    return _card(
        "Not a 1:1",
        "Tandem has not seen this event",
        [
            _text_section(
                "",
                "Tandem only works on recurring meetings in the calendars it "
                "syncs. This event is not one of them, or its calendar has not "
                "been synced yet.",
            )
        ],
    )


def _card(title: str, subtitle: str, sections: list[dict[str, Any]]) -> dict[str, Any]:
    return {"header": {"title": title, "subtitle": subtitle}, "sections": sections}


def _text_section(header: str, html_text: str) -> dict[str, Any]:
    """Build a card section with one paragraph. `html_text` must be escaped."""
    section: dict[str, Any] = {"widgets": [{"textParagraph": {"text": html_text}}]}
    if header:
        section["header"] = header
    return section


def _link_section(label: str, url: str) -> dict[str, Any]:
    button = {"text": "Open in Tandem", "onClick": {"openLink": {"url": url}}}
    return {
        "widgets": [
            {"textParagraph": {"text": html.escape(label)}},
            {"buttonList": {"buttons": [button]}},
        ]
    }


def _render(card: dict[str, Any]) -> dict[str, Any]:
    # An HTTP add-on responds to a trigger with a render action that pushes
    # the card onto the add-on's card stack.
    return {"action": {"navigations": [{"pushCard": card}]}}


# -- Outlook ---------------------------------------------------------------------


@router.get("/api/addons/series")
def lookup_series(
    session: SessionDep,
    tenant: Annotated[models.Tenant, Depends(current_tenant)],
    uid: Annotated[list[str], Query(max_length=1000)] = [],  # noqa: B006
) -> dict[str, Any]:
    """Find the series stored under one of the given UIDs, for the task pane."""
    series = find_series(session, tenant, uid[:10])
    if series is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "Tandem has no series under these ids; it works only on recurring "
            "meetings in the calendars it syncs.",
        )
    return {
        "id": series.id,
        "summary": series.summary,
        "is_one_on_one": series.is_one_on_one,
        "reasons": series.reasons,
    }


# NOTE: the task pane calls the API without a bearer token, so it shows an
# agenda only while TANDEM_API_TOKEN is empty. Production needs Office single
# sign-on, with Tandem checking the Entra token, which is not built yet.
@router.get("/addons/outlook/taskpane", response_class=HTMLResponse)
def outlook_taskpane(request: Request) -> HTMLResponse:
    """Return the task pane page that Outlook opens next to an appointment."""
    settings = _settings(request)
    office_js = html.escape(settings.addon_office_js_url)
    # JSON inside <script> must not contain "</", which would end the script.
    base = json.dumps(settings.public_url.rstrip("/")).replace("</", "<\\/")
    return HTMLResponse(TASKPANE_PAGE.format(office_js=office_js, base=base))


TASKPANE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Tandem</title>
<script src="{office_js}"></script>
<style>body{{font-family:sans-serif;margin:12px}}pre{{white-space:pre-wrap}}</style>
</head><body>
<h1>Tandem</h1>
<p id="status">Loading the agenda…</p>
<pre id="agenda"></pre>
<script>
const base = {base};
function show(message) {{ document.getElementById("status").textContent = message; }}
function restId(mailbox, id) {{
  // Tandem stores a Microsoft 365 series under its Graph (REST) id, and
  // Office.js gives EWS ids; convertToRestId needs Mailbox 1.3.
  try {{ return mailbox.convertToRestId(id, Office.MailboxEnums.RestVersion.v2_0); }}
  catch (error) {{ return id; }}
}}
async function readJson(url) {{
  const response = await fetch(url, {{credentials: "same-origin"}});
  const body = await response.json();
  if (!response.ok) {{ throw new Error(body.detail || response.statusText); }}
  return body;
}}
async function load() {{
  const mailbox = Office.context.mailbox;
  const item = mailbox.item;
  const ids = [item.seriesId, item.itemId].filter(Boolean);
  if (ids.length === 0) {{
    show("Save the appointment first, then open Tandem again.");
    return;
  }}
  const query = ids
    .map((id) => "uid=" + encodeURIComponent(restId(mailbox, id)))
    .join("&");
  const series = await readJson(base + "/api/addons/series?" + query);
  if (!series.is_one_on_one) {{
    const failed = series.reasons.filter((reason) => !reason.passed);
    show("Not a 1:1: " + failed.map((reason) => reason.message).join(" "));
    return;
  }}
  const agenda = await readJson(base + "/api/series/" + series.id + "/agenda");
  show(series.summary);
  document.getElementById("agenda").textContent = agenda.text;
}}
Office.onReady(() => load().catch((error) => show(error.message)));
</script>
</body></html>
"""


@router.get("/addons/help", response_class=HTMLResponse)
def help_page() -> HTMLResponse:
    """Return the support page that both manifests link to."""
    return HTMLResponse(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Tandem help</title></head><body><h1>Tandem</h1>"
        "<p>Tandem writes a three-part agenda (Personal, Current role, Growth "
        "&amp; development) into the invites of recurring one-on-one meetings. "
        "Open a recurring 1:1 in Google Calendar or Outlook to see its next "
        "agenda. If a 1:1 shows no agenda, ask your Tandem administrator "
        "whether your calendar is synced.</p></body></html>"
    )


@router.get("/addons/icons/{size}.png")
def icon(size: int) -> Response:
    """Return Tandem's square icon at `size` pixels."""
    if size not in ICON_SIZES:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"No icon of {size} pixels; sizes are {sorted(ICON_SIZES)}.",
        )
    return Response(
        _icon_png(size),
        media_type="image/png",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@functools.cache
def _icon_png(size: int) -> bytes:
    """Encode a filled square as a PNG with 8-bit RGB pixels and no filter."""
    row = b"\x00" + bytes(ICON_RGB) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(row * size))
        + _png_chunk(b"IEND", b"")
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    checksum = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", checksum)
