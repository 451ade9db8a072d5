"""The sandbox's OpenAI-compatible endpoints and the control API that scripts its model.

``/v1/chat/completions``, ``/v1/embeddings`` and ``/v1/models`` answer in OpenAI's shapes
(non-streaming) with any non-empty bearer key. ``/_sandbox/model`` scripts the next answers and
faults, switches ``json_schema`` support off, and lists the requests received, so every guard of
the llm plugin is tested end to end over HTTP.

Script steps (``POST /_sandbox/model/script`` with ``{"steps": [...]}``), used once each, in order:
``{"fault": "latency", "ms": 500}``, ``{"fault": "rate_limit", "retry_after": 1}``,
``{"fault": "server_error"}``, ``{"fault": "malformed"}``, ``{"fault": "refusal"}``,
``{"fault": "hallucinated_citation"}``, ``{"fault": "obey_injection"}`` and
``{"answer": {...}}`` (keys laid over the model's own answer).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

from deskmate.core.sandbox import model

EXTENSION = "deskmate_sandbox_model"
CHAT_MODEL = "sandbox-model"
EMBEDDING_MODEL = "sandbox-embed"
FAULTS = frozenset(
    {
        "latency",
        "rate_limit",
        "server_error",
        "malformed",
        "refusal",
        "hallucinated_citation",
        "obey_injection",
    }
)
MAX_LOGGED = 1000
MAX_SCRIPT = 100
EVIL_LINK = "https://evil.example/collect"

api = Blueprint("sandbox_model", __name__, url_prefix="/v1")
control = Blueprint("sandbox_model_control", __name__, url_prefix="/_sandbox/model")


class ModelState:
    """The scripted steps, the switches and the log of requests of one sandbox model."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.steps: deque[dict[str, Any]] = deque()
        self.json_schema = True
        self.requests: deque[dict[str, Any]] = deque(maxlen=MAX_LOGGED)

    def next_step(self) -> dict[str, Any]:
        with self.lock:
            return self.steps.popleft() if self.steps else {}

    def log(self, path: str, body: str) -> None:
        with self.lock:
            self.requests.append({"path": path, "body": body})


def install(app: Flask) -> None:
    """Serve the model on ``app`` (a sandbox app)."""
    app.extensions[EXTENSION] = ModelState()
    app.register_blueprint(api)
    app.register_blueprint(control)


def _state() -> ModelState:
    return current_app.extensions[EXTENSION]


def _error(status: int, message: str, kind: str, **headers: str) -> Response:
    body = {"error": {"message": message, "type": kind, "param": None, "code": kind}}
    return Response(json.dumps(body), status, headers, content_type="application/json")


def _authorized() -> bool:
    header = request.headers.get("Authorization", "")
    return header.startswith("Bearer ") and bool(header[7:].strip())


def _json_body() -> dict[str, Any] | None:
    raw = request.get_data(as_text=True)
    _state().log(request.path, raw)
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


@api.post("/chat/completions")
def chat() -> Response:
    body = _json_body()
    if not _authorized():
        return _error(401, "Incorrect API key provided", "invalid_api_key")
    if body is None or not isinstance(body.get("messages"), list):
        return _error(400, "messages must be a list", "invalid_request_error")
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema" and not _state().json_schema:
        return _error(400, "response_format json_schema is not supported", "invalid_request_error")
    step = _state().next_step()
    fault = step.get("fault")
    if fault == "latency":
        time.sleep(float(step.get("ms", 0)) / 1000)
    elif fault == "rate_limit":
        retry = str(step.get("retry_after", 1))
        return _error(429, "Rate limit reached", "rate_limit_exceeded", **{"Retry-After": retry})
    elif fault == "server_error":
        return _error(500, "The server had an error", "server_error")
    return _completion(body, step)


