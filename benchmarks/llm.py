"""The llm plugin against the sandbox model: model calls per customer message, tokens per reply,
deskmate's own latency on top of the model's, and Intercom calls per reply next to the default
brain's.

Two stacks (:class:`~deskmate.core.stack.LocalStack`: the sandbox Intercom, the webhook host and a
worker in this process, real HTTP between them) play the same conversations: one answers with
the default brain, the other with the llm plugin and the sandbox's deterministic model at
``/v1``, reached through the official ``openai`` SDK. Each conversation is a first message and
a later one, over a fixed mix of answerable questions and requests for a person.

* **model calls per customer message**: chat requests the model received (its own request log)
  over the customer messages answered; target 1.0.
* **tokens per reply**: input and output tokens as the model reported them (the session audit's
  ``model`` records) over the AI replies.
* **added latency**: each turn's wall time in the plugin (prompt, call, checks, audit write)
  minus the time spent waiting for the model (the SDK calls, from the audit); target p50 < 20 ms.
  The audit's own ``overhead_ms`` (everything but the model and the audit write) is shown too.
* **Intercom calls per reply**: the sandbox's request log, llm stack vs default-brain stack, same
  mix. The writes (replies, notes, tags, assignments, attributes) must be equal; reads are
  reported, and listed by what they were for where the two runs differ.

Timing is never asserted. Correctness is: both stacks end every conversation the same way
(replies, handoffs), and the model is called exactly once per customer message; otherwise the
script exits with status 1.

Run: ``.venv/bin/python benchmarks/llm.py`` (about a minute on 2 cores);
``--conversations=5`` for a smoke run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from conversations import count, kind_of, take_calls

from deskmate.core.demo import seen, sync_knowledge
from deskmate.core.intercom import enrichment
from deskmate.core.stack import LocalStack, StackOptions
from deskmate.core.store.models import AuditRecord
from deskmate.plugins import llm
from deskmate.plugins.llm import service

PLUGINS = {"messenger": {"initial_delay": 0}}
QUESTIONS = (
    "How do I reset my password?",
    "What is your refund policy?",
    "How do I change my plan?",
    "How long does shipping take?",
    "How do I export my data?",
)
HUMAN = "I want to talk to a human please"
FOLLOW_UP = "And how long does shipping take?"


@dataclass
class Run:
    """What one stack did with the mix."""

    brain: str
    outcomes: list[tuple[int, int]] = field(default_factory=list)
    intercom_calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    customer_messages: int = 0
    model_calls: int = 0
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def replies(self) -> int:
        return sum(replies for replies, _ in self.outcomes)


def first_messages(count: int) -> list[str]:
    """The mix: every sixth conversation asks for a person, the others ask the help center."""
    return [HUMAN if i % 6 == 5 else QUESTIONS[i % len(QUESTIONS)] for i in range(count)]


HOOK_MS: list[float] = []
"""Wall time of each of the plugin's model turns, audit write included."""


def timed_think(*args: Any, **kwargs: Any) -> Any:
    started = time.perf_counter()
    try:
        return THINK(*args, **kwargs)
    finally:
        HOOK_MS.append((time.perf_counter() - started) * 1000)


THINK = service.think
service.think = timed_think


def play(folder: Path, brain: str, count: int) -> Run:
    llm.reset()
    enrichment.clear_cache()  # each stack looks its contacts up afresh
    options = StackOptions(plugins=PLUGINS, sandbox_model=brain == "llm")
    run = Run(brain)
    with LocalStack(folder, options) as stack:
        sync_knowledge(stack)
        stack.wait_settled()
        requests.post(f"{stack.sandbox_url}/_sandbox/model/reset", timeout=5)
        take_calls(stack)
        for body in first_messages(count):
            conversation = stack.start_conversation(body)
            stack.wait_settled()
            run.customer_messages += 1
            if body != HUMAN:
                stack.control(f"/conversations/{conversation}/reply", body=FOLLOW_UP)
                stack.wait_settled()
                run.customer_messages += 1
            what = seen(stack, conversation)
            run.outcomes.append((len(what.replies), len(what.notes)))
        run.intercom_calls = Counter((c["method"], kind_of(c)) for c in take_calls(stack))
        received = requests.get(f"{stack.sandbox_url}/_sandbox/model/requests", timeout=5).json()
        run.model_calls = sum(r["path"] == "/v1/chat/completions" for r in received["requests"])
        with stack.engine.sessions() as db:
            run.records = [
                r.data for r in db.query(AuditRecord).filter_by(kind="model").order_by("id")
            ]
    return run


def writes_of(run: Run) -> Counter[tuple[str, str]]:
    """The calls that changed a conversation, by what they were for."""
    return Counter({call: n for call, n in run.intercom_calls.items() if call[0] != "GET"})


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def report(default: Run, model: Run) -> list[str]:
    """Print the figures; returns the failed correctness checks."""
    failures = []
    per_message = model.model_calls / max(1, model.customer_messages)
    tokens_in = sum(r["input"] for r in model.records)
    tokens_out = sum(r["output"] for r in model.records)
    overhead = [float(r["overhead_ms"]) for r in model.records]
    waited = [float(r["latency_ms"]) for r in model.records]
    whole_turn = [total - wait for total, wait in zip(HOOK_MS, waited, strict=True)]
    replies = max(1, model.replies)
    print(f"customer messages: {model.customer_messages}, AI replies: {model.replies}")
    print(f"model calls per customer message: {per_message:.2f} (target 1.0)")
    print(
        f"tokens per reply: {tokens_in / replies:.0f} in, {tokens_out / replies:.0f} out "
        f"(as the model reported them)"
    )
    print(
        f"model latency (SDK call over loopback): p50 {statistics.median(waited):.1f} ms, "
        f"p95 {pct(waited, 0.95):.1f} ms"
    )
    print(
        f"deskmate's added latency: p50 {statistics.median(whole_turn):.1f} ms, "
        f"p95 {pct(whole_turn, 0.95):.1f} ms with the audit write (target p50 < 20 ms); "
        f"prompt, parsing and checks alone p50 {statistics.median(overhead):.1f} ms"
    )
    totals = [sum(run.intercom_calls.values()) for run in (model, default)]
    writes = [writes_of(run) for run in (model, default)]
    print(
        f"Intercom calls per reply: llm {totals[0] / replies:.2f} vs default brain "
        f"{totals[1] / max(1, default.replies):.2f} ({totals[0]} vs {totals[1]} calls, of which "
        f"{sum(writes[0].values())} vs {sum(writes[1].values())} writes)"
    )
    ours, theirs = model.intercom_calls, default.intercom_calls
    for call in sorted(set(ours) | set(theirs)):
        if ours[call] != theirs[call]:
            print(f"  {' '.join(call)}: {ours[call]} vs {theirs[call]}")
    if model.model_calls != model.customer_messages:
        failures.append(f"{model.model_calls} model calls for {model.customer_messages} messages")
    if model.outcomes != default.outcomes:
        failures.append(f"outcomes differ: llm {model.outcomes} vs default {default.outcomes}")
    if writes[0] != writes[1]:
        failures.append("the llm brain made different Intercom writes")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=count(5, 500), default=24)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="deskmate-bench-llm-") as folder:
        default = play(Path(folder) / "default", "default", args.conversations)
        HOOK_MS.clear()
        model = play(Path(folder) / "llm", "llm", args.conversations)
    failures = report(default, model)
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    if not failures:
        print("all correctness checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
