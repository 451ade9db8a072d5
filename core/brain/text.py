"""Tokenisation shared by search, confidence, loops and topics.

Latin-script words are split on Unicode word boundaries, case-folded, accent-folded and stemmed
with the Snowball English stemmer (one stemmer for every Latin-script language, so a question and
a passage always agree on a word's form; it also strips Romance plurals); Chinese, Japanese and
Korean runs become overlapping character bigrams, which needs no dictionary and finds words
regardless of segmentation. Function words of
the languages deskmate serves are dropped so that "how do I…" never counts as knowledge.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

import snowballstemmer

MAX_TEXT_CHARS = 20_000
"""Only this many characters of any input are searched or indexed: bounded work for any input."""
MAX_MATCH_CHARS = 5_000
"""Phrase rules (requests for a person, frustration cues, details) read this many characters."""

_CJK = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs
    "\uac00-\ud7af\u1100-\u11ff\u3130-\u318f"  # hangul
)
_stemmer = snowballstemmer.stemmer("english")
_stem_lock = threading.Lock()
_RUN = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+")
_CJK_RUN = re.compile(rf"[{_CJK}]")
_HIRAGANA = re.compile(r"[\u3040-\u309f]")
# Script segments of a CJK run; hiragana (Japanese particles and endings) is dropped, and Chinese
# function characters break a Han segment, so grammar never forms bigrams with content words.
_CJK_SEGMENT = re.compile(
    r"[\u3040-\u309f]+|[\u30a0-\u30ff]+|[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]+"
    r"|[^\u3040-\u30ff\uac00-\ud7af\u1100-\u11ff\u3130-\u318f的了吗呢吧啊是在哪里怎么我你您他她它们]+"
)
_SENTENCE_END = re.compile(r"(?<=[.!?。\uff01\uff1f])\s+|(?<=[。\uff01\uff1f])|\n+")

_STOPWORD_TEXT = """
    a an the and or but if of to in on at by for with from into about as is are was were be been
    am do does did done have has had i me my we our you your he she it its they them their this
    that these those there here what which who whom how why when where can could would should will
    shall may might must not no so than then too very just also any some all each other s t
    hi hello hey thanks thank please ok okay yes yeah pls don doesn didn isn aren won
    one get got getting want wanted need needed like know let make use using way thing something
    anything able still again now today happen happens many much lot really
    l d j m n c qu
    el la los las un una unos unas y o de del al en con por para que es son como mi mis tu su sus
    se lo le les nos hola gracias favor esta este esto
    le les des du et ou en au aux avec pour par que qui est sont je tu il elle nous vous ils
    mon ma ton ta votre vos leur ce cette ces bonjour merci svp ne pas
    der die das den dem des ein eine einen einem einer und oder zu im mit von fur auf ist sind ich
    du er sie es wir ihr mein meine wie was hallo danke bitte nicht nach
    o os as um uma e do da dos das no na nos nas com por para que como meu minha ola obrigado
    obrigada il lo gli le uno una e di da con per che come mio mia ciao grazie
    de het een en of van te in op met voor is zijn ik je jij hij zij wij mijn hoe wat hallo
    bedankt alstublieft
    dans sur une mes tes ses son sa me te lui ai as avons avez ont suis sommes etes mais donc car
    ni plus tout tous toute toutes tres bien aussi peux peut fait faire etre avoir ete cela ceci
    quoi quel quelle quels quelles ou quand pourquoi combien chez depuis sans vers ca y moi toi
    est-ce j'ai c'est qu'il
    muy pero sin sobre entre hasta desde cuando donde porque tengo tiene tienen hay fue ser estar
    estoy estan he ha han hemos algo nada todo toda todos todas tambien ya yo me te nos les usted
    ustedes vosotros cual cuales quien quienes puedo puede pueden hacer hace
    aber oder wenn dann weil dass auch noch schon sehr mehr nur mich mir dich dir sich uns euch
    ihnen ihm ihr sein seine haben habe hat hatte bin bist seid war waren wird werden kann konnen
    muss will mochte einem einer eines dieser diese dieses hier dort wo wann warum welche
    mas sem sobre entre ate desde quando onde porque tenho tem temos ha foi ser estar estou esta
    estao eu voce voces ele ela eles elas isso isto aquilo algo nada tudo todos todas tambem ja
    posso pode podem fazer faz muito
    ma non anche ancora gia molto piu sono sei siamo siete hanno ho hai ha abbiamo avete essere
    stato io tu lui lei noi voi loro mi ti ci vi si questo questa quello quella cosa tutto tutti
    quando dove perche posso puoi puo fare fatto nel nella nei negli sul sulla al alla allo dal
    dalla del della dei degli
    maar ook nog al wel niet geen heel meer dan als omdat dat die deze dit daar hier wanneer
    waarom welke mij me jou jullie hun ons hebben heb heeft had was waren wordt worden kan kunnen
    moet wil zou mag iets niets alles
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
LANGUAGE_STOPWORDS = {
    "fr": frozenset({"comment"}),
    "pt": frozenset({"pro", "pra", "pros", "pras"}),
    "nl": frozenset({"door", "over"}),
    "de": frozenset({"bald"}),
}
"""Function words of one language that are content words in another ("comment" asks how in
French; "pro" is "para o" in Portuguese): dropped only from a question in that language."""


def fold(word: str) -> str:
    """Strip accents from a Latin-script word (``réinitialiser`` → ``reinitialiser``)."""
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=300_000)
def _term(word: str) -> str:
    """Normalise one word: accent fold, then stem (words with digits are kept as they are)."""
    word = fold(word)
    if len(word) <= 3 or not word.isalpha():
        return word
    with _stem_lock:
        return _stemmer.stemWord(word)


