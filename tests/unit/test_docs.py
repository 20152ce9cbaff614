"""The config reference must name every key the config accepts."""

from pathlib import Path

from doppel import config

DOC = (Path(__file__).resolve().parents[2] / "docs" / "config.md").read_text()


def keys(model) -> set[str]:
    return set(model.model_fields)


def test_every_config_key_is_documented():
    models = [
        config.Settings,
        config.TwinConfig,
        config.Persona,
        config.EmailSource,
        config.ConversationSource,
        config.DealSource,
        config.NoteSource,
        config.BaseModelConfig,
        config.LoraConfig,
        config.TrainingConfig,
        config.IncrementalConfig,
        config.PromotionConfig,
        config.EvaluationConfig,
        config.DealOutcomes,
        config.InferenceConfig,
        config.ExportConfig,
        config.PrivacyConfig,
        config.RetrievalConfig,
        config.ServiceConfig,
        config.ScheduleConfig,
    ]
    # A plain key appears as `key`; a table of keys as its section heading ([twins.persona], [twins.sources.x]).
    documented = lambda k: f"`{k}`" in DOC or f".{k}]" in DOC or f".{k}." in DOC  # noqa: E731
    missing = {f"{m.__name__}.{k}" for m in models for k in keys(m) if not documented(k)}
    assert not missing, f"docs/config.md does not mention: {sorted(missing)}"
