"""``deskmate verify``: check each workspace's Intercom set-up and say how to fix what is wrong.

Per workspace: the token works (``GET /me``) on the configured region's host and belongs to the
configured workspace, the AI admin exists, the routing target exists, conversations can be
listed. Then the webhook URL to paste and the topics to subscribe. Every failing check carries
the fix, after the troubleshooting table of OpenCX's Intercom integration.

For "the AI is not replying", each workspace also shows what deskmate's database knows: when the
last webhook arrived, and the recent conversations the AI left alone with the reason.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from deskmate.core.clicontext import load_config
from deskmate.core.config import REGION_BASE_URLS, Settings, WorkspaceSettings
from deskmate.core.intercom.client import IntercomClient, RetryPolicy, base_url_for
from deskmate.core.intercom.errors import (
    ConnectionFailed,
    Forbidden,
    IntercomError,
    PlanRestricted,
    Timeout,
    Unauthorized,
)
from deskmate.core.intercom.webhooks import WEBHOOK_PATH
from deskmate.core.reports import Activity, workspace_activity
from deskmate.core.store.db import DatabaseError, make_engine, make_session_factory, masked
from deskmate.core.store.models import utcnow

__all__ = [
    "WEBHOOK_TOPICS",
    "Check",
    "VerifyReport",
    "WorkspaceReport",
    "read_activity",
    "render_text",
    "verify_settings",
    "verify_workspace",
]

WEBHOOK_TOPICS = (
    "conversation.user.created",
    "conversation.user.replied",
    "conversation.admin.replied",
    "conversation.admin.assigned",
    "conversation.admin.closed",
)
VERIFY_TIMEOUT = (5.0, 15.0)
VERIFY_RETRY = RetryPolicy(max_retries=1, max_rate_limit_retries=1, max_rate_limit_wait=10.0)
DEVHUB_AUTH = "Developer Hub > your app > Configure > Authentication"
MAX_LISTED = 10
MAX_REASON = 200

Status = Literal["ok", "fail", "warn", "skip"]
ClientFactory = Callable[[WorkspaceSettings], IntercomClient]
ActivityReader = Callable[[Settings], Mapping[str, Activity]]
ExtraChecks = Callable[[Settings, WorkspaceSettings], list["Check"]]


@dataclass(frozen=True)
class Check:
    """One line of the checklist: what was checked, how it went, and what to do about it."""

    name: str
    status: Status
    summary: str
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "fail"

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class WorkspaceReport:
    """The checks of one workspace, in the order they ran."""

    app_id: str
    name: str | None
    checks: list[Check] = field(default_factory=list)
    activity: Activity | None = None
    """What the database says about recent webhooks and silences (never fails the report)."""

    @property
    def ok(self) -> bool:
        return not any(check.failed for check in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "app_id": self.app_id,
            "name": self.name,
            "ok": self.ok,
            "checks": [check.as_dict() for check in self.checks],
            "activity": self.activity.as_dict() if self.activity else None,
        }


@dataclass
class VerifyReport:
    """Every workspace's checks plus the webhook set-up to copy into Intercom."""

    workspaces: list[WorkspaceReport]
    webhook_url: str
    topics: Sequence[str] = WEBHOOK_TOPICS
    notes: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(ws.ok for ws in self.workspaces) and not any(n.failed for n in self.notes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "workspaces": [ws.as_dict() for ws in self.workspaces],
            "webhook": {
                "url": self.webhook_url,
                "topics": list(self.topics),
                "notes": [note.as_dict() for note in self.notes],
            },
        }


def _default_client(workspace: WorkspaceSettings) -> IntercomClient:
    return IntercomClient(workspace, timeout=VERIFY_TIMEOUT, retry=VERIFY_RETRY)


