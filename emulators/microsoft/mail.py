"""POST /users/{id}/sendMail, and a control route that lists what was sent.

Graph's sendMail takes one of two bodies (learn.microsoft.com/graph/api/
user-sendmail, v1.0):

- JSON, `{"message": {...}, "saveToSentItems": true}`, with the message as
  a Graph message resource (subject, body, toRecipients, ...);
- MIME, with `Content-Type: text/plain` and the whole RFC 5322 message
  encoded in base64 as the body.

Both return 202 Accepted with an empty body. The emulator keeps each sent
message in memory until the next reset, and `GET /_emulator/sent-mail`
returns them in order.
"""

import base64
import binascii
import email
import email.policy
import json
from dataclasses import dataclass, field

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from .errors import GraphError
from .graph import mailbox, route, router
from .state import User

# Graph documents a 4 MB limit for a MIME body of sendMail.
MAX_MIME_BYTES = 4 * 1024 * 1024


@dataclass
class SentMessage:
    """One message a mailbox sent, as the emulator recorded it."""

    mailbox: str
    form: str  # "json" or "mime"
    subject: str
    recipients: list[str]
    body: str
    mime: str = ""
    save_to_sent_items: bool = True
    headers: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        """Return the record as the control API's JSON object."""
        return {
            "mailbox": self.mailbox,
            "form": self.form,
            "subject": self.subject,
            "recipients": self.recipients,
            "body": self.body,
            "mime": self.mime,
            "saveToSentItems": self.save_to_sent_items,
            "headers": self.headers,
        }


def sent_messages(request: Request) -> list[SentMessage]:
    """Return the messages sent since the last reset, oldest first.

    The list hangs on the EmulatorState object, so the control API's reset,
    which replaces that object, empties it too.
    """
    state = request.app.state.emulator
    return state.__dict__.setdefault("sent_mail", [])


@route("POST", "/sendMail")
async def send_mail(request: Request, user_key: str = "me") -> Response:
    """Send a message from the mailbox in the path, as JSON or as base64 MIME.

    NOTE: the emulator's admin consent grants a fixed list of roles without
    Mail.Send, so this route does not check that role. Real Graph returns
    403 ErrorAccessDenied to a token without Mail.Send.
    """
    _, _, user = mailbox(request, user_key)
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    body = await request.body()

    if content_type == "text/plain":
        sent = _from_mime(user, body)
    elif content_type == "application/json":
        sent = _from_json(user, body)
    else:
        raise GraphError(
            415,
            "UnsupportedMediaType",
            f"Content-Type {content_type or '(none)'} is not supported; send "
            "application/json or text/plain with base64 MIME.",
        )

    sent_messages(request).append(sent)
    return Response(status_code=202)


def _from_mime(user: User, body: bytes) -> SentMessage:
    if len(body) > MAX_MIME_BYTES:
        raise GraphError(
            413, "ErrorMessageSizeExceeded", "The message exceeds the 4 MB limit."
        )
    try:
        raw = base64.b64decode(body.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise GraphError(
            400,
            "ErrorMimeContentInvalidBase64String",
            "Invalid base64 string for MIME content.",
        ) from None
    if not raw.strip():
        raise GraphError(400, "ErrorMimeContentInvalid", "The MIME content is empty.")

    message = email.message_from_bytes(raw, policy=email.policy.default)
    recipients = _mime_recipients(message)
    if not recipients:
        raise GraphError(
            400, "ErrorInvalidRecipients", "At least one recipient is not valid."
        )
    return SentMessage(
        mailbox=user.mail,
        form="mime",
        subject=str(message.get("Subject", "")),
        recipients=recipients,
        body=_mime_text(message),
        mime=raw.decode("utf-8", errors="replace"),
        headers={name: str(value) for name, value in message.items()},
    )


def _mime_recipients(message: email.message.Message) -> list[str]:
    recipients: list[str] = []
    for name in ("To", "Cc", "Bcc"):
        header = message.get(name)
        for address in getattr(header, "addresses", ()):
            if address.addr_spec:
                recipients.append(address.addr_spec)
    return recipients


def _mime_text(message: email.message.Message) -> str:
    part = message.get_body(preferencelist=("plain", "html"))  # type: ignore[attr-defined]
    return part.get_content() if part is not None else ""


def _from_json(user: User, body: bytes) -> SentMessage:
    try:
        payload = json.loads(body or b"{}")
    except json.JSONDecodeError as error:
        raise GraphError(
            400, "BadRequest", f"The request body is not valid JSON: {error}."
        ) from None

    message = payload.get("message") if isinstance(payload, dict) else None
    if not isinstance(message, dict):
        raise GraphError(
            400, "ErrorInvalidParameter", "The request body must contain 'message'."
        )
    recipients = _json_recipients(message)
    if not recipients:
        raise GraphError(
            400, "ErrorInvalidRecipients", "At least one recipient is not valid."
        )
    content = message.get("body") or {}
    return SentMessage(
        mailbox=user.mail,
        form="json",
        subject=str(message.get("subject", "")),
        recipients=recipients,
        body=str(content.get("content", "")) if isinstance(content, dict) else "",
        save_to_sent_items=bool(payload.get("saveToSentItems", True)),
    )


def _json_recipients(message: dict) -> list[str]:
    recipients: list[str] = []
    for key in ("toRecipients", "ccRecipients", "bccRecipients"):
        for entry in message.get(key) or []:
            address = (entry.get("emailAddress") or {}).get("address", "")
            if not address or "@" not in address:
                raise GraphError(
                    400,
                    "ErrorInvalidRecipients",
                    f"At least one recipient is not valid: {address!r}.",
                )
            recipients.append(address)
    return recipients


@router.get("/_emulator/sent-mail")
async def list_sent_mail(request: Request) -> JSONResponse:
    """Return every message sent through sendMail since the app started."""
    return JSONResponse({"value": [sent.as_json() for sent in sent_messages(request)]})
