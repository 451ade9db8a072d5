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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from deskmate.core.brain import translation, vocabulary
from deskmate.core.brain.courtesy import without_courtesy
from deskmate.core.brain.text import asks, is_stopword, sentences, tokenize, wants, words

SYNONYM_WEIGHT = 0.6
"""Search weight of a synonym's terms relative to the question's own words."""
CONTEXT_WEIGHT = 0.5
"""Search weight of words borrowed from earlier turns (a follow-up question's context)."""
KNOWN_SEARCH_FLOOR = 0.5
"""The least search weight of a word the knowledge uses, however common in everyday language:
"changed" or "go" still find the plan article, but no longer outweigh a synonym of "password"."""
ASIDE_WEIGHT = 0.25
"""Confidence weight of words outside the sentences that ask, in a message that has both
(greetings, the story around the question, a signature)."""

SYNONYMS_FILE = Path(__file__).with_name("data") / "synonyms.txt"
"""The built-in groups: support wording customers use for what articles call by another name."""
DETAILS_FILE = Path(__file__).with_name("data") / "details.txt"
"""The built-in groups for details any need can come with (how long, an email that didn't come)."""
DETAIL_BOOST = 0.5
"""Search weight of a detail group's phrase ("combien de jours") against a content word: it
helps find the passage that holds the detail, but the need decides the article."""
NEED_WEIGHT = 2.0
"""Confidence weight of a synonym phrase naming a need ("money back", "can't get in") against
one content word: the need named in the customer's own words says more than the story around
it. A phrase of a detail group (:data:`DETAILS_FILE`) weighs as one word."""
KEY_WORD_FLOOR = 0.3
"""The least everyday-language informativeness of a word a synonym group uses only inside its
phrases for it to stand for the group: "back", "zurück", "geld" make phrases ("geld zurück") but
alone would find any article that uses them ("Wie setze ich mein Passwort zurück?" for "ich will
mein Geld zurück"). A word the group lists alone ("day") stands for it however common."""
MAX_GAP = 2
"""A phrase's words may be this many other words apart in the question."""
MIN_CORRECTABLE = 4
"""Words shorter than this are never corrected (too many near neighbours)."""
MAX_CORRECTABLE = 40
"""Words longer than this are never corrected or cut back: no real word is, and the work grows
with the square of a word's length (a hostile 20,000-letter "word" would cost 300 MB)."""
NEW_TOPIC_RARITY = 0.6
"""A word the knowledge lacks this rare (its everyday weight, :func:`vocabulary.informativeness`)
makes a message that doesn't point back a new topic."""
MIN_SUFFIXED = 5
"""A misspelt word longer than this is also corrected without its last letter: the stemmer cuts
an ending off the right word that it leaves on a misspelt one ("chnage" → "chang", as "change")."""
MIN_PREFIX = 6
"""A word is cut back to a known term it starts with only when that term is this long."""

_GROUP_SPLIT = re.compile(r"[,;\n]")
_LABEL = re.compile(r"^\s*[a-z]{2}:", re.MULTILINE)


@lru_cache(maxsize=1)
def builtin_groups() -> tuple[str, ...]:
    """The groups of :data:`SYNONYMS_FILE`, each as one comma-separated line."""
    return _read_groups(SYNONYMS_FILE)


@lru_cache(maxsize=1)
def builtin_details() -> tuple[str, ...]:
    """The groups of :data:`DETAILS_FILE`, each as one comma-separated line."""
    return _read_groups(DETAILS_FILE)


def _read_groups(path: Path) -> tuple[str, ...]:
    """The groups of a synonyms file (blank-line separated blocks, ``#`` comments, language
    labels), each as one comma-separated line."""
    text = "\n".join(
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if not line.lstrip().startswith("#")
    )
    blocks = (_LABEL.sub("", block) for block in re.split(r"\n\s*\n", text))
    return tuple(", ".join(_GROUP_SPLIT.split(b)) for b in blocks if b.strip())


@dataclass(frozen=True)
class Phrase:
    """One phrase of a synonym group: its words (function words kept), what it stands for
    (the group's key words, whichever phrase the customer used) and whether it names a need
    rather than a detail of one."""

    words: tuple[str, ...]
    meaning: frozenset[str]
    names_need: bool = True

    def find(self, sequence: Sequence[str]) -> tuple[int, ...] | None:
        """The positions of the phrase's words in ``sequence``, in order, each at most
        :data:`MAX_GAP` words after the previous one; ``None`` when it isn't there."""
        for start, word in enumerate(sequence):
            if word != self.words[0]:
                continue
            positions = [start]
            for wanted in self.words[1:]:
                window = sequence[positions[-1] + 1 : positions[-1] + 2 + MAX_GAP]
                if wanted not in window:
                    break
                positions.append(positions[-1] + 1 + window.index(wanted))
            else:
                return tuple(positions)
        return None


