"""The cheap tests in front of reply-header regexes never change what the regexes decide.

Trimming runs on every line of every reply, so `quotes` looks for a literal piece of each
"wrote" before running the "wrote" regexes. These tests hold the fast path to the plain regex
on every line we have: the labelled replies, the public corpora, and generated lines.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from checkin.core.understand import mime, quotes, template

HERE = Path(__file__).resolve().parent
CORPORA = Path("/work/shared/corpora")


def _plain_could_end_header(line: str) -> bool:
    stripped = line.strip()
    if not stripped or len(stripped) > quotes.MAX_LINE:
        return False
    if quotes.is_quote(line):
        tail = stripped.lstrip("> ")
        return len(stripped) <= 20 and (tail in (":", "：") or bool(quotes._WROTE_END.search(tail)))
    return bool(quotes._END_HINT.search(stripped))


def _plain_wrote(text: str) -> bool:
    return bool(quotes._WROTE_ANYWHERE.search(text))


def _lines() -> list[str]:
    texts = [mime.parse(p.read_bytes()).text for p in sorted((HERE / "replies").glob("*.eml"))]
    if CORPORA.is_dir():
        for path in sorted(CORPORA.rglob("*")):
            if (
                path.is_file()
                and path.suffix in ("", ".txt", ".eml")
                and path.stat().st_size < 10**6
            ):
                texts.append(path.read_text(encoding="utf-8", errors="replace"))
    return [line for text in texts for line in text.splitlines() if line.strip()]


LINES = _lines()


def test_there_are_enough_real_lines_to_mean_something() -> None:
    assert len(LINES) > 2000
    assert sum(_plain_wrote(line) for line in LINES) > 50


def test_every_real_line_gets_the_plain_regexes_answer() -> None:
    for line in LINES:
        assert quotes._could_end_header(line) == _plain_could_end_header(line), line
        assert quotes._may_say_wrote(line) == _plain_wrote(line), line


def test_each_wrote_has_its_stem() -> None:
    # Every alternative of the regex, written out as a client's mail would (upper case too).
    written = ["wrote", "WRITES", "schrieb", "hat geschrieben", "a écrit", "A ECRIT", "escribió",
               "escribio", "escreveu", "ha scritto", "scrisse", "schreef", "geschreven", "skrev",
               "pisze", "napisał", "napisała", "NAPISAL", "napsal", "kirjoitti", "написал",
               "написала", "написав", "пише", "писал", "έγραψε", "yazdı", "yazdi", "írta",
               "a scris", "je napisao", "rašė", "rakstīja", "kirjutas", "写道", "寫道", "작성",
               "כתב", "كتب"]  # fmt: skip
    for word in written:
        line = f"On Tue, Robin <r@x.example> {word}:"
        assert _plain_wrote(line), word
        assert quotes._may_say_wrote(line), word


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["wrote", "Wrote", "schrieb", "a écrit", "GMT+1", "GMT", ":", ">", "2026",
                         "<r@x.example>", "On", "Le", " ", "napisała", "写道", "x", "19:00"]),
        max_size=8,
    )
)  # fmt: skip
def test_generated_lines_get_the_plain_regexes_answer(parts: list[str]) -> None:
    line = " ".join(parts)
    assert quotes._could_end_header(line) == _plain_could_end_header(line)


def test_one_pattern_for_the_four_questions_finds_what_four_did() -> None:
    import re

    patterns = [
        (n, re.compile(template._NUMBERING + r"\s+".join(map(re.escape, q.split())), re.I))
        for n, q in template.QUESTIONS
    ]

    def four(line: str) -> tuple[int, str] | None:
        for n, pattern in patterns:
            match = pattern.match(line)
            if match:
                rest = line[match.end() :]
                return n, (template._Q1_HINT.sub("", rest) if n == 1 else rest).strip()
        return None

    asked = [line for line in LINES if four(line)]
    assert len({four(line)[0] for line in asked}) == 4  # type: ignore[index]
    for line in LINES:
        assert template.question(line) == four(line), line


def _raw_messages() -> list[bytes]:
    paths = sorted((HERE / "replies").glob("*.eml"))
    if CORPORA.is_dir():
        paths += sorted(CORPORA.rglob("*.eml"))
    raws = [p.read_bytes() for p in paths]
    # And the edges: no body, no blank line, a blank first line, bare CR LF endings.
    raws += [b"From: a@b.example\r\nSubject: x", b"\nFrom: a@b.example\n\nbody",
             b"From: a@b.example\r\nSubject: x\r\n\r\nbody\r\n\r\nmore", b""]  # fmt: skip
    return raws


def test_the_header_block_alone_gives_the_headers_the_whole_message_gives() -> None:
    from email.parser import BytesHeaderParser

    from checkin.store.inbox import header_block

    raws = _raw_messages()
    assert len(raws) > 200
    for raw in raws:
        whole = BytesHeaderParser().parsebytes(raw)
        block = BytesHeaderParser().parsebytes(header_block(raw))
        assert whole.items() == block.items()
        assert len(header_block(raw)) <= len(raw)
