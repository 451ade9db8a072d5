"""Knowledge sync throughput against the sandbox, as a ratio of the rate-limit share it may use.

A sandbox Intercom runs in its own process, seeded with 2,000 Help Center articles (about 60% of
them translated into several languages) and 10,000 closed conversations answered by human reps.
Its rate limit (Intercom's own accounting: a sixth of the per-minute limit per 10-second window)
and the workspace's ``rate_limit`` are both ``--rate-limit``; the sync may use
``--share`` of it. Printed:

* full sync: items per minute divided by the share's calls per minute (the budget; target ≥ 0.9),
  per source and together, with the API calls made;
* a re-sync with no change: its API calls (target: only the listing calls);
* an incremental sync after 100 changes (50 new articles, 50 new answered conversations);
* the benchmark process's peak resident memory (the sandbox's is not counted).

Run: ``python benchmarks/knowledge_sync.py [--rate-limit 12000] [--share 0.5]``. The default
limit keeps the whole run near two minutes on two cores.
"""

from __future__ import annotations

import argparse
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from deskmate.core.config import Secret, Settings, WorkspaceSettings
from deskmate.core.local_servers import free_port
from deskmate.core.sandbox.seed import load_workspace
from deskmate.core.store.db import make_engine, make_session_factory, upgrade
from deskmate.plugins.knowledge_sync.report import SyncReport
from deskmate.plugins.knowledge_sync.runner import run_sync

APP_ID = "bench"


def start_sandbox(
    args: argparse.Namespace, token: str, secret: str
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("deskmate")), "sandbox", "--port", str(port),
        "--app-id", APP_ID, "--rate-limit", str(args.rate_limit),
        "--seed-articles", str(args.articles), "--seed-conversations", str(args.conversations),
    ]  # fmt: skip
    env = {"DESKMATE_SANDBOX_TOKEN": token, "DESKMATE_SANDBOX_CLIENT_SECRET": secret}
    process = subprocess.Popen(
        command, env={**_environ(), **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base_url}/_sandbox", timeout=1).ok:
                return process, base_url
        except requests.ConnectionError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the sandbox did not start: {process.stderr.read().decode()[-500:]}")


def _environ() -> dict[str, str]:
    import os

    return dict(os.environ)


def settings_for(base_url: str, token: str, secret: str, args: argparse.Namespace) -> Settings:
    workspace = WorkspaceSettings(
        app_id=APP_ID,
        access_token=Secret("bench", "token", token),
        client_secret=Secret("bench", "client secret", secret),
        ai_admin_id=load_workspace().me_id,
        base_url=base_url,
        rate_limit=args.rate_limit,
    )
    folder = Path(tempfile.mkdtemp(prefix="deskmate-bench-sync-"))
    plugin = {"knowledge_sync": {"rate_limit_share": args.share, "conversation_days": 0}}
    return Settings(workspaces={APP_ID: workspace}, instance_path=folder, plugins=plugin)


def make_changes(base_url: str, count: int) -> None:
    """``count`` changes: half new articles, half new conversations answered by a rep, closed."""
    control = f"{base_url}/_sandbox"
    human = requests.get(control, timeout=10).json()["human_admin_id"]
    for i in range(count // 2):
        body = f"<h2>Step {i}</h2><p>Bench change {i}: open Settings and choose Export {i}.</p>"
        requests.post(f"{control}/articles", json={"title": f"Export guide {i}", "body": body,
                      "state": "published"}, timeout=10).raise_for_status()  # fmt: skip
    for i in range(count - count // 2):
        question = f"How do I export report number {i} as a spreadsheet file?"
        answer = f"Open Reports, pick report {i} and choose Export, then CSV; it downloads at once."
        contact = {"name": "Bench User", "email": f"b{i}@example.com"}
        opened = {"body": question, "channel": "messenger", "contact": contact}
        started = requests.post(f"{control}/conversations", json=opened, timeout=10)
        conversation = started.json()["id"]
        reply = {"admin_id": human, "body": answer}
        url = f"{control}/conversations/{conversation}"
        requests.post(f"{url}/admin_reply", json=reply, timeout=10).raise_for_status()
        requests.post(f"{url}/close", json={}, timeout=10).raise_for_status()


def ratio(report: SyncReport, budget_per_minute: float) -> float:
    return report.items / (report.seconds / 60) / budget_per_minute


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate-limit", type=int, default=12_000, help="calls per minute")
    parser.add_argument("--share", type=float, default=0.5)
    parser.add_argument("--articles", type=int, default=2_000)
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=100)
    args = parser.parse_args()
    token, secret = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    process, base_url = start_sandbox(args, token, secret)
    try:
        settings = settings_for(base_url, token, secret, args)
        engine = make_engine(settings.resolved_database_url())
        upgrade(engine)
        sessions = make_session_factory(engine)
        budget = args.rate_limit * args.share
        print(f"sandbox: {args.articles} articles, {args.conversations} closed conversations; "
              f"rate limit {args.rate_limit}/min, sync share {args.share:.0%} = {budget:.0f} "
              "calls/min")  # fmt: skip

        def sync(source: str) -> SyncReport:
            return run_sync(settings, APP_ID, source, sessions=sessions)

        full = [sync("articles"), sync("conversations")]
        for report in full:
            print(f"full {report.summary()}")
            print(f"  {report.items / (report.seconds / 60):,.0f} items/min = "
                  f"{ratio(report, budget):.2f} x share budget")  # fmt: skip
        items = sum(r.items for r in full)
        seconds = sum(r.seconds for r in full)
        calls = sum(r.api_calls for r in full)
        print(f"full sync together: {items} items, {calls} API calls in {seconds:.1f}s = "
              f"{items / (seconds / 60) / budget:.2f} x share budget "
              f"(calls: {calls / (seconds / 60) / budget:.2f} x)")  # fmt: skip
        again = [sync("articles"), sync("conversations")]
        print(
            f"re-sync without change: {sum(r.api_calls for r in again)} API calls "
            f"({', '.join(f'{r.source}s {r.api_calls}' for r in again)}); "
            f"{sum(r.added + r.updated + r.removed for r in again)} documents changed"
        )
        make_changes(base_url, args.changes)
        after = [sync("articles"), sync("conversations")]
        for report in after:
            print(f"incremental after {args.changes} changes: {report.summary()}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory of the syncing process: {peak:.0f} MiB")
    finally:
        process.terminate()
        process.wait(10)


if __name__ == "__main__":
    main()
