"""The scorecard on a real (tiny) twin: complete, saved, reproducible, held-out only, and a promotion gate."""

from __future__ import annotations

import json

import pytest

from doppel.dataset.examples import build_examples
from doppel.db import Database
from doppel.evaluation.evaluate import evaluate_version
from doppel.evaluation.store import load_scorecard
from doppel.pipeline import collect_records, train_twin
from doppel.registry import Registry
from doppel.scorecard import Scorecard, headline

EVAL = {"style_examples": 6, "max_new_tokens": 12, "batch_size": 4}
TRAINING = {"max_steps": 3, "max_length": 128, "batch_size": 4, "learning_rate": 0.02, "eval_batches": 1}


@pytest.fixture
def tiny_settings(make_settings, demo_db, tiny_model_dir):
    def make(**extra):
        return make_settings(
            base_model={"name": str(tiny_model_dir)},
            training=TRAINING,
            evaluation=EVAL,
            promotion={"gate_examples": 8, "tolerance": 10.0, **extra.pop("promotion", {})},
            **extra,
        )

    return make


def _numbers(card: Scorecard | dict) -> dict:
    return {k: v for k, v in headline(card).items() if not k.startswith("human.")}


def test_scorecard_is_complete_saved_reproducible_and_held_out_only(tiny_settings):
    settings = tiny_settings()
    outcome = train_twin(settings)
    first = evaluate_version(settings, seed=3)
    second = evaluate_version(settings, seed=3)

    # Same version, data and seed: the same numbers and the same replies.
    assert _numbers(first) == _numbers(second)
    assert first.examples == second.examples
    assert first.decisions.sets[0].items == second.decisions.sets[0].items

    # Every part is there and says what it rests on.
    assert first.fit.val_loss is not None and first.fit.base_val_loss is not None
    assert first.fit.targets["val_perplexity"].target == 10.0
    style = first.style
    for who in ("twin", "base", "real"):
        voice = getattr(style.classifier, who)
        assert voice.n == 6 and voice.small_sample is True
    assert style.classifier.trained_on["others"] >= 5
    assert style.similarity.twin.n == 6 and -1 <= style.similarity.twin.mean <= 1
    assert {"real", "twin", "base", "distance"} <= style.habits.model_fields_set
    scenarios = first.decisions.sets[0]
    assert scenarios.name == "scenarios" and scenarios.n >= 30
    assert 0 <= scenarios.twin.accuracy <= 1 and scenarios.twin.brier >= 0
    # Beside the trivial pickers and under every scoring; the base model is its own reference, so for it pmi
    # and pmi_self are the same numbers.
    assert scenarios.scoring == "pmi" and set(scenarios.by_scoring) == {"pmi", "pmi_self", "mean"}
    assert scenarios.by_scoring["pmi"].base == scenarios.by_scoring["pmi_self"].base
    assert scenarios.by_scoring["pmi"].twin == scenarios.twin.accuracy
    assert 0 <= scenarios.longest.accuracy <= 1 and 0 <= scenarios.overlap.accuracy <= 1
    assert 0 < scenarios.twin_vs_base.p_value <= 1
    assert first.personality.n == len(first.personality.answers) >= 5
    assert first.human.reviews == 0 and first.human.pairs == 6
    assert first.speed.parts_seconds["style"] > 0

    # Saved in the version, with the report and a dated copy for history.
    version = outcome.version
    folder = version.path / "evaluation"
    saved = json.loads((folder / "scorecard.json").read_text())
    assert _numbers(saved) == _numbers(first)
    report = (folder / "report.html").read_text()
    assert "<svg" in report and version.name in report
    history = Registry(settings.resolved_models_dir).twin_dir("allan-maverick") / "evaluations"
    assert len(list(history.glob("v1.0-*.json"))) >= 1
    assert _numbers(load_scorecard(settings, "allan-maverick", "v1.0")) == _numbers(first)

    # References come from the validation split only: every real reply of a pair is a held-out answer.
    twin = settings.twin()
    built = build_examples(
        collect_records(Database(settings), twin),
        twin.persona,
        min_chars=twin.training.min_chars,
        val_fraction=twin.training.val_fraction,
    )
    val_targets = {e.target for e in built.val}
    train_targets = {e.target for e in built.train}
    pairs = json.loads((folder / "pairs.json").read_text())["pairs"]
    assert len(pairs) == 6
    assert all(p["real"] in val_targets and p["real"] not in train_targets for p in pairs)


def test_promotion_gate_can_require_scorecard_numbers(tiny_settings):
    # Impossible to meet: the version is kept as a candidate and the reason names the number.
    strict = tiny_settings(promotion={"min_scores": {"decisions.accuracy": 1.01}})
    outcome = train_twin(strict)
    assert not outcome.promoted
    assert "decisions.accuracy" in outcome.message and "needs at least 1.01" in outcome.message
    assert Registry(strict.resolved_models_dir).final("allan-maverick") is None
    assert outcome.metrics["gate"]["scorecard"]["problems"]

    # Easy to meet: promoted, and the checked number is recorded.
    easy = tiny_settings(promotion={"max_scores": {"fit.val_loss": 1000.0}})
    outcome = train_twin(easy)
    assert outcome.promoted and "scorecard thresholds met" in outcome.message
    assert outcome.metrics["gate"]["scorecard"]["checked"]["fit.val_loss"] < 1000.0


