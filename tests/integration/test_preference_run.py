"""Learning from feedback on the real database with the tiny model: edits are stored, become pairs, and
`--preference` trains a gated minor version from final."""

import pytest
from fastapi.testclient import TestClient

from doppel.db import Database
from doppel.feedback import list_feedback, record_feedback, summary
from doppel.pipeline import PreferenceError, train_twin
from doppel.registry import Registry
from doppel.service.app import create_app

FAST = {"max_steps": 2, "batch_size": 4, "max_length": 128, "eval_batches": 1, "epochs": 1}
TOPICS = [
    f"{what} {n}" for n in range(6) for what in ("the pricing call", "the renewal", "the pilot", "Q3 plans", "the demo")
]


@pytest.fixture
def settings(make_settings, tiny_model_dir, demo_db):
    return make_settings(
        base_model={"name": str(tiny_model_dir)},
        training=FAST,
        preference={"epochs": 4, "learning_rate": 5e-3, "beta": 0.5},
    )


def _edits(db: Database, twin: str, version: str) -> None:
    """Thirty edits that all end the reply the same way instead of the twin's stiff sign-off."""
    for topic in TOPICS:
        record_feedback(
            db,
            twin,
            messages=[{"role": "user", "content": f"Write back to Dana about {topic}."}],
            reply=f"Noted on {topic}. Kind regards.",
            edited=f"Noted on {topic}. Onwards!",
            reviewer="dana@example.com",
            version=version,
            source="web",
        )


def test_edits_train_a_preference_version_that_is_gated_on_held_out_pairs(settings):
    with pytest.raises(PreferenceError, match="no final version"):
        train_twin(settings, mode="preference")
    first = train_twin(settings)
    db = Database(settings)
    nothing = train_twin(settings, mode="preference")
    assert nothing.version is None and "0 preference pair(s)" in nothing.message

    _edits(db, "allan-maverick", first.version.name)
    outcome = train_twin(settings, mode="preference")

    version, metrics = outcome.version, outcome.metrics
    assert version.name == "v1.1" and version.manifest["parent"] == "v1.0" and version.manifest["mode"] == "preference"
    pairs = metrics["preference"]["pairs"]
    assert pairs["train"] + pairs["held_out"] == 30 and pairs["held_out"] >= 1 and pairs["edits"] == 30
    assert metrics["preference_pairs"] == pairs["train"]
    # The twin now prefers the edited ending on prompts it never trained on, and the gate saw it.
    gate = metrics["gate"]
    assert gate["preference_accuracy"] > gate["final_preference_accuracy"]
    assert (
        gate["passed"]
        and outcome.promoted
        and Registry(settings.resolved_models_dir).final("allan-maverick").name == "v1.1"
    )
    assert metrics["preference"]["dpo_loss_last"] < metrics["preference"]["dpo_loss_first"]
    test = metrics["preference"]["held_out_test"]  # the same held-out pairs before and after, paired
    assert test["first_only"] >= 1 and test["second_only"] == 0 and "McNemar p = " in gate["reason"]
    learned = [f for f in list_feedback(db, "allan-maverick") if f.learned_in == "v1.1"]
    assert len(learned) == pairs["train"]
    assert summary(db, "allan-maverick")["edits_waiting"] == pairs["held_out"]


def test_a_preference_version_that_does_not_gain_stays_a_candidate(settings):
    settings = settings.model_copy(
        update={
            "twins": [
                settings.twins[0].model_copy(
                    update={"preference": settings.twins[0].preference.model_copy(update={"learning_rate": 1e-9})}
                )
            ]
        }
    )
    train_twin(settings)
    _edits(Database(settings), "allan-maverick", "v1.0")
    outcome = train_twin(settings, mode="preference")
    assert outcome.version.name == "v1.1" and not outcome.promoted
    assert "did not rise" in outcome.message
    assert Registry(settings.resolved_models_dir).final("allan-maverick").name == "v1.0"