def read_activity(settings: Settings) -> dict[str, Activity]:
    """Each workspace's recent activity from deskmate's database, read-only.

    A SQLite file that does not exist yet is never created: every workspace then shows no
    webhook. A database that can't be read gives each workspace an :class:`Activity` with the
    ``error``.
    """
    url = settings.resolved_database_url()
    if _missing_sqlite_file(url):
        return {app_id: Activity(app_id, None) for app_id in settings.workspaces}
    try:
        engine = make_engine(url)
    except DatabaseError as exc:
        return _unreadable(settings, str(exc))
    try:
        with make_session_factory(engine, read_only=True)() as db:
            return {app_id: workspace_activity(db, app_id) for app_id in settings.workspaces}
    except SQLAlchemyError as exc:
        why = type(exc.orig or exc).__name__
        return _unreadable(
            settings,
            f"can't read the database {masked(url)} ({why}): run `deskmate db upgrade`, "
            "and check database_url",
        )
    finally:
        engine.dispose()


def _missing_sqlite_file(url: str) -> bool:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return False
    database = parsed.database or ""
    return (
        parsed.get_backend_name() == "sqlite"
        and database not in ("", ":memory:")
        and not Path(database).expanduser().exists()
    )


def _unreadable(settings: Settings, error: str) -> dict[str, Activity]:
    return {app_id: Activity(app_id, None, error=error) for app_id in settings.workspaces}


def verify_settings(
    settings: Settings,
    *,
    email_channel: bool = False,
    make_client: ClientFactory = _default_client,
    activity: ActivityReader = read_activity,
    extra: Sequence[ExtraChecks] = (),
) -> VerifyReport:
    """Run every check for every workspace of ``settings``.

    ``extra`` adds checks of other services a workspace uses (the llm plugin's model endpoint).

    ``email_channel``: the email channel plugin is loaded; when autopilot answers email and the
    ``[plugins.email]`` section does not say ``email_reply_feature = true``, warn about
    Intercom's email replies. ``activity`` reads each workspace's recent activity.
    """
    email_reply_feature = settings.plugin_config("email").get("email_reply_feature") is True
    warn_email = email_channel and not email_reply_feature
    reports = [
        verify_workspace(ws, email_channel=warn_email, make_client=make_client)
        for ws in settings.workspaces.values()
    ]
    for report in reports:
        workspace = settings.workspaces[report.app_id]
        for checks in extra:
            report.checks += checks(settings, workspace)
    found = activity(settings)
    for report in reports:
        report.activity = found.get(report.app_id) or Activity(report.app_id, None)
    url = settings.public_url.rstrip("/") + WEBHOOK_PATH
    return VerifyReport(reports, url, notes=_webhook_notes(url))


def verify_workspace(
    workspace: WorkspaceSettings,
    *,
    email_channel: bool = False,
    make_client: ClientFactory = _default_client,
) -> WorkspaceReport:
    """The checklist of one workspace; checks after a failed token check are skipped."""
    report = WorkspaceReport(workspace.app_id, workspace.name)
    try:
        client = make_client(workspace)
    except ValueError as exc:
        report.checks.append(Check("token", "fail", "The access token is unusable", str(exc)))
        return report
    with client:
        token = _check_token(client, workspace, make_client)
        report.checks += token
        if any(check.failed for check in token):
            report.checks += [
                Check(name, "skip", f"Skipped: {what} (fix the token first)")
                for name, what in (
                    ("ai_admin", "the AI admin"),
                    ("routing", "routing"),
                    ("conversations", "listing conversations"),
                )
            ]
        else:
            report.checks += _check_people(client, workspace)
            report.checks.append(_check_conversations(client))
    if email_channel and workspace.channel("email").autopilot:
        report.checks.append(_email_warning())
    return report


# -- token and region ---------------------------------------------------------------------------


