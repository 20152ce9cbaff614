"""A real person: train on Bill Rapp's sent Enron mail and beat the base model on his held-out emails."""

import psycopg
import pytest

from doppel.evaluation.scorecard import evaluate_version
from doppel.pipeline import train_twin
from tests.conftest import SHARED_DATA
from tests.e2e.enron import load_mailbox

pytestmark = [pytest.mark.slow, pytest.mark.realdata]
MAILBOX = SHARED_DATA / "enron" / "rapp-b.jsonl"
OWNER = "bill.rapp@enron.com"


@pytest.mark.skipif(not MAILBOX.is_file(), reason=f"real mailbox not present at {MAILBOX} (set DOPPEL_SHARED_DATA)")
def test_twin_beats_base_model_on_held_out_emails(make_settings, smollm2, database_url):
    with psycopg.connect(database_url) as conn:
        loaded = load_mailbox(conn, MAILBOX, OWNER)
    assert loaded["own"] > 90 and loaded["replies"] > 0
    disabled = {"enabled": False}
    settings = make_settings(
        name="bill-rapp",
        persona={"name": "Bill Rapp", "email_pattern": OWNER, "user_id": "brapp"},
        sources={"conversations": disabled, "deals": disabled, "notes": disabled},
        training={"max_steps": 25, "batch_size": 4, "max_length": 256, "learning_rate": 4e-4},
        evaluation={"style_examples": 16, "max_new_tokens": 64},
    )
    outcome = train_twin(settings)
    m = outcome.metrics
    print(f"\nenron rapp-b: {m['examples']} examples; val loss {m['base_val_loss']:.3f} -> {m['val_loss']:.3f}, "
          f"ppl {m['base_val_perplexity']:.2f} -> {m['val_perplexity']:.2f}, {m['tokens_per_second']} tok/s")
    assert m["examples"]["val"] >= 8
    # Only his own words are targets: nothing written by others reaches an answer.
    assert all(e.source == "emails" for e in outcome.dataset.examples)
    assert m["val_loss"] < m["base_val_loss"]

    # The scorecard on his held-out emails: the twin reads more like him than the base model does, and his
    # real replies are the ceiling. The contrast class is everyone else in his mailbox.
    card = evaluate_version(settings, parts=("fit", "style"))
    clf, sim = card["style"]["classifier"], card["style"]["similarity"]
    print(f"enron rapp-b scorecard: reads as him twin {clf['twin']['share_as_person']} / base "
          f"{clf['base']['share_as_person']} / real {clf['real']['share_as_person']} (n={clf['twin']['n']}, "
          f"classifier on {clf['trained_on']}); similarity twin {sim['twin']['mean']} / base {sim['base']['mean']}; "
          f"habit distance twin {card['style']['habits']['distance']['twin']} / base "
          f"{card['style']['habits']['distance']['base']}")
    assert clf["trained_on"]["others"] >= 100
    assert clf["twin"]["mean_prob_person"] > clf["base"]["mean_prob_person"]
    assert clf["twin"]["share_as_person"] >= clf["base"]["share_as_person"]
    assert clf["real"]["mean_prob_person"] > clf["twin"]["mean_prob_person"]
    assert sim["twin"]["mean"] > sim["base"]["mean"]