@dataclass(frozen=True)
class Synonyms:
    """Compiled synonym groups: their phrases, indexed by first word, and their words under
    each one-letter deletion (so a misspelt "rimborzo" is still read as "rimborso")."""

    by_first_word: dict[str, tuple[Phrase, ...]] = field(default_factory=dict)
    by_deletion: dict[str, frozenset[str]] = field(default_factory=dict)

    def knows(self, term: str) -> bool:
        """Whether ``term`` is a word of one of the phrases."""
        return term in self.by_deletion.get(term, ())

    def correct(self, term: str) -> str | None:
        """The synonym word closest to ``term`` (:func:`max_edits` edits), if ``term`` isn't one."""
        if not MIN_CORRECTABLE <= len(term) <= MAX_CORRECTABLE or not term.isalpha():
            return None
        if self.knows(term):
            return None
        found = {t for key in (term, *deletes(term)) for t in self.by_deletion.get(key, ())}
        near = sorted(t for t in found if edit_distance(term, t) <= max_edits(term))
        return near[0] if len(near) == 1 else None

    def matches(self, sequence: Sequence[str]) -> list[tuple[Phrase, tuple[int, ...]]]:
        """Each phrase found in ``sequence`` (a question's terms, function words kept), with
        where its words are."""
        found = []
        for first in dict.fromkeys(sequence):
            for phrase in self.by_first_word.get(first, ()):
                positions = phrase.find(sequence)
                if positions is not None:
                    found.append((phrase, positions))
        return found


@lru_cache(maxsize=16)
def compile_synonyms(groups: tuple[str, ...] = ()) -> Synonyms:
    """The built-in groups plus ``groups`` (needs) and the built-in detail groups; a phrase of
    one group stands for every other one."""
    index: dict[str, list[Phrase]] = {}
    needs = [(group, True) for group in (*builtin_groups(), *groups)]
    for group, names_need in [*needs, *((group, False) for group in builtin_details())]:
        members = [p for p in _GROUP_SPLIT.split(group) if p.strip()]
        meaning = _key_words([frozenset(tokenize(m)) for m in members])
        for member in members:
            words = tuple(tokenize(member, keep_stopwords=True))
            if words and meaning:
                index.setdefault(words[0], []).append(Phrase(words, meaning, names_need))
    by_deletion: dict[str, set[str]] = {}
    for word in {w for phrases in index.values() for p in phrases for w in p.words}:
        if len(word) >= MIN_CORRECTABLE and word.isalpha():
            for key in (word, *deletes(word)):
                by_deletion.setdefault(key, set()).add(word)
    return Synonyms(
        {first: tuple(phrases) for first, phrases in index.items()},
        {key: frozenset(words) for key, words in by_deletion.items()},
    )


def _key_words(members: list[frozenset[str]]) -> frozenset[str]:
    """The words that carry a group's meaning: those it uses alone ("refund", "day") and those
    it uses in several phrases ("plan" in "change plan" and "cheaper plan") unless they are
    everyday words (under :data:`KEY_WORD_FLOOR`: "back" in "money back" and "pay me back"), not
    a phrase's incidental words ("another" in "move to another plan")."""
    alone = frozenset(term for member in members if len(member) == 1 for term in member)
    counts: dict[str, int] = {}
    for member in members:
        for term in member:
            counts[term] = counts.get(term, 0) + 1
    shared = frozenset(t for t, n in counts.items() if n >= 2 and t not in alone)
    return alone | frozenset(t for t in shared if vocabulary.informativeness(t) >= KEY_WORD_FLOOR)


@dataclass(frozen=True)
class Concept:
    """One need of the question: a content word, or a synonym phrase found in it ("money back").

    ``term`` names it; ``words`` are the search terms the customer wrote for it (the word
    itself, or those of a phrase's words that carry its group's meaning: "connecter" in "je
    n'arrive plus à me connecter", not "arrive");
    ``alternatives`` are what else stands for it (a phrase's group). ``weight`` is its share in
    confidence, ``boost`` its search weight (alternatives count :data:`SYNONYM_WEIGHT` of it).
    """

    term: str
    alternatives: frozenset[str] = frozenset()
    weight: float = 1.0
    boost: float = 1.0
    words: frozenset[str] | None = None

    @property
    def own(self) -> frozenset[str]:
        """The search terms the customer wrote for this concept."""
        return frozenset({self.term}) if self.words is None else self.words

    @property
    def terms(self) -> frozenset[str]:
        return self.alternatives | self.own


@dataclass(frozen=True)
class Query:
    """The concepts of a question: what search looks for and confidence is measured on.

    Search scores a passage on each concept by the customer's own words for it, or by its best
    alternative when that scores more (one concept, however many synonyms it has, counts once),
    summed over the concepts.
    """

    concepts: tuple[Concept, ...]

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