def _check_token(
    client: IntercomClient, workspace: WorkspaceSettings, make_client: ClientFactory
) -> list[Check]:
    try:
        me = client.me()
    except Unauthorized as exc:
        fix = _token_fix(workspace, make_client)
        return [Check("token", "fail", _failed("The token was refused", exc), fix)]
    except IntercomError as exc:
        return [Check("token", "fail", _failed("GET /me failed", exc), _fix_for(exc, workspace))]
    app = me.get("app") if isinstance(me.get("app"), dict) else {}
    who = f"{me.get('name') or 'admin'} ({me['id']})"
    where = f"{app.get('name') or 'workspace'} ({app.get('id_code') or '?'})"
    checks = [Check("token", "ok", f"Access token valid: {who} in {where}")]
    workspace_id = app.get("id_code")
    if workspace_id and workspace_id != workspace.app_id:
        checks.append(
            Check(
                "workspace",
                "fail",
                f"The token belongs to workspace {workspace_id}, not {workspace.app_id}",
                f"Rename [workspaces.{workspace.app_id}] to [workspaces.{workspace_id}] "
                "(the app id in your Intercom URL, app.intercom.com/a/apps/<app_id>), "
                f"or use the token of workspace {workspace.app_id}.",
            )
        )
    checks.append(_check_region(workspace, app.get("region")))
    return checks


def _check_region(workspace: WorkspaceSettings, reported: Any) -> Check:
    if workspace.base_url:
        return Check("region", "ok", f"API host: {workspace.base_url} (base_url)")
    region = str(reported or "").lower()
    if region in REGION_BASE_URLS and region != workspace.region:
        return Check(
            "region",
            "fail",
            f"The workspace is hosted in region {region.upper()}, the config says "
            f"{workspace.region.upper()}",
            f'Set region = "{region}" under [workspaces.{workspace.app_id}].',
        )
    return Check("region", "ok", f"Region {workspace.region.upper()}: {base_url_for(workspace)}")


def _token_fix(workspace: WorkspaceSettings, make_client: ClientFactory) -> str:
    """The fix for a 401: the region whose host accepts the token, else a new token."""
    regenerate = _regenerate(workspace) + "; check that the workspace id matches your Intercom URL."
    if workspace.base_url:
        return regenerate
    for region in REGION_BASE_URLS:
        if region == workspace.region:
            continue
        probe = dataclasses.replace(workspace, region=region)
        try:
            with make_client(probe) as client:
                client.me()
        except (IntercomError, ValueError):
            continue
        return (
            f"The token works on the {region.upper()} host ({REGION_BASE_URLS[region]}): "
            f'set region = "{region}" under [workspaces.{workspace.app_id}].'
        )
    return (
        regenerate + " If the workspace is hosted in the EU or Australia, set "
        'region = "eu" or "au": a token is refused by another region\'s host.'
    )


# -- admins, teams, routing -------------------------------------------------------------------


def _check_people(client: IntercomClient, workspace: WorkspaceSettings) -> list[Check]:
    try:
        admins = client.list_admins()
    except IntercomError as exc:
        fail = _failed("Could not list admins", exc)
        return [Check("ai_admin", "fail", fail, _fix_for(exc, workspace))]
    checks = [_check_ai_admin(workspace, admins)]
    routing = workspace.routing
    if routing.mode == "unassigned":
        checks.append(Check("routing", "ok", "Routing: escalations are left unassigned"))
    elif routing.mode == "admin":
        checks.append(_check_target("admin", routing.admin_id, admins, workspace))
    else:
        try:
            teams = client.list_teams()
        except IntercomError as exc:
            fail = _failed("Could not list teams", exc)
            return [*checks, Check("routing", "fail", fail, _fix_for(exc, workspace))]
        checks.append(_check_target("team", routing.team_id, teams, workspace))
    return checks


def _check_ai_admin(workspace: WorkspaceSettings, admins: list[dict[str, Any]]) -> Check:
    admin = _by_id(admins, workspace.ai_admin_id)
    if admin is not None:
        return Check("ai_admin", "ok", f"AI admin found: {_label(admin)}")
    return Check(
        "ai_admin",
        "fail",
        f"AI admin {workspace.ai_admin_id} is not one of the workspace's {len(admins)} admins",
        f"Set ai_admin_id under [workspaces.{workspace.app_id}] to the AI teammate's admin id. "
        f"Admins: {_listing(admins)}",
    )


