"""Reading a message in its conversation: acknowledgements and follow-ups.

An *acknowledgement* ("thanks, that worked", "merci ça marche", "danke hat geklappt", "ok
perfect") is a message made only of thanks, agreement and closing words, in en, es, fr, de, pt,
it, nl and ja: it asks nothing, so the brain answers nothing. A *follow-up* ("and how long does
that take?") leans on an earlier question: it starts with a connective, points back with a
pronoun, or has at most two content words. Every message after an exchange is searched with
the customer's previous question and the AI's answer to it as context, unless its own words open
a new topic the knowledge lacks ("also, do you have an API?") without pointing back.
"""

from __future__ import annotations

import re

from deskmate.core.brain.remedy import awaits_email
from deskmate.core.brain.text import asks, match_text, sentences, tokenize
from deskmate.core.domain import Message, Turn

_ACK_PHRASES = """
    thank you|thank u|thanks|thanx|thx|ty|tysm|cheers|appreciate it|much appreciated|appreciated
    |that worked|it worked|worked|works now|it works|that works|working now|that helped|it helped
    |helped|that did it|did the trick|solved|resolved|fixed|sorted|all good|all set|sounds good
    |got it|gotcha|understood|makes sense|i see|noted|will do|i will try|i'll try|perfect|great
    |awesome|excellent|brilliant|lovely|wonderful|amazing|fantastic|cool|nice|super|good|fine
    |ok|okay|okey|k|kk|alright|all right|yes|yep|yeah|yup|sure|bye|goodbye|have a nice day
    |have a good day|that's all|that is all|that's it|nothing else|no more questions
    |no that's all|no thanks|no thank you|nope that's all|done|fatto|feito|klaar|c'est fait
    |merci beaucoup|merci|ca marche|ca a marche|ca fonctionne|c'est bon|c'est regle|parfait
    |genial|top|d'accord|entendu|compris|nickel|tres bien|bonne journee|au revoir|resolu
    |vielen dank|danke schon|danke sehr|danke|hat geklappt|hat funktioniert|funktioniert|klappt
    |passt|perfekt|alles klar|prima|toll|verstanden|tschuss|schonen tag|erledigt|gut
    |muchas gracias|gracias|ya funciona|funciona|funciono|perfecto|vale|listo|de acuerdo
    |entendido|excelente|resuelto|solucionado|adios|buen dia
    |muito obrigado|muito obrigada|obrigado|obrigada|valeu|funcionou|deu certo|perfeito|otimo
    |beleza|resolvido|entendi|tudo certo|show|show de bola
    |grazie mille|grazie|perfetto|ha funzionato|ottimo
    |va bene|capito|risolto|hartelijk bedankt|bedankt|dank je wel|dank je|dank u|dankjewel
    |het werkt|werkt|opgelost|duidelijk
    |found it|figured it out|got it working|managed|that's all i needed|that's what i needed
    |all i needed|just what i needed|have a nice evening|have a good weekend|have a nice weekend
    |bonne soiree|bon week-end|bon weekend|bonne fin de journee|a bientot|schonen abend
    |schones wochenende|bis dann|mil gracias|buenas noches|buen fin de semana|hasta luego
    |lo consegui|consegui|boa noite|bom fim de semana|ate mais|buona serata|buon fine settimana
    |a presto|buona giornata|grazie tante|gelukt|het is gelukt|fijne dag|fijn weekend|tot ziens
    |it's working|chao|chau|quedo|ya quedo|era todo|eso era todo|buenisimo|saludos|dale|ya esta
    |merci bcp|bcp|c'est tout|c'est tout pour moi|impeccable|merci bien|l'aide
    |schonen tag noch|das war alles|merci vielmal|vielmal|baba|lauft wieder|lauft|das hat's gelost
    |gelost|brigado|brigada|brigadao|tchau|certo|pronto|ja esta a funcionar|a funcionar
    |era so isso|so isso|fixe|sistemato|era tutto|ciao|funziona|tutto a posto|gentilissimi
    |gentilissimo|ricevuto|fijne dag nog|in orde|dat was alles|begrepen|doei|thanks|helemaal goed
    |goed zo|dank|oke|provo|provo subito|lo provo|je vais essayer|voy a probar|lo pruebo
    |ich probier's|ich probiere es|vou tentar|ik probeer het|will try that|i'll try that
    |i'll give it a try|i will give it a try|give it a try|vou experimentar|vou testar
    |je vais tester|lo intentare|ci provo|ich versuche es|ik ga het proberen
    |trovato|l'ho trovato|achei|encontrei|encontre|lo encontre|gevonden|gefunden|j'ai trouve|trouve
    |era isso mesmo|era isso|isso mesmo|era eso|eso era|c'etait ca|c'est ca|era quello|das war's
    |dat was het|that was it|that's the one
"""
_ACK_FILLER = """
    so much|very much|a lot|again|guys|team|for your help|for the help|for helping|now|that|it
    |this|you|all|everything|really|just|mate|lol|and|oh|ah|wow|then|indeed|pour tout|pour
    |votre aide|beaucoup|muy|mucho|por todo|por la ayuda|fur die hilfe|fur alles|mal|schon|ja
    |si|oui|da|per l'aiuto|voor de hulp|nu|pela ajuda|por tudo|agora|ya|es|ist|c'est|very|much
    |a bunch|a ton|heaps|loads|tons|dir|euch|ihnen|demais|muito|tante|tanto|mille|yay
    |haha|hehe|finally|enfin|endlich|por fin|finalmente|eindelijk|tout|alles|todo|tudo|tutto
    |maintenant|jetzt|ora|ahora|weer|wieder|bien|noch|eh|zo|helemaal|pour moi
"""
_ACK_JA = (
    "ありがとうございました|ありがとうございます|ありがとう|助かりました|解決しました|了解"
    "|わかりました|できました|です|ます"
)
_ACK_WORDS = sorted({p.strip() for p in f"{_ACK_PHRASES}|{_ACK_FILLER}".split("|")}, key=len)
_ACK_RE = re.compile(r"\b(?:" + "|".join(reversed(_ACK_WORDS)) + r")\b")
_ACK_JA_RE = re.compile(_ACK_JA)
_LEFTOVER = re.compile(r"[^\W\d_]", re.UNICODE)
MAX_ACK_CHARS = 120
_POSITIVE_EMOJI = re.compile(
    "(?:[\U0001f44d\U0001f44c\U0001f64f\U0001f642\U0001f60a\U0001f600\U0001f601\U0001f389"
    "\u2705\u2714\u263a\U0001f917\U0001f4aa\u2764\U0001f44f][\ufe0f\U0001f3fb-\U0001f3ff]?\\s*)+"
)

