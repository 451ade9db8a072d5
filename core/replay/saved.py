"""The last replay report, kept as JSON in the instance folder for the dashboard to show."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from deskmate.core.config import Settings

REPORT_NAME = "last-replay.json"


def report_path(settings: Settings) -> Path:
    return settings.instance_path / REPORT_NAME


def save_report(settings: Settings, report: dict[str, Any]) -> Path:
    """Write ``report`` atomically (a reader never sees half of it); returns the path."""
    path = report_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(partial, path)
    return path


def last_report(settings: Settings) -> dict[str, Any] | None:
    """The last replay report saved, or ``None`` when there is none (or it can't be read)."""
    try:
        return json.loads(report_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
