"""Errors raised by the addon package.

TandemError
 ├── SettingsError      a setting is missing or invalid (the operator's fault)
 ├── InputError         a value given on the command line or to the API is invalid
 │    └── NotFound      the named series, topic or person does not exist
 └── SyncError          a calendar could not be synced (the system's fault)
"""

from __future__ import annotations


class TandemError(Exception):
    """Base class of every error in the addon package."""


class SettingsError(TandemError):
    """A setting is missing or invalid."""


class InputError(TandemError):
    """A value given by the user is invalid; the message names it and the fix."""


class NotFound(InputError):
    """The named record does not exist in this tenant."""

    def __init__(self, kind: str, ident: object) -> None:
        self.kind = kind
        self.ident = ident
        super().__init__(
            f"No {kind} {ident!r} in this tenant; list them to find the id."
        )


class SyncError(TandemError):
    """A calendar could not be synced."""
