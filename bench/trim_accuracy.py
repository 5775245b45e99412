"""Reply trimming, measured side by side: checkin's trim and three peers on the public corpora.

    python bench/trim_accuracy.py [--corpora DIR] [--results FILE]

Peers (talon, email-reply-parser, mail-parser-reply) live in a bench environment only, never
in checkin's dependencies; a peer that is not installed is shown as "not installed":

    python3 -m venv /tmp/benchenv
    /tmp/benchenv/bin/pip install -e . -r bench/requirements.txt
    /tmp/benchenv/bin/python bench/trim_accuracy.py

Main table: the 64 emails of email_reply_trimmer (test/emails -> test/trimmed), compared
after whitespace normalisation (trailing spaces, leading and trailing blank lines):
* exact: the trimmed text equals the expected one;
* by our rule: also counts an answer that equals the expected one with its `>` lines removed,
  for the five files whose labels keep quoted lines (answers typed between quotes, a mail that
  is only a quote). checkin never puts a quoted line in `text`, on purpose; the column is
  there so that difference is visible rather than hidden;
* similarity: mean difflib ratio between the answer and the expected text;
* emails/s: the 64 emails run repeatedly for at least a second, one core.
A second table counts exact answers on the other labelled sets (talon's 12 client replies,
the 19 assertions of the reply-parser projects, Discourse's 20 exact texts); .eml files are
given to every library as the same decoded text (checkin's MIME reading).

Prints the tables, then one JSON line, and merges {"trim": {...}} into bench/results.json.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CORPORA = Path(os.environ.get("CHECKIN_CORPORA", "/work/shared/corpora"))
# email_reply_trimmer keeps the `>` lines of these; checkin's text never holds a quoted line.
KEEPS_QUOTES = frozenset(
    {"quote_and_text", "quote_only", "embedded_email_7", "embedded_email_16", "embedded_email_17"}
)
MIN_SECONDS = 1.0

Trimmer = Callable[[str], str]


@dataclass
class Library:
    key: str  # for the JSON keys: "", "talon", "email_reply_parser", "mail_parser_reply"
    name: str
    trim: Trimmer | None  # None: not installed
    problem: str = "not installed"


@dataclass
class Score:
    exact: int = 0
    by_rule: int = 0
    similarity: float = 0.0
    per_s: float = 0.0
    failed: list[str] = field(default_factory=list)


# --- the libraries ------------------------------------------------------------------------------


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"


def _checkin() -> Library:
    from checkin.core.understand.trim import trim

    return Library("", f"checkin {_version('checkin')} (trim)", lambda text: trim(text).text)


def _talon() -> Library:
    try:
        from talon import quotations  # type: ignore[import-untyped]
    except Exception as exc:  # ImportError, or a dependency that fails on this Python
        return Library("talon", "talon", None, _why(exc))
    name = f"talon {_version('talon')} (extract_from_plain)"
    return Library("talon", name, lambda text: quotations.extract_from_plain(text) or "")


def _email_reply_parser() -> Library:
    try:
        from email_reply_parser import EmailReplyParser  # type: ignore[import-untyped]
    except Exception as exc:
        return Library("email_reply_parser", "email-reply-parser", None, _why(exc))
    name = f"email-reply-parser {_version('email-reply-parser')}"
    return Library("email_reply_parser", name, lambda t: EmailReplyParser.parse_reply(t) or "")


def _mail_parser_reply() -> Library:
    try:
        from mailparser_reply import EmailReplyParser  # type: ignore[import-untyped]
        from mailparser_reply.constants import MAIL_LANGUAGES  # type: ignore[import-untyped]
    except Exception as exc:
        return Library("mail_parser_reply", "mail-parser-reply", None, _why(exc))
    parser = EmailReplyParser(languages=list(MAIL_LANGUAGES))

    def trim(text: str) -> str:
        replies = parser.read(text=text).replies
        return replies[0].body if replies else ""

    name = f"mail-parser-reply {_version('mail-parser-reply')} (.body, all languages)"
    return Library("mail_parser_reply", name, trim)


def _why(exc: Exception) -> str:
    if isinstance(exc, ImportError):
        return "not installed"
    return f"fails to load ({type(exc).__name__})"


# --- corpora ------------------------------------------------------------------------------------


def normalise(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip("\n")


def without_quotes(text: str) -> str:
    kept = [line for line in text.split("\n") if not line.lstrip().startswith(">")]
    out: list[str] = []
    for line in kept:
        if not line.strip() and out and not out[-1].strip():
            continue
        out.append(line)
    return normalise("\n".join(out))


def trimmer_corpus(corpora: Path) -> list[tuple[str, str, str]]:
    """(name, email text, expected reply) for the 64 email_reply_trimmer emails."""
    base = corpora / "email_reply_trimmer" / "test"
    cases = []
    for email in sorted((base / "emails").glob("*.txt")):
        expected = (base / "trimmed" / email.name).read_text(encoding="utf-8")
        cases.append((email.stem, email.read_text(encoding="utf-8"), normalise(expected)))
    return cases


def other_sets(corpora: Path) -> dict[str, list[tuple[str, str]]]:
    """Name -> [(email text, expected)], .eml decoded once by checkin's MIME reading."""
    from checkin.core.understand import mime

    def eml_text(path: Path) -> str:
        return mime.parse(path.read_bytes()).text

    sets: dict[str, list[tuple[str, str]]] = {}
    talon = corpora / "talon" / "tests" / "fixtures" / "standard_replies"
    if talon.is_dir():
        items = []
        for eml in sorted(talon.glob("*.eml")):
            reply = eml.with_name(f"{eml.stem}_reply_text")
            expected = reply.read_text(encoding="utf-8") if reply.exists() else "Hello"
            items.append((eml_text(eml), normalise(expected)))
        sets["talon standard replies"] = items
    upstream = corpora / "upstream_assertions.json"
    if upstream.exists():
        cases = json.loads(upstream.read_text(encoding="utf-8"))
        sets["reply-parser assertions"] = [
            ((corpora / c["email"]).read_text(encoding="utf-8"), normalise(c["expected"]))
            for c in cases
        ]
    labels_file = corpora / "discourse" / "labels.json"
    if labels_file.exists():
        labels = json.loads(labels_file.read_text(encoding="utf-8"))
        sets["discourse texts"] = [
            (eml_text(corpora / "discourse" / "emails" / f"{stem}.eml"), normalise(label["text"]))
            for stem, label in sorted(labels.items())
            if "text" in label
        ]
    return sets


