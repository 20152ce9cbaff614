"""Turning chat turns into the twin's prompt text, and keeping them inside its context window.

Every backend is given text rendered by the twin's own tokenizer and chat
template (the one it was trained with), so llama.cpp, Ollama and an
OpenAI-compatible server see the same tokens as in-process transformers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from doppel.inference.backend import Messages


class PromptTooLong(ValueError):
    """The question alone does not fit the context window; ``field`` names the request field at fault."""

    def __init__(self, message: str, field: str = "message"):
        super().__init__(message)
        self.field = field


@dataclass
class Fitted:
    messages: list[dict[str, str]]
    dropped_turns: int  # earlier turns cut (oldest first) to fit the window
    prompt_tokens: int


class Prompter:
    def __init__(self, tokenizer, context_length: int):
        self.tokenizer = tokenizer
        self.context_length = int(context_length)

    def render(self, messages: Messages) -> str:
        """The prompt text up to where the twin starts answering."""
        return self.tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)

    def encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def count(self, messages: Messages) -> int:
        return len(self.encode(self.render(messages)))

    @cached_property
    def end_of_turn(self) -> str:
        """What the template writes right after an assistant reply (``<|im_end|>`` for ChatML)."""
        marker = "\u2063doppel\u2063"
        probe = [{"role": "user", "content": "q"}, {"role": "assistant", "content": marker}]
        rendered = self.tokenizer.apply_chat_template(probe, tokenize=False)
        after = rendered.split(marker, 1)[1]
        end = after.strip("\n ").split("\n", 1)[0]
        return end or (self.tokenizer.eos_token or "")

    def answer_text(self, option: str) -> str:
        """An option written as the twin's complete reply: its text, then the end of the turn."""
        return option.strip() + self.end_of_turn

    def fit(self, messages: Sequence[dict[str, str]], max_new_tokens: int) -> Fitted:
        """Drop the oldest history turns (never the system prompt or the question) until prompt + reply fit.

        Each turn is measured once (what it adds to the bare prompt), so a long history costs one pass,
        not one render of the whole prompt per dropped turn; the result is then checked exactly.
        """
        messages = [dict(m) for m in messages]
        budget = self.context_length - max_new_tokens
        head = [m for m in messages[:1] if m["role"] == "system"]
        history, question = messages[len(head) : -1], messages[-1:]
        tokens = self.count(head + history + question)
        if tokens <= budget:
            return Fitted(head + history + question, 0, tokens)
        bare = self.count(head + question)
        if bare > budget:
            raise PromptTooLong(
                f"the message is {bare} tokens with the system prompt; with a reply of up to "
                f"{max_new_tokens} tokens that exceeds the model's context window of {self.context_length}",
            )
        costs = [self.count(head + [turn] + question) - bare for turn in history]
        start, total = 0, sum(costs)
        while start < len(history) and bare + total > budget:
            cut = _exchange(history, start)
            total -= sum(costs[start : start + cut])
            start += cut
        history, dropped = history[start:], start
        while True:  # templates are near-additive, not exactly: confirm, and keep cutting if need be
            current = head + history + question
            tokens = self.count(current)
            if tokens <= budget or not history:
                return Fitted(current, dropped, tokens)
            cut = _exchange(history, 0)
            history, dropped = history[cut:], dropped + cut


def _exchange(history: list[dict[str, str]], start: int) -> int:
    """How many turns to drop at ``start``: a whole exchange, so the history never starts with a lone reply."""
    pair = start + 1 < len(history) and history[start]["role"] == "user" and history[start + 1]["role"] == "assistant"
    return 2 if pair else 1
