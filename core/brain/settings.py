"""The default brain's options: the ``[brain]`` config section, validated, as a typed object."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, post_load, validate
from marshmallow import fields as mf

TRIGGERS = (
    "human_requested",
    "frustration",
    "billing_dispute",
    "low_confidence",
    "no_knowledge",
    "handoff_topic",
    "loop",
    "max_turns",
)
"""Every escalation trigger, by the code it records as the reason."""

_DETECTABLE = """
    ace af am an ar ary arz as az ba bcl be bg bn br bs ca crh cs cy da de dz el en eo es et eu
    ext fa fi fo fr fuv fy ga gcf gcr gd gl gom grc gu gug guw ha hbo he hi hr ht hu hy id ig is
    it ja jv ka kab kik kk km kn ko ku ky la lb lg lij ln lo lt ltg lv mg mk ml mn mr ms mt my ne
    nl nn no nso oc om or pa pcm pl ps pt qu ro ru rw sa sdh se si sk sl sn so sq sr st sv sw ta
    te tg th tk tl tr tt ug uk ur uz uzs vec vi vo wa wuu xh yo yue zh zu
"""
DETECTABLE_LANGUAGES = frozenset(_DETECTABLE.split())
"""The codes py3langid's model knows (``languages`` may only list these)."""


@dataclass(frozen=True)
class BrainSettings:
    """Thresholds, switches and lists the default brain works with.

    ``confidence_threshold``: a draft below it escalates (``low_confidence``).
    ``max_ai_turns``: AI replies in a conversation before it escalates (``max_turns``).
    ``loop_similarity``: term overlap (Jaccard) at which a message repeats an earlier one.
    ``handoff_topics``: plain-language topics, one per entry; commas separate alternatives.
    ``topic_match``: share of a topic's words a message must contain to match it.
    ``triggers``: the switch of each trigger, by reason code; all on by default.
    ``languages``: ISO 639-1 codes detection chooses from (empty: every language it knows).
    ``default_language``: used when the text and the browser language say nothing.
    ``language_confidence``: below it, the detected language is not trusted.
    ``synonyms``: groups of equivalent phrases (comma-separated) added to the built-in ones.
    ``closing_reply``: sent when the customer only acknowledges or closes; empty: stay quiet.
    """

    confidence_threshold: float = 0.45
    max_ai_turns: int = 5
    loop_similarity: float = 0.8
    handoff_topics: tuple[str, ...] = ()
    topic_match: float = 0.6
    triggers: Mapping[str, bool] = field(default_factory=lambda: dict.fromkeys(TRIGGERS, True))
    languages: tuple[str, ...] = ()
    default_language: str = "en"
    language_confidence: float = 0.5
    search_limit: int = 5
    max_reply_sentences: int = 3
    synonyms: tuple[str, ...] = ()
    closing_reply: str = ""

    def enabled(self, trigger: str) -> bool:
        """Whether the trigger ``trigger`` (a reason code) is switched on."""
        return bool(self.triggers.get(trigger, True))


def _unit(**kwargs: Any) -> mf.Float:
    return mf.Float(validate=validate.Range(0.0, 1.0), **kwargs)


class TriggersSchema(Schema):
    """``[brain.triggers]``: one boolean per reason code."""

    class Meta:
        unknown = RAISE

    human_requested = mf.Boolean()
    frustration = mf.Boolean()
    billing_dispute = mf.Boolean()
    low_confidence = mf.Boolean()
    no_knowledge = mf.Boolean()
    handoff_topic = mf.Boolean()
    loop = mf.Boolean()
    max_turns = mf.Boolean()


class BrainSchema(Schema):
    """``[brain]`` in deskmate.toml; loads into :class:`BrainSettings`."""

    class Meta:
        unknown = RAISE

    confidence_threshold = _unit()
    max_ai_turns = mf.Integer(validate=validate.Range(1, 100))
    loop_similarity = _unit()
    handoff_topics = mf.List(
        mf.String(validate=validate.Length(1, 500)), validate=validate.Length(max=200)
    )
    topic_match = _unit()
    triggers = mf.Nested(TriggersSchema)
    languages = mf.List(
        mf.String(
            validate=validate.OneOf(
                sorted(DETECTABLE_LANGUAGES), error="is not a language detection knows: {input}"
            )
        )
    )
    default_language = mf.String(validate=validate.Regexp(r"^[a-z]{2,3}$"))
    language_confidence = _unit()
    search_limit = mf.Integer(validate=validate.Range(1, 50))
    max_reply_sentences = mf.Integer(validate=validate.Range(1, 10))
    synonyms = mf.List(
        mf.String(validate=validate.Length(1, 1000)), validate=validate.Length(max=500)
    )
    closing_reply = mf.String(validate=validate.Length(max=500))

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> BrainSettings:
        triggers = dict.fromkeys(TRIGGERS, True) | data.pop("triggers", {})
        for key in ("handoff_topics", "languages", "synonyms"):
            if key in data:
                data[key] = tuple(data[key])
        return BrainSettings(triggers=triggers, **data)


def load_brain_settings(section: Mapping[str, Any] | None) -> BrainSettings:
    """Validate a raw ``[brain]`` mapping; raise ``ValueError`` naming each bad key."""
    try:
        return BrainSchema().load(dict(section or {}))
    except ValidationError as exc:
        raise ValueError(f"invalid [brain] section: {exc.messages}") from None


def brain_settings(settings: Any) -> BrainSettings:
    """The brain's options from the whole configuration: ``settings.brain``, else defaults.

    ``settings.brain`` may hold a :class:`BrainSettings` (what the config loader builds) or a raw
    mapping (validated here).
    """
    section = getattr(settings, "brain", None)
    if isinstance(section, BrainSettings):
        return section
    if isinstance(section, Mapping):
        return load_brain_settings(section)
    return BrainSettings()