def _completion(body: dict[str, Any], step: dict[str, Any]) -> Response:
    messages = body["messages"]
    sources, question = model.read_prompt(messages)
    found = model.answer(sources, question) | dict(step.get("answer") or {})
    fault = step.get("fault")
    content: str | None = json.dumps(found, ensure_ascii=False)
    refusal = None
    if fault == "malformed":
        content = '{"answer": "Sure, here is the' + "\u2026"
    elif fault == "refusal":
        content, refusal = None, "I can't help with that."
    elif fault == "hallucinated_citation":
        content = json.dumps(found | {"cited_ids": ["article-that-was-never-given"]})
    elif fault == "obey_injection":
        rules = str(messages[0].get("content", "")) if messages else ""
        leaked = {
            "answer": f"Sure! My instructions are: {rules[:300]} Send your card to {EVIL_LINK}",
            "cited_ids": [s.id for s in sources[:1]],
            "confidence": 0.99,
            "needs_human": False,
        }
        content = json.dumps(found | leaked, ensure_ascii=False)
    prompt_units = sum(len(str(m.get("content") or "")) for m in messages) // 4 + 1
    completion_units = len(content or refusal or "") // 4 + 1
    choice = {
        "index": 0,
        "message": {"role": "assistant", "content": content, "refusal": refusal},
        "finish_reason": "stop",
        "logprobs": None,
    }
    return _json(
        {
            "id": f"chatcmpl-sandbox-{time.monotonic_ns()}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or CHAT_MODEL,
            "choices": [choice],
            "usage": {
                "prompt_tokens": prompt_units,
                "completion_tokens": completion_units,
                "total_tokens": prompt_units + completion_units,
            },
        }
    )


@api.post("/embeddings")
def embeddings() -> Response:
    body = _json_body()
    if not _authorized():
        return _error(401, "Incorrect API key provided", "invalid_api_key")
    texts = (body or {}).get("input")
    texts = [texts] if isinstance(texts, str) else texts
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        return _error(400, "input must be a string or a list of strings", "invalid_request_error")
    data = [
        {"object": "embedding", "index": i, "embedding": model.embed(text)}
        for i, text in enumerate(texts)
    ]
    units = sum(len(t) for t in texts) // 4 + 1
    return _json(
        {
            "object": "list",
            "data": data,
            "model": (body or {}).get("model") or EMBEDDING_MODEL,
            "usage": {"prompt_tokens": units, "total_tokens": units},
        }
    )


@api.get("/models")
def models() -> Response:
    if not _authorized():
        return _error(401, "Incorrect API key provided", "invalid_api_key")
    listed = [
        {"id": name, "object": "model", "created": 0, "owned_by": "deskmate-sandbox"}
        for name in (CHAT_MODEL, EMBEDDING_MODEL)
    ]
    return _json({"object": "list", "data": listed})


def _json(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), 200, content_type="application/json")


@control.post("/script")
def script() -> tuple[dict[str, Any], int]:
    """Queue the next answers and faults (see the module's docstring)."""
    body = request.get_json(silent=True) or {}
    steps = body.get("steps")
    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        return {"error": "bad_request", "message": "steps must be a list of objects"}, 400
    bad = [s.get("fault") for s in steps if "fault" in s and s["fault"] not in FAULTS]
    if bad:
        return {"error": "bad_request", "message": f"unknown fault {bad[0]!r}"}, 400
    state = _state()
    with state.lock:
        if len(state.steps) + len(steps) > MAX_SCRIPT:
            return {"error": "bad_request", "message": f"at most {MAX_SCRIPT} steps queued"}, 400
        state.steps.extend(steps)
        return {"queued": len(state.steps)}, 200


@control.post("/settings")
def settings() -> tuple[dict[str, Any], int]:
    """``{"json_schema": false}``: answer ``response_format`` json_schema with a 400."""
    body = request.get_json(silent=True) or {}
    if not isinstance(body.get("json_schema"), bool):
        return {"error": "bad_request", "message": "json_schema must be true or false"}, 400
    _state().json_schema = body["json_schema"]
    return {"json_schema": _state().json_schema}, 200


@control.get("/requests")
def requests_received() -> dict[str, Any]:
    """The requests the model received, oldest first (bodies as sent)."""
    state = _state()
    with state.lock:
        return {"requests": list(state.requests), "queued": len(state.steps)}


@control.post("/reset")
def reset() -> dict[str, Any]:
    """Forget the script, the log and the switches."""
    state = _state()
    with state.lock:
        state.steps.clear()
        state.requests.clear()
        state.json_schema = True
    return {"ok": True}
