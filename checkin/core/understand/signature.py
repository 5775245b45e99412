"""Signatures and mobile footers: the end of a client's words, not part of them.

* A `-- ` (or `--`) line starts a signature when at most 12 lines follow it in its block and
  none of them is the client going on: a sentence in the first person ("Also, I did it
  twice") or an answer ("7/10", "yes"). Disclaimers may say "you" and "me": they stay out.
* A line of underscores starts one when at most 6 short, signature-like lines follow.
* Mobile footers ("Sent from my iPhone", "Von meinem iPhone gesendet", "Envoyé de mon
  iPhone", ...) go, with what follows them when that is only names, contacts and more
  footers. "Sent from my desk, which is easier" stays: the device must follow the lead words,
  or nothing may follow at all.
* A contact block without a delimiter: the last lines of the client's text, short name,
  title and address lines with at least one phone number, address or web link among them.
  A sign-off above it and the name right under the sign-off stay ("Best,\nAlex").
* Sign-offs ("Thanks, Sam") and `-` bullet lists stay: they are the client's words.
"""

from __future__ import annotations

import re
from functools import lru_cache

from checkin.core.understand import quotes

_SIG_DASHES = re.compile(r"^\s*--\s*$")
_UNDERSCORES = re.compile(r"^\s*_{5,}\s*$")
_URL = re.compile(r"<?https?://\S+>?|\[([^\]]{0,80})\]\([^)]{0,300}\)")
# "Get Outlook for Android" in each language: the app's name follows the lead.
_GET_APP = (
    r"get|holen\s+sie\s+sich|obtenir|télécharger|obtener|descargar|ottieni|obter(?:\s+o)?|scarica"
    r"|download"
)
_FOOTER_LEAD = re.compile(
    rf"^(?:(?:{_GET_APP})\s+(?:outlook|the\s+\w+(?:\s+\w+)?\s+app)"
    r"|outlook\s+(?:for|für|pour|para|per|voor)\s+(?:ios|android)"
    r"|sent\s+(?:from|via|with|using|by)|from\s+my|von\s+(?=\S+\s+(?:mail|app)\b)"
    r"|envoy[ée]\s+(?:de|depuis|avec|à\s+partir)|enviado\s+(?:desde|do|de|con|com)"
    r"|inviato\s+(?:da|con|dal)|(?:verzonden|verstuurd)\s+(?:met|vanaf|van|via)"
    r"|von\s+meinem|gesendet\s+(?:von|mit|vom)|(?:skickat|sendt)\s+(?:från|fra|med)"
    r"|wysłane\s+(?:z|przez|ze)|odesláno\s+z|lähetetty|отправлено\s+(?:с|из)"
    r"|diese\s+nachricht\s+wurde|this\s+(?:message|e-?mail)\s+was\s+sent\s+from)\b",
    re.IGNORECASE,
)
_NAMED_LEAD = re.compile(rf"^(?:{_GET_APP}|outlook|von)\b", re.IGNORECASE)
# Lines that are a mail program's or a phone's whatever follows.
_WHOLE_FOOTER = re.compile(
    r"^(?:sent\s+on\s+the\s+(?:go|move|run)|typed\s+(?:with|on)\s+(?:my\s+)?(?:thumbs|a\s+phone)"
    r"|please\s+excuse\s+(?:my\s+|the\s+|any\s+)?(?:brevity|typos?|spelling|autocorrect))\b",
    re.IGNORECASE,
)
_DEVICE = re.compile(
    r"iphone|ipad|ipod|android|blackberry|galaxy|samsung|mobile|mobil|handy|cell|phone"
    r"|telefon|téléphone|teléfono|telefoon|móvil|movil|celular|portable|tablet|device|gerät"
    r"|appareil|dispositivo|apparaat|huawei|xiaomi|pixel|nokia|htc|alcatel|motorola|oneplus"
    r"|outlook|mail|airmail|yahoo|aol|proton|spark|sparrow|newton|windows|\bpc\b|\bmac\b"
    r"|ti-85|watch|surface|fastmail|thunderbird|k-9|blue\s*mail|\bios\b",
    re.IGNORECASE,
)
_MY_DEVICE = re.compile(
    r"(?:sent\s+from\s+my|von\s+meinem|envoy[ée]\s+de(?:puis)?\s+mon|enviado\s+(?:desde\s+mi|do\s+meu)"
    r"|inviato\s+dal\s+mio|(?:verzonden|verstuurd)\s+(?:met|vanaf)\s+mijn|skickat\s+från\s+min"
    r"|sendt\s+fra\s+min)\s",
    re.IGNORECASE,
)
_CJK_FOOTER = re.compile(r"(?:iphone|ipad|android|手机|手機).{0,6}(?:傳送|发送|送信|發送)", re.I)
_CONTACT = re.compile(r"https?://|www\.|@[\w-]+\.|\+?\d[\d ()./-]{6,}\d")
_WORD = re.compile(r"\w+")


