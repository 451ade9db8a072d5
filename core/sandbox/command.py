"""``deskmate sandbox``: run the local fake Intercom until Ctrl-C."""

from __future__ import annotations

import click

from deskmate.core.sandbox.seed import (
    MAX_SEED_ARTICLES,
    MAX_SEED_CONVERSATIONS,
    SeedOptions,
    load_workspace,
)
from deskmate.core.sandbox.server import DEFAULT_RATE_LIMIT, run_sandbox

TOKEN_ENV = "DESKMATE_SANDBOX_TOKEN"
SECRET_ENV = "DESKMATE_SANDBOX_CLIENT_SECRET"


def ready_message(base_url: str, app_id: str, webhook_url: str | None) -> str:
    """What a deskmate config needs to reach this sandbox (the secrets by name only)."""
    ai_admin = load_workspace().me_id
    webhooks = webhook_url or 'nowhere yet (POST /_sandbox/webhooks {"url": ...} to set one)'
    return (
        f"Intercom sandbox listening on {base_url} (Ctrl-C to stop)\n"
        f"  Webhooks go to {webhooks}, signed with the client secret you gave.\n"
        f"  Workspace for your deskmate config (set both variables to what you gave here):\n"
        f"    [workspaces.{app_id}]\n"
        f'    base_url = "{base_url}"\n'
        f'    access_token = {{ env = "{TOKEN_ENV}" }}\n'
        f'    client_secret = {{ env = "{SECRET_ENV}" }}\n'
        f'    ai_admin_id = "{ai_admin}"  # "Deskmate AI"; GET {base_url}/_sandbox lists all\n'
        f"    process_unassigned = true  # sandbox conversations start assigned to nobody\n"
        f"  Play a customer: POST {base_url}/_sandbox/conversations (see docs/sandbox.md).\n"
        f"  A deterministic OpenAI-compatible model answers at {base_url}/v1 (docs/llm.md):\n"
        f"    [plugins.llm]\n"
        f'    base_url = "{base_url}/v1"\n'
        f'    model = "sandbox-model"'
    )


@click.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option("--token", required=True, envvar=TOKEN_ENV,
              help="Bearer token the fake API accepts (also $DESKMATE_SANDBOX_TOKEN).")  # fmt: skip
@click.option("--client-secret", required=True, envvar=SECRET_ENV,
              help="Signs the webhooks (also $DESKMATE_SANDBOX_CLIENT_SECRET).")  # fmt: skip
@click.option("--app-id", default="sandbox", show_default=True, help="Workspace (app) id.")
@click.option("--webhook-url", help="Where to POST webhooks, e.g. deskmate's /webhooks/intercom.")
@click.option("--rate-limit", default=DEFAULT_RATE_LIMIT, show_default=True,
              type=click.IntRange(1, 10_000_000),
              help="Calls per minute, enforced per 10-second window like Intercom.")  # fmt: skip
@click.option("--seed-articles", default=0, type=click.IntRange(0, MAX_SEED_ARTICLES),
              help="Generate this many extra Help Center articles.")  # fmt: skip
@click.option("--seed-conversations", default=0, type=click.IntRange(0, MAX_SEED_CONVERSATIONS),
              help="Generate this many closed, human-answered conversations.")  # fmt: skip
@click.option("--webhook-retry-delay", default=1.0, show_default=True,
              type=click.FloatRange(0, 3600),
              help="Seconds before retrying a failed webhook.")  # fmt: skip
def sandbox_command(
    host: str,
    port: int,
    token: str,
    client_secret: str,
    app_id: str,
    webhook_url: str | None,
    rate_limit: int,
    seed_articles: int,
    seed_conversations: int,
    webhook_retry_delay: float,
) -> None:
    """Run a local fake Intercom (REST API, control API, signed webhooks) for demos and tests."""
    seed = SeedOptions(articles=seed_articles, conversations=seed_conversations)
    try:
        run_sandbox(
            token,
            client_secret,
            host=host,
            port=port,
            on_ready=lambda url: click.echo(ready_message(url, app_id, webhook_url)),
            app_id=app_id,
            webhook_url=webhook_url,
            rate_limit=rate_limit,
            seed=seed,
            webhook_retry_delay=webhook_retry_delay,
        )
    except OSError as exc:
        raise click.ClickException(
            f"can't listen on {host}:{port}: {exc.strerror or exc}. Choose another --port."
        ) from None
    click.echo("sandbox stopped")
