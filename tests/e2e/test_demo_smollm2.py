"""End to end on the real base model: the demo path trains SmolLM2-135M on the demo persona.

`make test-long` (about 6 minutes to train on a 2-core AVX2 CPU without native bf16, 4 more for the
decisions, 11 for the full scorecard: past `make test`'s 40-minute budget beside everything else). The
real base model is still trained in every `make test`, by the decider twin the inference tests share
(tests/conftest.py), and the pipeline the demo runs, on the demo persona's data, by the tiny model
(tests/integration/test_pipeline_tiny.py and others).
The twin is trained once per run and shared by the tests below.
"""

import hashlib
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from doppel.config import Settings
from doppel.demo.run import run_demo
from doppel.registry import Registry

pytestmark = [pytest.mark.slow, pytest.mark.longrun]
STEPS = 60  # what `make demo` trains: the numbers asserted here are the ones a user sees


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def demo(tmp_path_factory, smollm2, base_models_cache):
    home = tmp_path_factory.mktemp("demo-home")
    (home / "base_models").symlink_to(base_models_cache, target_is_directory=True)
    base_file = Path(smollm2.path) / "model.safetensors"
    before = sha256(base_file)
    result = run_demo(Settings(home=home), steps=STEPS, compare=2, max_new_tokens=24)
    m = result.outcome.metrics
    print(
        f"\ndemo: val loss {m['base_val_loss']:.3f} -> {m['val_loss']:.3f}, "
        f"ppl {m['base_val_perplexity']:.2f} -> {m['val_perplexity']:.2f}, {m['tokens_per_second']} tok/s"
    )
    return home, result, before, base_file


def test_validation_loss_fell(demo):
    _, result, _, _ = demo
    m = result.outcome.metrics
    assert m["steps"] == STEPS
    assert m["val_loss"] < m["base_val_loss"] - 0.3
    assert m["val_perplexity"] < m["base_val_perplexity"]
    assert result.outcome.fit.initial_val.examples == result.outcome.fit.final_val.examples  # same held-out set


def test_lora_weights_moved_and_only_they_were_saved(demo):
    _, result, _, _ = demo
    adapter = result.outcome.version.adapter_dir / "adapter_model.safetensors"
    with safe_open(str(adapter), framework="pt") as f:
        keys = list(f.keys())
        assert keys and all("lora_" in k for k in keys)
        # PEFT starts every B matrix at zero; training must have moved them.
        b_norms = [f.get_tensor(k).abs().sum().item() for k in keys if "lora_B" in k]
    assert len(b_norms) == 30 * 7  # every linear projection of all 30 layers
    assert all(n > 0 for n in b_norms)


def test_base_weights_did_not_change(demo, smollm2):
    _, result, before, base_file = demo
    assert sha256(base_file) == before
    from doppel.inference.local import LocalTwin
    from doppel.training.lora import load_base

    twin = LocalTwin.from_version(smollm2, result.outcome.version)
    plain = load_base(smollm2).eval()
    ids = torch.tensor([[1, 9690, 198, 2683, 359, 30068, 30, 2, 198]])
    with torch.no_grad(), twin.base_model_only():
        off = twin.model(input_ids=ids).logits
    with torch.no_grad():
        on = twin.model(input_ids=ids).logits
        ref = plain(input_ids=ids).logits
    assert torch.allclose(off, ref, atol=1e-5)
    assert not torch.allclose(on, ref, atol=1e-3)


def test_v1_0_is_final_and_the_demo_compared_replies(demo):
    home, result, _, _ = demo
    reg = Registry(home / "models")
    assert reg.get("allan-maverick").name == "v1.0" == result.outcome.version.name
    assert (home / "models" / "allan-maverick" / "final").resolve() == result.outcome.version.path.resolve()
    assert reg.verify(result.outcome.version) == []
    assert len(result.comparisons) == 2
    for c in result.comparisons:
        assert c.real and c.twin and c.base and c.prompt
    assert result.rows["emails"] == 600


@pytest.fixture(scope="module")
def decisions_card(demo):
    """The demo twin's decisions part alone (36 scenarios, three scorings, twin and base)."""
    from doppel.evaluation.evaluate import evaluate_version

    home, _, _, _ = demo
    return evaluate_version(Settings(home=home), parts=("decisions",), save=False).to_json()


