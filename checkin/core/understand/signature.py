"""Signatures and mobile footers: the end of a client's words, not part of them.

* A `-- ` (or `--`) line starts a signature when at most 12 lines follow it in its block.
* A line of underscores starts one when at most 6 short, signature-like lines follow.
* Mobile footers ("Sent from my iPhone", "Von meinem iPhone gesendet", "Envoyé de mon
  iPhone", ...) go, with what follows them when that is only names, contacts and more
  footers. "Sent from my desk, which is easier" stays: the device must follow the lead words,
  or nothing may follow at all.
* Sign-offs ("Thanks, Sam") and `-` bullet lists stay: they are the client's words.
"""

from __future__ import annotations

import re

from checkin.core.understand import quotes

_SIG_DASHES = re.compile(r"^\s*--\s*$")
_UNDERSCORES = re.compile(r"^\s*_{5,}\s*$")
_URL = re.compile(r"<?https?://\S+>?|\[([^\]]{0,80})\]\([^)]{0,300}\)")
_FOOTER_LEAD = re.compile(
    r"^(?:sent\s+(?:from|via|with|using|by)|from\s+my|get\s+(?:outlook|the\s+\w+(?:\s+\w+)?\s+app)"
    r"|envoy[ée]\s+(?:de|depuis|avec|à\s+partir)|enviado\s+(?:desde|do|de|con|com)"
    r"|inviato\s+(?:da|con|dal)|(?:verzonden|verstuurd)\s+(?:met|vanaf|van|via)"
    r"|von\s+meinem|gesendet\s+(?:von|mit|vom)|(?:skickat|sendt)\s+(?:från|fra|med)"
    r"|wysłane\s+(?:z|przez|ze)|odesláno\s+z|lähetetty|отправлено\s+(?:с|из)"
    r"|diese\s+nachricht\s+wurde|this\s+(?:message|e-?mail)\s+was\s+sent\s+from)\b",
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


def is_footer(line: str) -> bool:
    """A mail program's line: "Sent from my iPhone", but not "Sent from my desk, as it happens"."""
    if len(line) > 400:
        return False
    text = _URL.sub(lambda m: m.group(1) or " ", line).strip(" \t()<>*_[]")
    if not text or len(text) > 160 or len(_WORD.findall(text)) > 14:
        return False
    if _CJK_FOOTER.search(text):
        return True
    lead = _FOOTER_LEAD.match(text)
    if not lead:
        return False
    rest = text[lead.end() :]
    after = re.split(r"[,;!]|\.\s|\.$", rest, maxsplit=1)[0].split()
    named = lead.group(0) if lead.group(0).lower().startswith("get") else ""  # "Get Outlook..."
    if _DEVICE.search(" ".join([named, *after[:4]])):
        return True
    # "Sent from my iMachine": a device we do not know, but nothing follows it.
    return (
        bool(_MY_DEVICE.match(text)) and len(rest.split()) <= 3 and not re.search(r"[,;:!?]", rest)
    )


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
    for k, i in enumerate(run):
        if (start is not None and k >= start) or is_footer(lines[i]):
            keep[i] = False


def _signature_start(texts: list[str]) -> int | None:
    after, tail_like = _tail_counts(texts)
    for k, line in enumerate(texts):
        if _SIG_DASHES.match(line) and after[k] <= 12:
            return k
        if _UNDERSCORES.match(line) and after[k] <= 6 and tail_like[k]:
            return k
        if tail_like[k] and is_footer(line):
            return k
    return None


def _tail_counts(texts: list[str]) -> tuple[list[int], list[bool]]:
    """For each line: how many non-blank lines follow, and whether all of them look like a
    signature (computed from the end, so long mails stay linear)."""
    after, tail_like = [0] * len(texts), [True] * len(texts)
    for k in range(len(texts) - 2, -1, -1):
        nxt = texts[k + 1]
        after[k] = after[k + 1] + (1 if nxt.strip() else 0)
        tail_like[k] = tail_like[k + 1] and _signature_like(nxt)
    return after, tail_like
