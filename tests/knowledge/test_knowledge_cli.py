"""``deskmate knowledge list|show|search|add``: the store from the command line, local files in."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from deskmate.core.cli import cli
from deskmate.core.knowledge_cli import MAX_FILE_BYTES, read_local_file

ENV = {"T_TOKEN": "test-token", "T_SECRET": "test-client-secret", "T_ADMIN": "admin-secret-1"}

GUIDE = """# Shipping guide

Orders leave our warehouse within 2 days.

## Returns

Send the parcel back within 30 days for a full refund.
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "deskmate.toml"
    path.write_text(textwrap.dedent(f"""
        public_url = "https://deskmate.example.com/"
        admin_token = {{ env = "T_ADMIN" }}
        instance_path = "{tmp_path / 'instance'}"

        [workspaces.abc]
        access_token = {{ env = "T_TOKEN" }}
        client_secret = {{ env = "T_SECRET" }}
        ai_admin_id = "42"
    """))  # fmt: skip
    return path


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), "knowledge", *args], env=ENV)


def files(folder: Path, **contents: str | bytes) -> list[str]:
    paths = []
    for name, content in contents.items():
        path = folder / name.replace("_", ".")
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        paths.append(str(path))
    return paths


def test_added_files_are_listed_shown_and_found(config: Path, tmp_path: Path) -> None:
    paths = files(
        tmp_path,
        guide_md=GUIDE,
        faq_html="<h1>FAQ</h1><p>Call us any day.</p>",
        notes_txt="Internal: the warehouse is in Leeds.",
    )
    added = run(config, "add", *paths)
    assert added.exit_code == 0, added.output
    assert "3 file(s) read: 3 added or updated" in added.output
    listed = run(config, "list", "--source", "file")
    assert "3 document(s)" in listed.output and "Shipping guide" in listed.output
    number = next(line.split()[0] for line in listed.output.splitlines() if "Shipping" in line)
    shown = run(config, "show", number)
    assert "[1] Returns" in shown.output and "full refund" in shown.output
    found = run(config, "search", "how long do I have to return a parcel?")
    assert "Shipping guide — Returns" in found.output
    assert run(config, "add", *files(tmp_path, guide_md=GUIDE)).output.endswith("1 unchanged.\n")


def test_internal_files_are_found_only_when_asked(config: Path, tmp_path: Path) -> None:
    run(config, "add", "--internal", *files(tmp_path, secret_txt="The warehouse code is blue."))
    assert "No passage matches" in run(config, "search", "warehouse code").output
    assert "[internal]" in run(config, "search", "--internal", "warehouse code").output


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("image.png", b"\x89PNG", "unsupported file type"),
        ("binary.txt", b"\xff\xfe\x00\x00garbage\x80", "not UTF-8"),
        ("nul.md", "text\x00more", "NUL"),
        ("empty.md", "   \n\n", "no text"),
        ("huge.txt", "a" * (MAX_FILE_BYTES + 1), "are refused"),
    ],
)
def test_one_bad_file_adds_nothing(
    config: Path, tmp_path: Path, name: str, content: str | bytes, message: str
) -> None:
    good = files(tmp_path, good_md=GUIDE)
    bad = tmp_path / name
    bad.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = run(config, "add", *good, str(bad))
    assert result.exit_code == 1
    assert message in result.output and "Nothing was added" in result.output
    assert "0 document(s)" in run(config, "list").output


def test_show_of_an_unknown_document_says_where_to_look(config: Path) -> None:
    result = run(config, "show", "12345")
    assert result.exit_code == 1 and "knowledge list" in result.output


def test_a_file_keeps_its_headings_as_passages(tmp_path: Path) -> None:
    path = Path(files(tmp_path, guide_md=GUIDE)[0])
    doc = read_local_file(path, locale="en")
    assert (doc.title, doc.source, doc.external_id, doc.locale) == (
        "Shipping guide", "file", "guide.md", "en",
    )  # fmt: skip
    assert [p.heading for p in doc.passages] == ["Shipping guide", "Returns"]
