"""Inference backends, one module each; :func:`open_backend` picks the one a twin's config names.

``inference.backend = "auto"`` (the default) is decided here, per version: on a
machine without CUDA, llama.cpp serves the base GGUF plus the version's adapter
as a GGUF LoRA, about 5x the reply speed of transformers on a CPU; with CUDA, or
where llama.cpp cannot serve what is asked, transformers does. Both switch the
adapter off for ``decide``'s ``pmi`` reference and agree on option scores to
llama.cpp's rounding, so what auto picks changes speed, not answers (a merged
``inference.gguf`` has no adapter to switch off: there ``pmi`` is ``pmi_self``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

from doppel.config import DEFAULT_BASE_MODEL, Settings, TwinConfig
from doppel.inference.backend import Backend, BackendError
from doppel.registry import Version

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackendChoice:
    kind: str  # the backend that serves: never "auto"
    reason: str  # why, for logs and `doppel doctor`


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


@lru_cache(maxsize=1)
def llama_cpp_available() -> bool:
    """Whether ``llama_cpp`` imports here; its shared library can fail to load too (OSError), not only be absent."""
    try:
        import llama_cpp  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def llama_cpp_can_serve(twin: TwinConfig) -> str | None:
    """Why llama.cpp cannot serve this twin's versions, or None when it can (before trying the adapter)."""
    if not llama_cpp_available():
        return "llama_cpp does not import here (pip install llama-cpp-python)"
    if twin.inference.gguf is None and twin.base_model.name != DEFAULT_BASE_MODEL:
        # LlamaCppBackend.open refuses these the same way: only the packaged base has a GGUF at hand.
        return (
            f"llama.cpp serves {DEFAULT_BASE_MODEL!r} plus the adapter, or a merged GGUF (inference.gguf); "
            f"this twin's base model is {twin.base_model.name!r}"
        )
    return None


def choose_backend(twin: TwinConfig, version: Version | None) -> BackendChoice:
    """The backend that serves ``version`` of ``twin``: the configured one, or what ``auto`` stands for here.

    Cheap (no model is loaded): whether the adapter converts is only found out by :func:`open_backend`,
    which falls back to transformers when it does not.
    """
    kind = twin.inference.backend
    if kind != "auto":
        return BackendChoice(kind, "configured")
    if version is None:
        # The bare base model is what the scorecard and the CLI's `--version base` compare against;
        # it has always been transformers' weights.
        return BackendChoice("transformers", "the bare base model is served by transformers")
    return auto_choice(twin)


def auto_choice(twin: TwinConfig) -> BackendChoice:
    """What ``auto`` serves a version of ``twin`` with on this machine."""
    if cuda_available():
        return BackendChoice("transformers", "a CUDA GPU is present")
    problem = llama_cpp_can_serve(twin)
    if problem:
        return BackendChoice("transformers", problem)
    return BackendChoice("llamacpp", "no CUDA GPU and llama_cpp imports")


def serves_adapter_gguf(twin: TwinConfig) -> bool:
    """Whether this twin's versions are to be served by llama.cpp from the base GGUF plus the adapter as a GGUF
    LoRA: then registration converts the adapter, so the first request does not pay for it."""
    if twin.inference.gguf is not None or twin.base_model.name != DEFAULT_BASE_MODEL:
        return False  # a merged GGUF holds the adapter already; another base cannot be served with a LoRA
    kind = twin.inference.backend
    return (auto_choice(twin).kind if kind == "auto" else kind) == "llamacpp"


def open_backend(settings: Settings, twin: TwinConfig, version: Version | None) -> Backend:
    """The twin's backend serving ``version`` (None: the bare base model; under ``auto``, with transformers)."""
    choice = choose_backend(twin, version)
    kind = choice.kind
    if twin.inference.backend == "auto":
        served = f"{twin.name} {version.name if version is not None else 'base model'}"
        if kind == "llamacpp":
            from doppel.inference.backends.llamacpp import LlamaCppBackend

            try:
                backend = LlamaCppBackend.open(settings, twin, version)
            except (BackendError, OSError) as exc:
                # An adapter llama.cpp cannot express, or a model it cannot load: transformers serves any of them.
                kind = "transformers"
                choice = BackendChoice(kind, f"llama.cpp cannot serve it: {exc}")
            else:
                log.info("inference.backend auto: %s served by llamacpp (%s)", served, choice.reason)
                return backend
        log.info("inference.backend auto: %s served by transformers (%s)", served, choice.reason)
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
