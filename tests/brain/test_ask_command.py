"""``deskmate ask``: the default brain's answer for one question, from the configured store."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from deskmate.core.cli import cli

ENV = {"T_TOKEN": "test-token", "T_SECRET": "test-client-secret"}
GUIDE = """# Returns

Send the parcel back within 30 days of delivery for a full refund. Print the prepaid label.
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "deskmate.toml"
    path.write_text(textwrap.dedent(f"""
        instance_path = "{tmp_path / 'instance'}"

        [workspaces.abc]
        access_token = {{ env = "T_TOKEN" }}
        client_secret = {{ env = "T_SECRET" }}
        ai_admin_id = "42"
    """))  # fmt: skip
    guide = tmp_path / "returns.md"
    guide.write_text(GUIDE)
    added = run(path, "knowledge", "add", str(guide))
    assert added.exit_code == 0, added.output
    return path


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], env=ENV)


def test_a_covered_question_shows_the_hit_the_draft_and_no_handoff(config: Path) -> None:
    result = run(config, "ask", "How do I return a parcel for a refund?")
    assert result.exit_code == 0, result.output
    assert "language: en" in result.output
    assert "Returns" in result.output
    assert "Send the parcel back within 30 days" in result.output
    assert result.output.rstrip().endswith("would answer")


def test_json_output_carries_the_reasons(config: Path) -> None:
    result = run(config, "ask", "--json", "Can I talk to a human about bitcoin?")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["escalates"] is True
    assert [r["code"] for r in data["reasons"]] == ["human_requested", "no_knowledge"]


def test_an_unknown_workspace_is_a_usage_error(config: Path) -> None:
    result = run(config, "ask", "--workspace", "nope", "refund?")
    assert result.exit_code == 2
    assert "--workspace" in result.output


def test_with_several_workspaces_the_workspace_must_be_named(config: Path) -> None:
    with config.open("a") as file:
        file.write('\n[workspaces.xyz]\naccess_token = { env = "T_TOKEN" }\n')
        file.write('client_secret = { env = "T_SECRET" }\nai_admin_id = "43"\n')

    result = run(config, "ask", "refund?")

    assert result.exit_code == 2
    assert "choose a workspace with --workspace (abc, xyz)" in result.output


def test_an_acknowledgement_is_shown_as_no_reply(config: Path) -> None:
    result = run(config, "ask", "thanks, that worked")
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("would not reply: the customer only acknowledged")
    assert "hits:" not in result.output and "draft" not in result.output
    data = json.loads(run(config, "ask", "--json", "merci ça marche").output)
    assert data["silent"] is True and data["escalates"] is False and data["hits"] == []
