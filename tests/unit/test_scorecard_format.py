"""The scorecard's typed parts read a scorecard.json written by an evaluation, and write it back unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from doppel.config import SCORE_NAMES, ConfigError, load_settings
from doppel.scorecard import Decisions, Fit, Scorecard, Style, check_scores, headline

# A real `make demo` scorecard (the fictional persona), saved by doppel before the parts were typed.
SAVED = Path(__file__).parents[1] / "data" / "scorecard-demo-v1.0.json"


def test_a_saved_scorecard_round_trips_unchanged():
    raw = json.loads(SAVED.read_text())
    card = Scorecard.of(raw)
    assert card.to_json() == raw
    assert isinstance(card.fit, Fit) and isinstance(card.style, Style) and isinstance(card.decisions, Decisions)
    assert card.decisions.sets[0].name == "scenarios" and card.decisions.sets[0].items[0].twin.picked
    assert card.style.classifier.twin.n == raw["style"]["classifier"]["twin"]["n"]


def test_headline_reads_the_typed_parts():
    raw = json.loads(SAVED.read_text())
    numbers = headline(raw)
    assert tuple(numbers) == SCORE_NAMES
    assert numbers["fit.val_loss"] == raw["fit"]["val_loss"]
    assert numbers["style.twin_share"] == raw["style"]["classifier"]["twin"]["share_as_person"]
    assert numbers["decisions.accuracy"] == raw["decisions"]["overall"]["twin"]["accuracy"]
    assert numbers["decisions.overlap_accuracy"] == raw["decisions"]["overall"]["overlap"]["accuracy"]
    assert numbers["human.reviews"] is None  # the saved file has no human part: it is read live


def test_an_empty_or_partial_card_has_every_name_unmeasured():
    assert set(headline(None)) == set(SCORE_NAMES) and all(v is None for v in headline({}).values())
    partial = Scorecard.of({"fit": {"val_loss": 2.5}, "later_key": {"kept": True}})
    assert partial.headline()["fit.val_loss"] == 2.5
    assert partial.to_json() == {"fit": {"val_loss": 2.5}, "later_key": {"kept": True}}


def test_check_scores_names_what_is_missed():
    card = {"fit": {"val_loss": 2.5}, "decisions": {"overall": {"twin": {"accuracy": 0.4}}}}
    assert check_scores(card, {"decisions.accuracy": 0.3}, {"fit.val_loss": 3.0}) == []
    problems = check_scores(card, {"decisions.accuracy": 0.5, "style.twin_share": 0.1}, {"fit.val_loss": 2.0})
    assert problems == [
        "decisions.accuracy is 0.4, needs at least 0.5",
        "style.twin_share is not measured, needs at least 0.1",
        "fit.val_loss is 2.5, needs at most 2",
    ]


def test_promotion_thresholds_may_only_name_headline_numbers(tmp_path):
    config = tmp_path / "doppel.toml"
    config.write_text('[[twins]]\nname = "a"\n[twins.promotion]\nmin_scores = {"style.made_up" = 0.5}\n')
    with pytest.raises(ConfigError, match="style.made_up"):
        load_settings(config)
