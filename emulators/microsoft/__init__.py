"""A local emulator of Microsoft Graph calendars and the identity platform."""

from .app import create_app
from .server import EmulatorServer
from .state import EmulatorState

__all__ = ["EmulatorServer", "EmulatorState", "create_app"]
