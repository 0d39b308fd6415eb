"""Run the emulator with uvicorn in a background thread on a loopback port.

Tests use `EmulatorServer` as a context manager; `python -m emulators.google`
runs the same app in the foreground.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from types import TracebackType

import uvicorn

from emulators.google.app import create_app
from emulators.google.state import EmulatorState

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
START_TIMEOUT_SECONDS = 10.0


class EmulatorServer:
    """The emulator listening on 127.0.0.1; port 0 picks a free port."""

    def __init__(self, port: int = 0, strict: bool = True) -> None:
        self.state = EmulatorState()
        self.app = create_app(self.state, strict=strict)
        # asyncio turns Nagle's algorithm off only on sockets whose protocol
        # is IPPROTO_TCP; with the default 0 every response whose headers and
        # body go out in separate writes waits for a delayed ACK (about 40 ms).
        self._socket = socket.socket(
            socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP
        )
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((HOST, port))
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name="google-emulator",
            daemon=True,
        )

    @property
    def url(self) -> str:
        """Base URL with a trailing slash, the form `api_endpoint` expects."""
        return f"http://{HOST}:{self.port}/"

    def start(self) -> EmulatorServer:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(
                    f"The Google emulator did not start on {self.url} within "
                    f"{START_TIMEOUT_SECONDS} s; check that the port is free."
                )
            time.sleep(0.01)
        logger.info("google emulator listening", extra={"url": self.url})
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=START_TIMEOUT_SECONDS)
        self._socket.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