def test_evaluate_and_review_over_http(tmp_path, home, demo_db, tiny_model_dir):
    """POST /api/evaluate runs in the worker; a review sent through the API shows up in the scorecard."""
    from tests.integration.service import Server

    config = tmp_path / "doppel.toml"
    config.write_text(
        f'home = "{home}"\ndatabase_url = "{demo_db}"\n'
        f"[service]\nheartbeat_seconds = 0.5\n[schedule]\nenabled = false\n"
        f'[[twins]]\nname = "allan-maverick"\n[twins.base_model]\nname = "{tiny_model_dir}"\n'
        f"[twins.training]\nmax_steps = 2\nmax_length = 128\neval_batches = 1\nlearning_rate = 0.02\n"
        f"[twins.promotion]\ngate_examples = 8\n"
        f"[twins.evaluation]\nstyle_examples = 3\nmax_new_tokens = 8\nbatch_size = 4\n"
    )
    server = Server(config, tmp_path / "serve.log").wait_ready()
    try:
        api = server.client
        trained = server.wait_job(api.post("/api/train", json={}).json()["job_id"])
        assert trained["state"] == "succeeded", trained
        assert api.get("/api/versions/v1.0/scorecard").status_code == 404
        assert api.get("/api/review/next", params={"reviewer": "ana"}).status_code == 404
        assert api.get("/api/versions").json()["versions"][0]["scorecard"] is None

        # An evaluation can be cancelled like a training run: it ends cancelled and saves no scorecard.
        doomed = api.post("/api/evaluate", json={"version": "v1.0"}).json()["job_id"]
        cancelled = api.post("/api/training/cancel", json={"job_id": doomed})
        assert cancelled.status_code == 202 and cancelled.json()["job_id"] == doomed, cancelled.text
        assert server.wait_job(doomed, timeout=300)["state"] == "cancelled"
        assert api.get("/api/versions/v1.0/scorecard").status_code == 404
        assert api.post("/api/training/cancel", json={"job_id": doomed}).status_code == 404

        queued = api.post("/api/evaluate", json={"version": "v1.0", "seed": 1})
        assert queued.status_code == 202 and queued.json()["mode"] == "evaluate"
        done = server.wait_job(queued.json()["job_id"], timeout=300)
        assert done["state"] == "succeeded" and done["version"] == "v1.0", done
        assert done["message"].startswith("evaluated v1.0")
        card = api.get("/api/versions/v1.0/scorecard").json()
        assert card["seed"] == 1 and card["human"]["reviews"] == 0 and card["human"]["pairs"] == 3

        pair = api.get("/api/review/next", params={"reviewer": "ana"}).json()
        assert pair["remaining"] == 3 and [r["label"] for r in pair["replies"]] == ["1", "2"]
        # Nothing in the response gives the order away.
        assert set(pair) == {"done", "pair_id", "prompt", "context", "replies", "twin", "version", "remaining", "total"}
        assert all(set(r) == {"label", "text"} for r in pair["replies"])
        bad = api.post(
            "/api/review",
            json={"version": "v1.0", "pair_id": pair["pair_id"], "reviewer": "ana", "picked": "A", "score": 7},
        )
        assert bad.status_code == 422 and "picked" in bad.text
        sent = api.post(
            "/api/review",
            json={"version": "v1.0", "pair_id": pair["pair_id"], "reviewer": "ana", "picked": "cant_tell", "score": 7},
        )
        assert sent.status_code == 200 and sent.json()["verdict"] == "cant_tell", sent.text
        card = api.get("/api/versions/v1.0/scorecard").json()
        assert card["human"]["reviews"] == 1 and card["human"]["mean_score"] == 7 and card["human"]["share_fooled"] == 1
        summary = api.get("/api/versions").json()["versions"][0]["scorecard"]
        assert summary["human_reviews"] == 1 and summary["val_loss"] == card["fit"]["val_loss"]
        assert api.get("/api/review/next", params={"reviewer": "ana"}).json()["remaining"] == 2

        report = api.get("/api/versions/v1.0/report")
        assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
        assert "<svg" in report.text
        card_md = api.get("/api/versions/v1.0/card")
        assert card_md.status_code == 200 and "markdown" in card_md.headers["content-type"]
        assert api.get("/api/versions/v9.9/scorecard").status_code == 404
    finally:
        server.stop()


def test_eval_and_review_from_the_cli(tmp_path, home, demo_db, tiny_model_dir):
    from typer.testing import CliRunner

    from doppel.cli import app
    from doppel.config import load_settings

    config = tmp_path / "doppel.toml"
    config.write_text(
        f'home = "{home}"\ndatabase_url = "{demo_db}"\n[[twins]]\nname = "allan-maverick"\n'
        f'[twins.base_model]\nname = "{tiny_model_dir}"\n'
        f"[twins.training]\nmax_steps = 2\nmax_length = 128\neval_batches = 1\n[twins.promotion]\ngate_examples = 8\n"
        f"[twins.evaluation]\nstyle_examples = 2\nmax_new_tokens = 8\ndeal_scenarios = false\n"
    )
    train_twin(load_settings(config))
    runner = CliRunner()
    result = runner.invoke(app, ["eval", "--config", str(config), "--json", "--part", "fit", "--part", "style"])
    assert result.exit_code == 0, result.output
    card = json.loads(result.stdout[result.stdout.index("{") :])
    assert card["version"] == "v1.0" and "decisions" not in card and card["style"]["n"] == 2

    # Two pairs: answer the first (reply 1 is the person's? the reviewer guesses), score it, then quit.
    result = runner.invoke(app, ["review", "--config", str(config), "--reviewer", "cli"], input="1\n7\nq\n")
    assert result.exit_code == 0, result.output
    assert "1 of 2" in result.output and "So far: could not tell" in result.output
    human = load_scorecard(load_settings(config), "allan-maverick").human
    assert human.reviews == 1 and human.mean_score == 7 and human.reviewers == 1

    assert runner.invoke(app, ["eval", "v9.9", "--config", str(config)]).exit_code == 1
