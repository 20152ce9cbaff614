"""The chat messages a question becomes: the twin's system prompt, history, context, question."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from doppel.config import Persona
from doppel.dataset.prompts import format_context


def chat_messages(
    persona: Persona,
    message: str,
    *,
    context: Mapping[str, Any] | None = None,
    history: Sequence[Mapping[str, str]] = (),
) -> list[dict[str, str]]:
    """Context goes above the question in the same ``key: value`` form deal prompts used in training."""
    content = message.strip()
    if context:
        rendered = format_context(context)
        if rendered:
            content = f"{rendered}\n\n{content}"
    messages = [{"role": "system", "content": persona.system_message()}]
    messages += [{"role": h["role"], "content": h["content"]} for h in history]
    messages.append({"role": "user", "content": content})
    return messages
