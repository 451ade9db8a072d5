"""The help center's remedy for an email that didn't come, and how far the customer got with it.

Help centers answer "the email never came" with the spam folder and a second try. A customer
who only says the email hasn't come is still to be given that answer; one who checked the spam
folder and tried again has spent it (a fed-up customer, or an answer that failed).
Patterns apply to :func:`text.match_text` output (folded case and accents).
"""

from __future__ import annotations

import re

from deskmate.core.brain.text import match_text

_OTHER_THING = re.compile(
    r"\b(refunds?|money|remboursement|argent|reembolso|dinero|plata|erstattung|geld|dinheiro"
    r"|rimborso|soldi|terugbetaling|packages?|parcels?|orders?|colis|commande|paquete|pedido"
    r"|pacco|ordine|pakete?|bestellung|pakket|bestelling|encomenda|pacote)\b"
)
"""What else may not have come: a refund, a parcel (their articles answer differently)."""
_NOT_COME = re.compile(
    r"\b(never (came|comes|arrived|arrives|got it)|nothing (came|arrived)|(didn'?t|did not|don'?t"
    r"|haven'?t) (get|got|receive|received)|no (email|mail)|kommt nie|kam nie|nicht angekommen"
    r"|nichts angekommen|kommt nicht an|keine (e-?)?mail|jamais (recu|arrive)|rien recu|pas recu"
    r"|(recois|recu) (rien|pas|aucun)|nunca (llega|llego)|no (me )?(llega|llego|ha llegado)"
    r"|nunca (chega|chegou)|nao (chega|chegou|recebi)|non (mi )?(arriva|e arrivat\w)"
    r"|mai arrivat\w|non ho ricevuto|komt niet|nooit (aangekomen|ontvangen)|niks binnen"
    r"|geen (e-?)?mail)\b"
)
_SPAM_EMPTY = re.compile(
    r"\b((nothing|not|nor|no) (\w+ )?(in|im) (the |my )?(spam|junk)|(checked|looked in|checked in)"
    r" (the |my )?(spam|junk)|(spam|junk)( folder)? (too|either|as well|also)|rien dans (les|mes)"
    r" spams?|(meme )?pas dans (les|mes) spams?|(regarde|verifie) (dans )?(les|mes) spams?"
    r"|(neanche|nemmeno|anche) nello spam|guardato (anche )?nello spam|(tampoco|ni) en (el )?spam"
    r"|(mire|revise) (en )?(el )?spam|auch nicht im spam|im spam (auch )?nicht|im spam (hab|habe)"
    r"|nem no spam|(ja )?(vi|olhei) no spam|(ook )?niet in (de |mijn )?spam|spam (gecheckt"
    r"|bekeken|heb ik))\b"
)
"""The spam folder checked and found empty ("nothing in spam either", "rien dans les spams")."""
_TRIED = re.compile(
    r"\b((\d+|two|three|four|five|several|multiple|many|deux|trois|quatre|plusieurs|dos|tres"
    r"|cuatro|varias|zwei|drei|vier|mehrere|duas|quatro|due|tre|quattro|twee|drie) ?(times|x|fois"
    r"|veces|vezes|volte|mal|keer)|twice|(tried|did|requested|clicked|sent) (it |that |this )?again"
    r"|as (instructed|described|you said|told)|comme (il faut|indique|demande|vous l'avez dit)"
    r"|come (indicato|descritto|detto)|wie (beschrieben|angegeben)|como (indicado|dijeron"
    r"|descrito|falaram)|zoals (aangegeven|beschreven|gezegd)|j'ai (re)?essaye|relance"
    r"|(nochmal|erneut) (versucht|angefordert)|lo (intente|pedi) (de nuevo|otra vez)|riprovato"
    r"|opnieuw (aangevraagd|geprobeerd)|(tentei|pedi) (de novo|outra vez)|zweimal|dreimal)\b"
)
"""The step tried more than once, or exactly as told ("3 times now", "comme il faut")."""
_FOUND = re.compile(r"\b(found|trouve\w*|gefunden|encontr\w+|achei|trovat\w|gevonden)\b")


def spent(folded: str) -> bool:
    """Whether the remedy is spent: the spam folder checked empty *and* the step tried again or
    as told, and nothing found after all ("found it in spam after 2 tries" is a success)."""
    return bool(_SPAM_EMPTY.search(folded) and _TRIED.search(folded) and not _FOUND.search(folded))


def awaits_email(text: str) -> bool:
    """Whether ``text`` says only that an email or link has not come ("fatto ma la mail non
    arriva"; not a refund or a parcel): the remedy is still to give. Once the spam folder was
    checked or the step tried again, it is not: the answer has failed."""
    folded = match_text(text)
    return bool(
        _NOT_COME.search(folded)
        and not _OTHER_THING.search(folded)
        and not _SPAM_EMPTY.search(folded)
        and not _TRIED.search(folded)
    )
