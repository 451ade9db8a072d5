"""Customer sentiment: VADER for English tone, per-language rule cues for support frustration.

VADER's compound score separates explicit tone but misses implicit frustration ("third time I
ask", "still not fixed") and is noise outside English (reference/language-and-sentiment-eval.md).
So frustration comes from cue phrases in en, es, fr, de, pt, it, nl and ja plus shouting and
exclamation runs, checked in every language; VADER only rates English text; other languages
without a cue are ``unknown`` rather than a guess.
"""

from __future__ import annotations

import re
from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from deskmate.core.brain import remedy
from deskmate.core.brain.language import classify
from deskmate.core.brain.text import MAX_MATCH_CHARS, match_text
from deskmate.core.domain import Sentiment

NEGATIVE_AT = -0.5
POSITIVE_AT = 0.65
"""VADER compound thresholds: neutral support requests spread from -0.48 to +0.61 (see eval);
thanks and "solved" phrasings count as positive below the threshold."""

_FRUSTRATION = {
    "repeat_contact": [
        r"\b(second|third|fourth|fifth|2nd|3rd|4th|5th|\d+th) time\b",
        r"\b(this is|it's|its|that's) (my|the) (second|third|fourth|fifth|2nd|3rd|4th|5th|\d+th)"
        r" (email|e-?mail|mail|message|ticket|request|call)\b",
        r"\b(asked|told|contacted|called|emailed|written|wrote|explained)( \w+)?"
        r" (twice|again|already|(three|four|five|several|multiple|many|\d+) times)\b",
        r"\balready (asked|told|contacted|explained|wrote|written)\b",
        r"\b(did|tried|done|followed|asked|wrote)\b[^.!?]{0,20}[.!?,]?\s*(twice|(three|four|five"
        r"|several|multiple|many|\d+) times)\b",
        r"\b(tercera|cuarta|segunda) vez\b|\bya (lo )?(pregunte|dije|escribi|explique)\b",
        r"\b(troisieme|deuxieme|quatrieme) fois\b|\bdeja (demande|ecrit|explique|contacte)\b"
        r"|\b(deux|trois|quatre|cinq|plusieurs) fois que\b",
        r"\b(zweite|dritte|vierte)n? mal\b|\bschon wieder\b|\bzum (zweiten|dritten|x-ten) mal\b",
        r"\b(terceira|segunda|quarta) vez\b|\bja (perguntei|expliquei|falei|escrevi)\b",
        r"\b(terza|seconda|quarta) volta\b|\bho gia (chiesto|scritto|spiegato)\b",
        r"\b(derde|tweede|vierde) keer\b|\balweer\b",
        r"何度も|何回も|[二三四2-9]回目",
        r"\b(after|despues de|apres|nach|depois de|dopo|na) (\d+|two|three|four|several|dos|tres"
        r"|deux|trois|zwei|drei|duas|due|tre|twee|drie) (e-?mails?|mails?|messages?|calls|correos"
        r"|mensajes|llamadas|appels|nachrichten|anrufen|mensagens|ligacoes|messaggi|chiamate"
        r"|berichten|telefoontjes)\b",
    ],
    "still_not": [
        r"\bstill (not|no|doesn[' ]?t|don[' ]?t|isn[' ]?t|hasn[' ]?t|haven[' ]?t|can[' ]?t"
        r"|cannot|nothing|broken"
        r"|waiting)\b|\bnot fixed yet\b",
        # "todavía no", "ainda não" and "non ancora" also just mean "not yet": only with what
        # still fails
        r"\b(todavia|aun) no (funciona|me (han|ha) (respondido|contestado|devuelto|solucionado)"
        r"|lo (han|ha) (resuelto|solucionado)|hay respuesta|responden|contestan)\b"
        r"|\bsig(o|ue) sin\b",
        r"\btoujours (pas|rien)\b",
        r"\b(immer|noch) (noch|immer) (nicht|kein\w*)\b",
        r"\b(ainda nao|continua a nao) (funciona|resolv\w+|respond\w+|deu certo|foi resolvido)\b"
        r"|\bcontinu(a|o) sem\b",
        r"\b(ancora non|non ancora) (funziona|risolt\w+|rispost\w+|rispond\w+|va)\b",
        r"\bnog steeds (niet|geen)\b",
        r"まだ(直|解決|届|返|連絡)",
    ],
    "nobody_answers": [
        r"\b(no ?one|nobody) (answers|answering|responds|responding|replies|replying"
        r"|gets back|helps|cares)\b",
        r"\bno (response|reply|answer) (yet|from|at all)\b",
        r"\b(haven[' ]?t|have not|never) (heard back|received (a|any) (reply|response|answer))\b",
        r"\bwaiting (for|since) (days|weeks|hours|ages|a week|a month)\b",
        r"\b(been waiting|waited|still waiting)( for)? (\d+|two|three|four|five|six"
        r"|several|many) (days|weeks|months)\b"
        r"|\b(no ?one|nobody) (tells|told|says|said) (me )?(anything|nothing)\b",
        r"\bllevo \w+ (dias|semanas|meses) esperando\b|\bnadie (me )?dice nada\b",
        r"\bj'attends depuis \w+ (jours|semaines|mois)\b|\bpersonne ne me dit rien\b",
        r"\bwarte\w* (schon )?seit \w+ (tagen|wochen|monaten)\b"
        r"|\b(es )?passiert (einfach )?nichts\b",
        r"\besperando (ha )?\w+ (dias|semanas|meses)\b|\bninguem me diz nada\b",
        r"\baspetto da \w+ (giorni|settimane|mesi)\b|\bnessuno mi dice niente\b",
        r"\bwacht (al )?\w+ (dagen|weken|maanden)\b|\bniemand zegt (mij |me )?iets\b",
        r"\bnadie (me )?(responde|contesta|ayuda)\b|\bsin respuesta\b",
        r"\bpersonne ne (me )?(repond|aide)\b|\baucune reponse\b|\bsans reponse\b",
        r"\b(niemand|keiner) (antwortet|meldet sich|hilft)\b|\bkeine antwort\b",
        r"\bninguem (me )?(responde|atende|ajuda)\b|\bsem resposta\b",
        r"\bnessuno (mi )?(risponde|aiuta)\b|\bnessuna risposta\b",
        r"\bniemand (reageert|antwoordt|helpt)\b|\bgeen (antwoord|reactie)\b",
        r"\b(heard nothing|not heard anything|haven'?t heard anything|no news)\b"
        r"|\b(no he sabido nada|sin noticias)\b|\b(aucune nouvelle|pas de nouvelles)\b"
        r"|\b(nichts gehort|keine ruckmeldung)\b|\b(sem noticias|nenhuma noticia)\b"
        r"|\b(nessuna notizia|piu saputo niente)\b|\b(niks|niets) (meer )?gehoord\b",
        r"誰も(対応|返事|答え|助け)|(返信|返事|回答)が(ない|来ない|ありません)",
    ],
    "strong_words": [
        r"\b(ridiculous|worst|useless|terrible|awful|unacceptable|pathetic|horrible|scam"
        r"|disgusting|fed up|sick of|waste of (time|money)|incompetent|furious|frustrat\w*"
        r"|outrageous|rubbish|garbage)\b",
        r"\b(ridiculo|pesimo|inaceptable|verguenza|harto|harta|estafa|inutil|el peor|la peor"
        r"|indignante)\b",
        r"\b(ridicule|inadmissible|inacceptable|scandaleux|le pire|la pire|honteux|marre|arnaque"
        r"|nul)\b",
        r"\b(lacherlich|unverschamt|inakzeptabel|katastrophe|schlechteste\w*|frechheit|nutzlos"
        r"|betrug|reicht mir)\b",
        r"\b(pessimo|inaceitavel|absurdo|vergonha|horrivel|o pior|a pior|golpe)\b",
        r"\b(ridicolo|inaccettabile|vergogna|assurdo|il peggiore|la peggiore|truffa)\b",
        r"\b(belachelijk|schandalig|onacceptabel|slechtste|waardeloos|oplichting)\b",
        r"\b(another|otro|noch ein|mais um|un altro|weer een|encore un) (chat)?(bot|robot|robo)\b",
        r"\b(so much for|love that for me|so done with|thanks for (absolutely )?nothing"
        r"|hasta la madre|hasta las narices|hasta el gorro|ras le bol|plein le dos|schnauze voll"
        r"|nase voll|saco cheio|fart[oa]"
        r"|non ne posso piu|spuugzat|kotsbeu|beu|schande|unzumutbar|onaanvaardbaar|unglaublich"
        r"|incroyable|inacreditavel|incredibile|ongelooflijk|pior|peggior\w*|no puede ser"
        r"|c'est pas possible|ce n'est pas possible|soll das ein witz sein|is dit een grap"
        r"|pode ser piada|uno scherzo|un chiste|irritad[oa]|arrabbiat[oa]|kwaad|wutend|enojad[oa]"
        r"|furios[oa]|en colere|boos|non e accettabile|on se moque|se moque de moi)\b",
        r"\b(great|fantastic|perfect|wonderful|love it|genial|que bien|parfait|super|bravo|toll"
        r"|perfeito|maravilha|parabens|perfetto|complimenti|geweldig)\b[^.?!]{0,50}\b(again"
        r"|otra vez|encore|wieder|de novo|di nuovo|alweer|opnieuw)\b"
        r"|\b(again|otra vez|encore|wieder|de novo|di nuovo|alweer|opnieuw)\b[^?]{0,15}\b(love"
        r" it|genial|bravo|toll|parabens|complimenti|geweldig)\b",
        r"\b(verliere|verlier) (ich )?(echt |langsam )?die geduld\b|\ba perder a paciencia\b"
        r"|\bgeduld (is )?(echt )?op\b|\b(no sirve|ne sert|nao serve|non serve) (para |pra |a )?"
        r"(nada|rien|niente)\b|\bno es posible que\b|\b(en|nas|sur les) redes\b",
        r"\b(geht|ging) (jetzt )?schon (einen|seit einem) monat\b|\bun mois que (ca|cela) dure"
        r"\b|\bva avanti cosi da\b|\bsleept al\b|\bfazer um mes nisso\b",
        r"ふざけ|最悪|ひどい|酷い|いい加減|使えない|詐欺",
        "[\U0001f620\U0001f621\U0001f624\U0001f92c]",
    ],
    "patience_gone": [
        r"\b(losing|lost|running out of) (my |all )?patience\b|\benough is enough\b"
        r"|\b(this is|what) a joke\b|\bare you (kidding|serious)\b|\bback and forth\b"
        r"|\b(copy[- ]?paste\w*|canned|same (standard |generic )?(answers?|replies|responses))\b",
        r"\b(perdiendo|perdi) la paciencia\b|\btomadura de pelo\b|\b(ya )?me canse\b"
        r"|\bestoy (cansad[oa]|hart[oa])\b|\b(es|esto es) una broma\b|\bcopia y pega\b"
        r"|\bla misma respuesta\b",
        r"\bje perds patience\b|\bc'est une (blague|plaisanterie)\b|\bcopier[- ]coller\b"
        r"|\btoujours la meme reponse\b|\bj'en ai assez\b",
        r"\bgeduld (verloren|am ende|ist am ende)\b|\bverarsch\w*\b|\bstandardantwort\w*\b"
        r"|\bmir reicht'?s\b",
        r"\bperdendo a paciencia\b|\b(to|estou|tou) cansad[oa]\b|\bcansei\b|\bpalhacada\b"
        r"|\b(so|e) brincadeira\b|\bmesma resposta\b|\bcopia e cola\b",
        r"\b(perdendo|perso) la pazienza\b|\bcopia[- e]*incolla\b|\bsono stuf[oa]\b"
        r"|\bnon se ne puo piu\b|\bstessa risposta\b|\bma e possibile che\b",
        r"\bgeduld (is )?(op|kwijt)\b|\bstandaard ?antwoord\w*\b|\b(ben er )?klaar mee\b"
        r"|\bzelfde antwoord\b|\b(ik ben|ben|we zijn|wij zijn) (het|dit|dat)( \w+){0,4} zat\b",
        r"\b(mi|ci) (state|stai|sta) prendendo in giro\b|\bmi prendete in giro\b"
        r"|\b(me|nos) (estan|estas|esta) tomando el pelo\b|\bvous vous moquez de (moi|nous)\b"
        r"|\btirando (uma )?com a (minha|nossa) cara\b|\bhouden jullie (me|ons) voor de gek\b"
        r"|\b(you'?re|you are) (kidding|joking|messing with) me\b",
        # "so what now", "now what?" (a plain "what now?" asks what to do next)
        r"\bso what now\b|\bnow what\W*$",
        # out of patience, in so many words ("i give up" ends its sentence: "how do I give up my
        # seat?" asks)
        r"\b(i give up|i'?m (so )?done with (this|you))\W*($|[.!])|\b(wit'?s end|cheers for nothing"
        r"|(going|go|went) (round|around) in circles|nothing (you|u) (suggest|say|said)\w* works"
        r"|wasted (the|my|a|our) (whole |entire )?(day|morning|afternoon|evening|week|time))\b",
        r"\b(en avoir assez|j'en peux plus|je n'en peux plus|vous vous fichez de (moi|nous)"
        r"|c'est quoi ce service|faxen dicke|den ganzen tag verloren|descaso"
        r"|perdi (todo el dia|toda la manana)|perdi (o dia|a manha) (todo|toda|inteir[oa])"
        r"|ho perso (tutta la giornata|la mattinata)|hele dag (verloren|kwijt))\b",
    ],
    "displeasure": [
        # annoyance and disappointment: fed up in a report, but a question the help center
        # answers with confidence is answered (escalation.MILD_CUES)
        r"(\bevery single time\b|\bogni singola volta\b|\bjedes einzelne mal\b"
        r"|\b(a )?chaque fois que j'essaie\b|\bcada vez que (lo )?intento\b"
        r"|\btoda vez que (eu )?tento\b|\belke keer (weer|als ik het probeer)\b)(?![^.!]*\?)",
        r"\b((tres|vraiment|bien) dec(u|ue)s?|penible|un temps fou|la galere|enttauscht|nervt"
        r"|kann doch nicht so schwer sein|decepcionad[oa]s?|no puede ser tan dificil"
        r"|nao pode ser tao dificil|delus[oa]|non puo essere cosi difficile|teleurgesteld"
        r"|kan toch niet zo moeilijk zijn|how hard can it be)\b",
    ],
    "ultimatum": [
        r"\b(this|it) is (the|my) last time\b|\b(this|that) (is|was) the last time i\b"
        r"|\b(es|fue) la ultima vez que\b|\bc'est la derniere fois\b|\bdas (war|ist) das"
        r" letzte mal\b|\be a ultima vez que\b|\be l'ultima volta che\b|\bde laatste keer dat\b",
        r"\b(never again|nunca mas|plus jamais|nie wieder|nunca mais|mai piu|nooit meer)\b",
        r"\bif (this|it) (is ?n[' ]?t|is not|isn't|doesn[' ]?t get) (fixed|solved|resolved|sorted)"
        r"\b|\bsi no lo (solucionan|arreglan|resuelven)\b|\bsi ce n'est pas (regle|resolu)\b"
        r"|\bwenn das (heute )?nicht (gelost|behoben)\b|\bse nao (resolverem|resolvem)\b"
        r"|\bse non (risolvete|sistemate)\b|\bals dit (vandaag )?niet opgelost\b",
    ],
    "public_complaint": [
        r"\b(1|one|una|une|ein|einen|uma|een)[- ]?(star|estrella|etoile|stern|estrela|stella"
        r"|ster)\b|\breview everywhere\b|\b(post|posting|tweet|share)\w* (about )?(this|it)"
        r" (on|to)\b",
        r"\b(social media|redes sociales|las redes|reseaux sociaux|redes sociais|nas redes"
        r"|sui social|op social media|twitter|trustpilot|reclame aqui|procon|profeco|verbraucher"
        r"\w*|consumentenbond|consumatori|consumer protection|better business bureau"
        r"|reclamacion en consumo|hoja de reclamaciones)\b",
    ],
    "not_listening": [
        r"\bdo you (even |actually )?read\b|\bis anyone (even )?reading\b|\bnadie lee\b"
        r"|\b(leen|leeis) (mis|los) mensajes\b|\bvous lisez\b|\blisez[- ]vous\b|\blest ihr\b"
        r"|\bliest (das )?(hier )?(jemand|ihr)\b|\bleem (as )?minhas\b|\bli leggete\b"
        r"|\blezen jullie\b|\bleest (er )?iemand\b",
        r"\bso hard to get\b|\bwhy is it so (hard|difficult)\b|\b(seriously|serieusement"
        r"|ernsthaft|serieus|en serio|sul serio|a serio)\s*\?{2,}",
        r"\b(tout le monde s'en fiche|keinen interessiert\w*|ninguem (resolve|faz) nada"
        r"|nessuno (fa|risolve) niente|niemand (doet|lost) (er )?iets|nadie hace nada"
        r"|nobody does anything)\b",
        r"\b(your|vos|eure|ihre|suas|vostre|jullie|sus|tus) (excuses|ausreden|desculpas|scuse"
        r"|smoesjes|excusas|disculpas)\b",
    ],
    "threat_to_leave": [
        r"\b(lawyer|legal action|sue you|competitors?|competition)\b",
        r"\b(competencia|concurrence|concurrent|konkurrenz|concorrencia|concorrenza"
        r"|concurrentie)\b|\baller voir ailleurs\b|\bme voy a otra\b",
        r"\b(abogado|demanda)\b|\b(avocat|plainte)\b|\b(anwalt|klage)\b|\b(advogado|processo)\b"
        r"|\b(avvocato|denuncia)\b|\b(advocaat|aangifte)\b|弁護士|訴え",
    ],
}

