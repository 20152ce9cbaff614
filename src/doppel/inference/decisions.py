"""Decisions from likelihoods: how a choice is asked, and how option scores become a choice.

The twin is asked the question with its options listed, and each option is
scored as its complete reply (see ``Backend.score``). How the log-likelihoods
become scores is ``inference.decision_scoring``:

- ``pmi`` (the default): the option's summed log-probability under the twin
  given the situation, minus its summed log-probability under the *base
  model* (the adapter switched off) given the same question with no situation
  (domain-conditional PMI, Holtzman et al. 2021, "Surface Form Competition").
  The same tokens are scored twice, so an option's length and how common its
  words are cancel out; what is left is how much the person's training and
  the facts of the case move the twin towards it. The reference is the base
  model, not the twin, because the twin's own neutral answer already holds
  what it learned (Allan never gives free pilots, whatever the deal): taking
  that off as well left only the situation's pull, and on the demo scenarios
  it scored below chance (30-31% against 42% for this reference, at 30 and 60
  steps; n = 36, so a trend, not a proof). Backends that cannot switch the
  adapter off (a remote server, a merged GGUF) fall back to ``pmi_self``, and
  the decision's ``scoring`` says so.
- ``pmi_self``: the same, with the twin's own neutral answer as the reference.
- ``mean``: the mean log-probability per token. A plain sum would make every
  extra word a penalty, but the mean favours long options instead: the later
  tokens of a long phrase are easy to predict whatever the question.

Probabilities are the softmax of the scores over the options, so the choice is
always one of them and never depends on parsing free text.

The reference depends on the options and the persona only, never on the
situation, so a loaded twin keeps it per option list (:class:`References`):
asked again with the same options, only the situation is scored.
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from doppel.config import Persona
from doppel.dataset.prompts import format_context
from doppel.inference.messages import chat_messages


class DecisionError(ValueError):
    """The options or the situation are unusable; ``field`` names the request field."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def check_options(options: Sequence[str]) -> list[str]:
    cleaned = [o.strip() for o in options]
    if len(cleaned) < 2:
        raise DecisionError("give at least two options", "options")
    if any(not o for o in cleaned):
        raise DecisionError("options must not be empty", "options")
    seen: set[str] = set()
    for option in cleaned:
        if option.casefold() in seen:
            raise DecisionError(f"option {option!r} is given twice", "options")
        seen.add(option.casefold())
    return cleaned


def situation_text(context: str | Mapping[str, Any]) -> str:
    """A free-text situation as is; a mapping as stable ``key: value`` lines (a ``question`` key last)."""
    if isinstance(context, str):
        text = context.strip()
    else:
        fields = dict(context)
        question = str(fields.pop("question", "") or "").strip()
        text = "\n\n".join(part for part in (format_context(fields), question) if part)
    if not text:
        raise DecisionError("describe the situation to decide on", "context")
    return text


SCORINGS = ("pmi", "pmi_self", "mean")
# Stands in for the situation in the neutral question: a placeholder, so the prompt keeps its shape.
NEUTRAL_SITUATION = "N/A"


def decision_question(situation: str, options: Sequence[str]) -> str:
    listed = ", ".join(options[:-1]) + f" or {options[-1]}"
    return f"{situation}\n\nWhat do you decide: {listed}? Answer with one of them."


def decision_messages(persona: Persona, context: str | Mapping[str, Any], options: Sequence[str]) -> list[dict]:
    return chat_messages(persona, decision_question(situation_text(context), check_options(options)))


def neutral_messages(persona: Persona, options: Sequence[str]) -> list[dict]:
    """The same question with no situation: what the options are worth before the facts are known."""
    return chat_messages(persona, decision_question(NEUTRAL_SITUATION, check_options(options)))


def rationale_messages(asked: list[dict], choice: str) -> list[dict]:
    """The choice as the twin's answer, then "why?": the reason comes in its own words."""
    return [*asked, {"role": "assistant", "content": choice}, {"role": "user", "content": "Why? One or two sentences."}]


