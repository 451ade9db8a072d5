"""The Grafana dashboard and the PromQL examples in the docs only name metrics deskmate exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy import create_engine

from deskmate.core.metrics import Metrics

DOCS = Path(__file__).resolve().parents[2] / "docs"
DASHBOARD = DOCS / "deployment" / "grafana-dashboard.json"
METRIC = re.compile(r"\bdeskmate_[a-z_]+")
SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_count", "_sum"),
    "gauge": ("",),
}


def exposed_series(tmp_path: Path) -> set[str]:
    """Every series name deskmate's metrics can expose, suffixes included."""
    metrics = Metrics()
    metrics.track_knowledge(create_engine(f"sqlite:///{tmp_path / 'empty.db'}"))
    return {
        family.name + suffix
        for family in metrics.registry.collect()
        for suffix in SUFFIXES.get(family.type, ("",))
    }


def dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_every_dashboard_query_names_an_existing_metric(tmp_path: Path) -> None:
    known = exposed_series(tmp_path)
    exprs = dashboard_exprs()

    assert len(exprs) >= 10
    for expr in exprs:
        names = set(METRIC.findall(expr))
        assert names, f"no deskmate metric in {expr!r}"
        assert names <= known, f"{expr!r} names unknown {sorted(names - known)}"


def test_the_dashboard_covers_every_outcome_metric(tmp_path: Path) -> None:
    used = {name for expr in dashboard_exprs() for name in METRIC.findall(expr)}
    assert {
        "deskmate_conversation_outcomes_total",
        "deskmate_handoff_reasons_total",
        "deskmate_decisions_by_brain_total",
        "deskmate_conversations_closed_total",
        "deskmate_time_to_first_answer_seconds_bucket",
        "deskmate_knowledge_sync_age_seconds",
    } <= used


def test_promql_examples_in_the_docs_name_existing_metrics(tmp_path: Path) -> None:
    known = exposed_series(tmp_path)
    text = (DOCS / "operations.md").read_text()
    blocks = re.findall(r"```promql\n(.*?)```", text, re.DOTALL)
    assert blocks
    named = {name for block in blocks for name in METRIC.findall(block)}
    assert named and named <= known, sorted(named - known)