_GRATITUDE = re.compile(
    r"\b(thanks|thank you|that helped|solved|resolved|appreciate\w*|gracias|resuelto|merci"
    r"|resolu|danke|gelost|obrigad[oa]|resolvido|grazie|risolto|bedankt|dank je|opgelost)\b"
    r"|ありがとう|助かりました|解決しました"
)
_EXCLAMATIONS = re.compile(r"[!\uff01]{3,}|[!?\uff01\uff1f]{4,}")
_CAPS_WORD = re.compile(r"\b[A-Z]{3,}\b")
_CUES = {
    name: re.compile("|".join(f"(?:{p})" for p in pats)) for name, pats in _FRUSTRATION.items()
}


@lru_cache(maxsize=1)
def _vader() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def _shouting(text: str) -> bool:
    letters = [c for c in text if c.isalpha() and c.isascii()]
    if len(letters) < 10:
        return False
    upper = sum(c.isupper() for c in letters)
    return upper / len(letters) > 0.7 and len(_CAPS_WORD.findall(text)) >= 2


def frustration_cues(text: str, folded: str | None = None) -> tuple[str, ...]:
    """The names of the frustration cues found in ``text``, in a stable order.

    ``folded`` is ``match_text(text)`` when the caller already has it.
    """
    sample = text[:MAX_MATCH_CHARS]
    folded = match_text(sample) if folded is None else folded
    cues = [name for name, pattern in _CUES.items() if pattern.search(folded)]
    if remedy.spent(folded):
        cues.append("tried_everything")
    if _shouting(sample):
        cues.append("shouting")
    if _EXCLAMATIONS.search(sample):
        cues.append("exclamations")
    return tuple(cues)


def _language_of(text: str, language: str | None) -> str | None:
    if language:
        return language
    code, probability = classify(text)
    return code if probability >= 0.5 else None


def analyze(text: str, language: str | None) -> Sentiment:
    """Rate ``text``: negative on any frustration cue, VADER in English, else cue or unknown."""
    if not text.strip():
        return Sentiment("unknown")
    folded = match_text(text)
    cues = frustration_cues(text, folded)
    english = _language_of(text, language) == "en"
    compound = _vader().polarity_scores(text[:MAX_MATCH_CHARS])["compound"] if english else 0.0
    if cues:
        return Sentiment("negative", round(min(compound, -0.3 - 0.15 * len(cues)), 3), cues)
    thanked = bool(_GRATITUDE.search(folded))
    if english:
        if compound <= NEGATIVE_AT:
            return Sentiment("negative", compound)
        if compound >= POSITIVE_AT or (thanked and compound > 0):
            return Sentiment("positive", compound)
        return Sentiment("neutral", compound)
    if thanked:
        return Sentiment("positive", 0.5, ("gratitude",))
    return Sentiment("unknown")
