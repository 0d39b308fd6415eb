"""Google Meet conferences on events, as `conferenceData` of Calendar API v3.

The rules come from the Event and ConferenceData reference:

- With `conferenceDataVersion=0` (the default) the server ignores
  `conferenceData` in a request body.
- With `conferenceDataVersion=1`, a `createRequest` for the solution type
  `hangoutsMeet` makes a new conference: the event comes back with a
  `conferenceId`, a `video` entry point at `https://meet.google.com/<id>`,
  the `conferenceSolution` and `createRequest.status.statusCode`, and with
  the same link in `hangoutLink`. Google may return "pending" first and fill
  the conference in later, but the emulator always returns "success" at once.

The emulator applies these rules on events.insert only; patch and update
store `conferenceData` as sent.
"""

from __future__ import annotations

import hashlib
from typing import Any

from emulators.google.errors import bad_request

MEET = "hangoutsMeet"
# NOTE: a stand-in icon address; the emulator does not copy the one Google sends.
_ICON = "https://meet.google.com/favicon.ico"


def apply(resource: dict[str, Any], version: int) -> None:
    """Turn the `conferenceData` of a new event into what Google stores."""
    if version == 0:
        resource.pop("conferenceData", None)
        return
    request = (resource.get("conferenceData") or {}).get("createRequest")
    if not request or "status" in request:
        # Conference data copied from another event is kept as it is.
        return
    resource["conferenceData"] = _create(request)
    resource["hangoutLink"] = resource["conferenceData"]["entryPoints"][0]["uri"]


def _create(request: dict[str, Any]) -> dict[str, Any]:
    request_id = str(request.get("requestId", ""))
    kind = (request.get("conferenceSolutionKey") or {}).get("type")
    if not request_id:
        raise bad_request("Invalid conference create request: requestId is missing.")
    if kind != MEET:
        raise bad_request(
            f"Invalid conference type value {kind!r}: this calendar allows only "
            f"{MEET!r}."
        )
    conference_id = meeting_code(request_id)
    return {
        "createRequest": {
            "requestId": request_id,
            "conferenceSolutionKey": {"type": MEET},
            "status": {"statusCode": "success"},
        },
        "entryPoints": [
            {
                "entryPointType": "video",
                "uri": f"https://meet.google.com/{conference_id}",
                "label": f"meet.google.com/{conference_id}",
            }
        ],
        "conferenceSolution": {
            "key": {"type": MEET},
            "name": "Google Meet",
            "iconUri": _ICON,
        },
        "conferenceId": conference_id,
    }


def meeting_code(request_id: str) -> str:
    """Return a Meet code in Google's `aaa-bbbb-ccc` form, stable per request id."""
    digest = hashlib.sha256(request_id.encode()).digest()
    letters = "".join(chr(ord("a") + byte % 26) for byte in digest[:10])
    return f"{letters[:3]}-{letters[3:7]}-{letters[7:]}"
