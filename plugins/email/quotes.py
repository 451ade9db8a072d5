"""Cut quoted history and signatures off the text of an inbound email.

A line-by-line scan, linear in the size of the mail: every pattern is anchored and bounded and
only ever sees one line (or two, for a header a mail client wrapped), so a hostile mail cannot
make it slow. It knows the reply headers of English, German, French, Spanish, Italian, Dutch and
Portuguese mail clients (Gmail, Apple Mail, Outlook, Thunderbird), ``>`` quoting, the
``-- `` signature delimiter, "Sent from my iPhone"-style lines, closing formulas followed by
a short signature block, and a greeting line before the text ("Hi team,", "Grüezi").
"""

from __future__ import annotations

import re

MAX_LINE = 400
"""Longer lines are never taken for a header."""

_WROTE_START = re.compile(r"^(?:On|Am|Le|El|Il|Op|Em|Den)\s", re.IGNORECASE)
_WROTE_END = re.compile(
    r"\b(?:wrote|schrieb|a\s+écrit|escribió|ha\s+scritto|schreef|escreveu|skrev)"
    r"(?:\s[^:\n]{0,120})?\s?:\s*$",
    re.IGNORECASE,
)
_HEADER_FIELD = re.compile(
    r"^\*?\s?(?P<key>From|Von|De|Da|Van|Sent|Gesendet|Envoyé|Enviado|Inviato|Verzonden|Date|Datum"
    r"|Fecha|Data|To|An|À|A|Para|Aan|Subject|Betreff|Objet|Asunto|Oggetto|Onderwerp|Assunto"
    r"|Cc)\s?\*?\s?:\s*\S",
    re.IGNORECASE,
)
_FROM_KEYS = frozenset({"from", "von", "de", "da", "van"})
_SEPARATOR = re.compile(
    r"^(?:-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original"
    r"|Messaggio originale|Oorspronkelijk bericht|Mensagem original)\s*-{2,}|_{10,}|-{20,})\s*$",
    re.IGNORECASE,
)
_SIGNATURE_DELIMITER = re.compile(r"^--\s?$")
_SENT_FROM = re.compile(
    r"^(?:Sent from my|Sent from Outlook|Sent from Mail for|Get Outlook for|Von meinem|Gesendet von"
    r"|Envoyé de mon|Envoyé depuis|Enviado desde mi|Inviato da|Verzonden vanaf|Verstuurd vanaf"
    r"|Enviado do meu)\b.{0,80}$",
    re.IGNORECASE,
)
_CLOSING = re.compile(
    r"^(?:(?:best|kind|warm|many)?\s?regards|best(?: wishes)?|all the best|cheers|thx|ty"
    r"|thanks(?: a lot| again| in advance)?|thank you(?: very much| in advance)?|many thanks"
    r"|sincerely|yours(?: sincerely| truly)?"
    r"|(?:mit )?freundlichen? grü(?:ß|ss)en?|(?:viele|beste|liebe|freundliche) grü(?:ß|ss)e"
    r"|lg|vg|mfg|danke(?: schön| im voraus)?|vielen dank(?: im voraus)?"
    r"|(?:bien )?cordialement|bien (?:à|a) (?:vous|toi)|merci(?: beaucoup| d'avance)?"
    r"(?: et bonne (?:journée|soirée|fin de journée))?|bonne (?:journée|soirée)|salutations"
    r"|(?:un )?(?:cordial )?saludos?(?: cordiales)?|atentamente|(?:muchas )?gracias"
    r"(?: de antemano| por adelantado)?|abrazos?|un abrazo"
    r"|cordiali saluti|distinti saluti|(?:un )?salut[io]|grazie(?: mille| in anticipo)?"
    r"|met vriendelijke groet(?:en)?|vriendelijke groet(?:en)?|groet(?:en|jes)?|mvg"
    r"|(?:alvast )?bedankt|dank u wel|dank je wel"
    r"|atenciosamente|(?:melhores )?cumprimentos|(?:um )?abraço|abraços|obrigad[oa]"
    r"|desde já obrigad[oa])\s?[,.!]?$",
    re.IGNORECASE,
)
_GREETING = re.compile(
    r"^(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|hola|buenas(?: tardes| noches)?"
    r"|buenos días|estimad[oa]s?|bonjour|bonsoir|salut|madame|monsieur|hallo|hoi|guten"
    r" (?:tag|morgen|abend)|grüezi|grüß gott|servus|moin|sehr geehrte[rs]?|liebe[rs]?|olá|ola|oi"
    r"|bom dia|boa tarde|boa noite|prezad[oa]s?|car[oa]|gentile|salve|ciao|buongiorno|buonasera"
    r"|beste|goedemorgen|goedemiddag|goedenavond|dag)\b[^.?!\n]{0,40}[,:!]?$",
    re.IGNORECASE,
)
SIGNATURE_LINES = 6
"""At most this many short lines after a closing formula are taken for a signature."""


