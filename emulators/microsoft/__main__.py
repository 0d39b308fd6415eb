"""Start the emulator: `python -m emulators.microsoft --port 8443`."""

import argparse
import logging
from pathlib import Path

from .seed import DEMO_CLIENT_ID, DEMO_TENANT_ID, seed_demo
from .server import EmulatorServer

logger = logging.getLogger(__name__)


def parse_arguments() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m emulators.microsoft",
        description="Serve a Microsoft Graph and identity platform emulator on "
        "127.0.0.1 over HTTPS.",
    )
    parser.add_argument(
        "--port", type=int, default=8443, help="TCP port to listen on (default 8443)."
    )
    parser.add_argument(
        "--cert-dir",
        type=Path,
        default=Path(".emulator-certs"),
        help="Directory for the generated CA and server certificate "
        "(default .emulator-certs); trust <dir>/ca.pem in clients.",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="Create a consented tenant, an app registration, two people and "
        "their weekly 1:1.",
    )
    return parser.parse_args()


def main() -> None:
    """Start the server and serve until Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    arguments = parse_arguments()
    server = EmulatorServer(port=arguments.port, cert_dir=arguments.cert_dir)
    if arguments.demo:
        seed_demo(server.state)
        logger.info(
            "Demo tenant %s has consented to app %s.", DEMO_TENANT_ID, DEMO_CLIENT_ID
        )
    logger.info(
        "Serving on %s. Trust %s, or set REQUESTS_CA_BUNDLE=%s.",
        server.base_url,
        server.ca_path,
        server.bundle_path,
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