@dataclass
class _Draft:
    """A query being built: each concept's term, first written form, alternatives and weight."""

    written: dict[str, str] = field(default_factory=dict)
    alternatives: dict[str, frozenset[str]] = field(default_factory=dict)
    weight: dict[str, float] = field(default_factory=dict)
    words: dict[str, frozenset[str]] = field(default_factory=dict)
    details: set[str] = field(default_factory=set)

    def add(
        self,
        term: str,
        written: str,
        weight: float,
        alternatives: frozenset[str] = frozenset(),
        words: Iterable[str] | None = None,
    ) -> None:
        self.written[term], self.weight[term] = written, weight
        self.alternatives[term] = alternatives
        self.words[term] = frozenset({term} if words is None else words)

    def drop(self, term: str) -> None:
        for field_values in (self.written, self.alternatives, self.weight, self.words):
            field_values.pop(term, None)
        self.details.discard(term)


def build_query(
    text: str,
    correct: Callable[[str], str | None] | None = None,
    synonyms: Synonyms | None = None,
    context: str = "",
    known: Callable[[str], bool] | None = None,
    language: str | None = None,
    points_back: bool = False,
) -> Query:
    """The weighted query for ``text``; ``correct`` maps an unknown term to a known one.

    A word common in everyday language is never corrected (it is a real word, not a typo).
    ``context`` (earlier turns of a follow-up) adds its words at :data:`CONTEXT_WEIGHT`, in the
    search and in confidence. In a message of several sentences of which some ask, words only in
    the others count :data:`ASIDE_WEIGHT` in confidence. With ``known`` (whether the knowledge
    uses a term), a concept the knowledge lacks entirely counts as much as its word is rare in
    everyday language (:func:`vocabulary.informativeness`): "my stuff" says less than "warranty".
    ``language`` (the question's) drops that language's own function words ("comment" in French).
    A question that opens a new topic (:func:`_opens_new_topic`) is read without its context
    unless it ``points_back`` to it ("and what about…").
    """
    synonyms = synonyms or compile_synonyms()
    text = without_courtesy(text)
    fix = _fixer(correct, synonyms, known)
    sequence = [(written, fix(written, term)) for written, term in words(text, keep_stopwords=True)]
    asking = _asking_terms(text, fix)
    draft = _Draft()
    for written, term in sequence:
        if not is_stopword(written, term, language) and term not in draft.written:
            draft.add(term, written, 1.0 if asking is None or term in asking else ASIDE_WEIGHT)
    _add_phrases(draft, sequence, synonyms, wants(text))
    concepts = _concepts(draft, known, language)
    if not points_back and _opens_new_topic(concepts, known):
        context = ""
    mentioned = frozenset().union(*(c.terms for c in concepts))
    for written, term in words(context):
        term = fix(written, term)
        if term not in mentioned:
            mentioned |= {term}
            alternatives = (
                _translations(written, language, known)
                if known is not None and not known(term)
                else frozenset()
            )
            concepts.append(Concept(term, alternatives, CONTEXT_WEIGHT, CONTEXT_WEIGHT))
    return Query(tuple(concepts))


def _opens_new_topic(concepts: list[Concept], known: Callable[[str], bool] | None) -> bool:
    """Whether none of the question's concepts is in the knowledge and one of them is a word
    rare in everyday language ("api", "salesforce"): a need of its own, not a detail of the
    previous exchange (whose words, the AI's reply among them, would otherwise cover it)."""
    if known is None or not concepts:
        return False
    if any(known(t) for c in concepts for t in c.terms):
        return False
    return any(c.boost >= NEW_TOPIC_RARITY for c in concepts)


def _add_phrases(
    draft: _Draft, sequence: list[tuple[str, str]], synonyms: Synonyms, wanted: bool
) -> None:
    """Make each synonym phrase found in the question one concept, longest phrases first.

    The concept is the phrase itself, standing for its group's key words ("money back" is one
    concept meaning refund, not "money" and "back"); the content words it is made of are no
    longer concepts of their own. A word belongs to one group at most: "arrive" in "je n'arrive
    plus à me connecter" is not a delivery; overlapping phrases of one group ("mijn geld" and
    "geld terug") make one concept. It counts fully in confidence even in a sentence that doesn't
    ask: the story around a question often names the need ("we want the cheaper option. do we
    lose everything right away?"), which greetings and signatures never do. A need's phrase
    counts :data:`NEED_WEIGHT` in a message that is ``wanted`` (asks or states a need), a
    detail's phrase once.
    """
    owner: dict[int, str] = {}
    for phrase, positions in sorted(synonyms.matches([t for _, t in sequence]), key=_longest):
        claimed = {owner[i] for i in positions if i in owner}
        if claimed and any(draft.alternatives.get(c) != phrase.meaning for c in claimed):
            continue
        name = next(iter(claimed), " ".join(phrase.words))
        inside = [sequence[i][1] for i in positions if sequence[i][1] in draft.written]
        inside = [t for t in inside if t != name]
        for term in inside:
            draft.drop(term)
        words = {t for t in inside if t in phrase.meaning} | draft.words.get(name, frozenset())
        written = " ".join(sequence[i][0] for i in sorted({*positions, *_positions(owner, name)}))
        weight = NEED_WEIGHT if phrase.names_need and wanted else 1.0
        draft.add(name, written, weight, phrase.meaning, words)
        if not phrase.names_need:
            draft.details.add(name)
        owner.update(dict.fromkeys(positions, name))


