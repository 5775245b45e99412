"""The risk lexicon (checkin/core/understand/risk_lexicon.yaml): every entry's own examples
must flag, through that entry and through `understand`; its near misses must flag nothing;
every phrase must fire on at least one example. Plus the rules around it: negation, quoted
history, figures of speech, the reasons shown to the therapist, pathological input."""

from __future__ import annotations

import re
import time
from email.message import EmailMessage
from importlib import resources

import pytest

from checkin.core.understand import risk, understand

ENTRIES, _ = risk.load()


def _mail(body: str, subject: str = "Re: Your check-in for Tuesday 1 December") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Alex <alex@example.net>"
    msg["To"] = "checkin+t0k3n@harbour.example"
    msg["Subject"] = subject
    msg["Date"] = "Tue, 01 Dec 2026 21:15:00 +0100"
    msg.set_content(body)
    return msg.as_bytes()


_CASES = [
    pytest.param(entry, kind, sentence, id=f"{entry.id}:{kind}:{sentence[:40]}")
    for entry in ENTRIES
    for kind, sentences in (("example", entry.examples), ("near_miss", entry.near_misses))
    for sentence in sentences
]


@pytest.mark.parametrize(("entry", "kind", "sentence"), _CASES)
def test_lexicon_entry(entry: risk.Entry, kind: str, sentence: str) -> None:
    if kind == "example":
        assert risk.findings(sentence, (entry,)), f"{entry.id} does not flag its own example"
        r = understand(_mail(sentence))
        assert r.risk, f"understand() does not flag {sentence!r}"
        assert r.risk_reasons
    else:
        found = [(f.entry, f.words) for f in risk.findings(sentence)]
        assert not found, f"near miss {sentence!r} flagged by {found}"
        assert not understand(_mail(sentence)).risk


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.id for e in ENTRIES])
def test_every_phrase_fires_on_one_of_its_examples(entry: risk.Entry) -> None:
    assert entry.examples, f"{entry.id} has no examples"
    for phrase in entry.phrases:
        pattern = re.compile(f"(?:{risk.compile_phrase(phrase)})(?= )")
        assert any(pattern.search(risk._Words(x).norm) for x in entry.examples), (
            f"{entry.id}: no example shows the phrase {phrase!r}"
        )


def test_the_lexicon_ships_inside_the_package() -> None:
    """Found through importlib.resources, so it is there when installed from a wheel."""
    files = resources.files("checkin.core.understand")
    assert files.joinpath(risk.LEXICON).is_file()
    assert len(ENTRIES) >= 30
    languages = {e.language for e in ENTRIES}
    assert {"en", "de", "fr", "es", "it", "nl", "pt"} <= languages
    categories = {e.category for e in ENTRIES}
    assert {"suicide", "self_harm", "means", "harm_from_others"} <= categories


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("entries: [{phrases: ['x']}]", "needs an `id`"),
        ("entries: [{id: a}]", "no phrases"),
        ("entries: [{id: a, phrases: ['{x|y']}]", "missing"),
        ("entries: [{id: a, phrases: ['x']}, {id: a, phrases: ['y']}]", "used twice"),
        ("nothing: here", "list called `entries`"),
    ],
)
def test_a_broken_lexicon_says_which_entry(text: str, problem: str) -> None:
    with pytest.raises(risk.LexiconError, match=re.escape(problem)):
        risk.parse(text)


def test_phrase_syntax() -> None:
    entries, _ = risk.parse(
        "entries:\n  - id: t\n    phrases: ['suicid*', '{hurt|cut} myself', '[really] want to die',"
        " 'thinking ... ending it', \"can't go on\", 'wish I [could|would] die']"
    )
    hits = lambda text: [f.words for f in risk.findings(text, entries)]  # noqa: E731
    assert hits("Suicidal again") == ["Suicidal"]
    assert hits("I CUT   myself") == ["CUT myself"]
    assert hits("I really want to die") == ["really want to die"]
    assert hits("thinking about maybe ending it") == ["thinking about maybe ending it"]
    assert hits("thinking about it all week and maybe, in the end, ending it") == []
    assert hits("I cant go on") == ["cant go on"]
    assert hits("I can’t go on") == ["can’t go on"]
    assert hits("I wish I would die") == ["wish I would die"]
    assert hits("I can't. Go on then") == []  # never across the end of a sentence


@pytest.mark.parametrize(
    "body",
    [
        "I wish I could disappear for good",
        "thinking of ending it",
        "My husband said he would kill me",
        "I'm afraid to go home",
        "I took too many of my pills",
        "Some days I think everyone would be better off without me.",
    ],
)
def test_the_issues_examples_are_flagged_with_their_words(body: str) -> None:
    r = understand(_mail(body))
    assert r.risk
    assert any(body.rstrip(".") in reason for reason in r.risk_reasons)


@pytest.mark.parametrize(
    "body",
    [
        "this job will be the death of me",
        "I nearly died of embarrassment",
        "I was dying to try it",
        "I'm killing it at work",
        "I could kill for a coffee",
    ],
)
def test_figures_of_speech_are_not_flagged(body: str) -> None:
    assert understand(_mail(body)).risk is False


def test_negation_keeps_the_flag_and_says_so() -> None:
    r = understand(_mail("I'm not suicidal, just tired. Maybe a 4"))
    assert r.risk is True
    assert r.risk_reasons == ("possibly negated: I'm not suicidal, just tired.",)


def test_only_the_clients_new_words_count() -> None:
    quoted = "> Last week: I want to die\n> Hi Alex, here is your check-in\n"
    body = (
        f"Better, 7/10\n\nOn Tue, 1 Dec 2026 at 19:00, Robin <r@harbour.example> wrote:\n{quoted}"
    )
    assert understand(_mail(body)).risk is False


def test_a_long_sentence_is_shortened_around_the_words() -> None:
    long = "I did the breathing every morning and " * 10 + "I want to die some days " + "x " * 80
    (reason,) = understand(_mail(long)).risk_reasons
    assert "I want to die" in reason
    assert len(reason) <= risk.MAX_REASON


def test_a_phrase_wrapped_over_two_lines_is_found() -> None:
    r = understand(_mail("Honestly some nights I keep thinking about\nkilling myself, 2/10"))
    assert r.risk


def test_risk_in_the_subject() -> None:
    assert understand(_mail("", subject="Re: I can't go on")).risk


@pytest.mark.parametrize(
    "text",
    ["want to " * 12_000, "I " * 50_000, "l'" * 40_000, ". " * 50_000, "\n\n" * 50_000],
    ids=["repeated-phrase", "one-letter", "elisions", "stops", "blank-lines"],
)
def test_pathological_text_is_fast(text: str) -> None:
    start = time.perf_counter()
    risk.assess(text)
    assert time.perf_counter() - start < 1.5