@pytest.fixture(scope="module")
def scorecard(demo):
    """The demo twin's scorecard, reduced: 16 held-out prompts, 64-token replies, 4 fact questions of each kind,
    10 canaries and no replies sampled beyond the style part's: about 11 minutes on a 2-core AVX2 CPU, most
    of it generating with transformers."""
    from doppel.evaluation.evaluate import evaluate_version

    home, _, _, _ = demo
    settings = Settings.model_validate(
        {
            "home": str(home),
            "twins": [
                {
                    "evaluation": {
                        "style_examples": 16,
                        "max_new_tokens": 64,
                        "fact_questions": 4,
                        "privacy_canaries": 10,
                        "privacy_replies": 16,
                    },
                    "promotion": {"gate_examples": 48},
                }
            ],
        }
    )
    card = evaluate_version(settings).to_json()  # the JSON form `doppel eval --json` and the API show
    style, decisions = card["style"], card["decisions"]["sets"][0]
    print(
        "\ndemo scorecard: reads as Allan twin {twin} / base {base} / real {real}; similarity twin {st} / base {sb}; "
        "scenarios twin {dt} / base {db} / chance {dc}".format(
            twin=style["classifier"]["twin"]["share_as_person"],
            base=style["classifier"]["base"]["share_as_person"],
            real=style["classifier"]["real"]["share_as_person"],
            st=style["similarity"]["twin"]["mean"],
            sb=style["similarity"]["base"]["mean"],
            dt=decisions["twin"]["accuracy"],
            db=decisions["base"]["accuracy"],
            dc=decisions["chance"],
        )
    )
    return card


def test_the_twin_writes_more_like_allan_than_the_base_model(scorecard):
    clf = scorecard["style"]["classifier"]
    twin, base, real = clf["twin"], clf["base"], clf["real"]
    assert twin["share_as_person"] > base["share_as_person"]
    assert twin["mean_prob_person"] > base["mean_prob_person"]
    # His real held-out replies are the ceiling.
    assert real["share_as_person"] >= twin["share_as_person"] and real["share_as_person"] >= 0.9
    # MiniLM similarity to his real replies is reported with its paired interval, not held to a margin on the
    # demo: his notes are templated, and since replies may repeat their prompt's words the base model's
    # copies score as well as the twin's (0.242-0.261 vs 0.245 over three runs of this test, the 95% interval
    # about -0.09..+0.09). The margin is held on real people (tests/e2e/test_real_people.py).
    style = scorecard["style"]
    interval = style["relevance_interval"]
    assert interval["n"] == style["n"] and interval["low"] <= style["relevance"] <= interval["high"]
    # Surface habits (length, greeting, sign-off, ...) are reported, not held to a margin here: the twin's
    # distance to Allan's habits has sat within noise of the base model's (0.534 vs 0.527 in a fresh
    # clone's run), while the classifier margin above is wide.
    distance = scorecard["style"]["habits"]["distance"]
    assert 0 <= distance["twin"] and 0 <= distance["base"]


def test_the_twin_decides_like_allan_better_than_every_trivial_picker_and_the_base_model(decisions_card):
    scenarios = decisions_card["decisions"]["sets"][0]
    assert scenarios["name"] == "scenarios" and scenarios["n"] >= 30
    assert scenarios["scoring"] == "pmi"
    twin = scenarios["twin"]["accuracy"]
    print(
        f"\ndecisions: twin {twin}, base {scenarios['base']['accuracy']}, chance {scenarios['chance']}, longest "
        f"{scenarios['longest']['accuracy']}, overlap {scenarios['overlap']['accuracy']}, by scoring "
        f"{scenarios['by_scoring']}, McNemar {scenarios['twin_vs_base']}"
    )
    # Pickers that never read the situation: none may match Allan as often as the twin does.
    assert twin > scenarios["chance"]
    assert twin >= scenarios["longest"]["accuracy"]
    assert twin > scenarios["base"]["accuracy"]
    # The paired test is reported whatever it says (36 scenarios rarely make a difference significant).
    paired = scenarios["twin_vs_base"]
    assert paired["p_value"] is not None and paired["twin_only"] > paired["base_only"]


def test_the_twin_decides_like_allan_at_least_as_often_as_the_word_overlap_picker(decisions_card):
    scenarios = decisions_card["decisions"]["sets"][0]
    assert scenarios["twin"]["accuracy"] >= scenarios["overlap"]["accuracy"]


