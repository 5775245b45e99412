"""HTML mail -> plain text in which the client's quoted history is marked with `>`.

Mail clients mark what they quote, each in their own way. Rather than cut the text at the
first marker (which loses answers typed between quoted questions), quoted regions are
rendered as `>` lines, so trimming handles HTML and plain-text mail with the same rules:

* every `<blockquote>` (Apple `type=cite`, Gmail `gmail_quote`, Thunderbird, ...) and the
  attribution lines Gmail (`gmail_attr`) and Thunderbird (`moz-cite-prefix`) put above it;
* Yahoo `yahoo_quoted` and ProtonMail `protonmail_quote` containers;
* Outlook's `divRplyFwdMsg` / `appendonsend`: Outlook does not nest the original, it follows
  the header block, so everything from that marker to the end is quoted;
* signatures (`gmail_signature`, `moz-signature`, Outlook `Signature`) get a `-- ` line above,
  the conventional signature delimiter, so trimming can set them aside;
* hidden text (display:none preheaders and the like) is never the client's: it is skipped.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

MAX_HTML = 1_000_000  # characters; beyond this a mail is not a reply a person typed

_SKIP = frozenset({"script", "style", "head", "title", "template", "xml"})
_VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "wbr", "col", "area", "base"})
_BLOCK = frozenset(
    {"div", "p", "tr", "table", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre"}
    | {"blockquote", "dl", "dt", "dd", "section", "article", "header", "footer", "center"}
)
_QUOTE_MARKS = ("gmail_attr", "moz-cite-prefix", "yahoo_quoted", "protonmail_quote")
_REST_MARKS = ("divrplyfwdmsg", "appendonsend")
_SIGNATURE_MARKS = ("gmail_signature", "moz-signature", "signature")
_SPACE = re.compile(r"[ \t\r\n\f\u00a0\u200b]+")


def html_to_text(html: str) -> str:
    parser = _Renderer()
    try:
        parser.feed(html[:MAX_HTML])
        parser.close()
    except Exception:  # html.parser is lenient, but a mail must never stop the pipeline
        pass
    return parser.text()


_HIDDEN_STYLE = re.compile(
    r"display:none|visibility:hidden|mso-hide:all|max-height:0(?:px)?(?:;|$).*overflow:hidden"
    r"|overflow:hidden.*max-height:0(?:px)?(?:;|$)"
)


def _hidden(attrs: list[tuple[str, str | None]]) -> bool:
    """Text a reader never sees: newsletter preheaders, tracking blurbs (display:none,
    visibility:hidden, Outlook's mso-hide, the max-height:0 trick, the `hidden` attribute)."""
    for name, value in attrs:
        if name == "hidden":
            return True
        if name == "style" and value:
            style = "".join(value.lower().split())[:2_000]
            if _HIDDEN_STYLE.search(style.replace("!important", "")):
                return True
    return False


def _marks(attrs: list[tuple[str, str | None]]) -> str:
    """The element's id and class names, lower-cased, as one string to search."""
    return " ".join((v or "").lower() for k, v in attrs if k in ("id", "class"))


class _Renderer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.buf: list[str] = []
        self.buf_depth = 0
        self.stack: list[tuple[str, str]] = []  # (tag, effect)
        self.depth = 0  # quote depth
        self.skipping = 0
        self.pre = 0
        self.quote_rest = False
        self.list_counters: list[int] = []

    # --- structure ---------------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            self._void(tag)
            return
        if tag in ("td", "th") and self.buf:
            self.buf.append(" ")  # table cells side by side, not glued together
        effect = self._effect(tag, attrs)
        self.stack.append((tag, effect))
        self._enter(tag, effect)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            self._void(tag)
        elif any(m in _marks(attrs) for m in _REST_MARKS):
            self._newline()
            self.quote_rest = True

    def handle_endtag(self, tag: str) -> None:
        if not any(t == tag for t, _ in self.stack):
            return  # a stray end tag: ignore rather than unwind the whole stack
        while self.stack:
            open_tag, effect = self.stack.pop()
            self._leave(open_tag, effect)
            if open_tag == tag:
                break

    def _effect(self, tag: str, attrs: list[tuple[str, str | None]]) -> str:
        marks = _marks(attrs)
        if tag in _SKIP or _hidden(attrs):
            return "skip"
        if tag == "blockquote" or any(m in marks for m in _QUOTE_MARKS):
            return "quote"
        if any(m in marks for m in _REST_MARKS):
            return "rest"
        if tag in ("div", "td", "table") and any(m in marks.split() for m in _SIGNATURE_MARKS):
            return "signature"
        return ""

    def _enter(self, tag: str, effect: str) -> None:
        if tag in _BLOCK or effect:
            self._newline(blank=tag == "p")
        if effect == "skip":
            self.skipping += 1
        elif effect == "quote":
            self.depth += 1
        elif effect == "rest":
            self.quote_rest = True
        elif effect == "signature":
            self.lines.append("-- ")
        if tag == "pre":
            self.pre += 1
        elif tag == "ol":
            self.list_counters.append(0)
        elif tag == "li":
            self._bullet()

    def _leave(self, tag: str, effect: str) -> None:
        if tag in _BLOCK or effect:
            self._newline(blank=tag == "p")
        if effect == "skip":
            self.skipping -= 1
        elif effect == "quote":
            self.depth -= 1
        if tag == "pre":
            self.pre -= 1
        elif tag == "ol" and self.list_counters:
            self.list_counters.pop()

    def _void(self, tag: str) -> None:
        if tag in ("br", "hr"):
            self._newline(force=tag == "br")

    def _bullet(self) -> None:
        parent = next((t for t, _ in reversed(self.stack[:-1]) if t in ("ol", "ul")), "ul")
        if parent == "ol" and self.list_counters:
            self.list_counters[-1] += 1
            self._add(f"{self.list_counters[-1]}. ")
        else:
            self._add("- ")

    # --- text --------------------------------------------------------------------------------

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.pre:
            parts = data.split("\n")
            for i, part in enumerate(parts):
                if i:
                    self._newline(force=True)
                self._add(part)
            return
        self._add(_SPACE.sub(" ", data))

    def _add(self, text: str) -> None:
        if not text:
            return
        if not self.buf:
            text = text.lstrip(" ") if not self.pre else text
            if not text:
                return
            self.buf_depth = self.depth + (1 if self.quote_rest else 0)
        self.buf.append(text)

    def _newline(self, *, blank: bool = False, force: bool = False) -> None:
        if self.buf:
            line = "".join(self.buf).rstrip()
            self.lines.append("> " * self.buf_depth + line)
            self.buf = []
        elif force:
            depth = self.depth + (1 if self.quote_rest else 0)
            self.lines.append(">" * depth)
        if blank and self.lines and self.lines[-1] != "":
            self.lines.append("")

    def text(self) -> str:
        self._newline()
        out: list[str] = []
        for line in self.lines:
            if line == "" and out and out[-1] == "":
                continue  # block elements nest; one blank line is enough
            out.append(line)
        return "\n".join(out).strip("\n")
