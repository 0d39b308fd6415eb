"""Time `tandem sync` on a generated company calendar against bare expansion.

Usage: python benchmarks/sync_benchmark.py [--runs N] [--seed N] [--early-years N]

The script writes two calendars with `generate_calendar.py` into a temporary
directory: the base calendar, and the same calendar with its unbounded
RRULEs starting `--early-years` years earlier. For each it measures, `--runs`
times, in fresh child processes:

- `tandem sync`: the installed command, run as a user runs it, with a new
  SQLite database (DATABASE_URL) per run, `--now` at the calendar's anchor
  and `--domain bench.example`. Wall time covers interpreter start, imports,
  migrations, reading, syncing and saving. Peak memory is the child's
  maximum resident set size (`os.wait4`, ru_maxrss).
- the baseline: `icalendar.Calendar.from_ical` on the file's bytes and
  `recurring_ical_events.of(calendar).between(start, end)` over the window
  that `tandem sync` reads, timed inside the child, imports excluded.
- startup: the time `import addon.cli` takes in a fresh interpreter.

The window is now - 28 days (the goal-review lookback of `addon.service`) to
now + TANDEM_HORIZON_DAYS (92 by default). Medians are reported, with the
CPU time of the sync child next to its wall time, because wall time on a
shared machine includes waiting for a core.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

# Python puts this script's folder first on sys.path, so the generator imports.
from generate_calendar import ANCHOR, DOMAIN, generate

LOOKBACK = timedelta(days=28)
HORIZON = timedelta(days=92)

_BASELINE = """
import json, sys, time
from datetime import datetime
import icalendar, recurring_ical_events
data = open(sys.argv[1], "rb").read()
start, end = datetime.fromisoformat(sys.argv[2]), datetime.fromisoformat(sys.argv[3])
began = time.perf_counter()
calendar = icalendar.Calendar.from_ical(data)
found = recurring_ical_events.of(calendar).between(start, end)
print(json.dumps({"seconds": time.perf_counter() - began, "occurrences": len(found)}))
"""

_IMPORT = """
import time
began = time.perf_counter()
import addon.cli
print(time.perf_counter() - began)
"""


@dataclass(frozen=True, slots=True)
class SyncRun:
    """One `tandem sync` child: wall and CPU seconds, peak RSS and its summary."""

    wall: float
    cpu: float
    peak_mib: float
    summary: dict[str, int]


def tandem_command() -> list[str]:
    """Return the installed `tandem` script next to this interpreter, or on PATH."""
    beside = Path(sys.executable).with_name("tandem")
    found = str(beside) if beside.exists() else shutil.which("tandem")
    if found is None:
        raise SystemExit(
            "The tandem command was not found; install the project with "
            "`pip install -e .` and run this script with the same Python."
        )
    return [found]


def sync_command(calendar: Path, output: Path) -> list[str]:
    return [
        *tandem_command(),
        "sync",
        "--ics",
        str(calendar),
        "--out",
        str(output),
        "--now",
        ANCHOR.isoformat(),
        "--domain",
        DOMAIN,
        "--format",
        "json",
    ]


def run_sync(calendar: Path, work: Path, number: int) -> SyncRun:
    """Run `tandem sync` once in a child process with its own new database."""
    database = work / f"sync-{calendar.stem}-{number}.db"
    command = sync_command(calendar, work / f"out-{calendar.stem}-{number}.ics")
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "TANDEM_TENANT": "bench",
    }

    stdout_path = work / f"stdout-{calendar.stem}-{number}.json"
    stderr_path = work / f"stderr-{calendar.stem}-{number}.txt"
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        began = time.perf_counter()
        child = subprocess.Popen(command, env=environment, stdout=stdout, stderr=stderr)
        # wait4 reaps this child and returns its own resource usage, where
        # getrusage(RUSAGE_CHILDREN) would mix in every earlier child.
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - began
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(
            f"tandem sync failed on {calendar}:\n{stderr_path.read_text()}"
        )

    report = json.loads(stdout_path.read_text())
    summary = {
        "one_on_ones": report["one_on_ones"],
        "written": report["written"],
        "followups": len(report["followups"]),
        "skipped": len(report["skipped"]),
    }
    # ru_maxrss is in KiB on Linux.
    return SyncRun(
        wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, summary
    )


def run_baseline(calendar: Path) -> tuple[float, int]:
    """Return the seconds the bare parse and expansion take, and the occurrences."""
    start = ANCHOR - LOOKBACK
    end = ANCHOR + HORIZON
    command = [sys.executable, "-c", _BASELINE, str(calendar)]
    result = subprocess.run(
        [*command, start.isoformat(), end.isoformat()],
        capture_output=True,
        check=True,
        text=True,
    )
    measured = json.loads(result.stdout)
    return measured["seconds"], measured["occurrences"]


def run_import() -> float:
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT], capture_output=True, check=True, text=True
    )
    return float(result.stdout)


def measure(calendar: Path, work: Path, runs: int) -> dict[str, float | str]:
    """Measure one calendar `runs` times and return the medians."""
    syncs = [run_sync(calendar, work, number) for number in range(runs)]
    baselines = [run_baseline(calendar) for _ in range(runs)]
    wall = statistics.median(run.wall for run in syncs)
    baseline = statistics.median(seconds for seconds, _ in baselines)
    return {
        "file": calendar.name,
        "events": calendar.read_bytes().count(b"BEGIN:VEVENT"),
        "size_mb": calendar.stat().st_size / 1e6,
        "sync_wall": wall,
        "sync_cpu": statistics.median(run.cpu for run in syncs),
        "peak_mib": max(run.peak_mib for run in syncs),
        "baseline": baseline,
        "ratio": wall / baseline,
        "occurrences": baselines[0][1],
        "summary": json.dumps(syncs[0].summary),
    }


def print_report(rows: list[dict[str, float | str]], startup: float, runs: int) -> None:
    start = ANCHOR - LOOKBACK
    end = ANCHOR + HORIZON
    print(f"window {start.isoformat()} to {end.isoformat()}, median of {runs} runs")
    print(f"startup (import addon.cli): {startup:.2f} s")
    print()
    print(
        "| file | VEVENTs | MB | sync wall s | sync CPU s | peak RSS MiB "
        "| baseline s | wall / baseline | occurrences in window |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row['file']} | {row['events']} | {row['size_mb']:.1f} "
            f"| {row['sync_wall']:.2f} | {row['sync_cpu']:.2f} "
            f"| {row['peak_mib']:.0f} | {row['baseline']:.2f} "
            f"| {row['ratio']:.2f} | {row['occurrences']} |"
        )
    print()
    for row in rows:
        print(f"{row['file']}: sync summary {row['summary']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="Runs per measurement.")
    parser.add_argument("--seed", type=int, default=1, help="Calendar seed.")
    parser.add_argument(
        "--early-years",
        type=int,
        default=10,
        help="Years the unbounded RRULEs of the second calendar start earlier.",
    )
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as directory:
        work = Path(directory)
        base = work / "company.ics"
        base.write_bytes(generate(arguments.seed))
        early = work / f"company-unbounded-{arguments.early_years}y-earlier.ics"
        early.write_bytes(generate(arguments.seed, arguments.early_years))

        startup = statistics.median(run_import() for _ in range(arguments.runs))
        rows = [measure(path, work, arguments.runs) for path in (base, early)]
    print_report(rows, startup, arguments.runs)


if __name__ == "__main__":
    main()
