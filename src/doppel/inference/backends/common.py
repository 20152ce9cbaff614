"""Pieces every backend needs: the twin's tokenizer, its prompter and its context window."""

from __future__ import annotations

from doppel.config import Settings, TwinConfig
from doppel.inference.prompting import Prompter
from doppel.registry import Version
from doppel.training.base_models import context_length, load_tokenizer, resolve_base_model

DEFAULT_CONTEXT = 2048


def twin_tokenizer(settings: Settings, twin: TwinConfig, version: Version | None):
    """The tokenizer saved with the version (the one it was trained with), else the base model's."""
    if version is not None and version.tokenizer_dir.is_dir():
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(version.tokenizer_dir)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        return tokenizer
    return load_tokenizer(resolve_base_model(twin.base_model, settings.home))


def twin_prompter(settings: Settings, twin: TwinConfig, version: Version | None, tokenizer=None) -> Prompter:
    window = context_length(twin.base_model, settings.home) or DEFAULT_CONTEXT
    return Prompter(tokenizer or twin_tokenizer(settings, twin, version), window)
