"""A small multilingual help center and a brain runtime that answers from it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from deskmate.core.brain import runtime
from deskmate.core.brain.search import KnowledgeIndex, Passage
from deskmate.core.brain.settings import BrainSettings
from deskmate.testing import TEST_APP_ID

HELP_CENTER = [
    Passage(
        "p1",
        "reset-password",
        "Reset your password",
        "Open Settings and choose Security. Click Reset password and follow the link we email"
        " you. The link expires after 30 minutes.",
        url="https://help.example.com/reset-password",
        locale="en",
    ),
    Passage(
        "p2",
        "refunds",
        "Refund policy",
        "We refund any order within 30 days of delivery. Refunds reach your card in 5 to 10"
        " business days. Digital gift cards cannot be refunded.",
        url="https://help.example.com/refunds",
        locale="en",
    ),
    Passage(
        "p3",
        "shipping",
        "Shipping times",
        "Standard shipping takes 3 to 5 business days. Express shipping arrives the next day"
        " when you order before 2 pm.",
        url="https://help.example.com/shipping",
        locale="en",
    ),
    Passage(
        "p4",
        "reset-password",
        "Réinitialiser votre mot de passe",
        "Ouvrez Paramètres puis Sécurité. Cliquez sur Réinitialiser le mot de passe et suivez"
        " le lien reçu par e-mail.",
        url="https://help.example.com/fr/reset-password",
        locale="fr",
    ),
    Passage(
        "p5",
        "reset-password",
        "パスワードの再設定",
        "設定からセキュリティを開き、パスワードを再設定をクリックしてください。メールのリンクは30分で失効します。",
        url="https://help.example.com/ja/reset-password",
        locale="ja",
    ),
    Passage(
        "p6",
        "invoices",
        "下载发票",
        "在账户页面点击账单，然后选择下载发票。发票为PDF格式。",  # noqa: RUF001
        url="https://help.example.com/zh/invoices",
        locale="zh",
    ),
    Passage(
        "p7",
        "refund-limits",
        "Refund approval limits",
        "Agents may approve refunds up to 50 EUR without a manager.",
        locale="en",
        visibility="internal",
    ),
]


@pytest.fixture
def kb() -> KnowledgeIndex:
    return KnowledgeIndex(HELP_CENTER)


@pytest.fixture
def brain(kb: KnowledgeIndex) -> Iterator[runtime.BrainRuntime]:
    """The default brain answering from ``kb`` for the test workspace, with default options."""
    installed = runtime.BrainRuntime(BrainSettings(), indexes={TEST_APP_ID: kb})
    previous = runtime.install(installed)
    yield installed
    runtime.install(previous)
