"""Start the Google emulator: `python -m emulators.google --port 8085`."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from emulators.google.app import create_app
from emulators.google.seed import seed_demo
from emulators.google.server import HOST
from emulators.google.state import EmulatorState


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.google",
        description="Run the Google Calendar API v3 emulator on 127.0.0.1.",
    )
    parser.add_argument(
        "--port", type=int, default=8085, help="TCP port (default 8085)."
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="Create a demo domain, users, an OAuth client and a weekly 1:1.",
    )
    parser.add_argument(
        "--lenient",
        action="store_true",
        help="Return responses that fail schema checks instead of a 500 error.",
    )
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    state = EmulatorState()
    if args.demo:
        seed_demo(state)
    app = create_app(state, strict=not args.lenient)
    uvicorn.run(app, host=HOST, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
