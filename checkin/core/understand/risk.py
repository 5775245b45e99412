"""Words that a therapist must see today: self-harm, suicide, wanting to die or not to be
here, overdose, "can't go on", plans and means, harm from others (abuse, violence), harming
others. English first, with common phrasings in German, French, Spanish, Dutch, Italian and
Portuguese.

Policy (a false alarm costs a therapist a minute; a miss can cost a life):
* Every match flags, including negated ones. "I'm not suicidal" is still flagged, with the
  reason marked "possibly negated: ...", so the therapist sees the sentence and decides.
  Negation in crisis talk is too often partial ("not suicidal, just tired of everything").
* Idioms that only borrow the words are not matched in the first place: "I was dying to try
  it", "killing it at work", "I could kill for a coffee", "dead tired". The patterns need
  the first person and a harmful object ("kill myself", "want to die"), not the bare word.
* Accidental injuries ("I cut myself cooking") are flagged: cheap to dismiss.
* Both the trimmed words and everything the client wrote above the quoted history are read
  (signatures and footers included), never the quoted history itself: our own check-in text
  says "danger or crisis", and an experiment's title may name self-harm.
"""

from __future__ import annotations

import re

MAX_REASON = 200
MAX_TEXT = 100_000

_PATTERNS = (
    # suicide, wanting to die, not wanting to be here
    r"\bsuic[ií]d\w*|\bkms\b|\bunalive\w*|\bkill(?:ing|ed)?\s+my\s*self|\bend(?:ing)?\s+(?:it\s+all|my\s+life|things"
    r"|it\s+now|my\s+own\s+life|everything)|\btake\s+my\s+(?:own\s+)?life|\bwant(?:ed)?\s+to\s+die"
    r"|\bwish(?:ed)?\s+(?:i\s+(?:was|were)\s+dead|i\s+(?:had\s+)?(?:never\s+)?(?:been\s+born|woke\s+up))"
    r"|\bbetter\s+off\s+(?:dead|without\s+me)|\bno\s+(?:reason|point)\s+(?:to|in)\s+(?:live|living"
    r"|go(?:ing)?\s+on)|\b(?:don'?t|do\s+not|didn'?t)\s+want\s+to\s+(?:live|be\s+alive|be\s+here"
    r"|exist|wake\s+up|go\s+on)|\bnot\s+worth\s+living|\bnot\s+want(?:ing)?\s+to\s+(?:live|be\s+here)"
    r"|\bcan'?t\s+(?:go\s+on|do\s+this\s+any\s*more|take\s+(?:it|this)\s+any\s*more|take\s+any\s*more"
    r"|cope\s+any\s*more|keep\s+(?:going|my\s*self\s+safe))|\bcannot\s+go\s+on|\bgive\s+up\s+on\s+life"
    r"|\bdisappear\s+for\s+good|\bgoodbye\s+forever|\bnot\s+(?:going\s+to\s+be|be|being)\s+around"
    r"\s+(?:much\s+)?(?:longer|any\s*more)|\bwish\s+i\s+(?:wasn'?t|weren'?t|was\s+not|were\s+not)"
    r"\s+(?:here|alive|around)|\bwish\s+i\s+(?:was|were|could\s+be)\s+gone"
    r"|\b(?:don'?t|do\s+not|can'?t|cannot)\s+see\s+(?:the|any)\s+point\s+(?:any\s*more|in\s+(?:living"
    r"|anything|going\s+on|life)|of\s+(?:living|life))|\bwant(?:ed)?\s+to\s+(?:disappear|vanish"
    r"|end\s+it)\b|\b(?:isn'?t|is\s+not|not)\s+worth\s+(?:living|it\s+any\s*more)"
    r"|\bwant(?:ed)?\s+(?:it\s+all|everything)\s+to\s+(?:stop|end)|\b(?:and|to)\s+never\s+wake\s+up|\bnever\s+wake\s+up\s+again"
    r"|\b(?:i'?m|i\s+am|feel\s+like|i\s+feel\s+like)\s+(?:a|such\s+a|just\s+a)\s+burden"
    r"|\bbetter\s+off\s+if\s+i\s+(?:was|were|wasn'?t|weren'?t)\s+(?:gone|dead|here|around)"
    r"|\b(?:think|thinking|thought)\s+(?:a\s+lot\s+)?about\s+(?:dying|death|killing\s+my\s*self"
    r"|ending\s+(?:it|my\s+life))",
    # self-harm and overdose
    r"\bself[-\s]?harm\w*|\b(?:hurt|harm|cut|burn|injur)(?:ing|ed|t|e)?\s+my\s*self\b|\bcutting\s+again"
    r"|\b(?:started|been|keep|kept)\s+cutting\b|\b(?:scratch|hit|punch|bit|bite|starv|burn)"
    r"(?:ing|ed|e)?\s+my\s*self|\b(?:saving|saved|hoarding|collecting|stockpiling)\s+(?:up\s+)?"
    r"(?:my\s+)?(?:pills|tablets|meds|medication)|\b(?:bought|got)\s+(?:a\s+)?(?:rope|noose|gun\b(?!\s+dog))"
    r"|\boverdos\w*|\b(?:took|take|taking|swallowed)\s+(?:all\s+(?:of\s+)?(?:my|the)"
    r"|too\s+many|a\s+lot\s+of|loads\s+of|a\s+bunch\s+of)\s+(?:\w+\s+)?(?:pills|tablets|meds"
    r"|medication|painkillers|sleeping\s+pills)|\bstockpil\w*|\bhang\s+my\s*self|\bnoose\b"
    r"|\bjump\s+(?:off|in\s+front\s+of)|\bstep\s+in\s+front\s+of|\brazor\s+blades?"
    r"|\b(?:have|made|making)\s+a\s+plan\s+to\s+(?:die|end|kill)|\b(?:i'?m|i\s+am|i\s+feel|feel|feeling)\s+(?:really\s+)?(?:not|un)\s*safe"
    r"|\bnot\s+safe\s+(?:with\s+my\s*self|around\s+my\s*self)",
    # harm from others
    r"\b(?:he|she|they|partner|husband|wife|boyfriend|girlfriend|dad|father|mum|mom|mother"
    r"|stepdad|stepfather|parents?|ex)\s+(?:\w+\s+)?(?:hit|hits|beat|beats|hurt|hurts|choked|chokes"
    r"|strangled|raped|threatened|threatens|kicked|punched|slapped|pushed)\s+me|\babus(?:e|ed|ing|ive)"
    r"|\braped?\b|\bsexual(?:ly)?\s+assault\w*|\bdomestic\s+violence|\bafraid\s+(?:to\s+go\s+home"
    r"|of\s+(?:him|her|them)|for\s+my\s+life)|\bscared\s+(?:he|she|they)(?:'?ll|\s+will)\s+(?:hurt|kill)"
    r"|\bthreatened\s+to\s+kill|\bnot\s+safe\s+at\s+home|\bfeel\s+unsafe"
    r"|\b(?:touched|groped|molested)\s+me\b|\bmolest\w*",
    # harming others
    r"\b(?:want|going|gonna|could|might)\s+(?:to\s+)?(?:kill|hurt|harm|stab|shoot|attack)\s+(?:him|her"
    r"|them|someone|somebody|people|my\s+\w+)|\bhomicid\w*",
    # German
    r"\bselbstmord|\bsuizid|\bumbringen|\bbringe?\s+mich\s+um\b|\bmich\s+(?:umbringen|töten|ritzen|verletzen)|\britze\s+mich"
    r"|\bnicht\s+mehr\s+leben|\bwill\s+sterben|\bmöchte\s+sterben|\bmir\s+(?:was|etwas)\s+antun"
    r"|\bselbstverletz\w*|\büberdosis|\bkann\s+nicht\s+mehr|\bschlägt\s+mich|\bmissbrauch\w*",
    # French
    r"\bme\s+suicider|\bme\s+tuer|\ben\s+finir|\benvie\s+de\s+mourir|\bveux\s+mourir"
    r"|\bplus\s+envie\s+de\s+vivre|\bme\s+faire\s+du\s+mal|\bscarifi\w*|\bsurdose"
    r"|\bn'en\s+peux\s+plus|\bme\s+frappe|\bviolence\s+conjugale",
    # Spanish
    r"\bsuicidarme|\bmatarme|\bquitarme\s+la\s+vida|\bno\s+quiero\s+vivir|\bquiero\s+morir\w*"
    r"|\bhacerme\s+daño|\bautolesi\w*|\bsobredosis|\bno\s+puedo\s+más|\bme\s+pega\b|\bmaltrat\w*",
    # Dutch
    r"\bzelfmoord|\bsuïcid\w*|\bdood\s+willen|\bwil\s+dood|\bniet\s+meer\s+leven"
    r"|\bmezelf\s+(?:iets\s+aandoen|pijn\s+doen|snijden|doden)|\boverdosis"
    r"|\bik\s+kan\s+niet\s+meer|\bslaat\s+me\b|\bmishandel\w*",
    # Italian
    r"\buccidermi|\btogliermi\s+la\s+vita|\bvoglio\s+morire|\bnon\s+voglio\s+più\s+vivere"
    r"|\bfarmi\s+del\s+male|\bautolesion\w*|\bnon\s+ce\s+la\s+faccio\s+più|\bmi\s+picchia",
    # Portuguese
    r"\bme\s+matar|\btirar\s+(?:a\s+)?minha\s+(?:própria\s+)?vida|\bquero\s+morrer"
    r"|\bnão\s+quero\s+(?:mais\s+)?viver|\bme\s+machucar|\bautomutila\w*|\bnão\s+aguento\s+mais"
    r"|\bme\s+bate\b",
)
_RISK = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)
_NEGATION = re.compile(
    r"\b(?:not|never|no\s+longer|don'?t|do\s+not|am\s+not|i'?m\s+not|wasn'?t|nicht|kein\w*|pas"
    r"|jamais|no\s+estoy|niet|geen|non\s+sono|não\s+estou)\b[^.!?]{0,25}$",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


def assess(*texts: str) -> tuple[str, ...]:
    """The sentences that carry risk language, once each, in order of appearance."""
    reasons: list[str] = []
    for text in texts:
        for sentence in _SENTENCE.findall(_normalise(text[:MAX_TEXT])):
            reason = _reason(sentence.strip())
            if reason and reason not in reasons:
                reasons.append(reason)
    return tuple(reasons)


def _normalise(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u2018", "'").replace("can not", "cannot")


def _reason(sentence: str) -> str | None:
    match = _RISK.search(sentence)
    if not match:
        return None
    short = sentence if len(sentence) <= MAX_REASON else sentence[: MAX_REASON - 1] + "…"
    if _NEGATION.search(sentence[: match.start()]):
        return f"possibly negated: {short}"
    return short
