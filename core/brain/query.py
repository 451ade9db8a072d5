"""A question turned into weighted search terms: its own words, typo corrections and synonyms.

Each content word of the question is a *concept*: the term itself, or the index's closest known
term when the word is unknown (a typo), plus the terms of any synonym phrase the question
contains. Search adds a concept's alternatives at a lower weight; confidence counts a concept as
covered when a passage holds any of its alternatives. Synonyms are groups of equivalent phrases
(comma-separated); the built-in groups cover common support wording and ``[brain] synonyms``
adds a workspace's own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from deskmate.core.brain.text import asks, sentences, tokenize

SYNONYM_WEIGHT = 0.6
"""Search weight of a synonym's terms relative to the question's own words."""
CONTEXT_WEIGHT = 0.5
"""Search weight of words borrowed from earlier turns (a follow-up question's context)."""
ASIDE_WEIGHT = 0.25
"""Confidence weight of words outside the sentences that ask, in a message that has both
(greetings, the story around the question, a signature)."""

BUILTIN_SYNONYMS = (
    "reset password, forgot password, lost password, get back into account, locked out,"
    " log into account, sign into account, access account, contraseña, mot de passe, passwort,"
    " senha, wachtwoord",
    "refund, money back, paid back, reimburse, reimbursement, return it, send back, give back,"
    " reembolso, devolver dinero, devuelvan dinero, devolucion, remboursement, rembourser,"
    " rückerstattung, erstattung, geld zurück, rimborso, terugbetaling, geld terug",
    "shipping, delivery, deliver, package arrive, parcel arrive, order arrive, where is order,"
    " track order, tracking, envío, livraison, lieferung, lieferzeit, versand, wann kommt,"
    " entrega, spedizione, levering",
    "change plan, upgrade, downgrade, switch plan, cancel subscription, subscription, plan, tier,"
    " cheaper plan, cambiar plan, changer forfait, changer abonnement, tarif wechseln,"
    " mudar plano, cambiare piano",
    "export data, download data, backup data, csv, spreadsheet, excel, exportar datos,"
    " exporter données, daten exportieren, exportar dados, esportare dati, gegevens exporteren",
    "invoice, receipt, factura, facture, rechnung, fatura, fattura, factuur",
    "email, e-mail, mail, correo, courriel",
    "how long, how many days, tiempo, cuanto tarda, combien de temps, wie lange, quanto tempo,"
    " quanto tempo ci vuole, hoe lang",
)
"""Support wording that customers use for what articles call by another name."""

_GROUP_SPLIT = re.compile(r"[,;\n]")
MIN_CORRECTABLE = 4
"""Words shorter than this are never corrected (too many near neighbours)."""


@dataclass(frozen=True)
class Synonyms:
    """Compiled synonym groups: each phrase (a set of terms) and the terms it may stand for."""

    phrases: tuple[tuple[frozenset[str], frozenset[str]], ...] = ()

    def expansions(self, terms: frozenset[str]) -> list[tuple[frozenset[str], frozenset[str]]]:
        """The ``(matched phrase terms, alternative terms)`` pairs that ``terms`` contains."""
        return [(key, extra) for key, extra in self.phrases if key <= terms and extra - terms]


@lru_cache(maxsize=16)
def compile_synonyms(groups: tuple[str, ...] = ()) -> Synonyms:
    """The built-in groups plus ``groups``; a phrase of one group stands for every other one."""
    phrases: list[tuple[frozenset[str], frozenset[str]]] = []
    for group in (*BUILTIN_SYNONYMS, *groups):
        members = [frozenset(tokenize(p)) for p in _GROUP_SPLIT.split(group)]
        members = [m for m in members if m]
        for key in members:
            extra = frozenset().union(*(m for m in members if m != key)) - key
            if extra:
                phrases.append((key, extra))
    return Synonyms(tuple(phrases))


@dataclass(frozen=True)
class Concept:
    """One content word of the question: the term that stands for it and its alternatives."""

    term: str
    alternatives: frozenset[str] = frozenset()
    weight: float = 1.0

    @property
    def terms(self) -> frozenset[str]:
        return self.alternatives | {self.term}


@dataclass(frozen=True)
class Query:
    """Weighted search terms and the concepts confidence is measured on."""

    concepts: tuple[Concept, ...]
    weights: dict[str, float] = field(default_factory=dict)

    @property
    def terms(self) -> frozenset[str]:
        """Every term that counts for the question: its own, corrected, synonyms, context."""
        return frozenset().union(*(c.terms for c in self.concepts))

    def coverage(self, passage: frozenset[str], weight: Callable[[str], float]) -> float:
        """Weighted share of the concepts the passage covers, in [0, 1]."""
        total = sum(weight(c.term) * c.weight for c in self.concepts)
        if total <= 0:
            return 0.0
        found = sum(weight(c.term) * c.weight for c in self.concepts if c.terms & passage)
        return min(1.0, found / total)


def build_query(
    text: str,
    correct: Callable[[str], str | None] | None = None,
    synonyms: Synonyms | None = None,
    context: str = "",
) -> Query:
    """The weighted query for ``text``; ``correct`` maps an unknown term to a known one.

    ``context`` (earlier turns of a follow-up) adds its words at :data:`CONTEXT_WEIGHT`, in the
    search and in confidence. In a message of several sentences of which some ask, words only in
    the others count :data:`ASIDE_WEIGHT` in confidence.
    """
    fix = (lambda t: correct(t) or t) if correct is not None else (lambda t: t)
    own = list(dict.fromkeys(fix(t) for t in tokenize(text)))
    asking = _asking_terms(text, fix)
    terms = frozenset(own)
    extra: dict[str, set[str]] = {t: set() for t in own}
    weights = dict.fromkeys(own, 1.0)
    for key, alternatives in (synonyms or compile_synonyms()).expansions(terms):
        for term in key:
            extra[term] |= alternatives
        for term in alternatives - terms:
            weights[term] = max(weights.get(term, 0.0), SYNONYM_WEIGHT)
    concepts = [
        Concept(t, frozenset(extra[t]), 1.0 if asking is None or t in asking else ASIDE_WEIGHT)
        for t in own
    ]
    for term in dict.fromkeys(fix(t) for t in tokenize(context)):
        if term not in weights:
            weights[term] = CONTEXT_WEIGHT
            concepts.append(Concept(term, weight=CONTEXT_WEIGHT))
    return Query(tuple(concepts), weights)


def _asking_terms(text: str, fix: Callable[[str], str]) -> frozenset[str] | None:
    """The terms of the sentences that ask, when only some of several sentences do."""
    parts = sentences(text)
    asking = [s for s in parts if asks(s)]
    if len(parts) < 2 or not asking or len(asking) == len(parts):
        return None
    return frozenset(fix(t) for s in asking for t in tokenize(s))


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        previous2, previous = previous, current
    return previous[-1]


def max_edits(term: str) -> int:
    """Edits a correction may make: one, or two for words of eight letters or more."""
    return 2 if len(term) >= 8 else 1


def deletes(term: str) -> set[str]:
    """The term with one character removed, every way (the keys of a SymSpell-style lookup)."""
    return {term[:i] + term[i + 1 :] for i in range(len(term))}
