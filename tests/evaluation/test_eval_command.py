"""``deskmate eval`` on small case files: inline knowledge, exit codes, clear errors."""

from __future__ import annotations

import io
import json
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from deskmate.core.cli import cli
from deskmate.core.evaluation.command import play_all

RETURNS = """
knowledge:
  - id: returns
    title: Returns
    body: >-
      Send the parcel back within 30 days of delivery for a full refund.
      Print the prepaid label.
  - id: gift-cards
    title: Gift cards
    body: Gift cards never expire. You can check the balance of a gift card on the account page.
cases:
  - id: returns-direct
    category: direct
    language: en
    turns: "how do i send the parcel back for a refund"
    expect: {answer: Returns}
  - id: gift-card-balance
    category: direct
    language: en
    turns: "where can i check my gift card balance"
    expect: {answer: gift-cards}
  - id: wants-a-person
    category: human-request
    language: en
    turns:
      - customer: "how do i send the parcel back for a refund"
      - ai: "Send the parcel back within 30 days of delivery for a full refund."
      - customer: "can i talk to a human please"
    expect: {handoff: human_requested}
"""


def write(folder: Path, text: str, name: str = "cases.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["eval", *args])


def test_cases_with_inline_knowledge_are_answered_and_handed_off(no_config: Path) -> None:
    result = run(str(write(no_config, RETURNS)), "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    outcomes = {r["id"]: r["outcome"] for r in report["results"]}
    assert outcomes["returns-direct"]["action"] == "answer"
    assert outcomes["returns-direct"]["cites"] == ["returns"]
    assert outcomes["wants-a-person"]["reasons"][0] == "human_requested"
    assert report["overall"]["handoff_recall"] == 1.0
    assert report["split"]["cases"]["cases"] == 3  # the file's name when it sets no split
    assert set(report) >= {"version", "overall", "split", "category", "language", "group"}


def test_the_text_report_shows_the_tables_and_the_missed_cases(no_config: Path) -> None:
    missing = RETURNS.replace("expect: {answer: gift-cards}", "expect: {handoff: frustration}")
    result = run(str(write(no_config, missing)))

    assert result.exit_code == 0, result.output
    assert result.output.startswith("overall")
    assert "category" in result.output and "language" in result.output
    assert "missed (1):" in result.output
    assert "gift-card-balance [direct, en]: expected handoff (frustration); got answer" in (
        result.output
    )


def test_a_missed_threshold_exits_1_and_names_it(no_config: Path) -> None:
    cases = str(write(no_config, RETURNS))

    kept = run(cases, "--fail-under", "answer_rate=1", "--fail-over", "decision_p50_ms=50")
    missed = run(cases, "--fail-under", "handoff_precision=1.0", "--fail-under", "ack_no_reply=0.9")

    assert kept.exit_code == 0, kept.output
    assert missed.exit_code == 1
    assert "1 threshold(s) missed" in missed.stderr
    assert "ack_no_reply: no case measures it (threshold 0.9)" in missed.stderr
    assert "handoff_precision = 1, needs >= 1: ok" in missed.stdout


def test_an_unknown_threshold_is_a_usage_error(no_config: Path) -> None:
    result = run(str(write(no_config, RETURNS)), "--fail-under", "answers=0.9")
    assert result.exit_code == 2
    assert "no figure named 'answers'" in result.output


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            (
                'category: direct\n    language: en\n    turns: "where',
                'category: Direct Q\n    language: en\n    turns: "where',
            ),
            "case gift-card-balance: category: expected a short lowercase name",
        ),
        (
            ('language: en\n    turns: "where', 'language: english\n    turns: "where'),
            "case gift-card-balance: language: expected a language code",
        ),
        (
            ("expect: {answer: gift-cards}", "expect: {answer: gift-cards, handoff: any}"),
            "case gift-card-balance: expect: expected exactly one of answer, handoff, no_reply",
        ),
        (
            ("expect: {answer: gift-cards}", "expect: {answer: Gift vouchers}"),
            "case gift-card-balance: expect: answer: no document 'Gift vouchers' in its knowledge",
        ),
        (
            ("expect: {answer: gift-cards}", "expect: {handoff: Not A Code}"),
            "case gift-card-balance: expect: handoff: not a reason code: Not A Code",
        ),
        (
            ('- customer: "can i talk to a human please"', '- ai: "anything else?"'),
            "case wants-a-person: turns: the last turn must be the customer's",
        ),
        (
            ('- customer: "can i talk', '- bot: "can i talk'),
            "case wants-a-person: turns #3: expected one of customer, ai, rep with a text",
        ),
        (
            ("id: gift-card-balance", "id: returns-direct"),
            "case returns-direct: id already used in",
        ),
        (
            ("    expect: {answer: Returns}\n", "    expect: {answer: Returns}\n    colour: red\n"),
            "case returns-direct: unknown field(s): colour",
        ),
        (('turns: "where', 'turns: ["where'), "line "),
    ],
)
def test_a_bad_case_is_a_clear_error_naming_case_and_field(
    no_config: Path, edit: tuple[str, str], message: str
) -> None:
    old, new = edit
    assert old in RETURNS
    path = write(no_config, RETURNS.replace(old, new, 1))

    result = run(str(path))

    assert result.exit_code == 2, result.output
    assert f"{path}: " in result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_missing_file_and_no_file_are_clear_errors(no_config: Path) -> None:
    missing = run(str(no_config / "nope.yaml"))
    assert missing.exit_code == 2
    assert "nope.yaml: file: can't read it" in missing.output
    assert run().exit_code == 2


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Counting:
    def __init__(self) -> None:
        self.played: list[str] = []

    def play(self, case: str) -> str:
        self.played.append(case)
        return case


def test_a_progress_bar_shows_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal, pipe = _Terminal(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert play_all(_Counting(), ["a", "b"]) == ["a", "b"]  # type: ignore[arg-type]
    monkeypatch.setattr(sys, "stderr", pipe)
    assert play_all(_Counting(), ["a", "b"]) == ["a", "b"]  # type: ignore[arg-type]

    assert "playing cases" in terminal.getvalue()
    assert pipe.getvalue() == ""
