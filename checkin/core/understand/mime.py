"""Bytes -> the parts of a mail we read: body text, attachment names, the headers we need.

Never raises. Headers are read from their raw values (`raw_items`) and decoded here, because
the stdlib's structured header parsing still raises on some malformed addresses; bodies are
decoded by us so that a wrong or missing charset declaration costs a problem note, not text.
"""

from __future__ import annotations

import codecs
import email
import email.header
import email.utils
import functools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import Message

from checkin.core.understand.htmltext import html_to_text

MAX_RAW = 25_000_000  # bytes parsed at all; photos of a journal page fit, a flood does not
MAX_TEXT = 200_000  # characters of body text kept and processed
_MAX_DEPTH = 20  # MIME nesting read at all

# Headers a mail must show before we call it one (a file of random bytes shows none).
_MAIL_HEADERS = frozenset(
    {"from", "to", "subject", "date", "message-id", "received", "mime-version", "content-type"}
    | {"return-path", "delivered-to", "in-reply-to", "references"}
)
_ADDRESS_HEADERS = ("to", "cc", "delivered-to", "x-original-to", "x-gm-original-to")
_MSGID = re.compile(r"<[^<>\s]{1,500}>")
_SURROGATE = re.compile("[\udc80-\udcff]")  # raw 8-bit bytes the parser kept as surrogates


class _Reading(policy.Compat32):
    """The modern policy's reading of the headers that decide a mail's structure and how its
    parts decode; every other header stays a raw string, as compat32 leaves it.

    We read headers from `raw_items` and decode them ourselves, so modern header objects
    for all of them would only cost time: the parser fetches Content-Type again and again,
    and parsing it each time was half the cost of reading a typical reply. Each distinct
    value is now parsed once, and a malformed one (a stray quote after a boundary) is still
    read the way the modern policy reads it.
    """

    def header_fetch_parse(self, name: str, value: str) -> object:
        if name.lower() not in _STRUCTURAL:
            return super().header_fetch_parse(name, value)
        if len(value) > _CACHED_VALUE:
            return policy.default.header_fetch_parse(name, value)
        return _modern_header(name, value)


_STRUCTURAL = frozenset({"content-type", "content-disposition", "content-transfer-encoding"})
_CACHED_VALUE = 2_000  # longer values are parsed every time rather than kept


# A message fetches its few values many times; a small cache holds them (each entry keeps
# its parse tree, so a large one would grow the process for nothing).
@functools.lru_cache(maxsize=64)
def _modern_header(name: str, value: str) -> object:
    return policy.default.header_fetch_parse(name, value)


_READING = _Reading()


@dataclass(frozen=True)
class Parsed:
    text: str  # the body as text: text/plain, else HTML rendered with quotes marked `>`
    headers: dict[str, str]  # lower-cased name -> decoded value (first occurrence)
    all_headers: dict[str, tuple[str, ...]]  # lower-cased name -> every decoded value
    attachments: tuple[str, ...]
    problems: tuple[str, ...]
    message: Message | None = field(default=None, compare=False)
    is_mail: bool = True


def parse(raw: bytes) -> Parsed:
    problems: list[str] = []
    if len(raw) > MAX_RAW:
        raw = raw[:MAX_RAW]
        problems.append(f"message longer than {MAX_RAW} bytes: only the start was read")
    try:
        msg = email.message_from_bytes(raw, policy=_READING)
    except Exception:
        return Parsed("", {}, {}, (), ("not a mail message: the parser gave up",), None, False)
    all_headers = _read_headers(msg)
    headers = {k: v[0] for k, v in all_headers.items()}
    is_mail = any(h in headers for h in _MAIL_HEADERS)
    texts, attachments = _collect(msg, problems)
    text = _join(texts, problems)
    return Parsed(text, headers, all_headers, tuple(attachments), tuple(problems), msg, is_mail)


# --- headers ----------------------------------------------------------------------------------


def _read_headers(msg: Message) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    try:
        items = list(msg.raw_items())
    except Exception:
        items = []
    for name, value in items[:500]:
        found.setdefault(str(name).strip().lower(), []).append(decode_header(str(value)))
    return {k: tuple(v) for k, v in found.items()}


def decode_header(value: str) -> str:
    """RFC 2047 words and raw 8-bit bytes (which the parser keeps as surrogates) -> text."""
    value = _unsurrogate(value)
    try:
        parts = email.header.decode_header(value)
        text = "".join(
            p.decode(_codec(c) or "utf-8", "replace") if isinstance(p, bytes) else p
            for p, c in parts
        )
    except Exception:
        text = value
    return " ".join(text.split())


