"""Cut Intercom's full OpenAPI description down to what the sandbox's conformance tests validate.

Run ``python tests/data/intercom/openapi/extract.py FULL_SPEC.yaml`` to rewrite
``api.intercom.io.subset.yaml`` beside this file: the operations below (the JSON schema of each
one's 200 response) and every component schema they reach through ``$ref``, values unchanged. The
full description is 1.3 MB; the tests need a tenth of it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

OPERATIONS = [
    ("/me", "get"),
    ("/admins", "get"),
    ("/admins/{admin_id}", "get"),
    ("/teams", "get"),
    ("/teams/{team_id}", "get"),
    ("/tags", "get"),
    ("/tags", "post"),
    ("/articles", "get"),
    ("/articles/{article_id}", "get"),
    ("/conversations", "get"),
    ("/conversations/{conversation_id}", "get"),
    ("/conversations/{conversation_id}", "put"),
    ("/conversations/{conversation_id}/reply", "post"),
    ("/conversations/{conversation_id}/parts", "post"),
    ("/conversations/{conversation_id}/tags", "post"),
    ("/conversations/search", "post"),
    ("/contacts/{contact_id}", "get"),
    ("/contacts/{contact_id}/companies", "get"),
    ("/companies/{company_id}", "get"),
]
EXTRA_SCHEMAS = ["error"]
PREFIX = "#/components/schemas/"
OUTPUT = Path(__file__).with_name("api.intercom.io.subset.yaml")


def _refs(node: Any) -> set[str]:
    """Every component schema name ``node`` refers to directly."""
    if isinstance(node, dict):
        found = (
            {node["$ref"][len(PREFIX) :]} if str(node.get("$ref", "")).startswith(PREFIX) else set()
        )
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node))
    return set()


def subset(full: dict[str, Any]) -> dict[str, Any]:
    """The operations' 200 responses and the schemas they reach, in the full spec's shape."""
    paths: dict[str, Any] = {}
    for path, method in OPERATIONS:
        ok = full["paths"][path][method]["responses"]["200"]["content"]["application/json"]
        body = {"content": {"application/json": {"schema": ok["schema"]}}}
        paths.setdefault(path, {})[method] = {"responses": {"200": body}}
    schemas = full["components"]["schemas"]
    wanted, todo = set(), _refs(paths) | set(EXTRA_SCHEMAS)
    while todo:
        name = todo.pop()
        wanted.add(name)
        todo |= _refs(schemas[name]) - wanted
    kept = {name: schemas[name] for name in sorted(wanted)}
    return {
        "openapi": full["openapi"],
        "info": full["info"],
        "paths": paths,
        "components": {"schemas": kept},
    }


def main(source: str) -> None:
    with open(source, "rb") as handle:
        full = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    OUTPUT.write_text(yaml.safe_dump(subset(full), sort_keys=False, allow_unicode=True))


if __name__ == "__main__":
    main(sys.argv[1])
