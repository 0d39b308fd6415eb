"""Errors of the Google Calendar provider.

ProviderError (calendar_sync.errors)
 ├── GoogleApiError          Google returned an error status for a request
 │    ├── RateLimitedError   403 rateLimitExceeded, 429 or 5xx outlasted the retries
 │    └── NotOrganizerError  the connected person does not organize the event
 └── ConsentRequiredError    the token endpoint answered invalid_grant; consent again
"""

from __future__ import annotations

from calendar_sync.errors import ProviderError


class GoogleApiError(ProviderError):
    """Google returned an error status; `reason` is the first error reason."""

    def __init__(self, method: str, status: int, reason: str) -> None:
        self.method = method
        self.status = status
        self.reason = reason
        super().__init__(
            f"Google answered {method} with {status} {reason or '(no reason)'}; "
            "see the Calendar API error reference for that reason."
        )


class RateLimitedError(GoogleApiError):
    """Google kept refusing a request for quota or server reasons past the retries."""


class NotOrganizerError(GoogleApiError):
    """Tandem writes only the organizer's copy, and this calendar is an attendee's."""

    def __init__(self, event: str, calendar: str, organizer: str) -> None:
        ProviderError.__init__(
            self,
            f"Event {event} in the calendar of {calendar} is organized by "
            f"{organizer or 'someone else'}; Tandem writes only the organizer's "
            "copy, so connect the organizer's calendar to get the agenda written.",
        )
        self.method = "calendar.events.patch"
        self.status = 403
        self.reason = "notOrganizer"
        self.event = event
        self.calendar = calendar
        self.organizer = organizer


class ConsentRequiredError(ProviderError):
    """Google refused to refresh the grant (revoked, expired or never given)."""

    def __init__(self, who: str, error: str) -> None:
        self.who = who
        self.error = error
        super().__init__(
            f"Google refused a token for {who} ({error}); the person must connect "
            "their calendar again, or the admin must renew domain-wide delegation."
        )