def _check_target(
    kind: str, target: str | None, found: list[dict[str, Any]], workspace: WorkspaceSettings
) -> Check:
    item = _by_id(found, target)
    if item is not None:
        return Check("routing", "ok", f"Routing: escalations go to {kind} {_label(item)}")
    plural = "admins" if kind == "admin" else "teams"
    return Check(
        "routing",
        "fail",
        f"Routing {kind} {target} does not exist in this workspace",
        f"Set routing.{kind}_id under [workspaces.{workspace.app_id}] to one of the "
        f"{plural}: {_listing(found)}",
    )


def _by_id(items: Iterable[dict[str, Any]], wanted: str | None) -> dict[str, Any] | None:
    return next((item for item in items if str(item.get("id")) == str(wanted)), None)


def _label(item: dict[str, Any]) -> str:
    return f"{item.get('name') or '(no name)'} ({item.get('id')})"


def _listing(items: list[dict[str, Any]]) -> str:
    if not items:
        return "(none)"
    shown = ", ".join(_label(item) for item in items[:MAX_LISTED])
    more = len(items) - MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


# -- conversations and channels -----------------------------------------------------------------


def _check_conversations(client: IntercomClient) -> Check:
    try:
        next(iter(client.list_conversations(per_page=1)), None)
    except PlanRestricted as exc:
        return Check(
            "conversations",
            "fail",
            _failed("Conversations cannot be read on this Intercom plan", exc),
            "The workspace's plan does not include the Conversations API "
            "(api_plan_restricted): upgrade the plan or ask Intercom to enable API access.",
        )
    except IntercomError as exc:
        return Check(
            "conversations",
            "fail",
            _failed("Could not list conversations", exc),
            _fix_for(exc, client.workspace),
        )
    return Check("conversations", "ok", "Conversations can be listed")


def _email_warning() -> Check:
    return Check(
        "email_replies",
        "warn",
        "Email channel: Intercom does not email bot or API replies to inbound email "
        "conversations by default; they are stored in the conversation only",
        "Ask your Intercom accounts team to turn on the email-reply feature for the workspace, "
        "or replies to email conversations never reach the customer's mailbox. Once it is on, "
        "set email_reply_feature = true under [plugins.email].",
    )


def _webhook_notes(url: str) -> list[Check]:
    if url.startswith("https://"):
        return []
    return [
        Check(
            "webhook_url",
            "warn",
            "Intercom only delivers webhooks to an HTTPS URL reachable from the internet",
            'Serve deskmate behind TLS and set public_url = "https://…" in the config '
            "(fine as it is for the local sandbox).",
        )
    ]


# -- errors to fixes ---------------------------------------------------------------------------


def _regenerate(workspace: WorkspaceSettings) -> str:
    """Where to get a new token and where to put it (never the value itself)."""
    secret = workspace.access_token
    kind = "environment variable" if secret.source == "env" else "file"
    return f"Regenerate the access token in {DEVHUB_AUTH} and update the {kind} {secret.ref}"


def _failed(what: str, exc: IntercomError) -> str:
    return f"{what}: {exc}"


def _fix_for(exc: IntercomError, workspace: WorkspaceSettings) -> str:
    """The troubleshooting advice for an API error."""
    if isinstance(exc, PlanRestricted):
        return "The workspace's Intercom plan does not include API access: upgrade the plan."
    if isinstance(exc, Forbidden):
        return (
            f"The token lacks a permission: in {DEVHUB_AUTH}, allow reading and writing "
            "conversations, reading admins, teams, contacts and companies, then update the token."
        )
    if isinstance(exc, Unauthorized):
        return _regenerate(workspace) + "."
    if isinstance(exc, Timeout | ConnectionFailed):
        return (
            f"Check that this machine can reach {base_url_for(workspace)} "
            "(network, proxy or firewall), then run deskmate verify again."
        )
    return "Run deskmate verify again; if it persists, quote the request id to Intercom support."