def strip_reply(text: str) -> str:
    """The new part of an email: greeting line, quoted history, signature and mobile footers
    removed."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = lines[: _quote_start(lines)]
    lines = lines[: _signature_start(lines)]
    lines = lines[_body_start(lines) :]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in lines)).strip()


def _body_start(lines: list[str]) -> int:
    """After a greeting line ("Hi team,", "Bonjour,", "Grüezi") when more text follows it."""
    content = [i for i, line in enumerate(lines) if line.strip()]
    if len(content) > 1 and _GREETING.match(lines[content[0]].strip()):
        return content[0] + 1
    return 0


def _quote_start(lines: list[str]) -> int:
    """The index of the first line of quoted history (``len(lines)`` when there is none)."""
    for index, raw in enumerate(lines):
        line = raw.strip()
        if len(line) > MAX_LINE:
            continue
        if line.startswith(">") or _SEPARATOR.match(line) or _is_wrote_header(lines, index):
            return _back_over_blank(lines, index)
        if _is_header_block(lines, index):
            return index
    return len(lines)


def _is_wrote_header(lines: list[str], index: int) -> bool:
    """ "On <date>, <name> wrote:" in any known language, on one line or wrapped onto two."""
    line = lines[index].strip()
    if not _WROTE_START.match(line):
        return False
    if _WROTE_END.search(line):
        return True
    if index + 1 < len(lines):
        joined = f"{line} {lines[index + 1].strip()}"
        return len(joined) <= MAX_LINE and bool(_WROTE_END.search(joined))
    return False


def _is_header_block(lines: list[str], index: int) -> bool:
    """An Outlook-style block: a ``From:`` line with another header field in the next lines."""
    first = _HEADER_FIELD.match(lines[index].strip())
    if not first or first.group("key").lower() not in _FROM_KEYS:
        return False
    following = (line.strip() for line in lines[index + 1 : index + 4])
    return any(len(line) <= MAX_LINE and _HEADER_FIELD.match(line) for line in following)


def _back_over_blank(lines: list[str], index: int) -> int:
    while index > 0 and not lines[index - 1].strip():
        index -= 1
    return index


def _signature_start(lines: list[str]) -> int:
    """Where the signature begins: ``-- ``, a mobile footer, or a closing formula near the end."""
    for index, raw in enumerate(lines):
        if _SIGNATURE_DELIMITER.match(raw):
            return index
    content = [i for i, line in enumerate(lines) if line.strip()]
    tail = content[-(SIGNATURE_LINES + 1) :]
    for position, index in enumerate(tail):
        line = lines[index].strip()
        if _SENT_FROM.match(line):
            return index
        after = tail[position + 1 :]
        if _CLOSING.match(line) and all(len(lines[i].strip()) <= 60 for i in after):
            return index if position > 0 or len(content) > len(tail) else len(lines)
    return len(lines)
