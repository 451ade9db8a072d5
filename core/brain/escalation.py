"""Escalation triggers: each one switchable, each recorded as an :class:`EscalationReason`.

Codes: ``human_requested`` (asked for a person, in en es fr de pt it nl ja, direct or indirect),
``frustration`` (sentiment cues), ``billing_dispute`` (a chargeback or disputed charge),
``no_knowledge`` (no passage to answer from), ``low_confidence`` (a draft below the threshold),
``handoff_topic`` (a configured topic matched), ``loop`` (the same question again, or a question
whose answer would repeat a reply) and ``max_turns`` (the AI already replied too often).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from deskmate.core.brain.conversation import (
    answer_failed,
    is_acknowledgement,
    is_ai_reply,
    is_follow_up,
)
from deskmate.core.brain.settings import BrainSettings
from deskmate.core.brain.text import asks, match_text, term_set, tokenize, wants
from deskmate.core.domain import Draft, EscalationReason, Message, Sentiment, Turn

_PEOPLE_EN = (
    r"(human|person|people|agent|someone|somebody|representative|rep|operator|staff|manager"
    r"|supervisor|employee|advisor|adviser|customer (service|support|care)|support (team|staff)"
    r"|support)"
)
_SOMEONE_THERE = (
    r"(quelqu'un (de )?chez vous|alguien (de )?(ahi|alli)|jemand bei (euch|ihnen)|iemand bij"
    r" jullie|qualcuno da voi|alguem ai|someone (over there|on your team))"
)
_COULD = (
    r"(pourrait|peut|puisse|podria|puede|pueda|konnte|kann|kan|kon|potrebbe|puo|poderia|pode"
    r"|possa|could|can)"
)
_LOOK = (
    r"(regarder|verifier|nachsehen|nachschauen|prufen|ansehen|look|check|verify|mirar|revisar"
    r"|verificar|controllare|verificare|guardare|kijken|checken|nakijken|olhar)"
)
"""Someone at the company who could look, check, verify: a customer asking for a person to act
("quelqu'un chez vous pourrait regarder", "kann jemand bei euch nachsehen"); "can someone
there tell me…" only asks a question."""
_SOMEONE = r"(someone|somebody|anyone|quelqu'un|alguien|jemand\w*|alguem|qualcuno|iemand)"
_MINE = (
    r"(my|our|mon|ma|mes|notre|nos|mein\w*|unser\w*|mi|mis|nuestr\w*|meu|minha|meus|minhas"
    r"|nosso|nossa|mio|mia|miei|nostr\w*|mijn|ons|onze)"
)
"""What the customer wants looked at is theirs ("can someone check my order"): "can anyone
check the status online?" asks how."""
_FILLER_EN = r"(?:(?:a|an|the|some|your|one of your|real|actual|live|human|proper|support)\s+){0,3}"
_REQUEST = [
    # English
    rf"\b(talk|speak|chat|deal|get through)\s+(to|with)\s+{_FILLER_EN}{_PEOPLE_EN}\b",
    rf"\b(connect|transfer|put|pass|escalate)\s+(me|this|us)\s+"
    rf"(to|through to|through|on to|with)\s+{_FILLER_EN}{_PEOPLE_EN}\b",
    rf"\b(want|need|get|give me|request|like)\s+{_FILLER_EN}(human|person|agent|representative"
    rf"|operator|real person|live agent)\b",
    r"\b(real|actual|live|human) (person|human|being|agent|people|support)\b",
    r"\bare you (a )?(bot|robot|machine|ai|human|real)\b",
    r"\b(someone|somebody|a person|anyone) (from|at|in) (your |the )?(team|support|company|staff"
    r"|customer service)\b",
    r"^\W*(human|agent|operator|representative|person|live agent|real person|support)"
    r"(\s+(please|pls|now))?\W*$",
    r"\bescalate (this|me|my \w+|it)\b|\bget me someone\b|\bsomeone who can (actually )?help\b",
    r"\bget me (a |an |the )?(manager|supervisor|human|person|agent|someone|somebody)\b",
    r"\b(someone|somebody|a person|a human|an agent|support|your team) (call|phone|ring|contact)s?"
    r" me\b|\b(call|ring|phone) me( back)?\b|\bcall ?back\b",
    r"\bis (anyone|anybody|someone|somebody) (there|here|real|reading|available)\b",
    r"\b(anyone|anybody|someone|somebody|a person) (on|at) your (side|end)\b",
    r"\b(a|any|real) (human|person|humans|people) (look|check|read|see|review|help)\b"
    r"|\bare there any (humans|real people|people)\b|\bhelp from (a|an|real|actual) (person"
    r"|human|agent)\b",
    r"\b(have|let|ask) (someone|somebody|a person|a human|an agent) (contact|call|email|look)\b",
    r"\b(stop|no more) (the |this |talking to (a |the )?)?(bot|robot|chatbot|ai)\b|\b(bot|robot"
    r"|chatbot) is (useless|not helping|stupid)\b|\bdon[' ]?t want (to talk to )?(a |the |this )?"
    r"(bot|robot|chatbot|ai)\b",
    r"^\W*transfer me\b|\bphone number (to call|for support)\b|\b(reach|call) (you|your support"
    r"|your team|support)( team)? by phone\b",
    r"\b(human|agent|person|operator) (please|pls|now)\W*$",
    r"\bpass me (over|on|along|through)\b",
    # one of the team, in any of the languages ("one of your billing folks", "een van jullie
    # collega's", "um dos vossos colegas"), and someone there who could look ("há aí alguém que
    # possa verificar")
    r"\bone of your (\w+ )?(colleagues|folks|people|staff|team|agents)\b"
    r"|\b(l'un|l'une|un|une) de vos (collegues|conseillers|conseilleres|agents)\b"
    r"|\buno de (sus|tus|vuestros) (companeros|colegas|agentes)\b"
    r"|\b(einer|eine|jemand) (ihrer|eurer|von ihren|von euren) (kollegen|kolleginnen"
    r"|mitarbeiter\w*)\b"
    r"|\b(um|uma) dos (vossos|seus|teus) (colegas|colaboradores|atendentes)\b"
    r"|\b(uno|una) dei vostri (colleghi|operatori|consulenti)\b"
    r"|\been van (jullie|uw|je) (collega'?s|mensen|medewerkers)\b",
    # one of you, and in touch with someone ("qualcuno di voi può verificare", "kann mich jemand
    # von euch zurückrufen", "mi mettete in contatto con qualcuno del negozio?")
    r"\b(one|someone|somebody|anyone|anybody) of you\b|\b(alguien|alguno) de (ustedes|vosotros)\b"
    r"|\bquelqu'un (parmi vous|d'entre vous)\b|\bjemand(en)? von (euch|ihnen)\b"
    r"|\b(alguem|algum) de (voces|vos)\b|\b(qualcuno|uno) di voi\b",
    r"\b(put|get) me in touch with\b|\bmi mett\w* in contatto\b|\bponerme en contacto con"
    r" alguien\b|\bmich\b[^.?!]{0,30}\bzuruck(zu)?rufen\b",
    rf"\b({_SOMEONE_THERE} {_COULD}|{_COULD} {_SOMEONE_THERE})( \w+){{0,3}} {_LOOK}\b",
    rf"\b({_SOMEONE} {_COULD}|{_COULD} {_SOMEONE})( (please|bitte|svp|per favore|por favor))?"
    rf"( {_LOOK}\b[^.?!]{{0,20}}\b{_MINE}|( \w+)? {_MINE} \w+ {_LOOK})\b",
    rf"\b{_SOMEONE},? (who|che|que|qui|der|die)\b[^.?!]{{0,40}}\b(aiut\w*|ayud\w*|aider|helfen"
    r"|ajud\w*|helpen|help)\b",
    r"\b(ha|tem|hay|il y a|gibt es|c'e|is er) (ai |ahi |alli )?(alguem|alguien|quelqu'un|jemand"
    r"|qualcuno|iemand) (que|qui|der|che|die) (possa|pode|pueda|puede|puisse|peut|kann|possa"
    r"|puo|kan)\b",
    # a lone ask in any of the languages ("agent", "un conseiller svp", "einen Mitarbeiter bitte")
    r"^\W*(a |an |un |une |una |um |uma |een |einen |ein |einem )?(agent|agente|conseiller"
    r"|conseillere|humain|humano|umano|mensch|menschen|mitarbeiter|operatore|operador|atendente"
    r"|medewerker)\W*(please|por favor|s'il vous plait|svp|bitte|per favore|alstublieft|aub)?\W*$",
    # Spanish
    r"\b(hablar|comunicarme|contactar|chatear)\s+con\s+(un|una|el|la|algun|alguna|alguien)?\s*"
    r"(persona|humano|agente|asesor|asesora|operador|operadora|representante|alguien|encargado"
    r"|supervisor|empleado)\b",
    r"\b(persona|agente|humano) (real|de verdad)\b|\batencion (humana|al cliente)\b",
    r"\bque me llamen\b|\bllamad?me\b|\bme pueden llamar\b",
    r"\b(quiero|necesito) (un|una) (agente|humano|persona|asesor|operador)\b|\bpasame con\b",
    r"\batender(me)? (una persona|un humano|un agente|alguien)\b"
    r"|\b(paso|pasar|pasen|pasa|pasas|pase)(me)? con (un|una|el|la|algun|alguien)\s*"
    r"(agente|persona|humano|asesor|operador)?\b",
    # French
    r"\bparler\s+(a|avec)\s+(un|une|le|la|quelqu'un|un vrai|une vraie|un etre)?\s*(humain"
    r"|personne|conseiller|conseillere|agent|operateur|operatrice|responsable|quelqu'un)\b",
    r"\b(vraie personne|vrai humain|etre humain|personne reelle|un conseiller|une conseillere)\b",
    r"\b(mettez|mettre)[- ]moi en (relation|contact)\b",
    r"\brappel(ez|er)[- ]moi\b|\bqu'on me rappelle\b|\bun humain\b",
    # German
    r"\bmit\s+(einem|einer|einen|jemandem|dem|der|ihrem|einem echten|einer echten)?\s*"
    r"(mitarbeiter\w*|mensch\w*|berater\w*|person|agent\w*|kundendienst|kundenservice|jemandem"
    r"|support|ansprechpartner\w*)\s+(\w+\s+){0,3}(sprechen|reden|verbinden|telefonieren)\b",
    r"\b(echte\w*|richtige\w*|menschliche\w*) (mensch\w*|person|mitarbeiter\w*|berater\w*"
    r"|ansprechpartner\w*)\b",
    r"\bverbinden sie mich\b",
    r"\b(kann|konnte) mich (jemand|ein mitarbeiter|ein mensch) (anrufen|zuruckrufen"
    r"|kontaktieren)\b|\bruckruf\b|\b(einen|einem) (menschen|mitarbeiter)( bitte)?\W*$",
    r"\b(einen|einem|eine|einer|den|die)\s+(echten\s+|menschlichen\s+)?(mensch\w*|mitarbeiter\w*"
    r"|berater\w*|ansprechpartner\w*|agenten)\s+(\w+\s+){0,2}(sprechen|reden|haben)\b",
    # Portuguese
    r"\b(falar|conversar)\s+com\s+(um|uma|o|a|algum|alguma|alguem)?\s*(atendente|humano|pessoa"
    r"|agente|operador|operadora|consultor|consultora|alguem|representante|gerente)\b",
    r"\b(pessoa|atendente|humano) (real|de verdade)\b|\batendimento humano\b",
    r"\b(atendente|agente|pessoa) human[oa]\b|\b(transfer\w*|passa\w*|encaminh\w*)(-me| me)?"
    r" (para|pra) (um|uma|o|a)?\s*(atendente|humano|pessoa|agente|operador)\b",
    # Italian
    r"\b(un|una|uno) (vostr[oa]|suo|sua|tuo|tua) (collega|operatore|operatrice|consulente"
    r"|tecnico|referente)\b|\bsentire (una persona|qualcuno|un operatore|un'operatrice"
    r"|un tecnico|un consulente|voi)\b|\bse ne occup\w* (una persona|qualcuno|un operatore)\b"
    r"|\bmett\w* in contatto\b|\b(vorrei|voglio|avere) un referente\b",
    r"\b(parlar\w*|sentir\w*|chiamar\w*)\b[^.?!]{0,30}\b(al telefono|per telefono|a voce"
    r"|telefonicamente)\b",
    r"\b(parlare|parlarne|parlarvi|chattare)\s+con\s+(un|una|l'|qualcuno|un vero|una vera)?\s*"
    r"(voi|operatore|operatrice|persona|umano|agente|consulente|qualcuno|responsabile)\b",
    r"\b(persona|operatore) (reale|vera|vero|in carne)\b|\bassistenza umana\b",
    r"\b(operatore|operatrice|persona|agente) uman[oa]\b|\b(mi )?pass(i|a|are|ami)\s+(un|una)?\s*"
    r"(operatore|operatrice|persona|umano|consulente)\b",
    # Dutch
    r"\b(spreken|praten|chatten)\s+met\s+(een|iemand|de)?\s*(medewerker|mens|persoon|agent"
    r"|iemand|klantenservice)\b",
    r"\bmet\s+(een|iemand|de)?\s*(medewerker|mens|persoon|echte persoon|iemand)\s+(\w+\s+){0,2}"
    r"(spreken|praten)\b",
    r"\b(echte|echt) (persoon|mens|medewerker)\b|\biemand (van \w+ )?spreken\b",
    r"\b(kan|kunt) (iemand|u|jullie) (mij|me) (terug)?bellen\b|\bkan ik iemand bellen\b"
    r"|\bterugbellen\b|\b(een|echte) mens\b",
    r"\b(medewerker|mens|persoon)\s+(\w+\s+){0,2}(spreken|praten)\b|\bverbind\w*( me)?( door)?"
    r" met\b",
    # someone from the team, a callback, flesh and blood: in every language
    r"\b(rather|prefer(ably)?)\b[^.!?]{0,30}\b(bot|human|real person|person|a person)\b",
    r"\b(alguien|una persona) (del|de|de su|de vuestro) (equipo|soporte|servicio|atencion)\b"
    r"|\bque alguien me (contacte|llame|escriba|atienda|ayude)\b",
    r"\bquelqu'un (de|du) (votre |l'|la |le )?(equipe|service|support)\b"
    r"|\bqu'un conseiller me (contacte|rappelle|reponde)\b",
    r"\bjemand (von|aus) (ihrem|eurem|dem|ihrer|eurer|der) (team|support|kundendienst"
    r"|kundenservice)\b|\b(kann|konnte) sich (bitte )?jemand (melden|kummern)\b",
    r"\balguem da (sua |vossa )?(equipe|equipa|empresa|suporte)\b"
    r"|\bque alguem me (contate|contacte|ligue|atenda)\b",
    r"\bqualcuno (del|della|dello|dal|dalla) (vostro |vostra )?(team|staff|assistenza|supporto"
    r"|servizio clienti)\b|\b(fatemi|mi fate|mi fa|potete farmi|puo farmi) (contattare"
    r"|chiamare|richiamare)\b",
    r"\biemand van (jullie|het team|de klantenservice|de support)\b|\bliever (met )?een mens\b"
    r"|\b(bellen|telefoneren) met (iemand|een van jullie|jullie|een medewerker)\b"
    r"|\b(met|naar) een mens\b",
    r"\b(de carne y hueso|en chair et en os|de carne e osso|in carne e ossa|aus fleisch und blut"
    r"|van vlees en bloed)\b",
    # is anyone real there, or is it all automated
    r"\b(anyone|anybody|someone|somebody|alguien|quelqu'un|jemand|alguem|qualcuno|iemand)"
    r"( \w+)? (real|reale|reel|echt\w*|de verdad|di reale|de reel)\b",
    r"\b(all|todo|tout|alles|tudo|tutto) (automated|automatic|automatico|automatique|automatisch"
    r"|automatizado|automatisch)\b|\b(only|just|nur|seulement|solo|so|alleen) (a |an |un |una "
    r"|ein |een |um )?(bot|robot|robo|machine|maquina|macchina)\b",
    # not a bot, a machine, automatic answers
    r"\b(not|no|nao|non|niet|nicht|pas|instead of|rather than|kein\w*|geen|e nao|und nicht)"
    r"\b[^.?!]{0,40}\b(chat ?bot|bot|robot|robo|maquina|machine|macchina)\b",
    r"\b(stop|arretez|basta|para|parem|horen sie auf|hor auf|stop met|deja de)\b[^.?!]{0,30}"
    r"\b(automat\w*|bot|robot|robo)\b",
    r"\b(are you|r u|eres|es-tu|etes-vous|bist du|sind sie|vc e|voce e|sei|e|ben je|bent u)"
    r" (a |an |un |una |um |uma |ein |een )?(bot|robot|robo|chatbot|maquina|machine)\b",
    # a colleague, a manager, a supervisor
    r"\b(colleague|companero|compa|collegue|kollegen?|colega|collega|colaborador|mitarbeiter"
    r"|medewerker|collaboratore)s?( \w+)?"
    r" (of yours|suyo|tuyo|de vous|vos|von (ihnen|euch)|seu|sua|vosso|vossa|suo|tuo|vostro"
    r"|van (je|u|jullie))\b"
    r"|\b(a|un|une|einem|um|uma|een) (colleague|companero|collegue|kollegen|colega|collega)\b"
    r"|\b(un|une) de vos collegues\b|\bun (suo|tuo) collega\b|\bque me llame alguien\b",
    r"\b(want|need|demand|get|give|pass|put|speak|talk|quiero|necesito|exijo|paseme|pasame"
    r"|comuniqueme|comunica|passez|passe|passer|voudrais|veux|demande|exige|verlange|will|mochte"
    r"|brauche|quero|preciso|exijo|passa|passi|voglio|vorrei|pretendo|wil|eis|spreken|hablar"
    r"|parler|sprechen|falar|parlare)\b[^.?!]{0,25}\b(manager|supervisor|superviseur|vorgesetzten"
    r"|responsable|gerente|supervisore|responsabile|leidinggevende|ejecutivo|chef|teamleiter"
    r"|chefe|direttore|directeur)\b",
    # a callback, a phone call with someone
    r"\b(puede|pueden|podeis|podrian) llamarme\b|\bllamarme\b|\bme rappeler\b|\betre rappele"
    r"|\b(zuruck)?rufen sie mich( bitte)? (an|zuruck)\b|\bmich (zuruck|an)rufen\b"
    r"|\b(ligar|ligue|liga)[- ]?(me|pra mim|para mim)\b|\bme (ligar|ligue|liga)\b"
    r"|\brichiam\w*\b|\bchiamarmi\b|\bteruggebeld\b|\b(mij|me) (terug)?bellen\b"
    r"|\bcall me( back)?\b|\bcallback\b",
    r"\b(someone|quelqu'un|jemanden?|alguien|alguem|qualcuno|iemand) (on the phone|au telephone"
    r"|am telefon|al telefono|ao telefone|aan de lijn|telefonisch)\b|\baan de lijn\b"
    r"|\bunter der ich jemanden\b|\bwaar ik iemand\b",
    # a number to call, may I call you
    r"\b(a|an|un|una|el|eine|um|uma|een) (phone |telephone )?(number|numero|nummer|telefonnummer"
    r"|telefoonnummer|numero de telefono|numero di telefono|numero de telephone|numero de telefone)"
    r"( \w+){0,2} (to call|i can call|we can call|da chiamare|per chiamarvi|para llamar|pour"
    r" (vous )?appeler|zum anrufen|para ligar|om (jullie |u )?te bellen)\b",
    r"\b(c'e|avete|hay|tienen|avez-vous|gibt es|habt ihr|haben sie|voces tem|tem|hebben jullie"
    r"|heeft u|is there|do you have) (un |una |a |eine |um |een )?(phone number|telephone number"
    r"|numero di telefono|numero de telefono|numero de telephone|telefonnummer|numero de telefone"
    r"|telefoonnummer)\W*$",
    r"\b(posso|possiamo) (chiamarvi|telefonarvi)\b|\bcan i (call|phone|ring) you\b"
    r"|\bpuedo llamar(los|les|te)\b|\bje (peux|pourrais) vous (appeler|telephoner)\b"
    r"|\bkann ich (sie|euch) anrufen\b|\bposso (ligar|telefonar) (para|pra) (voces|vcs)\b"
    r"|\bkan ik (jullie|u) (even )?bellen\b",
    # take over the chat
    r"\btake over (this|the|my) (chat|conversation|case|ticket)\b|\bprendre en charge (la "
    r"conversation|le chat|mon dossier)\b|\b(chat|gesprach|fall) ubernehmen\b|\bassumir (o|este)"
    r" (chat|atendimento)\b|\bprendere in carico (la chat|la pratica)\b|\b(chat|gesprek)"
    r" overnemen\b",
    # transfer / put me through
    r"\b(paseme|pasame|comuniqueme|comunicame|me comunica|me comunicas|me pasa|me pasas)\b"
    r"|\b(passez|transferez|mettez)[- ]moi\b|\bstellen sie mich durch\b|\bgeben sie mir"
    r" jemanden\b|\bme (passa|coloca|transfere|transfira)\b|\bmi (passi|passa|metta|dia)"
    r" (il|la|un|una|qualcuno|in contatto)\b|\bmi passate (qualcuno|un|una)\b"
    r"|\bdoorverbinden\b|\bgeef me iemand\b",
    # a person from a department, someone to write back
    r"\b(could|can|would) (someone|somebody|anyone|a person) from (support|billing|sales|finance"
    r"|accounts)\b",
    r"\b(someone|somebody|a member|a person|anyone) (of|from|in|on) (your|the) (support|billing"
    r"|sales|team|staff|customer)\b|\bquelqu'un (de chez vous|du support|du service)\b"
    r"|\bune personne du service\b|\balguem do (suporte|atendimento|financeiro)\b"
    r"|\bqualcuno dell'(assistenza|ufficio)\b|\biemand van (de )?(support|klantendienst"
    r"|facturatie|klantenservice|boekhouding)\b|\balguien de (soporte|facturacion|atencion)\b",
    r"\b(i want|i need|je veux|je voudrais|ich brauche|ich will|quero|preciso|voglio|vorrei"
    r"|ik wil|quiero|necesito) (someone|somebody|a person|quelqu'un|une personne|jemanden"
    r"|alguem|uma pessoa|qualcuno|una persona|iemand|alguien)\b",
    # human, in other words
    r"\b(interlocuteur humain|menselijk\w* aanspreekpunt|referente umano|ao vivo|live[- ]agent\w*"
    r"|live medewerker|kundenberater|de carne y hueso|ne mens|met een mens|mit an mitarbeiter"
    r"|mit (jemandem|oppere[mn]) (vom|vo|aus)|un vrai conseiller|une vraie personne"
    r"|alguien de verdad|ejecutivo)\b",
    r"^\W*(mens|kundenberater|menschen|humano|umano|humain)\W*$",
    # Japanese
    r"(担当者|担当の方|オペレーター?|人間|有人|スタッフ)(と|に|で)?(話|つな|繋|代わ|替わ|対応|相談)",
    r"(?<![友個本他知])人と話",
    r"(担当者|オペレーター?|有人対応|人間の方)(を|が)?(お願い|呼んで|希望|出して)",
    r"^\W*(担当者|オペレーター?|有人対応)\W*$",
]
_REQUEST_RE = re.compile("|".join(f"(?:{p})" for p in _REQUEST))
_CLAUSE_BREAK = re.compile(r"[.!?;,。\uff01\uff1f、]")
# A negation counts only within two words of the request ("I don't need a human", "no quiero
# hablar con…"), so "ich kann mich nicht einloggen, ich will mit jemandem sprechen" still asks.
_NEGATION_BEFORE = re.compile(
    r"\b(don[' ]?t|do not|no need|not need|not want|never|no quiero|no necesito|pas besoin"
    r"|ne veux pas|kein\w*|nicht|nao (quero|preciso)|non (voglio|serve|ho)|geen|niet)"
    r"(\s+\S+){0,2}\s*$"
)
_NEGATION_AFTER = re.compile(
    r"^\W{0,3}(は|と)?(不要|いらない|必要(ない|ありません)|結構です|話したくない)"
)
MILD_CUES = frozenset({"displeasure"})
"""Frustration cues that hand off a report but not a question answered with confidence."""
NEW_QUESTION_OVERLAP = 1 / 3
"""A question sharing less than this share of its terms (Jaccard) with every question already
answered is a new one, even when the same article answers it."""
_AFTER_WINDOW = 12
_BEFORE_WINDOW = 80


