"""Put this folder on sys.path and share the email fixtures.

The suite runs with --import-mode=importlib, which does not add test folders
to sys.path, so `mail_fixtures` would not be importable otherwise.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from mail_fixtures import (  # noqa: E402, F401
    factory,
    settings,
    sink,
    smtpd_port,
    world,
)