# -- rendering --------------------------------------------------------------------------------

_MARKS = {"ok": "✓", "fail": "✗", "warn": "!", "skip": "-"}


def render_text(report: VerifyReport) -> str:
    """The checklist as readable lines: ✓ passed, ✗ failed (with the fix), ! warning."""
    lines: list[str] = []
    for ws in report.workspaces:
        title = f"{ws.name} ({ws.app_id})" if ws.name else ws.app_id
        lines.append(f"Workspace {title}")
        lines += _render_checks(ws.checks)
        if ws.activity is not None:
            lines += _render_activity(ws.activity, utcnow())
        lines.append("")
    lines.append("Webhook (Developer Hub > your app > Configure > Webhooks)")
    lines.append(f"  URL to paste:  {report.webhook_url}")
    lines.append("  Topics to subscribe:")
    lines += [f"    {topic}" for topic in report.topics]
    lines += _render_checks(report.notes)
    lines.append("")
    failures = sum(c.failed for ws in report.workspaces for c in ws.checks)
    failures += sum(n.failed for n in report.notes)
    plural = "s" if failures != 1 else ""
    lines.append("All checks passed." if report.ok else f"{failures} check{plural} failed.")
    return "\n".join(lines)


def _render_activity(activity: Activity, now: datetime) -> list[str]:
    """Why the AI may be silent: the last webhook and the conversations it left alone."""
    lines = ["  Activity (deskmate's database)"]
    if activity.error:
        return [*lines, f"    ! {activity.error}"]
    if activity.last_webhook_at is None:
        lines.append("    ! Last webhook: never")
        lines.append(
            "        fix: check the webhook URL and topics in the Developer Hub (below), and "
            "that `deskmate serve` is reachable at public_url."
        )
    else:
        lines.append(f"    Last webhook: {_when(activity.last_webhook_at, now)}")
    if not activity.left_alone:
        return lines
    lines.append(f"    Left alone recently ({len(activity.left_alone)}, newest first):")
    for item in activity.left_alone:
        session = (
            f", session {item['session']} ({item['session_state']})"
            if item["session"] is not None
            else ""
        )
        reason = " ".join((item["reason"] or "no reason recorded").split())
        lines.append(
            f"      conversation {item['conversation']}{session}: {item['status']}, "
            f"{_shorten(reason)}"
        )
    lines.append("    (`deskmate sessions show ID` tells what the AI saw and decided)")
    return lines


def _shorten(text: str, limit: int = MAX_REASON) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _when(moment: datetime, now: datetime) -> str:
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 120:
        ago = f"{seconds} s ago"
    elif seconds < 2 * 3600:
        ago = f"{seconds // 60} min ago"
    elif seconds < 2 * 86400:
        ago = f"{seconds // 3600} h ago"
    else:
        ago = f"{seconds // 86400} days ago"
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC ({ago})"


def _render_checks(checks: Iterable[Check]) -> list[str]:
    lines = []
    for check in checks:
        lines.append(f"  {_MARKS[check.status]} {check.summary}")
        if check.fix and check.status in ("fail", "warn"):
            lines.append(f"      fix: {check.fix}")
    return lines


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the checklist as JSON.")
@click.pass_context
def verify(ctx: click.Context, as_json: bool) -> None:
    """Check each workspace's Intercom credentials and set-up; print the webhook to configure.

    Exits 1 when a check fails; every failing line says what to do.
    """
    settings, host = load_config(ctx)
    extra: list[ExtraChecks] = []
    if "llm" in host.loaded():
        from deskmate.plugins.llm.verify import model_checks

        extra.append(model_checks)
    report = verify_settings(settings, email_channel="email" in host.loaded(), extra=extra)
    click.echo(json.dumps(report.as_dict(), indent=2) if as_json else render_text(report))
    ctx.exit(0 if report.ok else 1)