def test_the_demo_twin_has_an_index_and_the_scorecard_sets_retrieval_on_beside_off(scorecard, demo):
    _, result, _, _ = demo
    # The demo's training run indexed every example it built (retrieval is on by default).
    card = result.outcome.dataset.card["examples"]
    assert result.outcome.version.manifest["index"]["total"] == card["train"] + card["val"]
    r = scorecard["retrieval"]
    print(
        f"\nretrieval on/off: read as Allan {r['on']['share_as_person']} / {r['off']['share_as_person']}; similarity "
        f"{r['on']['similarity']} / {r['off']['similarity']} (on-off 95% {r['similarity_gain']}); decisions "
        f"{r['on']['decision_accuracy']} / {r['off']['decision_accuracy']} ({r['decisions_paired']}); facts "
        f"{r['on']['fact_accuracy']} / {r['off']['fact_accuracy']} of {r['facts']} ({r['facts_paired']}); "
        f"{r['mean_sources']} records per prompt, {r['retrieval_ms']} ms"
    )
    assert "skipped" not in r and r["indexed"]["train"] == card["train"] and r["n"] == scorecard["style"]["n"]
    assert r["decisions"] == scorecard["decisions"]["overall"]["n"] and r["facts"] >= 10
    for side in ("on", "off"):
        assert all(r[side][k] is not None for k in ("share_as_person", "similarity", "decision_accuracy"))
    # Without retrieval the twin's decisions are the decisions part's own.
    assert r["off"]["decision_accuracy"] == scorecard["decisions"]["overall"]["twin"]["accuracy"]
    assert r["mean_sources"] > 0 and r["retrieval_ms"] < 1000


EDIT_ENDING = "\n\nNext step: a 30-minute call on Thursday. Works?\n\nCheers,\nAllan"


# 16 DPO steps on SmolLM2: about 10 minutes on 2 cores.
def test_forty_edits_into_allans_style_raise_the_preference_on_held_out_prompts(demo):
    """Forty of the twin's email replies rewritten the way Allan ends an email (a dated next step, his
    sign-off); thirty train, ten are on held-out prompts and only measure. `--preference` must make the
    twin prefer the rewrite on those ten more often than v1.0 did. (`make test` checks the same loop on
    the tiny model: tests/integration/test_preference_run.py.)"""
    from doppel.db import Database
    from doppel.demo.run import demo_settings
    from doppel.feedback import record_feedback
    from doppel.inference.backend import Sampling
    from doppel.pipeline import _examples, collect_records, train_twin
    from doppel.privacy.prepare import prepare_records
    from doppel.twin import Twin

    home, result, _, _ = demo
    settings = demo_settings(Settings(home=home), STEPS)
    twin_cfg = settings.twin()
    db = Database(settings)
    final = Registry(home / "models").final(twin_cfg.name)
    records = prepare_records(settings, twin_cfg, db, collect_records(db, twin_cfg)).records
    built = _examples(records, twin_cfg, twin_cfg.training, final)
    emails = sorted(
        (e for e in built.examples if e.source == "emails"), key=lambda e: hashlib.sha256(e.key.encode()).digest()
    )
    chosen = [e for e in emails if e.split == "train"][:30] + [e for e in emails if e.split == "val"][:10]
    with Twin.load(config=settings, backend="transformers") as twin:
        for example in chosen:
            prompt = example.prompt_messages
            reply = twin.backend.chat(prompt, Sampling(max_tokens=24)).text.strip()
            first = reply.split("\n")[0].strip() or reply
            record_feedback(
                db, twin_cfg.name, messages=prompt, reply=reply, edited=first + EDIT_ENDING,
                reviewer="allan@maverick-labs.example", version=final.name, source="python",
            )  # fmt: skip
    # Two passes, each pair and replay cut to 256 tokens (the prompt keeps its end): half the cost.
    fast = settings.model_copy(
        update={
            "twins": [twin_cfg.model_copy(update={"preference": twin_cfg.preference.model_copy(update={"epochs": 2})})]
        }
    )
    outcome = train_twin(fast, mode="preference", overrides={"max_length": 256}, promote=False)
    m = outcome.metrics
    gate, pairs = m["gate"], m["preference"]["pairs"]
    print(
        f"\ndemo preference: {pairs['train']} pairs trained, {pairs['held_out']} held out; held-out preference "
        f"accuracy {gate['final_preference_accuracy']:.2f} -> {gate['preference_accuracy']:.2f}; val loss "
        f"{gate['final_val_loss']:.3f} -> {gate['val_loss']:.3f}; {m['steps']} steps in {m['train_seconds']} s"
    )
    assert outcome.version.name == "v1.1" and outcome.version.manifest["mode"] == "preference"
    assert pairs["train"] == 30 and pairs["held_out"] == 10
    assert gate["preference_accuracy"] > gate["final_preference_accuracy"]
    assert m["preference"]["dpo_loss_last"] < m["preference"]["dpo_loss_first"]
    assert gate["val_loss"] <= gate["final_val_loss"] * 1.02  # the replay kept the rest of what it learned
