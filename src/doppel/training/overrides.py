"""One run's training settings: the twin's config with the run's overrides, checked once for every face.

The CLI, ``POST /api/train`` and a queued run all come through
``resolve_training``, so a max_length beyond the base model's context window is
refused the same way everywhere, naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from doppel.config import TrainingConfig, TrainingOverrides, TwinConfig
from doppel.training.base_models import context_length


class OverrideError(ValueError):
    """An override the config's bounds allow but this twin cannot take."""

    def __init__(self, field: str, value: object, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.value = value
        self.message = message


def override_changes(overrides: TrainingOverrides | Mapping | None) -> dict:
    """Only the settings a run sets, validated against the config's bounds (a dict is checked too)."""
    if overrides is None:
        return {}
    if not isinstance(overrides, TrainingOverrides):
        overrides = TrainingOverrides.model_validate(dict(overrides))
    return overrides.changes()


def resolve_training(
    twin: TwinConfig, overrides: TrainingOverrides | Mapping | None, home: Path | str
) -> TrainingConfig:
    """The twin's training settings with ``overrides`` applied and validated like the config file."""
    changes = override_changes(overrides)
    if not changes:
        return twin.training
    cfg = TrainingConfig.model_validate({**twin.training.model_dump(), **changes})
    if "max_length" in changes:
        limit = context_length(twin.base_model, Path(home))
        if limit and cfg.max_length > limit:
            raise OverrideError(
                "max_length",
                cfg.max_length,
                f"Input should be less than or equal to {limit} (the base model's context length)",
            )
    return cfg
