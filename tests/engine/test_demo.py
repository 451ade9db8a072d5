"""`deskmate demo --check`: every scripted scene ends as expected, even with triple delivery."""

from __future__ import annotations

from click.testing import CliRunner

from deskmate.core.demo import demo


def test_demo_check_passes_with_every_webhook_delivered_three_times() -> None:
    result = CliRunner().invoke(demo, ["--check", "--duplicate", "3"])
    assert result.exit_code == 0, result.output
    assert result.output.count("✓ expected") == 7
    assert "Every scene went as expected." in result.output
    assert "Deskmate AI → customer" in result.output
    assert "[note for the team]" in result.output
