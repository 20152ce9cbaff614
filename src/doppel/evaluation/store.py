"""Reading and writing scorecards: the version's evaluation folder, the dated history, live human numbers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from doppel.atomic import atomic_write_json
from doppel.config import Settings
from doppel.db import Database
from doppel.registry import Registry, Version
from doppel.scorecard import Scorecard

EVALUATION_DIR = "evaluation"
SCORECARD_FILE = "scorecard.json"
REPORT_FILE = "report.html"


class EvaluationError(ValueError):
    """An evaluation that cannot run, or a scorecard that is not there; the message says why."""


def evaluation_dir(version: Version) -> Path:
    return version.path / EVALUATION_DIR


def save(settings: Settings, version: Version, card: Scorecard, pairs: list[dict], db: Database) -> Scorecard:
    """Keep the scorecard, its review pairs and report in the version's folder, and a dated copy as history.

    Returns the card with the human numbers as they stand (the saved file has none: they are read live).
    """
    from doppel.evaluation.reviews import save_pairs

    folder = evaluation_dir(version)
    if pairs:
        save_pairs(folder, [{k: v for k, v in p.items() if k != "base"} for p in pairs])
    _write(folder / SCORECARD_FILE, card)
    card = with_human(card, db, version)
    write_report_for(settings, version.twin, version, card)
    # A dated copy per evaluation: the monthly job's history of final, kept beside the versions.
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    history = Registry(settings.resolved_models_dir).twin_dir(version.twin) / "evaluations"
    _write(history / f"{version.name}-{stamp}.json", card)
    return card.model_copy(update={"path": str(folder / SCORECARD_FILE), "report": str(folder / REPORT_FILE)})


def _write(path: Path, card: Scorecard) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, card.to_json(), indent=2, default=str)


def with_human(card: Scorecard, db: Database, version: Version) -> Scorecard:
    """The scorecard with the human part as it stands now (reviews keep arriving after an evaluation)."""
    from doppel.evaluation.reviews import PAIRS_FILE, human_summary, load_pairs
    from doppel.scorecard import Human

    folder = evaluation_dir(version)
    total = len(load_pairs(folder)["pairs"]) if (folder / PAIRS_FILE).is_file() else 0
    human = Human(**human_summary(db, version.twin, version.name, total))
    return card.model_copy(update={"human": human})


def saved_scorecard(version: Version) -> Scorecard | None:
    path = evaluation_dir(version) / SCORECARD_FILE
    return Scorecard.of(json.loads(path.read_text())) if path.is_file() else None


def load_scorecard(settings: Settings, twin: str, version: str = "final", db: Database | None = None) -> Scorecard:
    found = Registry(settings.resolved_models_dir).get(twin, version)
    card = saved_scorecard(found)
    if card is None:
        raise EvaluationError(f"{twin} {found.name} has not been evaluated yet (doppel eval {found.name})")
    return with_human(card, db or Database(settings), found)


def scorecard_summary(version: Version, db: Database) -> dict | None:
    """A few headline numbers of a version's saved scorecard (human numbers live), or None if unevaluated."""
    card = saved_scorecard(version)
    if card is None:
        return None
    numbers = with_human(card, db, version).headline()
    return {
        "evaluated_at": card.evaluated_at,
        "val_loss": numbers["fit.val_loss"],
        "style_share": numbers["style.twin_share"],
        "base_style_share": numbers["style.base_share"],
        "similarity": numbers["style.twin_similarity"],
        "distinct_replies": numbers["style.distinct_replies"],
        "relevance": numbers["style.relevance"],
        "decision_accuracy": numbers["decisions.accuracy"],
        "human_share_fooled": numbers["human.share_fooled"],
        "human_mean_score": numbers["human.mean_score"],
        "human_reviews": numbers["human.reviews"],
    }


def write_report_for(settings: Settings, twin: str, version: Version, card: Scorecard) -> Path:
    """Render the version's HTML report with every earlier evaluated version as history."""
    from doppel.evaluation.report import render_report, write_report

    history = []
    for other in Registry(settings.resolved_models_dir).versions(twin):
        saved = card if other.name == version.name else saved_scorecard(other)
        if saved is not None:
            history.append(saved)
    path = evaluation_dir(version) / REPORT_FILE
    write_report(path, render_report(card, history=history, metrics=version.metrics))
    return path