@lru_cache(maxsize=4096)  # one line is asked several times: as a footer, as signature-like
def is_footer(line: str) -> bool:
    """A mail program's line: "Sent from my iPhone", but not "Sent from my desk, as it happens"."""
    if len(line) > 400:
        return False
    text = _URL.sub(lambda m: m.group(1) or " ", line).strip(" \t()<>*_[]-")
    if not text or len(text) > 160 or len(_WORD.findall(text)) > 14:
        return False
    if _CJK_FOOTER.search(text) or _WHOLE_FOOTER.match(text):
        return True
    lead = _FOOTER_LEAD.match(text)
    if not lead:
        return False
    rest = text[lead.end() :]
    after = re.split(r"[,;!]|\.\s|\.$", rest, maxsplit=1)[0].split()
    # "Get Outlook for iOS", "Von Yahoo Mail auf Android gesendet": the app is in the lead.
    named = lead.group(0) if _NAMED_LEAD.match(lead.group(0)) else ""
    if _DEVICE.search(" ".join([named, *after[:4]])):
        return True
    # "Sent from my iMachine": a device we do not know, but nothing follows it.
    return (
        bool(_MY_DEVICE.match(text)) and len(rest.split()) <= 3 and not re.search(r"[,;:!?]", rest)
    )


def forget_lines() -> None:
    is_footer.cache_clear()


def _signature_like(line: str) -> bool:
    """What may follow a footer: a name, contact details, more footers, rules."""
    stripped = line.strip()
    if len(stripped) > 200:
        return False
    if not stripped or is_footer(stripped) or quotes.is_rule(stripped):
        return True
    if _CONTACT.search(stripped):
        return True
    words = stripped.split()
    return len(words) <= 4 and not any(ch.isdigit() for ch in stripped) and stripped[-1] != "?"


def drop(lines: list[str], keep: list[bool], cut: int) -> None:
    """Mark signature lines of each run of kept text as not kept."""
    for block in _kept_runs(lines, keep, cut):
        _drop_block_signature(lines, keep, block)


def _kept_runs(lines: list[str], keep: list[bool], cut: int) -> list[list[int]]:
    """Indexes of kept lines, split where dropped (quoted) lines interrupt them."""
    runs: list[list[int]] = [[]]
    for i in range(cut):
        if keep[i]:
            runs[-1].append(i)
        elif lines[i].strip() and runs[-1]:
            runs.append([])
    return [r for r in runs if r]


def _drop_block_signature(lines: list[str], keep: list[bool], run: list[int]) -> None:
    texts = [lines[i] for i in run]
    start = _signature_start(texts)
    if start is None:
        start = _contact_block_start(texts)
    for k, i in enumerate(run):
        if (start is not None and k >= start) or is_footer(lines[i]):
            keep[i] = False


def _signature_start(texts: list[str]) -> int | None:
    after, tail_like = _tail_counts(texts)
    for k, line in enumerate(texts):
        if _SIG_DASHES.match(line) and after[k] <= 12 and not _client_speaks(texts[k + 1 :]):
            return k
        if _UNDERSCORES.match(line) and after[k] <= 6 and tail_like[k]:
            return k
        if tail_like[k] and is_footer(line):
            return k
    return None


# A signature names, titles and contacts; it does not say "I" in a sentence, nor answer.
_FIRST_PERSON = re.compile(
    r"(?<![\w'])(?:i|i'm|i've|i'd|i'll|me|my|ich|mir|mich|je|j'|moi|yo|io|ik|mij|eu)(?![\w'])",
    re.IGNORECASE,
)
_ANSWER = re.compile(
    r"\b\d{1,2}\s*(?:/|out\s+of)\s*10\b|^\s*(?:yes|no|partly|ja|nein|oui|non|sí|si|sim|não)\b",
    re.IGNORECASE,
)
_DISCLAIMER = re.compile(
    r"confidential|intended|recipient|privileged|disclaimer|unauthori[sz]ed|in\s+error"
    r"|vertraulich|confidentiel|confidencial|riservat|vertrouwelijk",
    re.IGNORECASE,
)


def _client_speaks(lines: list[str]) -> bool:
    """Below a `--` line: the client going on ("Also, I tried it twice"), not a signature."""
    for line in lines:
        text = line.strip()
        if not text or is_footer(text) or _DISCLAIMER.search(text):
            continue
        if _ANSWER.search(text):
            return True
        if len(text.split()) >= 5 and _FIRST_PERSON.search(text):
            return True
    return False


def _tail_counts(texts: list[str]) -> tuple[list[int], list[bool]]:
    """For each line: how many non-blank lines follow, and whether all of them look like a
    signature (computed from the end, so long mails stay linear)."""
    after, tail_like = [0] * len(texts), [True] * len(texts)
    for k in range(len(texts) - 2, -1, -1):
        nxt = texts[k + 1]
        after[k] = after[k + 1] + (1 if nxt.strip() else 0)
        tail_like[k] = tail_like[k + 1] and _signature_like(nxt)
    return after, tail_like


