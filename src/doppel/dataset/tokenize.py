"""Examples → token ids in the base model's own chat template, with a mask of the person's tokens.

Only the final assistant turn (the person's words and the template's
end-of-turn marker) is a target; the system prompt, other people's text and
the person's earlier turns in a conversation are context.
"""

from __future__ import annotations

from dataclasses import dataclass

from doppel.dataset.examples import Example

# Used only when a base model ships without a chat template (a plain LM):
# ChatML, the format SmolLM2 and Qwen use. Saved with every version so that
# serving renders exactly what training saw.
FALLBACK_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


class TemplateError(ValueError):
    """The chat template renders a conversation in a way we cannot split into prompt and answer."""


@dataclass(frozen=True)
class TokenizedExample:
    input_ids: list[int]
    labels: list[int]  # -100 where the token is context, the token id where it is the person's
    truncated: bool
    key: str

    @property
    def n_target(self) -> int:
        return sum(1 for t in self.labels if t != -100)

    def __len__(self) -> int:
        return len(self.input_ids)


def ensure_chat_template(tokenizer) -> bool:
    """Give a tokenizer without a chat template the fallback; True when one was added."""
    if getattr(tokenizer, "chat_template", None):
        return False
    tokenizer.chat_template = FALLBACK_CHAT_TEMPLATE
    return True


def render(tokenizer, messages: list[dict[str, str]], *, add_generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)


def _ids(tokenizer, text: str) -> list[int]:
    # The template already wrote the special tokens; don't let the tokenizer add a BOS again.
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def _system_prefix_len(tokenizer, example: Example) -> int:
    """Tokens of the system turn, kept when the middle of a long prompt has to go."""
    system = [m for m in example.messages if m["role"] == "system"]
    if not system:
        return 0
    return len(_ids(tokenizer, render(tokenizer, system, add_generation_prompt=False)))


def encode(tokenizer, example: Example, max_length: int) -> TokenizedExample:
    prompt_text = render(tokenizer, example.prompt_messages, add_generation_prompt=True)
    full_text = render(tokenizer, list(example.messages), add_generation_prompt=False)
    if not full_text.startswith(prompt_text):
        raise TemplateError(
            "the chat template renders the prompt differently once the answer is added; "
            "cannot tell the person's tokens apart"
        )
    prompt = _ids(tokenizer, prompt_text)
    answer = _ids(tokenizer, full_text[len(prompt_text) :])
    truncated = len(prompt) + len(answer) > max_length
    if truncated:
        # The answer keeps at least half the window; the prompt keeps its
        # system turn and its end (the words being answered), losing the middle.
        answer = answer[: max(max_length - len(prompt), max_length // 2)]
        room = max_length - len(answer)
        if len(prompt) > room:
            head = min(_system_prefix_len(tokenizer, example), room // 2)
            prompt = prompt[:head] + prompt[len(prompt) - (room - head) :]
    return TokenizedExample(
        input_ids=prompt + answer,
        labels=[-100] * len(prompt) + answer,
        truncated=truncated,
        key=example.key,
    )
