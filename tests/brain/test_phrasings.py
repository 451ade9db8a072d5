"""The escalation detectors on 690 customer phrasings in seven languages
(data/customer_phrasings.yaml): asks for a person, frustration without swear words, closing
messages, and calm questions that mention people, waiting or thanks and must trigger nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from deskmate.core.brain.conversation import is_acknowledgement
from deskmate.core.brain.escalation import human_request
from deskmate.core.brain.sentiment import analyze

PHRASINGS = yaml.safe_load((Path(__file__).parent / "data" / "customer_phrasings.yaml").read_text())
Detector = Callable[[str, str], bool]
DETECTORS: dict[str, Detector] = {
    "human_request": lambda text, _: human_request(text) is not None,
    "frustration": lambda text, language: analyze(text, language).label == "negative",
    "acknowledgement": lambda text, _: is_acknowledgement(text),
}


def lines(kind: str) -> list[tuple[str, str]]:
    return [(language, text) for language, texts in PHRASINGS[kind].items() for text in texts]


@pytest.mark.parametrize("kind", sorted(DETECTORS))
def test_each_detector_recognises_nearly_every_phrasing_in_every_language(kind: str) -> None:
    detect = DETECTORS[kind]
    missed = [(language, text) for language, text in lines(kind) if not detect(text, language)]
    assert len(missed) <= 0.02 * len(lines(kind)), missed
    assert {language for language, _ in lines(kind)} == {"en", "es", "fr", "de", "pt", "it", "nl"}


@pytest.mark.parametrize("kind", sorted(DETECTORS))
def test_calm_questions_trigger_no_detector(kind: str) -> None:
    detect = DETECTORS[kind]
    assert [text for language, text in lines("neutral") if detect(text, language)] == []