def test_feedback_over_http_names_bad_fields_and_needs_admin_to_speak_as_the_person(settings):
    read, admin = "r" * 20, "a" * 20
    secured = settings.model_copy(
        update={"service": settings.service.model_copy(update={"tokens": [read], "admin_tokens": [admin]})}
    )
    body = {
        "messages": [{"role": "user", "content": "Can you send the deck?"}],
        "reply": "Sure, attached.",
        "reviewer": "dana",
    }
    with TestClient(create_app(secured, run_worker=False)) as client:
        as_reader = {"Authorization": f"Bearer {read}"}
        assert client.post("/api/feedback", json={**body, "rating": "up"}).status_code == 401
        ok = client.post("/api/feedback", json={**body, "rating": "up"}, headers=as_reader)
        assert ok.status_code == 201 and ok.json()["pair"] is False and ok.json()["ratings"] == 1
        edit = client.post(
            "/api/feedback", json={**body, "edited": "Attached - shout if it breaks."}, headers=as_reader
        )
        assert edit.status_code == 201 and edit.json()["pair"] is True and edit.json()["edits_waiting"] == 1

        bad = client.post("/api/feedback", json={**body, "rating": 11}, headers=as_reader)
        assert bad.status_code == 422 and "rating" in str(bad.json())
        empty = client.post("/api/feedback", json=body, headers=as_reader)
        assert empty.status_code == 422 and "rating" in str(empty.json())
        no_user = client.post(
            "/api/feedback",
            json={**body, "messages": [{"role": "assistant", "content": "hi"}], "rating": 5},
            headers=as_reader,
        )
        assert no_user.status_code == 422 and "messages" in str(no_user.json())

        person = {**body, "edited": "Deck attached.", "as_person": True}
        assert client.post("/api/feedback", json=person, headers=as_reader).status_code == 403
        assert (
            client.post("/api/feedback", json=person, headers={"Authorization": f"Bearer {admin}"}).status_code == 201
        )
        counts = client.get("/api/feedback", headers=as_reader).json()
    assert counts["feedback"] == 3 and counts["edits"] == 2 and counts["mean_rating"] == 10.0
    stored = list_feedback(Database(settings), "allan-maverick")
    assert [f.as_person for f in stored] == [False, False, True] and stored[0].source == "api"


def test_the_cli_chat_and_the_python_api_store_feedback(settings, tmp_path):
    from typer.testing import CliRunner

    from doppel.cli import app
    from doppel.twin import Twin

    train_twin(settings)
    config = tmp_path / "doppel.toml"
    config.write_text(
        f'home = "{settings.home}"\ndatabase_url = "{settings.database_url}"\n\n[[twins]]\nname = "allan-maverick"\n'
        f'[twins.base_model]\nname = "{settings.twins[0].base_model.name}"\n[twins.retrieval]\nenabled = false\n'
        '[twins.inference]\nbackend = "transformers"\nmax_new_tokens = 6\n'
    )
    stdin = "/good\nCan you send the deck?\n/rate 4\n/edit Deck attached, shout if it breaks.\n/rate 11\n/quit\n"
    result = CliRunner().invoke(app, ["chat", "--config", str(config)], input=stdin)
    assert result.exit_code == 0, result.output
    assert "no reply yet" in result.output and "1-10" in result.output
    stored = list_feedback(Database(settings), "allan-maverick")
    assert [(f.rating, f.edited, f.source) for f in stored] == [
        (4, None, "cli"),
        (None, "Deck attached, shout if it breaks.", "cli"),
    ]
    assert stored[0].messages == [{"role": "user", "content": "Can you send the deck?"}] and stored[0].version == "v1.0"

    with Twin.load(config=settings, backend="transformers") as twin:
        reply = twin.chat("Is Friday still on?", max_tokens=4)
        counts = twin.feedback("Is Friday still on?", reply, reviewer="ana", edited="Yes - 3pm, my office.")
    assert counts["edits_waiting"] == 2
    last = list_feedback(Database(settings), "allan-maverick")[-1]
    assert last.source == "python" and last.reply == reply.text and last.version == "v1.0"
