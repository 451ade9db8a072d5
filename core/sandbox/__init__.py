"""A local fake Intercom: the REST subset deskmate uses, a control API that plays customers and
teammates, and signed webhooks. See docs/sandbox.md."""

from deskmate.core.sandbox.seed import SeedOptions
from deskmate.core.sandbox.server import (
    DEFAULT_RATE_LIMIT,
    SandboxServer,
    close_sandbox,
    create_sandbox_app,
    run_sandbox,
)
from deskmate.core.sandbox.webhooks import sign

__all__ = [
    "DEFAULT_RATE_LIMIT",
    "SandboxServer",
    "SeedOptions",
    "close_sandbox",
    "create_sandbox_app",
    "run_sandbox",
    "sign",
]
