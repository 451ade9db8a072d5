"""The [brain] section: validated with key paths, defaults for what is left out."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from deskmate.core.brain.settings import (
    DETECTABLE_LANGUAGES,
    TRIGGERS,
    BrainSettings,
    brain_settings,
    load_brain_settings,
)


def test_an_empty_section_gives_the_defaults_with_every_trigger_on() -> None:
    options = load_brain_settings({})
    assert options == BrainSettings()
    assert all(options.enabled(code) for code in TRIGGERS)


def test_a_section_sets_thresholds_topics_and_switches() -> None:
    options = load_brain_settings(
        {
            "confidence_threshold": 0.6,
            "max_ai_turns": 3,
            "handoff_topics": ["chargebacks, disputes", "legal threats"],
            "triggers": {"loop": False, "frustration": False},
            "languages": ["en", "de"],
        }
    )
    assert options.confidence_threshold == 0.6 and options.max_ai_turns == 3
    assert options.handoff_topics == ("chargebacks, disputes", "legal threats")
    assert not options.enabled("loop") and not options.enabled("frustration")
    assert options.enabled("human_requested")
    assert options.languages == ("en", "de")


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"confidence_threshold": 1.5}, "confidence_threshold"),
        ({"confidence_threshold": "high"}, "confidence_threshold"),
        ({"max_ai_turns": 0}, "max_ai_turns"),
        ({"triggers": {"lopo": False}}, "triggers"),
        ({"languages": ["english"]}, "languages"),
        ({"languages": ["xx"]}, "languages"),
        ({"handoff_topics": ["x" * 501]}, "handoff_topics"),
        ({"handoff_topics": ["t"] * 201}, "handoff_topics"),
        ({"unknown_option": 1}, "unknown_option"),
        ({"synonyms": "parcel, package"}, "synonyms"),
        ({"synonyms": ["x" * 1001]}, "synonyms"),
        ({"closing_reply": 42}, "closing_reply"),
        ({"closing_reply": "x" * 501}, "closing_reply"),
        ({"triggers": {"billing_dispute": "maybe"}}, "triggers"),
    ],
)
def test_bad_values_are_rejected_naming_the_key(section: dict, key: str) -> None:
    with pytest.raises(ValueError, match=key):
        load_brain_settings(section)


def test_brain_settings_reads_the_configuration() -> None:
    custom = BrainSettings(max_ai_turns=2)
    assert brain_settings(SimpleNamespace(brain=custom)) is custom
    assert brain_settings(SimpleNamespace(brain={"max_ai_turns": 4})).max_ai_turns == 4
    assert brain_settings(object()) == BrainSettings()


def test_the_detectable_languages_are_those_of_the_detection_model() -> None:
    model = LanguageIdentifier.from_model_file(MODEL_FILE)
    assert set(model.nb_classes) - {"zxx"} == DETECTABLE_LANGUAGES


def test_synonyms_closing_reply_and_the_dispute_switch_are_read() -> None:
    options = load_brain_settings(
        {
            "synonyms": ["parcel, package, shipment"],
            "closing_reply": "Glad it helped!",
            "triggers": {"billing_dispute": False},
        }
    )
    assert options.synonyms == ("parcel, package, shipment",)
    assert options.closing_reply == "Glad it helped!"
    assert not options.enabled("billing_dispute")