def _bigrams(run: str) -> list[str]:
    """Overlapping character pairs of each content segment of a CJK run."""
    grams: list[str] = []
    for segment in _CJK_SEGMENT.findall(run):
        if _HIRAGANA.match(segment):
            continue
        if len(segment) == 1:
            grams.append(segment)
        else:
            grams.extend(segment[i : i + 2] for i in range(len(segment) - 1))
    return grams


def normalize(text: str) -> str:
    """Compatibility-normalise and case-fold ``text``, cut to :data:`MAX_TEXT_CHARS`."""
    folded = unicodedata.normalize("NFKC", text[:MAX_TEXT_CHARS]).casefold()
    return folded.replace("\u2019", "'")


def words(
    text: str, *, keep_stopwords: bool = False, language: str | None = None
) -> list[tuple[str, str]]:
    """Split ``text`` into ``(word as written, search term)`` pairs, in order, duplicates kept.

    The written word (case-folded, accents kept) is what everyday-language lists know; a CJK
    bigram is both. ``language`` (the text's, when known) drops its own function words too.
    """
    pairs: list[tuple[str, str]] = []
    for run in _RUN.findall(normalize(text)):
        if _CJK_RUN.match(run):
            pairs.extend((gram, gram) for gram in _bigrams(run))
            continue
        term = _term(run)
        if keep_stopwords or not is_stopword(run, term, language):
            pairs.append((run, term))
    return pairs


def is_stopword(word: str, term: str, language: str | None = None) -> bool:
    """Whether a word (as written, and as a term) is a function word, never knowledge."""
    own = LANGUAGE_STOPWORDS.get(language or "", frozenset())
    return word in STOPWORDS or term in STOPWORDS or word in own


def tokenize(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """Split ``text`` into search terms, in order, duplicates kept."""
    return [term for _, term in words(text, keep_stopwords=keep_stopwords)]


_ASKING = re.compile(
    r"[?\uff1f]|^\W*(how|what|why|when|where|which|who|can|could|would|is|are|do|does|did|will"
    r"|como|cuando|donde|por que|comment|pourquoi|quand|wie|wann|warum|wo|quando|onde|come"
    r"|perche|dove|hoe|wanneer|waarom)\b",
    re.I,
)


_REQUESTING = re.compile(
    r"\b(i want|i'd like|i would like|i need|i'm trying to|please|pls|can you|could you"
    r"|je voudrais|je souhaite|je souhaiterais|j'aimerais|je veux|j'ai besoin"
    r"|quiero|quisiera|me gustaria|necesito|ich mochte|ich will|ich brauche|ich hatte gern"
    r"|gostaria|quero|queria|preciso|vorrei|voglio|mi serve|ho bisogno|ik wil|ik zou graag"
    r"|ik wou|grateful|appreciate|kindly|let me know|tell me|please advise|i should like"
    r"|mitteilen|dankbar|konnten sie|konnen sie|wurden sie|je vous serais|reconnaissante?"
    r"|m'indiquer|merci de me|agradeceria|agradecia|indicar(?:me|an)|indicassem|podrian|poderiam"
    r"|vorrei sapere|potreste|sarei grat[oa]|graag verneem|kunt u|zou u)\b",
    re.I,
)


def asks(sentence: str) -> bool:
    """Whether ``sentence`` asks something: a question mark, a question word first, or a
    request ("I'd like a copy of…", "je souhaiterais…", "ich möchte…", an email's "I would be
    grateful if you could tell me…", "ich wäre Ihnen verbunden, wenn Sie mir mitteilen…")."""
    return bool(_ASKING.search(sentence) or _REQUESTING.search(match_text(sentence)))


_WANTING = re.compile(
    r"\b(we want|we'd like|we would like|we need|(?<!you )(?<!no )need to|wanna|we're trying to"
    r"|on voudrait"
    r"|nous voudrions|on veut|nous voulons|nous souhaitons|on aimerait|nous aimerions"
    r"|il nous faut|queremos|quisieramos|necesitamos|nos gustaria|wir mochten|wir wollen"
    r"|wir brauchen|wir hatten gern|precisamos|gostariamos|vogliamo|vorremmo|abbiamo bisogno"
    r"|ci serve|we willen|wij willen|we zouden graag|(hebben|heb|hebt) (\w+ ){0,4}nodig)\b"
)


def wants(text: str) -> bool:
    """Whether ``text`` asks something or states a need ("we want to go yearly", "need to bump
    us up to the bigger package", "on voudrait passer à la formule au-dessus"): a message that
    does neither reports how things are."""
    parts = sentences(text)
    return any(asks(s) for s in parts) or bool(_WANTING.search(match_text(text)))


def term_set(text: str) -> frozenset[str]:
    """The distinct content terms of ``text``."""
    return frozenset(tokenize(text))


def sentences(text: str) -> list[str]:
    """Split ``text`` into trimmed, non-empty sentences (Latin and CJK punctuation)."""
    return [s.strip() for s in _SENTENCE_END.split(text[:MAX_TEXT_CHARS]) if s and s.strip()]


_NON_CJK_RUN = re.compile(rf"[^{_CJK}]+")


def match_text(text: str) -> str:
    """The start of ``text`` normalised for phrase rules: case- and accent-folded, CJK intact."""
    return _NON_CJK_RUN.sub(lambda m: fold(m.group()), normalize(text[:MAX_MATCH_CHARS]))
