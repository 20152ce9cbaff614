"""An instruction for a record that came without a prompt, derived from its own text.

A body-only email, a sticky note with no title, a chat opener with no topic:
with nothing specific to answer, every such example would share one prompt
("Write an email to a contact"), and a twin trained on them learns to give
one memorised reply to everything. Panza solved this by having a model
summarise each email into the instruction that would have produced it. Here
the summary is extractive, which is instant on a CPU and needs no model:

- who it is to, from the greeting ("Hi Dana," → "to Dana");
- its key phrases: runs of content words (split at stop words and
  punctuation, RAKE-style), ranked by how distinctive their words are in
  this person's writing (tf-idf over all their texts), so "the change
  orders" outranks "the meeting";
- a length hint (short / long), so the twin learns how much they write.

An email that came with only a header (recipients and a subject, no email it
answers) gets the same instruction with the header's names and subject in it:
"Write an email to X about: Returning Your Call" alone left the twin to guess
the content, and it learned to write the same polite nothing every time.

The instruction must not hand over the answer: the phrases are short and
listed by rank, not in the text's order, and ``verbatim_run`` caps the longest
run of words shared with the target (``MAX_VERBATIM_WORDS``).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

MAX_PHRASES = 4
MAX_PHRASE_WORDS = 3
MAX_VERBATIM_WORDS = 3

# Common English function words: they split phrases and never become one.
STOP_WORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each either else ever few for from further get
    got had has have having he her here hers herself him himself his how i if in into is it its itself just
    let like me might more most much must my myself no nor not now of off on once only or other our ours
    ourselves out over own please re same shall she should since so some such than thank thanks that the their
    theirs them themselves then there these they this those though through to too under until up upon us very
    was we well were what when where which while who whom why will with would yet you your yours yourself
    yourselves hi hello hey dear regards best cheers fyi ok okay yes sure just also still even really maybe
    let's i'm i'll i've i'd we're we'll we've you're you'll don't doesn't didn't can't won't isn't aren't
    wasn't it's that's there's here's what's one two new see know think want need going go make take""".split()
)
# A full stop always ends a word: mail that lost its spaces ("Friday.Thanks") still splits there.
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9'&-]*[A-Za-z0-9]|[A-Za-z]|[^\sA-Za-z]")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'&-]*")
_GREETING = re.compile(
    r"^\s*(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|morning)\b[\s,]*"
    r"((?:mr\.?|ms\.?|mrs\.?|dr\.?)?\s*[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)?)",
    re.IGNORECASE,
)
# "Dana -" alone on the first line, or "Fred," / "Mitch/John," opening the text.
_NAME_LINE = re.compile(r"^\s*([A-Z][a-z'-]+(?:\s+[A-Z][a-z'-]+)?)\s*[,:\-–]\s*$")
_NAME_OPENING = re.compile(r"^\s*([A-Z][a-z'-]+(?:\s?[/&]\s?[A-Z][a-z'-]+)*)\s*,")
# Words that open a sentence with a comma and are no one's name.
_NOT_NAMES = STOP_WORDS | frozenset(
    "however also sorry thanks great sure yes no well ok okay fyi guys folks all everyone team first second "
    "finally again anyway actually unfortunately fortunately otherwise meanwhile frankly honestly".split()
)
_KIND = {"emails": "an email", "notes": "a sticky note", "conversations": "a message", "deals": "a deal note"}


def _words(text: str) -> list[str]:
    return [w.casefold().strip(".'-") for w in _WORD.findall(text)]


def document_frequencies(texts: Iterable[str]) -> tuple[Counter, int]:
    """In how many of the person's texts each word appears, and how many texts there are."""
    df: Counter = Counter()
    n = 0
    for text in texts:
        df.update(set(_words(text)))
        n += 1
    return df, n


def addressee(text: str) -> str | None:
    """The name a text opens by greeting ("Hi Dana," / "Dana -"), if any."""
    first = text.strip().split("\n", 1)[0]
    match = _GREETING.match(first)
    if match:
        name = match.group(1).strip(" ,")
        return name if name.casefold() not in _NOT_NAMES else None
    match = _NAME_LINE.match(first) or _NAME_OPENING.match(first)
    if match and match.group(1).casefold() not in _NOT_NAMES:
        return match.group(1)
    return None


def key_phrases(text: str, df: Counter, n_docs: int, limit: int = MAX_PHRASES) -> list[str]:
    """The text's most distinctive short phrases, best first."""
    counts = Counter(_words(text))

    def weight(word: str) -> float:
        return counts[word] * math.log((1 + n_docs) / (1 + df.get(word, 0))) + 0.1

    phrases: dict[str, tuple[float, str]] = {}  # folded phrase -> (score, as written)
    run: list[str] = []

    def close() -> None:
        # A run longer than MAX_PHRASE_WORDS keeps its best window, so no phrase quotes a long stretch.
        if run:
            best = max(
                (run[i : i + MAX_PHRASE_WORDS] for i in range(max(1, len(run) - MAX_PHRASE_WORDS + 1))),
                key=lambda window: sum(weight(w.casefold()) for w in window),
            )
            phrase = " ".join(best)
            key = phrase.casefold()
            score = sum(weight(w.casefold()) for w in best)
            if len(key) > 2 and (key not in phrases or score > phrases[key][0]):
                phrases[key] = (score, phrase)
            run.clear()

    for token in _TOKEN.findall(text):
        word = token.casefold().strip(".'-")
        if not _WORD.fullmatch(token) or word in STOP_WORDS or word.isdigit() or len(word) < 2:
            close()
        else:
            run.append(token.strip(".'-"))
    close()
    picked: list[str] = []
    seen: list[set[str]] = []
    for _, phrase in sorted(phrases.values(), key=lambda item: (-item[0], item[1])):
        words = set(_words(phrase))
        if any(words <= other or other <= words for other in seen):
            continue  # "electronic form" adds nothing after "electronic form emailed"
        picked.append(phrase)
        seen.append(words)
        if len(picked) == limit:
            break
    return picked


def verbatim_run(instruction: str, target: str) -> int:
    """The longest run of consecutive words the instruction shares with the target."""
    a, b = _words(instruction), _words(target)
    if not a or not b:
        return 0
    best = 0
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0] * (len(b) + 1)
        for j, y in enumerate(b, start=1):
            if x == y:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def derive_instruction(
    source: str, text: str, df: Counter, n_docs: int, *, to: str | None = None, subject: str | None = None
) -> str:
    """ "Write a short email to Dana about: change orders, payment schedule" from the text it describes.

    ``to`` and ``subject`` come from the record's header when it has one (an
    email's recipients and subject line); without ``to`` the greeting names
    the addressee. A subject alone ("Red Rock Meeting", "12/17/01") says too
    little to write from, so the key phrases are added either way.
    """
    words = len(_words(text))
    size = "a short " if words < 40 else "a long " if words > 200 else ""
    kind = _KIND.get(source, "a text")
    if size:
        kind = size + kind.split(" ", 1)[1]
    to = to or addressee(text)
    head = f"Write {kind}" + (f" to {to}" if to else "") + (f' with the subject "{subject}"' if subject else "")
    phrases = key_phrases(text, df, n_docs)
    while phrases:
        instruction = f"{head} about: {', '.join(phrases)}."
        if verbatim_run(", ".join(phrases), text) <= MAX_VERBATIM_WORDS:
            return instruction
        phrases = phrases[:-1]
    return f"{head}."