def _unsurrogate(value: str) -> str:
    if value.isascii() or not _SURROGATE.search(value):  # in C, not a loop per character
        return value
    data = value.encode("utf-8", "surrogateescape")
    return decode_bytes(data, None)[0]


@functools.lru_cache(maxsize=1024)  # a client's From line comes back with every reply
def addresses(values: tuple[str, ...]) -> tuple[str, ...]:
    """Lower-cased bare addresses, in order, once each."""
    out: list[str] = []
    try:
        pairs = email.utils.getaddresses(list(values))
    except Exception:
        pairs = []
    for _, addr in pairs:
        addr = addr.strip().strip("<>").lower()
        if "@" in addr and addr not in out:
            out.append(addr)
    return tuple(out)


def message_ids(value: str | None) -> tuple[str, ...]:
    return tuple(_MSGID.findall(value or ""))


def first_message_id(value: str | None) -> str | None:
    ids = message_ids(value)
    if ids:
        return ids[0]
    bare = (value or "").strip()
    return f"<{bare}>" if bare and " " not in bare and len(bare) < 500 else None


def parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except Exception:
        return None
    if when is None:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def recipients(all_headers: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    values = tuple(v for name in _ADDRESS_HEADERS for v in all_headers.get(name, ()))
    return addresses(values)


# --- body -------------------------------------------------------------------------------------


def _collect(msg: Message, problems: list[str]) -> tuple[list[tuple[str, bool]], list[str]]:
    texts: list[tuple[str, bool]] = []
    attachments: list[str] = []
    _walk(msg, texts, attachments, problems, depth=0)
    if not texts:
        problems.append("no text part")
    return texts, attachments


def _walk(
    part: Message,
    texts: list[tuple[str, bool]],
    attachments: list[str],
    problems: list[str],
    depth: int,
) -> None:
    """Body texts in order (text, is_html); everything else becomes an attachment name."""
    if depth > _MAX_DEPTH:
        problems.append("MIME structure nested too deep")
        return
    ctype = _content_type(part)
    if ctype == "multipart/alternative":
        _alternative(part, texts, attachments, problems, depth)
    elif ctype.startswith("multipart/"):
        children = _children(part)
        if ctype == "multipart/report":
            children = children[:1]  # the human-readable notice; the rest is for machines
        for child in children:
            _walk(child, texts, attachments, problems, depth + 1)
    elif _is_attachment(part, ctype):
        attachments.append(_filename(part) or ctype)
    else:
        text = body_text(part, problems)
        if text.strip():
            texts.append((text, ctype == "text/html"))


def _alternative(
    part: Message,
    texts: list[tuple[str, bool]],
    attachments: list[str],
    problems: list[str],
    depth: int,
) -> None:
    """Prefer plain text; use HTML only when no plain version says anything.

    An HTML leaf is decoded where it stands (its charset problems are noted in order) but
    rendered only if no plain version is chosen: rendering is the costly step, and most
    mail programs send both.
    """
    options: list[list[tuple[str, bool]] | str] = []  # str: an HTML leaf, not yet rendered
    for child in _children(part):
        if depth + 1 <= _MAX_DEPTH and _is_html_leaf(child):
            options.append(_decoded(child, problems)[0])
            continue
        found: list[tuple[str, bool]] = []
        _walk(child, found, attachments, problems, depth + 1)
        if found:
            options.append(found)
    plain = [o for o in options if isinstance(o, list) and not any(html for _, html in o)]
    if plain:
        texts.extend(plain[0])
        return
    rendered = [_rendered(o) if isinstance(o, str) else o for o in options]
    rendered = [o for o in rendered if o]
    texts.extend(rendered[-1] if rendered else [])


def _is_html_leaf(part: Message) -> bool:
    return _content_type(part) == "text/html" and not _is_attachment(part, "text/html")


def _rendered(html: str) -> list[tuple[str, bool]]:
    text = html_to_text(html)
    return [(text, True)] if text.strip() else []


def _children(part: Message) -> list[Message]:
    try:
        payload = part.get_payload()
    except Exception:
        return []
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:
        return "text/plain"


def _is_attachment(part: Message, ctype: str) -> bool:
    if ctype not in ("text/plain", "text/html"):
        return True
    try:
        disposition = (part.get_content_disposition() or "").lower()
    except Exception:
        disposition = ""
    return disposition == "attachment"


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    return decode_header(str(name)) if name else None


def body_text(part: Message, problems: list[str]) -> str:
    """The decoded text of one leaf part (HTML rendered), never raising."""
    text, is_html = _decoded(part, problems)
    if is_html:
        return html_to_text(text)
    return unflow(text, _param(part, "format"), _param(part, "delsp"))


def _decoded(part: Message, problems: list[str]) -> tuple[str, bool]:
    """A leaf part's text, decoded but not rendered, and whether it is HTML."""
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if not isinstance(data, bytes):
        data = _raw_payload(part)
    try:
        declared = part.get_content_charset()
    except Exception:
        declared = None
    is_html = _content_type(part) == "text/html"
    if declared and declared.strip().strip('"').lower() in _UNKNOWN_CHARSETS:
        declared = None
    if not declared and is_html:
        declared = _meta_charset(data)
    text, problem = decode_bytes(data, declared)
    if problem:
        problems.append(problem)
    return text, is_html


_META_CHARSET = re.compile(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?\s*([\w.:-]{1,40})", re.I)


def _meta_charset(data: bytes) -> str | None:
    """An HTML part whose MIME header names no charset may name it in a <meta> tag."""
    match = _META_CHARSET.search(data[:4_000])
    return match.group(1).decode("ascii", "replace") if match else None


def _param(part: Message, name: str) -> str:
    try:
        return str(part.get_param(name, "") or "").lower()
    except Exception:
        return ""


def unflow(text: str, fmt: str, delsp: str) -> str:
    """RFC 3676 format=flowed (Thunderbird, K-9, Apple): a line ending in a space goes on in
    the next line of the same quote depth. Joined back, so a client's sentence is one line."""
    if fmt != "flowed":
        return text
    out: list[str] = []
    carry: tuple[int, str] | None = None  # (quote depth, text so far) of a flowed line
    for raw in text.replace("\r\n", "\n").split("\n"):
        depth = len(raw) - len(raw.lstrip(">"))
        body = raw[depth:]
        if body.startswith(" "):
            body = body[1:]  # space-stuffing (or the space after ">")
        if carry is not None and carry[0] != depth:
            out.append(_quoted(*carry))
            carry = None
        joined = (carry[1] if carry else "") + body
        if body.endswith(" ") and body != "-- ":
            carry = (depth, joined[:-1] if delsp == "yes" else joined)
        else:
            out.append(_quoted(depth, joined))
            carry = None
    if carry is not None:
        out.append(_quoted(*carry))
    return "\n".join(out)


def _quoted(depth: int, text: str) -> str:
    return ("> " * depth if depth else "") + text if text or not depth else ">" * depth


def _raw_payload(part: Message) -> bytes:
    try:
        payload = part.get_payload()
        return payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
    except Exception:
        return b""


def decode_bytes(data: bytes, declared: str | None) -> tuple[str, str | None]:
    """Declared charset, then UTF-8, then cp1252, then latin-1 (which always succeeds).

    Valid UTF-8 with non-ASCII bytes wins over a declared legacy charset: mail that says
    latin-1 or Big5 but is really UTF-8 is common, the reverse almost never decodes cleanly.
    """
    codec = _codec(declared) if declared else None
    declared = declared[:40] if declared else declared
    problem = f"charset unknown: {declared}" if declared and not codec else None
    utf8 = _try(data, "utf-8")
    if codec and not codec.startswith("utf-") and not data.isascii() and utf8 is not None:
        return utf8, f"declared {declared} but the text is UTF-8" if codec != "ascii" else None
    for name in (codec, "utf-8", "cp1252"):
        text = _try(data, name) if name else None
        if text is not None:
            if codec and name != codec:
                problem = problem or f"text is not valid {declared}: read as {name}"
            return text, problem
    return data.decode("latin-1"), problem or "charset guessed: latin-1"


# Names mail programs write that Python does not know, or knows too narrowly (gb2312 mail
# is routinely GBK, which gb18030 contains).
_CHARSET_ALIASES = {
    "windows-874": "cp874",
    "x-mac-roman": "mac-roman",
    "unicode-1-1-utf-8": "utf-8",
    "iso-8859-8-i": "iso8859-8",
    "x-sjis": "shift_jis",
    "cp-850": "cp850",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
}
# Declarations that say "we do not know": read as undeclared, no problem to report.
_UNKNOWN_CHARSETS = frozenset({"unknown-8bit", "x-unknown", "unknown", "x-user-defined", "8bit"})


def _codec(name: str | None) -> str | None:
    key = (name or "").strip().strip('"').lower()
    try:
        return codecs.lookup(_CHARSET_ALIASES.get(key, key)).name if key else None
    except (LookupError, ValueError):
        return None


def _try(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _join(texts: list[tuple[str, bool]], problems: list[str]) -> str:
    text = "\n\n".join(t for t, _ in texts)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    if len(text) > MAX_TEXT:
        problems.append(f"text longer than {MAX_TEXT} characters: only the start was read")
        text = text[:MAX_TEXT]
    return text