def _positions(owner: dict[int, str], name: str) -> list[int]:
    return [i for i, concept in owner.items() if concept == name]


def _longest(match: tuple[Phrase, tuple[int, ...]]) -> int:
    return -len(match[1])


def _fixer(
    correct: Callable[[str], str | None] | None,
    synonyms: Synonyms,
    known: Callable[[str], bool] | None,
) -> Callable[[str, str], str]:
    """``(written word, term) → term`` for a word neither the knowledge nor the synonyms use: a
    misspelling corrected to the knowledge's closest term, else to a synonym word (with or
    without its last letter, :data:`MIN_SUFFIXED`), else a longer
    form of a known word cut back to it (a conjugation the stemmer leaves whole: "devolveríais"
    → "devolv"); a real everyday word is left as it is."""

    def knows(term: str) -> bool:
        return synonyms.knows(term) or (known is not None and known(term))

    def fix(written: str, term: str) -> str:
        if knows(term) or vocabulary.is_real_word(written):
            return term
        return (
            corrected(term)
            or (corrected(term[:-1]) if len(term) > MIN_SUFFIXED else None)
            or _known_prefix(term, knows)
            or term
        )

    def corrected(term: str) -> str | None:
        return (correct(term) if correct else None) or synonyms.correct(term)

    return fix


def _known_prefix(term: str, knows: Callable[[str], bool]) -> str | None:
    """The longest known term of at least :data:`MIN_PREFIX` letters that ``term`` starts with."""
    if not term.isalpha() or len(term) > MAX_CORRECTABLE:
        return None
    for end in range(len(term) - 1, MIN_PREFIX - 1, -1):
        if knows(term[:end]):
            return term[:end]
    return None


def _concepts(
    draft: _Draft, known: Callable[[str], bool] | None, language: str | None
) -> list[Concept]:
    """The draft's concepts, weighted: a number counts :data:`vocabulary.FLOOR`; a word the
    knowledge lacks counts, in search and in confidence, as much as it is rare in everyday language
    (and searches its translations); a word the knowledge uses searches that way too, down to
    :data:`KNOWN_SEARCH_FLOOR` ("changed", "go" and "pick" are in the plan article, but say less
    than "password"), and counts fully in confidence, where the knowledge's own words are what an
    answer must hold."""
    concepts = []
    for term, written in draft.written.items():
        words = draft.words[term]
        alternatives = draft.alternatives[term] - words
        factor = boost = 1.0
        if known is not None and not alternatives and any(c.isdigit() for c in term):
            factor = boost = vocabulary.FLOOR
        elif known is not None and not any(known(t) for t in alternatives | words):
            alternatives |= _translations(written, language, known)
            factor = boost = _everyday_weight(written)
        elif known is not None and not alternatives:
            boost = max(KNOWN_SEARCH_FLOOR, _everyday_weight(written))
        weight = draft.weight[term] * factor
        if term in draft.details:
            boost *= DETAIL_BOOST
        concepts.append(Concept(term, alternatives, weight, boost, words))
    return concepts


def _everyday_weight(written: str) -> float:
    """How much the words a customer wrote for a concept say, by how rare they are in everyday
    language (:func:`vocabulary.informativeness`)."""
    return max(vocabulary.informativeness(w) for w in written.split())


def _translations(
    written: str, language: str | None, known: Callable[[str], bool]
) -> frozenset[str]:
    """The English translations of a one-word concept that the knowledge uses."""
    if " " in written:
        return frozenset()
    return frozenset(t for t in translation.english(written, language) if known(t))


def _asking_terms(text: str, fix: Callable[[str, str], str]) -> frozenset[str] | None:
    """The terms of the sentences that ask, when only some of several sentences do."""
    parts = sentences(text)
    asking = [s for s in parts if asks(s)]
    if len(parts) < 2 or not asking or len(asking) == len(parts):
        return None
    return frozenset(fix(w, t) for s in asking for w, t in words(s))


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
