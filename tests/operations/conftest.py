"""A deskmate on loopback (sandbox Intercom, host, worker) plus a config file that points the
``deskmate`` commands at its database, job queue and sandbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner, Result

from deskmate.core.cli import cli
from deskmate.core.intercom.client import RetryPolicy
from deskmate.core.stack import APP_ID, LocalStack, StackOptions
from deskmate.core.store.knowledge import DocumentInput, PassageText, upsert_document

PASSWORD_ARTICLE = (
    "To reset your password, open the login page and click Forgot password. We email you a "
    "reset link that is valid for 24 hours."
)
FAST_PLUGINS = {"messenger": {"initial_delay": 0}, "email": {"initial_delay": 0}}


@dataclass
class Commands:
    """The ``deskmate`` command line with a config file and the environment its secrets need."""

    config: Path
    env: dict[str, str]

    def cli(self, *args: str) -> Result:
        """Run ``deskmate --config <config> ARGS`` in this process."""
        runner = CliRunner()
        return runner.invoke(cli, ["--config", str(self.config), *args], env=self.env)


@dataclass
class Deskmate(Commands):
    """A running stack and the command line configured for it."""

    stack: LocalStack

    def settle(self, timeout: float = 40.0) -> None:
        assert self.stack.wait_settled(timeout), "deskmate did not settle in time"

    def faults(self, **fault: Any) -> None:
        url = f"{self.stack.sandbox_url}/_sandbox/faults"
        response = requests.post(url, json=fault, timeout=5)
        assert response.status_code == 201, response.text

    def clear_faults(self) -> None:
        requests.delete(f"{self.stack.sandbox_url}/_sandbox/faults", timeout=5)


def seed_password_article(stack: LocalStack) -> None:
    """One help-center article, so that a password question gets an answer."""
    doc = DocumentInput(
        source="article",
        external_id="password",
        title="Reset your password",
        body=PASSWORD_ARTICLE,
        passages=[PassageText(PASSWORD_ARTICLE, "Reset your password")],
        locale="en",
        url="https://help.example.com/password",
    )
    with stack.engine.sessions.begin() as db:
        upsert_document(db, APP_ID, doc)


def write_config(
    path: Path,
    *,
    public_url: str,
    instance_path: Path,
    base_url: str,
    ai_admin_id: str,
    extra: str = "",
) -> Path:
    """A TOML config with one workspace, secrets from the environment (see :func:`secrets_env`)."""
    path.write_text(
        f'public_url = "{public_url}"\n'
        f'instance_path = "{instance_path}"\n'
        'admin_token = { env = "DESKMATE_ADMIN_TOKEN" }\n'
        "[jobs]\nmax_attempts = 2\n"
        f"[workspaces.{APP_ID}]\n"
        'name = "Sandbox"\n'
        'access_token = { env = "INTERCOM_ACCESS_TOKEN" }\n'
        'client_secret = { env = "INTERCOM_CLIENT_SECRET" }\n'
        f'ai_admin_id = "{ai_admin_id}"\n'
        f'base_url = "{base_url}"\n'
        "process_unassigned = true\n"
        "[plugins.messenger]\ninitial_delay = 0\n" + extra
    )
    return path


def secrets_env(token: str, client_secret: str, admin_token: str) -> dict[str, str]:
    return {
        "INTERCOM_ACCESS_TOKEN": token,
        "INTERCOM_CLIENT_SECRET": client_secret,
        "DESKMATE_ADMIN_TOKEN": admin_token,
        "DESKMATE_CONFIG": "",
    }


def config_for(stack: LocalStack, path: Path, extra: str = "") -> tuple[Path, dict[str, str]]:
    """A config for ``stack`` (its instance folder, sandbox and admin token) and its env."""
    workspace = stack.settings.workspaces[APP_ID]
    assert stack.settings.admin_token is not None
    config = write_config(
        path,
        public_url=stack.url,
        instance_path=stack.folder,
        base_url=stack.sandbox_url,
        ai_admin_id=stack.ai_admin_id,
        extra=extra,
    )
    env = secrets_env(
        workspace.access_token.reveal(),
        workspace.client_secret.reveal(),
        stack.settings.admin_token.reveal(),
    )
    return config, env


def two_attempts_no_client_retries(stack: LocalStack) -> None:
    """As ``[jobs] max_attempts = 2``, with a client that fails at once instead of backing off."""
    stack.engine.max_attempts = 2
    stack.engine._client(stack.settings.workspaces[APP_ID]).retry = RetryPolicy(
        max_retries=0, max_rate_limit_retries=0
    )


def start_deskmate(
    folder: Path, before_start: Callable[[LocalStack], None] | None = None, **options: Any
) -> Deskmate:
    """Build, seed and start a stack in ``folder`` with the given :class:`StackOptions`.

    ``before_start(stack)`` runs between building the stack and starting it. Close
    ``result.stack`` when done.
    """
    options.setdefault("plugins", FAST_PLUGINS)
    stack = LocalStack(folder / "instance", StackOptions(**options))
    seed_password_article(stack)
    if before_start is not None:
        before_start(stack)
    stack.__enter__()
    config, env = config_for(stack, folder / "deskmate.toml")
    return Deskmate(config, env, stack)


@pytest.fixture
def make_deskmate(tmp_path: Path) -> Iterator[Callable[..., Deskmate]]:
    """Start stacks with :func:`start_deskmate`; each is stopped after the test."""
    started: list[Deskmate] = []

    def make(before_start: Callable[[LocalStack], None] | None = None, **options: Any) -> Deskmate:
        folder = tmp_path / f"deskmate{len(started)}"
        folder.mkdir()
        started.append(start_deskmate(folder, before_start, **options))
        return started[-1]

    yield make
    for running in started:
        running.stack.close()


@pytest.fixture
def deskmate(make_deskmate: Callable[..., Deskmate]) -> Deskmate:
    return make_deskmate()


@pytest.fixture
def offline(tmp_path: Path) -> Commands:
    """The command line on an empty instance folder, with no deskmate or Intercom running."""
    config = write_config(
        tmp_path / "deskmate.toml",
        public_url="https://desk.example.com",
        instance_path=tmp_path / "instance",
        base_url="http://127.0.0.1:9",
        ai_admin_id="1",
    )
    return Commands(config, secrets_env("tok-offline-1", "sec-offline-1", "adm-offline-1"))