_THANKS = re.compile(
    r"\b(thanks|thank you|thank u|thx|ty|cheers|merci|danke|gracias|obrigad[oa]|valeu|grazie"
    r"|bedankt|dank je|dank u)\b"
)
_SUCCESS = re.compile(
    r"\b(found|worked|works|working|sorted|fixed|got it|achei|encontrei|funcionou|deu certo"
    r"|trouve|marche|fonctionne|gefunden|klappt|geklappt|funktioniert|encontre|funciona"
    r"|funciono|trovato|funziona|gevonden|gelukt|werkt)\b"
)
_CONTRARY = re.compile(
    r"\b(but|still|not|no|never|nothing|doesn't|didn't|can't|cannot|mais|toujours|pas|rien"
    r"|aber|noch|nicht|nichts|kein|pero|todavia|aun|nada|mas|ainda|nao|nunca|ma|ancora|non"
    r"|niente|maar|nog|niet|niks|geen)\b"
)
MAX_SUCCESS_WORDS = 15
_CONNECTIVE = re.compile(
    r"^\W*(and|also|plus|what about|how about|so|then|y|e|et|und|en|ademas|aussi|auch|tambien"
    r"|inoltre|ook|ok and|okay and)\b"
)
_POINTER = re.compile(
    r"\b(that|it|this|those|them|there|eso|esto|ello|ca|cela|celui|dies|dafur|isso|isto"
    r"|questo|quello|dat|dit)\b"
)
FOLLOW_UP_MAX_TERMS = 2


def is_acknowledgement(text: str) -> bool:
    """Whether ``text`` only thanks, agrees or says goodbye (no question, no other words), is
    only a thumbs-up, an OK hand or a smile, or briefly thanks for what worked or was found."""
    if not text.strip() or len(text) > MAX_ACK_CHARS or "?" in text or "\uff1f" in text:
        return False
    if _POSITIVE_EMOJI.fullmatch(text.strip()):
        return True
    folded = match_text(text)
    rest = _ACK_JA_RE.sub(" ", _ACK_RE.sub(" ", folded))
    if not _LEFTOVER.search(rest) and _LEFTOVER.search(folded):
        return True
    return _reports_success(folded)


def _reports_success(folded: str) -> bool:
    """Whether a short message thanks and says what worked or was found ("ah achei o email com
    o link, valeu!!"), with nothing contrary ("but", "still", "not") and no request."""
    return bool(
        _THANKS.search(folded)
        and _SUCCESS.search(folded)
        and not _CONTRARY.search(folded)
        and not any(asks(s) for s in sentences(folded))
        and len(folded.split()) <= MAX_SUCCESS_WORDS
    )


