"""The pieces one running sandbox is made of, shared by its REST and control routes."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from flask import current_app

from deskmate.core.sandbox.guards import FaultInjector, RateLimiter, RequestLog
from deskmate.core.sandbox.state import SandboxState
from deskmate.core.sandbox.webhooks import WebhookDispatcher

EXTENSION = "deskmate_sandbox"


@dataclass
class Sandbox:
    """State, webhook delivery and the REST guards of one sandbox; the token is never shown."""

    state: SandboxState
    webhooks: WebhookDispatcher
    limiter: RateLimiter
    faults: FaultInjector
    requests: RequestLog
    token: str = field(repr=False)

    def authorized(self, header: str | None) -> bool:
        """Whether an ``Authorization`` header carries this sandbox's bearer token."""
        expected = f"Bearer {self.token}".encode()
        return hmac.compare_digest((header or "").encode(), expected)

    def close(self) -> None:
        """Stop webhook delivery."""
        self.webhooks.stop()


def current_sandbox() -> Sandbox:
    return current_app.extensions[EXTENSION]