def human_request(text: str) -> str | None:
    """The words with which ``text`` asks for a person, or ``None`` (negated asks ignored)."""
    folded = match_text(text)
    for match in _REQUEST_RE.finditer(folded):
        before = folded[max(0, match.start() - _BEFORE_WINDOW) : match.start()]
        clause = _CLAUSE_BREAK.split(before)[-1]
        after = folded[match.end() : match.end() + _AFTER_WINDOW]
        if _NEGATION_BEFORE.search(clause) or _NEGATION_AFTER.search(after):
            continue
        return match.group().strip()
    return None


_DISPUTE = re.compile(
    r"\bcharge ?backs?\b|\bdisput\w* (the |a |this |my |that )?(charge|payment|transaction"
    r"|invoice|bill)\b|\b(charge|payment|transaction)s? (is |was )?disputed\b"
    r"|\bunauthori[sz]ed (charge|payment|transaction|debit)\b|\bfraudulent (charge|payment)\b"
    r"|\bcontracargo\b|\bdisputa (del |de |el )?(cargo|pago|cobro)\b|\bcargo no autorizado\b"
    r"|\bretrofacturation\b|\bcontester (le |un |ce |mon )?(paiement|prelevement|debit)\b"
    r"|\bopposition bancaire\b|\bruckbuchung\b|\blastschrift zuruck\w*\b"
    r"|\bzahlung (anfechten|widersprechen|zuruckbuchen)\b|\bestorno\b|\bcobranca indevida\b"
    r"|\bcontestar (a |o )?(cobranca|compra|pagamento)\b|\briaddebito\b"
    r"|\bcontestare (il |un |l')?(addebito|pagamento)\b|\baddebito non autorizzato\b"
    r"|\bterugboeking\b|\bbetaling betwisten\b|チャージバック|不正請求"
)


