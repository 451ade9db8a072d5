"""The sandbox's small deterministic "model": grounded answers and multilingual embeddings.

It reads the prompt deskmate's llm plugin writes (``<source>`` passages and the
``<customer_message>``), picks the passage in the question's language that shares the most
concepts with it, and answers with that passage's first sentences, citing it. A fixed vocabulary
maps the words of the sandbox help center in English, French, German and Spanish to shared
concepts, so a translation or a paraphrase lands near the original in :func:`embed` too. It never
follows instructions: it only ever repeats passages.
"""

from __future__ import annotations

import html
import math
import re
import zlib
from dataclasses import dataclass

from deskmate.core.brain.language import classify

DIMENSIONS = 64
CONCEPT_DIMENSIONS = 48
"""The first dimensions hold the concepts; the rest hold other words, hashed, weighted less."""
OTHER_WEIGHT = 0.3
ANSWER_SENTENCES = 2

VOCABULARY: dict[str, tuple[str, ...]] = {
    "password": ("password", "passwort", "passe", "contraseña", "contrasena", "kennwort"),
    "reset": (
        "reset", "réinitialiser", "reinitialiser", "zurücksetzen", "zurucksetzen", "setze",
        "zurück", "restablecer", "forgot", "oublié", "vergessen", "olvidé", "recover",
    ),
    "signin": ("sign", "login", "connexion", "anmeldeseite", "anmelden", "iniciar", "sesión"),
    "refund": (
        "refund", "refunds", "remboursement", "rembourser", "erstattung", "rückerstattung",
        "reembolso", "reembolsar",
    ),
    "purchase": (
        "purchase", "order", "orders", "achat", "commande", "kauf", "bestellung", "bestellungen",
        "compra", "pedido",
    ),
    "shipping": (
        "shipping", "ship", "delivery", "deliver", "livraison", "expédition", "lieferung",
        "lieferzeiten", "versand", "versendet", "envío", "envio", "entrega",
    ),
    "duration": (
        "long", "time", "times", "days", "jours", "tage", "werktagen", "días", "dias", "délai",
        "dauer", "dauert", "tarda", "combien", "cuánto",
    ),
    "plan": ("plan", "plans", "abonnement", "tarif", "subscription", "suscripción", "tarifa"),
    "change": (
        "change", "changing", "modifier", "changer", "ändern", "wechseln", "cambiar", "upgrade",
        "downgrade", "upgrades", "downgrades",
    ),
    "export": (
        "export", "exporting", "exporter", "exportieren", "exportar", "download", "télécharger",
        "herunterladen", "descargar",
    ),
    "data": ("data", "données", "daten", "datos", "csv", "archive"),
    "billing": ("billing", "facturation", "abrechnung", "facturación", "invoice", "facture"),
    "policy": ("policy", "politique", "richtlinie", "política"),
    "human": (
        "person", "human", "agent", "someone", "humain", "personne", "mensch", "mitarbeiter",
        "persona", "humano", "agente",
    ),
}  # fmt: skip
CONCEPTS = {word: concept for concept, words in VOCABULARY.items() for word in words}
CONCEPT_INDEX = {concept: i for i, concept in enumerate(VOCABULARY)}
ANGRY = frozenset(
    {"ridiculous", "unacceptable", "furious", "angry", "worst", "third", "inadmissible"}
)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_SOURCE = re.compile(
    r'<source id="(?P<id>[^"]*)" title="(?P<title>[^"]*)"(?: url="(?P<url>[^"]*)")?>'
    r"(?P<passage>.*?)</source>",
    re.DOTALL,
)
_QUESTION = re.compile(r"<customer_message>(.*?)</customer_message>", re.DOTALL)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Source:
    """One passage the prompt offered."""

    id: str
    title: str
    url: str | None
    passage: str


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def concepts(text: str) -> set[str]:
    """The vocabulary's concepts ``text`` mentions, whatever its language."""
    return {CONCEPTS[w] for w in words(text) if w in CONCEPTS}


def embed(text: str) -> list[float]:
    """A unit vector: concepts in the first dimensions, other words hashed into the rest."""
    vector = [0.0] * DIMENSIONS
    for word in words(text):
        concept = CONCEPTS.get(word)
        if concept is not None:
            vector[CONCEPT_INDEX[concept] % CONCEPT_DIMENSIONS] += 1.0
        elif len(word) > 3:
            slot = CONCEPT_DIMENSIONS + zlib.crc32(word.encode()) % (
                DIMENSIONS - CONCEPT_DIMENSIONS
            )
            vector[slot] += OTHER_WEIGHT
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [round(v / norm, 6) for v in vector]


def read_prompt(messages: list[dict[str, object]]) -> tuple[list[Source], str]:
    """The sources and the customer's question in the user messages (never the rules)."""
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    text = "\n".join(str(m.get("content") or "") for m in users)
    sources = [
        Source(
            html.unescape(m["id"]),
            html.unescape(m["title"]),
            html.unescape(m["url"]) if m["url"] else None,
            html.unescape(m["passage"]),
        )
        for m in _SOURCE.finditer(text)
    ]
    found = _QUESTION.findall(text)
    last_user = str(users[-1].get("content") or "") if users else ""
    question = html.unescape(found[-1]) if found else last_user
    return sources, question


def language_of(text: str) -> str:
    return classify(text)[0]


def answer(sources: list[Source], question: str) -> dict[str, object]:
    """The structured answer deskmate asks for, grounded in one of ``sources``."""
    language = language_of(question)
    asked = concepts(question)
    angry = bool(ANGRY & set(words(question))) or question.count("!") >= 3
    summary = f"The customer writes: {' '.join(question.split())[:200]}"
    base: dict[str, object] = {
        "answer": "",
        "cited_ids": [],
        "confidence": 0.0,
        "needs_human": True,
        "handoff_reason": "",
        "sentiment": "negative" if angry else "neutral",
        "language": language,
        "summary": summary,
    }
    if "human" in asked or angry:
        return base | {"handoff_reason": "the customer wants a person or is upset"}
    best, overlap = _best(sources, asked, language)
    if best is None:
        why = f"no source in {language} covers the question"
        return base | {"handoff_reason": why}
    sentences = _SENTENCE.split(" ".join(best.passage.split()))
    return base | {
        "answer": " ".join(sentences[:ANSWER_SENTENCES]),
        "cited_ids": [best.id],
        "confidence": round(min(0.95, 0.55 + 0.15 * overlap), 2),
        "needs_human": False,
    }


def _best(sources: list[Source], asked: set[str], language: str) -> tuple[Source | None, int]:
    scored = [
        (len(asked & concepts(f"{s.title} {s.passage}")), -i, s)
        for i, s in enumerate(sources)
        if language_of(s.passage) == language
    ]
    scored = [item for item in scored if item[0] > 0]
    if not scored:
        return None, 0
    overlap, _, source = max(scored, key=lambda item: item[:2])
    return source, overlap