@dataclass
class Decision:
    choice: str
    probabilities: dict[str, float]
    abstained: bool
    rationale: str | None = None
    # Each option's score under `scoring` (pmi: the twin's log-probability given the situation minus the base
    # model's given no situation; pmi_self: minus the twin's own; mean: mean log-probability per token);
    # probabilities are their softmax.
    scores: dict[str, float] = field(default_factory=dict)
    scoring: str | None = None
    twin: str | None = None
    version: str | None = None
    backend: str | None = None
    latency_ms: float | None = None
    # The person's records put in the prompt (retrieval), and why none were when it was asked for.
    sources: list[dict] = field(default_factory=list)
    notice: str | None = None

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def resolved_scoring(scoring: str, backend) -> str:
    """The scoring ``backend`` can do: ``pmi`` needs the base model's scores, else it becomes ``pmi_self``."""
    if scoring == "pmi" and not getattr(backend, "scores_base", False):
        return "pmi_self"
    return scoring


class References:
    """The ``pmi``/``pmi_self`` reference scores a loaded twin has computed, by scoring, neutral question and
    options; the least recently used go first. Exact, not approximate: the reference is a function of those
    alone (and of the weights, which a loaded twin never changes)."""

    def __init__(self, size: int = 256):
        self.size = size
        self._scores: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()  # the service asks one twin from several threads

    @staticmethod
    def key(scoring: str, neutral: list[dict], options: Sequence[str]) -> str:
        return json.dumps([scoring, neutral, list(options)], sort_keys=True)

    def get(self, key: str) -> list[float] | None:
        with self._lock:
            found = self._scores.get(key)
            if found is not None:
                self._scores.move_to_end(key)
            return found

    def put(self, key: str, scores: list[float]) -> None:
        with self._lock:
            self._scores[key] = list(scores)
            self._scores.move_to_end(key)
            while len(self._scores) > self.size:
                self._scores.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._scores.clear()

    def __len__(self) -> int:
        return len(self._scores)


def option_scores(
    backend,
    prompter,
    messages: list[dict],
    options: Sequence[str],
    *,
    scoring: str = "pmi",
    neutral: list[dict] | None = None,
    references: References | None = None,
) -> list[float]:
    """Each option's score as the whole reply (its text, then the end of the turn); see the module docstring.

    ``neutral`` is the question asked without the situation (:func:`neutral_messages`); ``pmi`` and
    ``pmi_self`` need it, and ``pmi`` a backend with ``scores_base`` (see :func:`resolved_scoring`).
    ``references``: where this backend's reference scores are kept between calls (None: computed every time).
    """
    if scoring not in SCORINGS:
        raise ValueError(f"unknown decision scoring {scoring!r}; known: {', '.join(SCORINGS)}")
    totals = backend.score(messages, options)
    if scoring == "mean":
        lengths = [len(prompter.encode(prompter.answer_text(o))) for o in options]
        return [total / max(1, n) for total, n in zip(totals, lengths)]
    if neutral is None:
        raise ValueError(f"{scoring} scoring needs the neutral question")
    if scoring == "pmi" and not getattr(backend, "scores_base", False):
        raise ValueError(f"the {getattr(backend, 'kind', '?')} backend cannot score with the base model")
    key = References.key(scoring, neutral, options) if references is not None else ""
    prior = references.get(key) if references is not None else None
    if prior is None:
        prior = backend.score_base(neutral, options) if scoring == "pmi" else backend.score(neutral, options)
        if references is not None:
            references.put(key, prior)
    return [total - reference for total, reference in zip(totals, prior)]


def decide_from_scores(options: Sequence[str], scores: Sequence[float], abstain_below: float) -> Decision:
    """Softmax over the options' scores; abstain when the best is not likely enough."""
    if len(scores) != len(options):
        raise ValueError("one score per option")
    finite = [s if math.isfinite(s) else -1e30 for s in scores]
    top = max(finite)
    weights = [math.exp(s - top) for s in finite]
    total = sum(weights)
    probabilities = {o: w / total for o, w in zip(options, weights)}
    best = max(range(len(options)), key=lambda i: finite[i])
    return Decision(
        choice=options[best],
        probabilities=probabilities,
        abstained=probabilities[options[best]] < abstain_below,
        scores=dict(zip(options, map(float, scores))),
    )
