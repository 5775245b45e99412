"""Properties of `understand`, checked on generated input (bounded: a few hundred examples).

1. Any bytes in, a Reply out: never an exception, whatever the bytes, headers or MIME.
2. The result's `text` never contains a line that was `>`-quoted in the input: every quoted
   line carries a marker (§) that no unquoted line has, and the marker must not come out.
   Lines are what mail calls lines: split at CRLF, CR or LF.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkin.core.understand import Reply, understand

_FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MARK = "§"

_HEADERS = (
    b"From: Alex <alex@example.net>\r\nTo: checkin+t0k3n@harbour.example\r\n"
    b"Subject: Re: Your check-in for Tuesday 1 December\r\nDate: Tue, 1 Dec 2026 21:15:00 +0100\r\n"
    b"MIME-Version: 1.0\r\n"
)


@_FAST
@given(st.binary(max_size=4_000))
def test_any_bytes_never_raise(raw: bytes) -> None:
    assert isinstance(understand(raw), Reply)


_CTYPES = st.sampled_from(
    [
        b"text/plain; charset=utf-8",
        b"text/plain; charset=iso-8859-1; format=flowed; delsp=yes",
        b"text/plain; charset=x-nonsense",
        b"text/html",
        b'multipart/alternative; boundary="b"',
        b'multipart/report; report-type=delivery-status; boundary="b"',
        b"message/rfc822",
    ]
)
_CTES = st.sampled_from([b"7bit", b"8bit", b"quoted-printable", b"base64", b"x-uuencode"])


@_FAST
@given(_CTYPES, _CTES, st.binary(max_size=3_000), st.binary(max_size=200))
def test_mail_shaped_bytes_never_raise(ctype: bytes, cte: bytes, body: bytes, extra: bytes) -> None:
    raw = (
        _HEADERS
        + b"Content-Type: "
        + ctype
        + b"\r\nContent-Transfer-Encoding: "
        + cte
        + b"\r\nX-Extra: "
        + extra.replace(b"\r", b"").replace(b"\n", b"")
        + b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
        + body
        + b"\r\n--b--\r\n"
    )
    assert isinstance(understand(raw), Reply)


# --- quoted lines never come out ---------------------------------------------------------------

_WORDS = st.text(
    alphabet=st.characters(blacklist_characters=f"{MARK}\r\n", blacklist_categories=("Cs",)),
    max_size=60,
)
_CLIENT = _WORDS.filter(lambda s: not s.lstrip().startswith(">"))
_OURS = st.sampled_from(
    [
        "1) Did you try it? (yes, no, or partly)",
        "2) How did it go, from 0 to 10?",
        "3) What did you notice?",
        "4) What might you do a little differently next time?",
        "Here is your check-in about the small experiment you agreed with Robin:",
        "This mailbox is not watched around the clock.",
        "To take a break from these emails, reply PAUSE",
        "Hi Alex,",
    ]
)
_FIXED = st.sampled_from(
    [
        "",
        "On Tue, 1 Dec 2026 at 19:00, Robin <r@harbour.example> wrote:",
        "Am 01.12.2026 um 19:00 schrieb Robin:",
        "-----Original Message-----",
        "From: Robin <r@harbour.example>",
        "Sent: Tuesday, December 1, 2026 7:00 PM",
        "Subject: Your check-in",
        "-- ",
        "Sent from my iPhone",
        "Thanks,",
        "yes",
        "7",
        "STOP",
    ]
)


@st.composite
def _quoted(draw: st.DrawFn) -> str:
    depth = draw(st.sampled_from(["> ", ">", ">> ", "> > ", "   > ", "\t>"]))
    inner = draw(st.one_of(_WORDS, _OURS, _FIXED))
    return f"{depth}{MARK}{inner}"


_LINE = st.one_of(_CLIENT, _OURS, _FIXED, _quoted(), _quoted())


@_FAST
@given(st.lists(_LINE, max_size=40), st.sampled_from(["\n", "\r\n", "\r"]))
def test_text_never_holds_a_quoted_line(lines: list[str], newline: str) -> None:
    body = newline.join(lines).encode("utf-8")
    raw = _HEADERS + b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + body
    r = understand(raw)
    assert r.kind in ("answer", "command")
    assert MARK not in r.text, (lines, r.text)


@_FAST
@given(st.lists(st.one_of(_CLIENT, _OURS, _quoted()), max_size=25))
def test_html_blockquotes_never_come_out_either(parts: list[str]) -> None:
    html = "".join(_html_part(p) for p in parts)
    raw = _HEADERS + b"Content-Type: text/html; charset=utf-8\r\n\r\n" + html.encode("utf-8")
    assert MARK not in understand(raw).text


def _html_part(part: str) -> str:
    text = part.replace("&", "&amp;").replace("<", "&lt;")
    if part.lstrip(" \t").startswith(">"):
        return "<blockquote type=cite><div>" + text.lstrip(" >\t") + "</div></blockquote>"
    return "<div>" + text + "</div>"