# --- measuring ----------------------------------------------------------------------------------


def _safe(trim: Trimmer, text: str) -> str:
    try:
        return normalise(trim(text) or "")
    except Exception as exc:  # a peer that crashes on an email scores zero on it
        return f"<error {type(exc).__name__}>"


def score(trim: Trimmer, cases: list[tuple[str, str, str]]) -> Score:
    result = Score()
    total = 0.0
    for name, text, expected in cases:
        got = _safe(trim, text)
        total += difflib.SequenceMatcher(None, got, expected).ratio()
        if got == expected:
            result.exact += 1
            result.by_rule += 1
        elif name in KEEPS_QUOTES and got == without_quotes(expected):
            result.by_rule += 1
        else:
            result.failed.append(name)
    result.similarity = total / len(cases)
    result.per_s = speed(trim, [text for _, text, _ in cases])
    return result


def speed(trim: Trimmer, texts: list[str]) -> float:
    done, start = 0, time.perf_counter()
    while True:
        for text in texts:
            _safe(trim, text)
        done += len(texts)
        elapsed = time.perf_counter() - start
        if elapsed >= MIN_SECONDS:
            return done / elapsed


def exact_on(trim: Trimmer, items: list[tuple[str, str]]) -> int:
    return sum(_safe(trim, text) == expected for text, expected in items)


# --- output -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    corpora: Path = args.corpora
    if not (corpora / "email_reply_trimmer" / "test" / "emails").is_dir():
        print(f"no email_reply_trimmer corpus under {corpora} (use --corpora DIR)", file=sys.stderr)
        return 2
    cases = trimmer_corpus(corpora)
    libraries = [_checkin(), _talon(), _email_reply_parser(), _mail_parser_reply()]
    scores = {lib.name: score(lib.trim, cases) for lib in libraries if lib.trim}
    extra = other_sets(corpora)
    summary = _summary(libraries, scores, len(cases))
    _merge(args.results, summary)  # first, so a closed pipe on stdout cannot lose it
    print(_main_table(libraries, scores, len(cases)))
    print()
    print(_other_table(libraries, extra))
    print()
    print(json.dumps(summary, sort_keys=True))
    if args.verbose:
        for lib in libraries:
            if lib.name in scores:
                print(f"{lib.name} missed: {', '.join(scores[lib.name].failed) or '-'}")
    return 0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    parser.add_argument("--results", type=Path, default=HERE / "results.json")
    parser.add_argument("-v", "--verbose", action="store_true", help="list the files each missed")
    return parser.parse_args(argv)


def _main_table(libraries: list[Library], scores: dict[str, Score], n: int) -> str:
    head = (
        f"Reply trimming on email_reply_trimmer ({n} emails, whitespace-normalised)\n"
        f"{'library':<52} {'exact':>7} {'by our rule':>12} {'similarity':>11} {'emails/s':>10}"
    )
    rows = [head, "-" * len(head.split("\n")[1])]
    for lib in libraries:
        s = scores.get(lib.name)
        if s is None:
            rows.append(f"{lib.name:<52} {lib.problem:>7}")
            continue
        rows.append(
            f"{lib.name:<52} {s.exact:>4}/{n:<2} {s.by_rule:>9}/{n:<2} "
            f"{s.similarity:>11.3f} {s.per_s:>10,.0f}"
        )
    return "\n".join(rows)


def _other_table(libraries: list[Library], sets: dict[str, list[tuple[str, str]]]) -> str:
    names = list(sets)
    head = f"{'exact on the other labelled sets':<52} " + " ".join(
        f"{f'{k} ({len(sets[k])})':>26}" for k in names
    )
    rows = [head, "-" * len(head)]
    for lib in libraries:
        if lib.trim is None:
            rows.append(f"{lib.name:<52} {lib.problem}")
            continue
        trim = lib.trim
        cells = " ".join(f"{exact_on(trim, sets[k]):>26}" for k in names)
        rows.append(f"{lib.name:<52} {cells}")
    return "\n".join(rows)


def _summary(libraries: list[Library], scores: dict[str, Score], n: int) -> dict[str, dict]:
    trim: dict[str, object] = {"of": n}
    for lib in libraries:
        s = scores.get(lib.name)
        prefix = f"{lib.key}_" if lib.key else ""
        trim[f"{prefix}exact"] = s.exact if s else None
        trim[f"{prefix}per_s"] = round(s.per_s, 1) if s else None
        trim[f"{prefix}by_our_rule"] = s.by_rule if s else None
        trim[f"{prefix}similarity"] = round(s.similarity, 4) if s else None
    return {"trim": trim}


def _merge(path: Path, summary: dict[str, dict]) -> None:
    """Other benchmarks write their own keys to the same file: keep them."""
    try:
        current = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, ValueError):
        current = {}
    if not isinstance(current, dict):
        current = {}
    current.update(summary)
    path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
