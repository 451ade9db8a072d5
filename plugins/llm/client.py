"""The model endpoint through the official ``openai`` SDK: a chat call, embeddings, the models.

Every call is a single attempt (the SDK's own retries are off): the caller decides about retries,
``Retry-After`` and the circuit breaker, and records each attempt. Failures come out as
:class:`ModelError` with a short ``kind`` (``timeout``, ``rate_limited``, ``server_error``,
``refused``, ``unauthorized``, ``bad_request``, ``unreachable``) and never carry the API key.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from deskmate.plugins.llm.options import LlmOptions

RESPONSE_MODES = ("json_schema", "json_object", "text")
"""How the structured answer is asked for, best first; a server refusing one gets the next."""


class ModelError(Exception):
    """A call that failed; ``retry_after`` is the server's ``Retry-After`` in seconds, if any."""

    def __init__(self, kind: str, detail: str, retry_after: float | None = None) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind, self.detail, self.retry_after = kind, detail, retry_after

    @property
    def retryable(self) -> bool:
        return self.kind in {"timeout", "rate_limited", "server_error", "unreachable"}


@dataclass(frozen=True)
class ChatResult:
    """The model's text and what the call cost."""

    content: str
    tokens_in: int
    tokens_out: int
    seconds: float
    finish_reason: str | None
    refusal: str | None = None


def _sdk() -> Any:
    try:
        import openai
    except ImportError:
        raise ModelError(
            "not_installed", "the llm plugin needs the openai SDK: pip install 'deskmate[llm]'"
        ) from None
    return openai


def _retry_after(response: Any) -> float | None:
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _unsupported_format(exc: Any) -> bool:
    """A 400 or 422 that says the server does not take this ``response_format``."""
    text = str(getattr(exc, "message", "") or exc).lower()
    return "response_format" in text or "json_schema" in text or "json_object" in text


class ModelClient:
    """One endpoint and model, reached through ``openai.OpenAI`` (made on first use, so a
    missing SDK is a failed call like any other, never a crash)."""

    def __init__(self, options: LlmOptions) -> None:
        self.options = options
        self._openai_client: Any = None
        self._lock = threading.Lock()

    @property
    def _client(self) -> Any:
        with self._lock:
            if self._openai_client is None:
                self._openai_client = _sdk().OpenAI(
                    base_url=self.options.base_url,
                    api_key=self.options.key(),
                    timeout=self.options.timeout,
                    max_retries=0,
                )
            return self._openai_client

    def close(self) -> None:
        if self._openai_client is not None:
            self._openai_client.close()

    def chat(self, messages: list[dict[str, str]], mode: str, schema: dict[str, Any]) -> ChatResult:
        """One chat completion asking for JSON in ``mode`` (see :data:`RESPONSE_MODES`)."""
        extra: dict[str, Any] = {}
        if mode == "json_schema":
            extra["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "deskmate_answer", "schema": schema, "strict": True},
            }
        elif mode == "json_object":
            extra["response_format"] = {"type": "json_object"}
        started = time.perf_counter()
        completion = self._call(
            lambda: self._client.chat.completions.create(
                model=self.options.model,
                messages=messages,
                max_tokens=self.options.max_output_tokens,
                temperature=self.options.temperature,
                **extra,
            )
        )
        seconds = time.perf_counter() - started
        if not completion.choices:
            raise ModelError("malformed", "the answer has no choices")
        choice = completion.choices[0]
        usage = completion.usage
        return ChatResult(
            content=choice.message.content or "",
            tokens_in=usage.prompt_tokens if usage else 0,
            tokens_out=usage.completion_tokens if usage else 0,
            seconds=seconds,
            finish_reason=choice.finish_reason,
            refusal=getattr(choice.message, "refusal", None),
        )

    def ping(self) -> None:
        """A one-token call: the model exists and answers."""
        self._call(
            lambda: self._client.chat.completions.create(
                model=self.options.model,
                messages=[{"role": "user", "content": "Reply with OK."}],
                max_tokens=1,
            )
        )

    def embed(self, texts: list[str]) -> list[list[float]]:
        """The ``embedding_model``'s vectors of ``texts``, in order."""
        if not self.options.embedding_model:
            raise ModelError("bad_request", "no embedding_model is configured")
        answer = self._call(
            lambda: self._client.embeddings.create(model=self.options.embedding_model, input=texts)
        )
        return [list(item.embedding) for item in sorted(answer.data, key=lambda d: d.index)]

    def models(self) -> list[str]:
        """The model ids the endpoint lists."""
        return [model.id for model in self._call(self._client.models.list)]

    def _call(self, make: Any) -> Any:
        openai = _sdk()
        try:
            return make()
        except openai.APITimeoutError:
            raise ModelError("timeout", f"no answer within {self.options.timeout:g} s") from None
        except openai.APIConnectionError as exc:
            raise ModelError("unreachable", type(exc).__name__) from None
        except openai.RateLimitError as exc:
            raise ModelError(
                "rate_limited", "HTTP 429", _retry_after(getattr(exc, "response", None))
            ) from None
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise ModelError("unauthorized", f"HTTP {exc.status_code}") from None
        except openai.NotFoundError:
            raise ModelError("not_found", "HTTP 404 (check base_url and model)") from None
        except openai.APIStatusError as exc:
            if exc.status_code >= 500:
                raise ModelError("server_error", f"HTTP {exc.status_code}") from None
            if _unsupported_format(exc):
                raise ModelError("format_unsupported", f"HTTP {exc.status_code}") from None
            raise ModelError("bad_request", f"HTTP {exc.status_code}") from None
        except openai.APIResponseValidationError:
            raise ModelError("malformed", "the answer is not in OpenAI's shape") from None
        except ValueError:
            raise ModelError("malformed", "the answer is not JSON") from None
