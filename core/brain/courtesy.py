"""The courtesy around a message: an email's salutation and its sign-off with the signature.

"Dear Sir or Madam," or "Sehr geehrte Damen und Herren," and "Kind regards, Margaret Ellis" or
"Com os melhores cumprimentos, Manuel Sousa" say nothing of what the customer needs, yet their
words (a name is a rare word) would weigh in a question's coverage like its need. They are cut
off before a question is searched; what is left is the message itself.
"""

from __future__ import annotations

import re

MAX_SIGNATURE_CHARS = 60
"""What follows a sign-off formula is a signature only when this short (a name, a company)."""
GREETING_WINDOW = 200
"""A salutation is looked for only in a message's first characters."""
SIGN_OFF_WINDOW = 300
"""A sign-off is looked for only in a message's last characters: it closes the message. Both
windows keep a long message's cost flat (a search over all of it grows with its square)."""

_SALUTATION = re.compile(
    r"^\s*+(?:dear\b[^,:\n]{0,40}|to whom it may concern|good (?:morning|afternoon|evening)"
    r"|sehr geehrte[^,:\n]{0,40}|guten (?:tag|morgen|abend)|liebe[rs]?\b[^,:\n]{0,30}"
    r"|madame,? monsieur|monsieur,? madame|madame|monsieur|ch[eè]re?s?\b[^,:\n]{0,30}"
    r"|estimad[oa]s?\b[^,:\n]{0,30}|buen[oa]s (?:d[ií]as|tardes|noches)"
    r"|exm[oa]s?\.?\b[^,:\n]{0,30}|prezad[oa]s?\b[^,:\n]{0,30}|caro\b[^,:\n]{0,30}"
    r"|gentil[ei]\b[^,:\n]{0,30}|egregi[oa]\b[^,:\n]{0,30}|spettabile\b[^,:\n]{0,30}"
    r"|geachte\b[^,:\n]{0,40}|hello|hi|hey|hallo|bonjour|bonsoir|hola|ol[áa]|oi|buongiorno"
    r"|buonasera|ciao|salve|goedemorgen|goedemiddag|goedendag|hoi)\s*[,:!\n]",
    re.I,
)
_SIGN_OFF = re.compile(
    r"(?:^|(?<=[.!?\n]))\s*+(?:(?:with\s+)?(?:kind|best|warm|many)?\s*regards|yours (?:sincerely"
    r"|faithfully|truly)|sincerely|best wishes|all the best|kind wishes"
    r"|mit (?:freundlichen|besten|herzlichen) gr(?:ü|ue|u)(?:ß|ss)en"
    r"|(?:viele|liebe|beste|herzliche|freundliche) gr(?:ü|ue|u)(?:ß|ss)e|hochachtungsvoll"
    r"|(?:bien )?cordialement|(?:sinc[eè]res )?salutations(?: distingu[ée]es)?|bien [àa] vous"
    r"|je vous prie d'agr[ée]er[^\n]{0,120}"
    r"|atentamente|(?:un )?(?:cordial )?saludo(?:s)?(?: cordiales)?|reciba un cordial saludo"
    r"|(?:com os )?(?:melhores )?cumprimentos|atenciosamente|(?:um )?abra[çc]o"
    r"|(?:cordiali|distinti) saluti|porgo distinti saluti|(?:un )?cordiale saluto"
    r"|met vriendelijke groet(?:en)?|vriendelijke groet(?:en)?|hartelijke groet(?:en)?"
    r"|groetjes|mvg|(?:thanks|thank you|many thanks|cheers|merci|danke|gracias|obrigad[oa]|grazie"
    r"|bedankt)(?=[\s,.!]*(?:\n|$))"
    r"|(?:thanking you|thank you|thanks) in advance[^\n]{0,60}|merci d'avance[^\n]{0,60}"
    r"|(?:vi )?ringrazio anticipatamente[^\n]{0,60}|danke im voraus[^\n]{0,60}"
    r"|gracias de antemano[^\n]{0,60}|agrade[çc]o desde j[áa][^\n]{0,60}"
    r"|alvast bedankt[^\n]{0,60})\b[\s,.!]*",
    re.I,
)


def without_courtesy(text: str) -> str:
    """``text`` without a leading salutation and a closing sign-off (and the signature after
    it); the text itself when cutting them would leave nothing. A plain thanks signs off only at
    the end of a line ("Thanks,\nMark"), not before more of the message ("thanks but it still
    doesn't work")."""
    greeting = _SALUTATION.match(text[:GREETING_WINDOW])
    body = text[greeting.end() :] if greeting else text
    start = max(0, len(body) - SIGN_OFF_WINDOW)
    for match in _SIGN_OFF.finditer(body, start):
        tail = body[match.end() :].strip()
        if len(tail) <= MAX_SIGNATURE_CHARS and "?" not in tail:
            body = body[: match.start()]
            break
    return body if body.strip() else text