def billing_dispute(text: str) -> str | None:
    """The words with which ``text`` disputes a charge ("chargeback please"), or ``None``."""
    match = _DISPUTE.search(match_text(text))
    return match.group().strip() if match else None


def _answered_questions(turn: Turn, latest: Message) -> list[Message]:
    """Earlier customer messages that the AI answered before ``latest`` arrived."""
    answered: list[Message] = []
    waiting: list[Message] = []
    for message in turn.messages:
        if message.part_id == latest.part_id:
            break
        if message.author.is_customer and message.text.strip():
            waiting.append(message)
        elif is_ai_reply(message, turn.workspace.ai_admin_id):
            answered += waiting
            waiting = []
    return answered


def ai_turns(turn: Turn) -> int:
    """How many replies the AI admin has already sent in this conversation."""
    return sum(is_ai_reply(m, turn.workspace.ai_admin_id) for m in turn.messages)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Share of distinct terms two messages have in common."""
    return len(a & b) / len(a | b) if a or b else 0.0


def repeated_question(turn: Turn, threshold: float) -> Message | None:
    """An earlier, already answered customer message that the latest one repeats; else ``None``.

    Repetition is term overlap (Jaccard) at or above ``threshold``; a message sent twice before
    the AI answered is a burst, not a loop.
    """
    latest = turn.latest
    if latest is None or len(term_set(latest.text)) < 2:
        return None
    return next((m for m, overlap in _overlaps(turn, latest) if overlap >= threshold), None)


def _overlaps(turn: Turn, latest: Message) -> Iterator[tuple[Message, float]]:
    """Each already answered customer message with its term overlap (Jaccard) with ``latest``."""
    terms = term_set(latest.text)
    for earlier in _answered_questions(turn, latest):
        yield earlier, jaccard(terms, term_set(earlier.text))


def _asks_something_else(turn: Turn, latest: Message) -> bool:
    """Whether ``latest`` asks a question that shares little with the ones already answered
    ("how long is the link valid?" after "I forgot my password"): a new question the same
    article answers, not the old one asked again."""
    if not asks(latest.text):
        return False
    return all(overlap < NEW_QUESTION_OVERLAP for _, overlap in _overlaps(turn, latest))


def repeated_answer(turn: Turn, draft: Draft | None, threshold: float) -> Message | None:
    """An earlier AI reply that ``draft`` would repeat, when the latest message asks again rather
    than following up or asking something else; else ``None``. A message saying that what was
    tried did not work (:func:`conversation.answer_failed`) asks again, however it is put. A
    reply repeats when it holds at least ``threshold`` of the draft's terms (the sent reply also
    lists its sources)."""
    latest = turn.latest
    if latest is None or draft is None or draft.silent:
        return None
    if not answer_failed(latest.text) and (
        is_follow_up(latest.text) or _asks_something_else(turn, latest)
    ):
        return None
    terms = term_set(draft.text)
    for message in turn.messages:
        if message.part_id == latest.part_id:
            break
        reply = is_ai_reply(message, turn.workspace.ai_admin_id) and bool(terms)
        if reply and len(terms & term_set(message.text)) / len(terms) >= threshold:
            return message
    return None


def matched_topic(text: str, topics: tuple[str, ...], threshold: float) -> str | None:
    """The first handoff topic ``text`` is about, or ``None``.

    A topic is plain language; commas, semicolons, slashes and "or" separate alternatives. An
    alternative matches when the message holds at least ``threshold`` of its terms.
    """
    terms = term_set(text)
    if not terms:
        return None
    for topic in topics:
        for alternative in re.split(r"[,;/\n]|\bor\b", topic):
            wanted = set(tokenize(alternative))
            if wanted and len(wanted & terms) / len(wanted) >= threshold:
                return topic
    return None


def message_reasons(
    text: str, draft: Draft | None, sentiment: Sentiment | None, settings: BrainSettings
) -> list[EscalationReason]:
    """The triggers that need only the message itself: person, frustration, knowledge, topic."""
    if not text.strip():
        return []
    found = [
        _human(text, settings),
        _frustration(text, sentiment, draft, settings),
        _dispute(text, settings),
        _knowledge(draft, settings),
        _topic(text, settings),
    ]
    return [reason for reason in found if reason is not None]


def reasons(
    turn: Turn, draft: Draft | None, sentiment: Sentiment | None, settings: BrainSettings
) -> list[EscalationReason]:
    """Every switched-on trigger that fires for the latest customer message of ``turn``."""
    if turn.latest is None or not turn.latest.text.strip():
        return []
    found = message_reasons(turn.latest.text, draft, sentiment, settings)
    if _status_question(turn, sentiment):
        found = [reason for reason in found if reason.code != "frustration"]
    if is_acknowledgement(turn.latest.text):
        return found
    found += [r for r in (_loop(turn, draft, settings), _turns(turn, settings)) if r is not None]
    return found


def _status_question(turn: Turn, sentiment: Sentiment | None) -> bool:
    """Whether the message's only frustration is a "still not" in the first contact: "ordered
    tuesday, still nothing, how long does it take?" asks how a delivery or refund stands (the
    help center may answer it); the same words after a reply say the reply did not help."""
    if sentiment is None or sentiment.cues != ("still_not",) or sentiment.score <= -0.6:
        return False
    return all(message.author.is_customer for message in turn.messages)


def _human(text: str, settings: BrainSettings) -> EscalationReason | None:
    if not settings.enabled("human_requested"):
        return None
    phrase = human_request(text)
    return (
        EscalationReason("human_requested", f"asked for a person: {phrase!r}") if phrase else None
    )


def _dispute(text: str, settings: BrainSettings) -> EscalationReason | None:
    if not settings.enabled("billing_dispute"):
        return None
    phrase = billing_dispute(text)
    return EscalationReason("billing_dispute", f"disputes a charge: {phrase!r}") if phrase else None


def _frustration(
    text: str, sentiment: Sentiment | None, draft: Draft | None, settings: BrainSettings
) -> EscalationReason | None:
    """Frustration: a cue, or a strongly negative tone in a message the help center does not
    answer with confidence ("budget got cut, we need the cheaper plan" is sad news and a
    question; its tone is not about the support it gets). Mild cues alone (annoyance,
    disappointment) in a question answered with confidence are a question."""
    if not settings.enabled("frustration") or sentiment is None or sentiment.label != "negative":
        return None
    if not sentiment.cues and (sentiment.score > -0.6 or _confident(draft, settings)):
        return None
    mild = set(sentiment.cues) <= MILD_CUES
    if mild and sentiment.score > -0.6 and wants(text) and _confident(draft, settings):
        return None
    cues = ", ".join(sentiment.cues) or "strongly negative tone"
    return EscalationReason("frustration", f"frustrated ({cues}; score {sentiment.score:+.2f})")


def _confident(draft: Draft | None, settings: BrainSettings) -> bool:
    return draft is not None and draft.confidence >= settings.confidence_threshold


def _knowledge(draft: Draft | None, settings: BrainSettings) -> EscalationReason | None:
    if draft is None:
        code, detail = "no_knowledge", "no knowledge passage covers the question"
    elif _confident(draft, settings):
        return None
    elif not draft.citations:
        code, detail = "no_knowledge", f"an uncited draft at confidence {draft.confidence:.2f}"
    else:
        threshold = settings.confidence_threshold
        code, detail = "low_confidence", f"confidence {draft.confidence:.2f} below {threshold:.2f}"
    return EscalationReason(code, detail) if settings.enabled(code) else None


def _topic(text: str, settings: BrainSettings) -> EscalationReason | None:
    if not settings.enabled("handoff_topic") or not settings.handoff_topics:
        return None
    topic = matched_topic(text, settings.handoff_topics, settings.topic_match)
    return EscalationReason("handoff_topic", f"handoff topic: {topic}") if topic else None


def _loop(turn: Turn, draft: Draft | None, settings: BrainSettings) -> EscalationReason | None:
    if not settings.enabled("loop"):
        return None
    earlier = repeated_question(turn, settings.loop_similarity)
    if earlier is not None:
        detail = f"the customer repeated an earlier message ({earlier.part_id})"
        return EscalationReason("loop", detail)
    reply = repeated_answer(turn, draft, settings.loop_similarity)
    if reply is not None:
        detail = f"the customer asked again and the answer would repeat reply ({reply.part_id})"
        return EscalationReason("loop", detail)
    if ai_turns(turn) and answer_failed(turn.latest.text):
        return EscalationReason("loop", "the customer says the answer did not help")
    return None


def _turns(turn: Turn, settings: BrainSettings) -> EscalationReason | None:
    if not settings.enabled("max_turns"):
        return None
    count = ai_turns(turn)
    if count < settings.max_ai_turns:
        return None
    return EscalationReason("max_turns", f"the AI already replied {count} times")
