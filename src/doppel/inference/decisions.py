"""Decisions from likelihoods: how a choice is asked, and how option scores become a choice.

The twin is asked the question with its options listed, and each option is
scored as its complete reply (see ``Backend.score``). How the log-likelihoods
become scores is ``inference.decision_scoring``:

- ``pmi`` (the default): the option's summed log-probability given the
  situation minus its summed log-probability given the same question with no
  situation (domain-conditional PMI, Holtzman et al. 2021, "Surface Form
  Competition"). The same tokens are scored twice, so an option's length and
  how common its words are cancel out, and what is left is how much the facts
  of the case move the twin towards it. Both terms come from the twin, on any
  backend: the neutral question is one more ``score`` call.
- ``mean``: the mean log-probability per token. A plain sum would make every
  extra word a penalty, but the mean favours long options instead: the later
  tokens of a long phrase are easy to predict whatever the question.

Probabilities are the softmax of the scores over the options, so the choice is
always one of them and never depends on parsing free text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

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


SCORINGS = ("pmi", "mean")
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
    # Each option's score under inference.decision_scoring (pmi: log-probability given the situation minus
    # given no situation; mean: mean log-probability per token); probabilities are their softmax.
    scores: dict[str, float] = field(default_factory=dict)
    scoring: str | None = None
    twin: str | None = None
    version: str | None = None
    backend: str | None = None
    latency_ms: float | None = None

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def option_scores(backend, prompter, messages: list[dict], options: Sequence[str], *, scoring: str = "pmi",
                  neutral: list[dict] | None = None) -> list[float]:
    """Each option's score as the whole reply (its text, then the end of the turn); see the module docstring.

    ``neutral`` is the question asked without the situation (:func:`neutral_messages`); ``pmi`` needs it.
    """
    totals = backend.score(messages, options)
    if scoring == "mean":
        lengths = [len(prompter.encode(prompter.answer_text(o))) for o in options]
        return [total / max(1, n) for total, n in zip(totals, lengths)]
    if scoring == "pmi":
        if neutral is None:
            raise ValueError("pmi scoring needs the neutral question")
        return [total - prior for total, prior in zip(totals, backend.score(neutral, options))]
    raise ValueError(f"unknown decision scoring {scoring!r}; known: {', '.join(SCORINGS)}")


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
