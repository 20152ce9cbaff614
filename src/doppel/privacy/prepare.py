"""The one step every reader of a twin's records takes before building examples: forget, then pseudonymise.

Training runs, the scorecard and ``doppel dataset`` all call ``prepare_records``, so the examples a
version was scored on are the ones it was trained on (the same key gives the same fakes).
"""

from __future__ import annotations

from collections.abc import Sequence

from doppel.config import PrivacyConfig, Settings, TwinConfig
from doppel.db import Database
from doppel.privacy.forget import Forgetting, list_requests
from doppel.privacy.keys import twin_key
from doppel.privacy.records import Protected, protect_records
from doppel.sources.records import Record


def prepare_records(
    settings: Settings,
    twin: TwinConfig,
    db: Database,
    records: Sequence[Record],
    *,
    privacy: PrivacyConfig | None = None,
) -> Protected:
    """``records`` without what forget requests name, pseudonymised unless ``privacy.enabled`` is false.

    ``privacy`` defaults to the twin's; the scorecard passes the settings the version was trained with.
    """
    cfg = privacy or twin.privacy
    forgetting = Forgetting(list_requests(db, twin.name))
    key = twin_key(settings, twin) if cfg.enabled else None
    return protect_records(records, twin.persona, cfg, key, forgetting)


def version_privacy(saved_config: dict) -> PrivacyConfig:
    """The privacy settings a version was trained with (its config.json); off for versions made before them."""
    saved = saved_config.get("privacy")
    return PrivacyConfig.model_validate(saved) if saved is not None else PrivacyConfig(enabled=False)