_FAILURE = re.compile(
    r"\b(didn'?t work|doesn'?t work|does not work|not working|tried that|tried it|tried this"
    r"|already tried|never (came|comes|arrived|arrives|got it)|nothing (came|arrived|happens"
    r"|happened)|same (problem|error)|(hasn'?t|has not|haven'?t) (changed|moved|updated)"
    r"|hab(e)? ich (schon |bereits )?(gemacht|versucht|probiert)|(funktioniert|klappt) (immer"
    r" noch |trotzdem )?nicht|trotzdem|kommt nie|kam nie|nichts angekommen"
    r"|deja (fait|essaye)|(ca|cela) (ne )?(marche|fonctionne) (toujours )?pas|jamais (recu|arrive)"
    r"|rien recu|ya (lo )?(hice|intente|probe)|no funciona|nunca (llega|llego)|no (me )?llega"
    r"|sigue igual|no se mueve|ja (fiz|tentei|pedi|exportei)|nao funciona|nunca (chega|chegou)"
    r"|nao chega|continua igual|(l')?ho gia (fatto|provato)|non funziona|non arriva|mai arrivat\w"
    r"|heb ik (al |net |ook )?(gedaan|geprobeerd|bekeken|gecheckt)|werkt (nog steeds )?niet"
    r"|komt niet|nooit (aangekomen|ontvangen)|niks binnen)\b"
    # the answer is not what was asked, or was already said
    r"|\b(not asking about|not what i asked|didn'?t ask (about )?(that|this)"
    r"|you (already|just) (said|told me) (that|this)|no pregunte (eso|por eso)"
    r"|no es lo que pregunte|ya me lo dijeron|ce n'est pas (ma question|ce que j'ai demande)"
    r"|vous me l'avez deja dit|war nicht meine frage|nao (foi o que|e isso que) (eu )?perguntei"
    r"|ja me disseram|non ho chiesto (questo|quello)|me l'avete gia detto|dat vroeg ik niet"
    r"|dat zei je al)\b"
)
_ALREADY_READ = re.compile(
    r"\b(already read|ya (lo )?lei|j'ai (bien |deja )lu|(hab|habe) ich (schon |bereits )?gelesen"
    r"|ja li|(l')?ho gia letto|heb ik (al )?gelezen|i know that|dat weet ik|ya lo se"
    r"|je (le )?sais (deja|bien)|das weiss ich|isso eu (ja )?sei|lo so gia)\b"
)
"""Having read the answer says it failed only when nothing is asked besides ("hab ich gelesen,
gilt das auch für Jahrespläne?" is a follow-up)."""
_CONDITIONAL = re.compile(r"\b(if|si|wenn|falls|se|als)\b(\s+\S+){0,4}\s*$")
"""A failure only supposed ("and if the email doesn't arrive?") is a question, not a report."""
_CONDITIONAL_REACH = 60
"""How far before a failure its "if" is looked for (four words)."""


def answer_failed(text: str) -> bool:
    """Whether ``text``, after an answer, says the answer failed (:func:`reports_failure`) and
    not only that its email is still awaited (:func:`remedy.awaits_email`)."""
    return reports_failure(text) and not awaits_email(text)


def reports_failure(text: str) -> bool:
    """Whether ``text`` says that what was tried did not work ("tried it three times already",
    "hab ich gemacht, trotzdem…", "o email nunca chega"), not only supposes it ("y si no me
    llega el correo?"), or that the answer is not what was asked or was already read without
    asking anything else ("im not asking about the policy tho", "oui j'ai bien lu pour le délai.
    là ça fait 15 jours ouvrés"): after an answer, the answer failed."""
    folded = match_text(text)
    if _ALREADY_READ.search(folded) and not any(asks(s) for s in sentences(text)):
        return True
    return any(
        not _CONDITIONAL.search(folded[max(0, m.start() - _CONDITIONAL_REACH) : m.start()])
        for m in _FAILURE.finditer(folded)
    )


def is_ai_reply(message: Message, ai_admin_id: str) -> bool:
    """Whether ``message`` is a reply the AI admin sent to the customer (not a note)."""
    return (
        message.author.id == ai_admin_id
        and not message.author.is_customer
        and message.kind != "note"
    )


def _previous_exchange(turn: Turn, latest: Message) -> str:
    """The customer's last question before ``latest`` and the AI's replies to it, joined (lines
    with a link left out: a sent reply lists its sources)."""
    question, replies = "", []
    for message in turn.messages:
        if message.part_id == latest.part_id:
            break
        text = message.text.strip()
        if message.author.is_customer and text and not is_acknowledgement(text):
            question, replies = text, []
        elif question and is_ai_reply(message, turn.workspace.ai_admin_id):
            replies += [line for line in text.splitlines() if line.strip() and "://" not in line]
    return "\n".join([question, *replies]) if question else ""


def points_back(text: str) -> bool:
    """Whether ``text`` says it leans on an earlier turn: a connective or a pointer."""
    folded = match_text(text)
    return bool(_CONNECTIVE.search(folded) or _POINTER.search(folded))


def is_follow_up(text: str) -> bool:
    """Whether ``text`` leans on an earlier turn: it points back, or has few content words."""
    return points_back(text) or len(set(tokenize(text))) <= FOLLOW_UP_MAX_TERMS


def follow_up_context(turn: Turn | None) -> str:
    """The previous question and the AI's answer to it, for a message that comes after one (else
    ``""``): whether the message follows up or opens a new topic is the query's to tell."""
    if turn is None or turn.latest is None:
        return ""
    return _previous_exchange(turn, turn.latest)
