"""Inference backends, one module each; :func:`open_backend` picks the one a twin's config names."""

from __future__ import annotations

from doppel.config import Settings, TwinConfig
from doppel.inference.backend import Backend
from doppel.registry import Version


def open_backend(settings: Settings, twin: TwinConfig, version: Version | None) -> Backend:
    """The twin's configured backend serving ``version`` (None: the bare base model, transformers only)."""
    kind = twin.inference.backend
    if kind == "transformers":
        from doppel.inference.backends.transformers import TransformersBackend

        return TransformersBackend.open(settings, twin, version)
    if kind == "llamacpp":
        from doppel.inference.backends.llamacpp import LlamaCppBackend

        return LlamaCppBackend.open(settings, twin, version)
    if kind == "ollama":
        from doppel.inference.backends.ollama import OllamaBackend

        return OllamaBackend.open(settings, twin, version)
    if kind == "openai":
        from doppel.inference.backends.openai_compat import OpenAICompatBackend

        return OpenAICompatBackend.open(settings, twin, version)
    raise ValueError(f"unknown backend {kind!r}")
