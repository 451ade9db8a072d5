"""The SDK wrapper against the sandbox model: models, embeddings in order, errors by kind."""

from __future__ import annotations

import pytest

from deskmate.plugins.llm.client import ModelClient, ModelError


def test_embeddings_come_back_in_input_order_with_the_embedding_model(model):
    client = ModelClient(model.options(embedding_model="sandbox-embed"))
    vectors = client.embed(["Lieferzeiten", "Shipping times", "Refund policy"])
    assert len(vectors) == 3 and all(len(v) == 64 for v in vectors)
    shipping_de, shipping_en, refund = vectors
    same = sum(a * b for a, b in zip(shipping_de, shipping_en, strict=True))
    other = sum(a * b for a, b in zip(shipping_de, refund, strict=True))
    assert same > 0.5 > other
    client.close()


def test_embedding_without_an_embedding_model_is_refused(model):
    with pytest.raises(ModelError) as caught:
        ModelClient(model.options()).embed(["x"])
    assert caught.value.kind == "bad_request"


def test_the_model_list_and_a_429_with_its_retry_after(model):
    client = ModelClient(model.options())
    assert "sandbox-model" in client.models()
    model.script({"fault": "rate_limit", "retry_after": 4})
    with pytest.raises(ModelError) as caught:
        client.chat([{"role": "user", "content": "hi"}], "text", {})
    assert (caught.value.kind, caught.value.retry_after, caught.value.retryable) == (
        "rate_limited",
        4.0,
        True,
    )
    client.close()
