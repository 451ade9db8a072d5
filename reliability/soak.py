"""The long run: many conversations against real ``deskmate serve`` and ``deskmate worker``
processes, SIGKILLed at seeded random points, with an Intercom fault storm and every webhook
delivered several times under two topics. Prints the figures and exits 1 on any lost or
duplicated effect, any unsettled, dead or unprocessable event.

Run: ``.venv/bin/python reliability/soak.py --conversations 300 --kills 12 --fault-rate 0.25
--duplicate 3 --cross-topic`` (docs/reliability.md has the figures of the last long run).
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from deployment import Plan, play


def bounded(kind: Callable[[str], float], low: float, high: float) -> Callable[[str], float]:
    """An argparse type: ``kind`` of the text, refused unless ``low <= value <= high``."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=bounded(int, 1, 5000), default=30)
    parser.add_argument("--kills", type=bounded(int, 0, 500), default=3)
    parser.add_argument("--fault-rate", type=bounded(float, 0.0, 0.5), default=0.25)
    parser.add_argument(
        "--slow-writes",
        type=bounded(float, 0.0, 1.0),
        default=0.3,
        help="share of writes answered 1.5 s after they took effect (kills land there)",
    )
    parser.add_argument(
        "--kill-gap",
        type=bounded(float, 0.1, 600),
        default=1.0,
        help="mean seconds between kills (each gap drawn from 0.3x to 1.5x of it)",
    )
    parser.add_argument("--duplicate", type=bounded(int, 1, 10), default=3)
    parser.add_argument("--cross-topic", action="store_true")
    parser.add_argument("--workers", type=bounded(int, 0, 4), default=1)
    parser.add_argument("--seed", type=bounded(int, 0, 2**31), default=1)
    parser.add_argument("--timeout", type=bounded(float, 10, 7200), default=600.0)
    parser.add_argument("--keep", type=Path, help="keep the run's folder (logs, database) here")
    return parser.parse_args(argv)


def plan_of(args: argparse.Namespace) -> Plan:
    return Plan(
        conversations=args.conversations,
        kills=args.kills,
        kill_gap=(0.3 * args.kill_gap, 1.5 * args.kill_gap),
        fault_rate=args.fault_rate,
        slow_writes=args.slow_writes,
        duplicate=args.duplicate,
        cross_topic=args.cross_topic,
        workers=args.workers,
        seed=args.seed,
        timeout=args.timeout,
    )


def commit() -> str:
    here = Path(__file__).resolve().parent
    found = subprocess.run(
        ["git", "-C", str(here), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return found.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = plan_of(args)
    print(
        f"soak: {plan.conversations} conversations, {plan.kills} kills, "
        f"fault rate {plan.fault_rate:.0%}, slow writes {plan.slow_writes:.0%}, "
        f"each webhook x{plan.duplicate}{' under two topics' if plan.cross_topic else ''}, "
        f"serve + {plan.workers} worker(s), seed {plan.seed}"
    )
    print(f"machine: {platform.platform()}, Python {platform.python_version()}; commit {commit()}")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="deskmate-soak-") as scratch:
        folder = args.keep or Path(scratch)
        result = play(folder, plan, report=lambda line: print(f"  {line}", flush=True))
    print(f"took {time.monotonic() - started:.0f} s")
    for line in result.lines():
        print(line)
    print("PASS: nothing lost, nothing doubled, every event settled" if result.ok else "FAIL")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
