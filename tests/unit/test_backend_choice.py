"""What ``inference.backend = "auto"`` serves with, and that explicit values are taken as they are.

The machine is simulated (CUDA present or not, llama_cpp importable or not) so every branch runs on any
machine; tests/integration/test_llamacpp.py checks the real one and the real fallback.
"""

from __future__ import annotations

import logging

import pytest

from doppel.config import DEFAULT_BASE_MODEL, InferenceConfig, TwinConfig
from doppel.inference import backends
from doppel.inference.backend import BackendError
from doppel.registry import Version


def twin(**inference) -> TwinConfig:
    return TwinConfig.model_validate({"name": "allan-maverick", "inference": inference})


@pytest.fixture
def version(tmp_path) -> Version:
    return Version("allan-maverick", "v1.0", tmp_path / "v1.0")


@pytest.fixture
def machine(monkeypatch):
    """Set what the machine has: ``machine(cuda=..., llama_cpp=...)``."""

    def set_(*, cuda: bool, llama_cpp: bool) -> None:
        monkeypatch.setattr(backends, "cuda_available", lambda: cuda)
        monkeypatch.setattr(backends, "llama_cpp_available", lambda: llama_cpp)

    return set_


def test_auto_is_the_default():
    assert InferenceConfig().backend == "auto"
    assert twin().base_model.name == DEFAULT_BASE_MODEL


def test_auto_on_a_cpu_with_llama_cpp_serves_with_llamacpp(machine, version):
    machine(cuda=False, llama_cpp=True)
    choice = backends.choose_backend(twin(), version)
    assert choice.kind == "llamacpp" and "CUDA" in choice.reason
    assert backends.serves_adapter_gguf(twin())


@pytest.mark.parametrize(
    ("cuda", "llama_cpp", "why"),
    [(True, True, "CUDA GPU is present"), (False, False, "llama_cpp does not import")],
)
def test_auto_serves_with_transformers_on_a_gpu_or_without_llama_cpp(machine, version, cuda, llama_cpp, why):
    machine(cuda=cuda, llama_cpp=llama_cpp)
    choice = backends.choose_backend(twin(), version)
    assert choice.kind == "transformers" and why in choice.reason
    assert not backends.serves_adapter_gguf(twin())  # nothing to convert at registration either


def test_auto_serves_the_bare_base_model_with_transformers(machine):
    machine(cuda=False, llama_cpp=True)
    choice = backends.choose_backend(twin(), None)
    assert choice.kind == "transformers" and "bare base model" in choice.reason


def test_auto_serves_another_base_model_with_transformers_unless_a_merged_gguf_is_given(machine, version, tmp_path):
    machine(cuda=False, llama_cpp=True)
    other = TwinConfig.model_validate({"name": "t", "base_model": {"name": str(tmp_path / "tiny")}})
    choice = backends.choose_backend(other, version)
    assert choice.kind == "transformers" and "merged GGUF" in choice.reason
    assert not backends.serves_adapter_gguf(other)
    merged = other.model_copy(update={"inference": InferenceConfig(gguf=tmp_path / "merged.gguf")})
    assert backends.choose_backend(merged, version).kind == "llamacpp"
    assert not backends.serves_adapter_gguf(merged)  # the merged file holds the adapter: nothing to convert


@pytest.mark.parametrize("kind", ["transformers", "llamacpp", "ollama", "openai"])
def test_an_explicit_backend_is_taken_as_it_is(monkeypatch, version, kind):
    def probe():
        raise AssertionError("an explicit backend must not look at the machine")

    monkeypatch.setattr(backends, "cuda_available", probe)
    monkeypatch.setattr(backends, "llama_cpp_available", probe)
    assert backends.choose_backend(twin(backend=kind), version) == backends.BackendChoice(kind, "configured")
    assert backends.choose_backend(twin(backend=kind), None).kind == kind


def test_registration_converts_for_an_explicit_llamacpp_whatever_the_machine(machine):
    machine(cuda=True, llama_cpp=True)
    assert backends.serves_adapter_gguf(twin(backend="llamacpp"))
    assert not backends.serves_adapter_gguf(twin(backend="transformers"))
    assert not backends.serves_adapter_gguf(twin(backend="ollama"))


class _Opened:
    def __init__(self, kind):
        self.kind = kind


def test_auto_falls_back_to_transformers_when_llamacpp_cannot_open(machine, monkeypatch, version, caplog):
    from doppel.inference.backends.llamacpp import LlamaCppBackend
    from doppel.inference.backends.transformers import TransformersBackend

    machine(cuda=False, llama_cpp=True)

    def refuse(settings, twin, version):
        raise BackendError("cannot serve allan-maverick v1.0 with llama.cpp: the adapter uses DoRA")

    monkeypatch.setattr(LlamaCppBackend, "open", classmethod(lambda cls, *a: refuse(*a)))
    monkeypatch.setattr(TransformersBackend, "open", classmethod(lambda cls, *a: _Opened("transformers")))
    with caplog.at_level(logging.INFO, logger="doppel.inference.backends"):
        served = backends.open_backend(None, twin(), version)
    assert served.kind == "transformers"
    assert "served by transformers" in caplog.text and "DoRA" in caplog.text

    # Explicit llamacpp keeps failing loudly, as before: no silent change of backend.
    with pytest.raises(BackendError, match="DoRA"):
        backends.open_backend(None, twin(backend="llamacpp"), version)


def test_auto_opens_llamacpp_and_says_so(machine, monkeypatch, version, caplog):
    from doppel.inference.backends.llamacpp import LlamaCppBackend

    machine(cuda=False, llama_cpp=True)
    monkeypatch.setattr(LlamaCppBackend, "open", classmethod(lambda cls, *a: _Opened("llamacpp")))
    with caplog.at_level(logging.INFO, logger="doppel.inference.backends"):
        assert backends.open_backend(None, twin(), version).kind == "llamacpp"
    assert "allan-maverick v1.0 served by llamacpp" in caplog.text
