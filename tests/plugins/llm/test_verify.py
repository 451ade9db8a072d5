"""``deskmate verify`` checks the model endpoint and says what to fix."""

from __future__ import annotations

from deskmate.core.config import Settings
from deskmate.core.local_servers import free_port
from deskmate.core.store.audit import append_audit
from deskmate.core.store.sessions import get_or_open_session
from deskmate.core.verify import render_text, verify_settings
from deskmate.plugins.llm.verify import model_checks
from deskmate.testing import SANDBOX_AI_ADMIN_ID, TEST_APP_ID, make_workspace


def _settings(settings: Settings, section: dict, **workspace) -> Settings:
    workspaces = {TEST_APP_ID: make_workspace(**workspace)}
    return Settings(
        workspaces=workspaces, instance_path=settings.instance_path, plugins={"llm": section}
    )


def test_a_listed_model_passes(model, settings):
    config = _settings(settings, model.section())
    [check] = model_checks(config, config.workspaces[TEST_APP_ID])
    assert check.status == "ok" and "sandbox-model" in check.summary and "listed" in check.summary


def test_an_unlisted_model_that_answers_a_one_token_call_passes(model, settings):
    config = _settings(settings, model.section(model="my-finetune"))
    [check] = model_checks(config, config.workspaces[TEST_APP_ID])
    assert check.status == "ok" and "one-token call" in check.summary
    assert '"max_tokens":1' in model.bodies()[-1].replace(" ", "")


def test_nothing_listening_at_base_url_says_to_check_the_address(model, settings):
    section = model.section(base_url=f"http://127.0.0.1:{free_port()}/v1")
    config = _settings(settings, section)
    [check] = model_checks(config, config.workspaces[TEST_APP_ID])
    assert check.status == "fail" and "unreachable" in check.summary
    assert "check the address" in check.fix


def test_a_workspace_without_the_model_has_no_model_check(settings):
    config = _settings(settings, {})
    assert model_checks(config, config.workspaces[TEST_APP_ID]) == []


def test_a_recently_open_circuit_is_reported(model, settings, store_sessions):
    config = _settings(settings, model.section())
    with store_sessions.begin() as db:
        record = get_or_open_session(db, TEST_APP_ID, "c1", channel="messenger")
        append_audit(
            db,
            workspace_id=TEST_APP_ID,
            session_id=record.id,
            kind="model",
            data={"circuit_open": True, "problem": "HTTP 500"},
        )
    checks = model_checks(config, config.workspaces[TEST_APP_ID])
    assert [c.status for c in checks] == ["ok", "warn"]
    assert "circuit breaker stopped model calls" in checks[1].summary
    assert "HTTP 500" in checks[1].summary


def test_verify_prints_the_model_check_with_its_fix(model, settings, intercom_sandbox):
    section = model.section(base_url=f"http://127.0.0.1:{free_port()}/v1")
    config = _settings(
        settings,
        section,
        base_url=intercom_sandbox.base_url,
        ai_admin_id=SANDBOX_AI_ADMIN_ID,
    )
    report = verify_settings(config, extra=[model_checks])
    text = render_text(report)
    assert "✗ Model sandbox-model at http://127.0.0.1:" in text
    assert "fix: nothing answers at base_url" in text
    assert not report.ok
