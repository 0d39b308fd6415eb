"""Run the emulator with uvicorn over HTTPS, in a thread or in the foreground."""

import logging
import socket
import tempfile
import threading
import time
from pathlib import Path

import uvicorn

from .app import create_app
from .certs import CertificateFiles, create_certificates
from .state import EmulatorState

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"  # loopback only: the control API has no authentication
START_TIMEOUT = 10.0  # seconds


class EmulatorServer:
    """The emulator on 127.0.0.1 with a throwaway certificate.

    `port=0` picks a free port. `start()` returns once the server accepts
    connections; `stop()` shuts it down.
    """

    def __init__(self, port: int = 0, cert_dir: Path | None = None) -> None:
        self.state = EmulatorState()
        self.app = create_app(self.state)
        self._temporary = None if cert_dir else tempfile.TemporaryDirectory()
        directory = cert_dir or Path(self._temporary.name)  # type: ignore[union-attr]
        self.certificates: CertificateFiles = create_certificates(directory)
        # asyncio turns Nagle's algorithm off only on sockets whose protocol
        # is IPPROTO_TCP; with the default 0 every response whose headers and
        # body go out in separate writes waits for a delayed ACK (about 40 ms).
        self.socket = socket.socket(
            socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP
        )
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind((HOST, port))
        self.port: int = self.socket.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            ssl_certfile=str(self.certificates.cert_path),
            ssl_keyfile=str(self.certificates.key_path),
            log_level="warning",
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self.thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """Return the emulator's root URL, e.g. https://127.0.0.1:8443."""
        return f"https://{HOST}:{self.port}"

    @property
    def graph_url(self) -> str:
        """Return the Graph root to use in place of https://graph.microsoft.com."""
        return f"{self.base_url}/"

    @property
    def ca_path(self) -> Path:
        """Return the CA certificate clients must trust."""
        return self.certificates.ca_path

    @property
    def bundle_path(self) -> Path:
        """Return a bundle of the emulator's CA and certifi's public CAs.

        requests lets REQUESTS_CA_BUNDLE override a session's `verify`, and
        msal and O365 both pass `verify` that way, so pointing that variable
        at this bundle is what makes them trust the emulator when it is set.
        """
        return self.certificates.bundle_path

    def authority(self, tenant: str) -> str:
        """Return the msal authority URL for a tenant id or domain."""
        return f"{self.base_url}/{tenant}"

    def instance_discovery_url(self) -> str:
        """Return the emulator's instance discovery endpoint for msal."""
        return f"{self.base_url}/common/discovery/instance"

    def start(self) -> None:
        """Serve in a daemon thread and wait until the server is up."""
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(
                    f"The emulator did not start on {self.base_url} within "
                    f"{START_TIMEOUT} seconds; check that the port is free."
                )
            time.sleep(0.02)
        logger.info("Emulator listening on %s.", self.base_url)

    def stop(self) -> None:
        """Stop serving and remove the temporary certificates."""
        # Clients keep idle keep-alive connections open; waiting for them
        # would hold every shutdown for the full graceful timeout.
        self.server.should_exit = True
        self.server.force_exit = True
        if self.thread is not None:
            self.thread.join(timeout=START_TIMEOUT)
        self.socket.close()
        if self._temporary is not None:
            self._temporary.cleanup()
        logger.info("Emulator on %s stopped.", self.base_url)

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted."""
        self.server.run(sockets=[self.socket])
