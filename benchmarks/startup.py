"""Start-up time of ``deskmate --version`` and ``deskmate --help`` against ``flask --version``.

Each round runs the three commands once, in turn, as fresh processes from the same environment
(the scripts beside this Python), so a burst of load on a shared machine hits all three alike.
The figure is each command's median wall time over the rounds, divided by flask's median: the
target is at most 1.5 for both.

Run: ``python benchmarks/startup.py [--rounds 15]`` (``--smoke``: 3 rounds).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET = 1.5
COMMANDS = {
    "flask --version": ["flask", "--version"],
    "deskmate --version": ["deskmate", "--version"],
    "deskmate --help": ["deskmate", "--help"],
}
BASELINE = "flask --version"


def script(name: str) -> str:
    """The console script ``name`` of this Python's environment."""
    path = Path(sys.executable).with_name(name)
    if not path.exists():
        raise SystemExit(f"{path} is missing: install deskmate (and flask) in this environment")
    return str(path)


def run_once(argv: list[str]) -> float:
    """Seconds one process takes from start to exit; a failing command stops the benchmark."""
    started = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, timeout=60)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {result.stderr.decode()[-500:]}")
    return elapsed


def measure(rounds: int) -> dict[str, float]:
    """Median seconds per command over ``rounds`` alternated rounds (after one warm-up round)."""
    argvs = {label: [script(argv[0]), *argv[1:]] for label, argv in COMMANDS.items()}
    for argv in argvs.values():
        run_once(argv)
    times: dict[str, list[float]] = {label: [] for label in argvs}
    for _ in range(rounds):
        for label, argv in argvs.items():
            times[label].append(run_once(argv))
    return {label: statistics.median(values) for label, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--smoke", action="store_true", help="3 rounds, to check the script runs")
    args = parser.parse_args()
    rounds = 3 if args.smoke else args.rounds
    medians = measure(rounds)
    base = medians[BASELINE]
    print(f"start-up, median of {rounds} alternated rounds")
    for label, seconds in medians.items():
        ratio = seconds / base
        verdict = "" if label == BASELINE else f" (target <= {TARGET:.2f})"
        print(f"{label:<20} {seconds * 1000:7.1f} ms  ratio {ratio:.2f}{verdict}")


if __name__ == "__main__":
    main()
