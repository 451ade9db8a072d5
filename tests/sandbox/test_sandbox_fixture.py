"""The ``intercom_sandbox`` fixture plugin authors reuse matches the test workspace."""

from __future__ import annotations

import requests

from deskmate.testing import SANDBOX_AI_ADMIN_ID, make_workspace


def test_fixture_serves_the_test_workspace_with_its_token_and_ai_admin(intercom_sandbox):
    workspace = make_workspace(base_url=intercom_sandbox.base_url, ai_admin_id=SANDBOX_AI_ADMIN_ID)
    headers = {"Authorization": f"Bearer {workspace.access_token.reveal()}"}
    me = requests.get(f"{workspace.base_url}/me", headers=headers, timeout=5).json()
    assert me["id"] == workspace.ai_admin_id and me["app"]["id_code"] == workspace.app_id
