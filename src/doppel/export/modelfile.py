"""The Ollama side of an export: a Modelfile and ``ollama.json`` (what ``/api/create`` takes).

Ollama does not run the tokenizer's Jinja chat template; it renders a Go
template over ``.System`` and ``.Messages``. Ours writes exactly the ChatML the
twin was trained with (``<|im_start|>role\\ncontent<|im_end|>\\n`` per message,
then ``<|im_start|>assistant\\n``): every message, the system one included, is
in ``.Messages`` (Ollama inserts the Modelfile's SYSTEM there when a request
has none), and context already sits inside the user message's text.

Parameters follow our own inference defaults, so a twin answers alike in-process
and on Ollama: greedy at temperature 0, repeat penalty 1.1 over the whole
window (repeat_last_n -1), top_k 50 / top_p 0.9 when sampling, and the same
reply cap. ``num_ctx`` is the training length but at least 2048: the twin saw
at most ``max_length`` tokens per example, but its base was trained on a longer
window and chat history easily outgrows 512 tokens; 2048 keeps Ollama's KV
cache small while leaving room. It never exceeds the base model's own window.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from doppel.atomic import atomic_write
from doppel.config import TwinConfig

MIN_CONTEXT = 2048
STOPS = ("<|im_end|>", "<|im_start|>")


class ModelfileError(ValueError):
    """The twin cannot be described to Ollama faithfully (not ChatML, or text a Modelfile cannot quote)."""


def chatml(messages: Sequence[Mapping[str, str]]) -> str:
    """The ChatML prompt (up to where the twin answers) for messages that start with a system message."""
    turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return turns + "<|im_start|>assistant\n"


def check_chatml(tokenizer) -> None:
    """Refuse a twin whose chat template is not ChatML: Ollama would prompt it in a format it never saw."""
    probe = [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "Q1"},
        {"role": "assistant", "content": "A1"},
        {"role": "user", "content": "Q2"},
    ]
    try:
        rendered = tokenizer.apply_chat_template(probe, tokenize=False, add_generation_prompt=True)
    except Exception as exc:  # no template, or one that rejects system messages
        raise ModelfileError(f"the twin's tokenizer cannot render a chat: {exc}") from exc
    if rendered != chatml(probe):
        raise ModelfileError(
            "the twin's chat template is not ChatML (<|im_start|>role ... <|im_end|>); the Ollama export "
            f"writes ChatML only. The template renders: {rendered[:200]!r}"
        )


def chatml_template(default_system: str) -> str:
    """Ollama's Go template for ChatML; ``default_system`` is used when a request has no system message."""
    system = default_system.replace("{{", '{{ "{{" }}')  # literal text, never an action
    return (
        "{{ if not .System }}<|im_start|>system\n" + system + "<|im_end|>\n{{ end }}"
        "{{ range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}"
        "<|im_start|>assistant\n"
    )


def ollama_parameters(twin: TwinConfig, context_window: int | None = None) -> dict:
    from doppel.inference.backend import Sampling

    num_ctx = max(MIN_CONTEXT, twin.training.max_length)
    if context_window:
        num_ctx = min(num_ctx, context_window)
    return {
        "stop": list(STOPS),
        "num_ctx": num_ctx,
        "num_predict": twin.inference.max_new_tokens,
        "temperature": twin.inference.temperature,
        "top_k": Sampling().top_k,
        "top_p": Sampling().top_p,
        "repeat_penalty": Sampling().repetition_penalty,
        "repeat_last_n": -1,
    }


def ollama_spec(twin: TwinConfig, gguf_file: str, *, context_window: int | None = None) -> dict:
    """What ``ollama.json`` holds: the GGUF's file name (beside it), template, system prompt, parameters."""
    system = twin.persona.system_message()
    return {
        "gguf": gguf_file,
        "template": chatml_template(system),
        "system": system,
        "parameters": ollama_parameters(twin, context_window),
    }


def modelfile(spec: Mapping) -> str:
    """The Modelfile text for ``spec`` (see :func:`ollama_spec`), for ``ollama create -f``."""
    for key in ("template", "system"):
        # Ollama's parser ends a """ string at the next """; there is no escape for it.
        if '"""' in spec[key]:
            raise ModelfileError(f'the {key} contains """, which a Modelfile cannot quote; use ollama.json')
    lines = [f"FROM ./{spec['gguf']}", f'TEMPLATE """{spec["template"]}"""', f'SYSTEM """{spec["system"]}"""']
    for name, value in spec["parameters"].items():
        for item in value if isinstance(value, list) else [value]:
            lines.append(f"PARAMETER {name} {json.dumps(item) if isinstance(item, str) else item}")
    return "\n".join(lines) + "\n"


def write_ollama_files(folder: Path, spec: Mapping) -> tuple[Path, Path]:
    """``Modelfile`` and ``ollama.json`` in ``folder``, each written aside and renamed."""
    folder = Path(folder)
    paths = folder / "Modelfile", folder / "ollama.json"
    texts = modelfile(spec), json.dumps(spec, indent=2, ensure_ascii=False) + "\n"
    for path, text in zip(paths, texts):
        atomic_write(path, text)
    return paths
