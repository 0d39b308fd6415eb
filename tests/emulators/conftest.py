"""Put this folder and the repository root on sys.path.

The suite runs with --import-mode=importlib, which adds neither, so without
this the tests could not import their fixture modules (ms_fixtures,
google_fixtures, ...) or the `emulators` package, which is not installed.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for folder in (HERE, HERE.parents[1]):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