# --- contact blocks -------------------------------------------------------------------------

SIGN_OFF = re.compile(
    r"^(?:thanks?|thank\s+you|many\s+thanks|cheers|best|all\s+the\s+best|regards|kind\s+regards"
    r"|best\s+(?:regards|wishes)|warm(?:est)?\s+regards|take\s+care|bye|love|x+|sincerely"
    r"|yours(?:\s+sincerely|\s+truly)?|danke|vielen\s+dank|(?:viele|liebe|beste)\s+grüße|grüße|lg|vg"
    r"|mit\s+freundlichen\s+grüßen|gruß|merci|cordialement|bien\s+à\s+(?:vous|toi)|bises|amitiés"
    r"|gracias|saludos|un\s+saludo|atentamente|abrazos?|grazie|cordiali\s+saluti|un\s+saluto"
    r"|saluti|a\s+presto|bedankt|groet(?:en|jes)?|met\s+vriendelijke\s+groet(?:en)?|obrigad[oa]"
    r"|atenciosamente|abraços?|beijos?|cumprimentos)\b[\s,.!]*(?:\S+[\s,.!]*){0,2}$",
    re.IGNORECASE,
)
_PHONE = re.compile(r"(?:\+|(?<![\w/])0)\d[\d ()./-]{5,}\d")
_CONTACT_LABEL = re.compile(
    r"^(?:t|m|f|p|e|w|tel|tél|phone|mobile|mob|cell|fax|handy|móvil|movil|cellulare|telefoon"
    r"|telefone|telemóvel|email|e-mail|web|site|www)\.?\s*[:.]",
    re.IGNORECASE,
)
_EMAIL_OR_URL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+|https?://|\bwww\.", re.IGNORECASE)
_SENTENCE_LIKE = re.compile(r"[.!?]\s*$")


_EMAIL_OR_URL_TOKEN = re.compile(r"\S*(?:@[\w-]+\.|https?://|\bwww\.)\S*", re.IGNORECASE)


def _contact_line(line: str) -> bool:
    """A phone number, address or link with little else ("T: 07700 900123", "www.x.example"),
    unlike "Here's a link http://example.com", which is a sentence."""
    digits = sum(ch.isdigit() for ch in line)
    phone = bool(_PHONE.search(line)) and digits >= 7
    if not (phone or _EMAIL_OR_URL.search(line) or _CONTACT_LABEL.match(line.strip())):
        return False
    rest = _EMAIL_OR_URL_TOKEN.sub(" ", _PHONE.sub(" ", line))
    return len(re.findall(r"[^\W\d_]+", rest)) <= 3


def _contact_like(line: str) -> bool:
    """A name, a title, an address or a contact line; not a sentence, a question or an answer."""
    text = line.strip()
    if len(text) > 90 or len(text.split()) > 10 or text.endswith("?"):
        return False
    words = re.findall(r"[^\W\d_]{2,}", text)
    if _FIRST_PERSON.search(text) and len(words) >= 4:
        return False  # "Call me on 07700 900123 if you want to talk" is the client speaking
    if _contact_line(text):
        return True
    if _ANSWER.search(text) or _FIRST_PERSON.search(text):
        return False
    return not (_SENTENCE_LIKE.search(text) and len(text.split()) >= 3)


def _contact_block_start(texts: list[str]) -> int | None:
    """Where a trailing contact block starts, if the run ends with one."""
    end = len(texts)
    while end > 0 and not texts[end - 1].strip():
        end -= 1
    start, blanks = end, 0
    while start > 0:
        line = texts[start - 1]
        if not line.strip():
            blanks += 1
            if blanks > 1:
                break
        elif _contact_like(line):
            blanks = 0
        else:
            break
        start -= 1
    while start < end and not texts[start].strip():
        start += 1
    block = [x for x in texts[start:end] if x.strip()]
    if not any(_contact_line(x) for x in block) or (start == 0 and not _signed_off(block)):
        return None
    if len(block) < 2:  # a lone link or number is something the client shares
        return None
    return _after_sign_off(texts, start, end)


def _signed_off(block: list[str]) -> bool:
    return any(SIGN_OFF.match(x.strip()) for x in block[:3] if x.strip())


def _after_sign_off(texts: list[str], start: int, end: int) -> int | None:
    """A sign-off and the name under it are the client's words: the block starts below."""
    for k in range(start, min(end, start + 3)):
        if SIGN_OFF.match(texts[k].strip()):
            name = next((j for j in range(k + 1, end) if texts[j].strip()), None)
            start = name + 1 if name is not None else end
            break
    while start < end and not texts[start].strip():
        start += 1
    return start if start < end else None
