"""Fixtures for the calendar_sync tests: copies of the .ics cases under tests/data."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

ICS_DIR = Path(__file__).resolve().parents[1] / "data" / "ics"


@pytest.fixture
def ics_copy(tmp_path: Path) -> Callable[[str], Path]:
    """Return a function that copies a case from tests/data/ics into tmp_path.

    Tests that write to a calendar work on the copy, so the case stays as
    checked in.
    """

    def copy_case(name: str) -> Path:
        target = tmp_path / name
        shutil.copyfile(ICS_DIR / name, target)
        return target

    return copy_case


@pytest.fixture
def ics_text(tmp_path: Path) -> Callable[[str], Path]:
    """Return a function that writes iCalendar text to a file with CRLF line ends."""

    def write(text: str, name: str = "case.ics") -> Path:
        target = tmp_path / name
        target.write_bytes(text.replace("\n", "\r\n").encode())
        return target

    return write
