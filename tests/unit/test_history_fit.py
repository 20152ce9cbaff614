"""Fitting a long history into the window measures each turn once: no render of the whole prompt per drop."""

from __future__ import annotations

import pytest

from doppel.inference.prompting import Prompter, PromptTooLong


class CountingPrompter(Prompter):
    def __init__(self, tokenizer, context_length: int):
        super().__init__(tokenizer, context_length)
        self.rendered_turns = 0  # turns rendered in all, over every count

    def count(self, messages) -> int:
        self.rendered_turns += len(messages)
        return super().count(messages)


def _history(n: int) -> list[dict[str, str]]:
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i}: " + "word " * 20} for i in range(n)]


def test_a_long_history_costs_linear_work_and_keeps_the_newest_turns(tokenizer):
    prompter = CountingPrompter(tokenizer, context_length=512)
    system, question = {"role": "system", "content": "You are Allan."}, {"role": "user", "content": "And now?"}
    fitted = prompter.fit([system, *_history(800), question], max_new_tokens=32)
    assert fitted.prompt_tokens + 32 <= 512 and fitted.prompt_tokens == prompter.count(fitted.messages)
    assert fitted.dropped_turns % 2 == 0 and fitted.messages[1]["content"].startswith(f"turn {fitted.dropped_turns}:")
    assert fitted.messages[-1] == question and fitted.messages[0] == system
    # One count of everything, one bare, one per turn (each with system and question), then a few checks:
    # about 3 x 800 turns rendered, where dropping one exchange at a time rendered about 800^2 / 4.
    assert prompter.rendered_turns < 4 * 800 + 200


def test_a_fitting_history_is_kept_whole_and_a_question_too_long_says_so(tokenizer):
    prompter = Prompter(tokenizer, context_length=512)
    short = [*_history(4), {"role": "user", "content": "And now?"}]
    assert prompter.fit(short, 32).dropped_turns == 0
    with pytest.raises(PromptTooLong, match="context window of 512"):
        prompter.fit([*_history(2), {"role": "user", "content": "word " * 600}], 32)
