"""Typed errors for Intercom API calls.

Every error carries what an operator needs to act (HTTP status, Intercom's error code, the request
id to quote to Intercom support, the endpoint) and never the access token: messages are built
from Intercom's error body and deskmate's own text only, and foreign text is scrubbed of the
token before it is stored (see :func:`deskmate.core.intercom.client.IntercomClient`).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BadRequest",
    "ConnectionFailed",
    "ContactMerged",
    "Forbidden",
    "IntercomError",
    "InvalidResponse",
    "NotFound",
    "PlanRestricted",
    "RateLimited",
    "ServerError",
    "Timeout",
    "Unauthorized",
    "error_for_status",
]


class IntercomError(Exception):
    """An Intercom call that failed.

    ``ambiguous`` is true when the request may have taken effect even though no answer came back
    (a timeout or a 5xx on a call that changes something): re-read before retrying it.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        endpoint: str | None = None,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.endpoint = endpoint
        self.ambiguous = ambiguous

    def __str__(self) -> str:
        details = [
            f"{label} {value}"
            for label, value in (
                ("status", self.status),
                ("code", self.code),
                ("endpoint", self.endpoint),
                ("request", self.request_id),
            )
            if value is not None
        ]
        return f"{self.message} ({', '.join(details)})" if details else self.message

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}({self.message!r}, status={self.status!r}, code={self.code!r})"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary for the audit trail and ``deskmate verify --json``."""
        return {
            "error": type(self).__name__,
            "message": self.message,
            "status": self.status,
            "code": self.code,
            "request_id": self.request_id,
            "endpoint": self.endpoint,
            "ambiguous": self.ambiguous,
        }


class BadRequest(IntercomError):
    """400/422: Intercom rejected the request's parameters (``parameter_invalid`` and friends)."""


class Unauthorized(IntercomError):
    """401: the access token is invalid, revoked, or belongs to another region's workspace."""


class Forbidden(IntercomError):
    """403: the token lacks a permission for this call."""


class PlanRestricted(Forbidden):
    """403 ``api_plan_restricted``: the workspace's Intercom plan does not include this API."""


class NotFound(IntercomError):
    """404: no such conversation, contact, admin, team or tag."""


class ContactMerged(IntercomError):
    """410 ``contact_merged``: the contact now lives at ``canonical_id`` (from the Link header)."""

    def __init__(self, message: str, *, canonical_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.canonical_id = canonical_id


class RateLimited(IntercomError):
    """429 (or the local limiter gave up waiting): ``retry_after`` seconds until a retry is safe."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(IntercomError):
    """5xx after the retries were spent (or at once, ``ambiguous``, on a non-idempotent call)."""


class Timeout(IntercomError):
    """No answer in time. ``ambiguous`` when the request was sent and changes something."""


class ConnectionFailed(IntercomError):
    """The connection failed or dropped; ``ambiguous`` when it dropped after a change was sent."""


class InvalidResponse(IntercomError):
    """Intercom answered with a body deskmate cannot use: not JSON, too large, or missing keys."""


_BY_STATUS: dict[int, type[IntercomError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    422: BadRequest,
    429: RateLimited,
}


def error_for_status(status: int, code: str | None) -> type[IntercomError]:
    """The error class for an HTTP status and Intercom error code."""
    if status == 403 and code == "api_plan_restricted":
        return PlanRestricted
    if status == 410 and code == "contact_merged":
        return ContactMerged
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, IntercomError)
