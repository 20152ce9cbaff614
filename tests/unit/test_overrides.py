"""Per-run training overrides: declared once (TrainingOverrides), resolved once (resolve_training)."""

import pytest
from pydantic import ValidationError

from doppel.config import OVERRIDABLE, TrainingConfig, TrainingOverrides, TwinConfig
from doppel.training.overrides import resolve_training


def test_overrides_take_the_configs_own_bounds():
    for name in OVERRIDABLE:
        assert TrainingOverrides.model_fields[name].default is None
    with pytest.raises(ValidationError) as bad:
        TrainingOverrides(epochs=0)
    assert bad.value.errors()[0]["loc"] == ("epochs",)
    with pytest.raises(ValidationError):
        TrainingOverrides(learning_rate=2.0)  # TrainingConfig: le=1.0
    with pytest.raises(ValidationError):
        TrainingOverrides(warmup_ratio=0.1)  # not a per-run setting


def test_resolving_merges_only_what_the_run_sets(tmp_path):
    twin = TwinConfig.model_validate({"training": {"epochs": 2, "learning_rate": 1e-3}})
    assert resolve_training(twin, None, tmp_path) is twin.training
    assert resolve_training(twin, TrainingOverrides(), tmp_path) is twin.training
    cfg = resolve_training(twin, {"epochs": 5, "max_steps": None}, tmp_path)
    assert isinstance(cfg, TrainingConfig)
    assert (cfg.epochs, cfg.learning_rate, cfg.max_steps) == (5, 1e-3, twin.training.max_steps)
    assert TrainingOverrides(batch_size=8).changes() == {"batch_size": 8}
