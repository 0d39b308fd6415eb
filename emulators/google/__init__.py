"""A local emulator of Google Calendar API v3, Directory users.list and OAuth.

    from emulators.google import EmulatorServer

    with EmulatorServer() as server:
        ...  # point api_endpoint and token_uri at server.url

`python -m emulators.google --port 8085` runs it in the foreground; see
docs/google-emulator.md.
"""

from emulators.google.app import create_app
from emulators.google.server import EmulatorServer
from emulators.google.state import EmulatorState

__all__ = ["EmulatorServer", "EmulatorState", "create_app"]
