"""Decision scenarios: a situation, the options, and what the person actually chose.

Two kinds feed the scorecard:

- files the team writes (YAML with a ``scenarios:`` list, or JSONL with one
  object per line), each scenario ``{id?, context, options, choice}`` where
  ``context`` is text or a mapping of facts (a ``question`` key is asked last);
- scenarios derived from the person's own closed deals in the validation
  split: the deal's facts are the situation and its final stage (won or lost)
  is the choice. Only held-out deals are used, because training prompts show
  a deal's stage next to its notes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from doppel.config import DealOutcomes, EvaluationConfig, Persona
from doppel.dataset.examples import split_of
from doppel.inference.decisions import DecisionError, check_options, situation_text
from doppel.sources.records import Record


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file, the scenario and the field."""


@dataclass(frozen=True)
class Scenario:
    id: str
    context: str | dict[str, Any]
    options: list[str]
    choice: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScenarioSet:
    name: str  # "scenarios" (files) or "deals" (derived)
    source: str  # where they came from, for the report
    scenarios: list[Scenario]


DEMO_PACKAGE = "doppel.demo"


def is_demo_persona(persona: Persona) -> bool:
    return persona == Persona()


def _check(raw: Any, where: str, index: int) -> Scenario:
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: scenario {index + 1} is not a mapping")
    sid = str(raw.get("id") or f"{index + 1}")
    missing = [k for k in ("context", "options", "choice") if k not in raw]
    if missing:
        raise ScenarioError(f"{where}: scenario {sid!r} has no {', '.join(missing)}")
    context = raw["context"]
    if not isinstance(context, (str, dict)):
        raise ScenarioError(f"{where}: scenario {sid!r}: context must be text or a mapping")
    if not isinstance(raw["options"], list):
        raise ScenarioError(f"{where}: scenario {sid!r}: options must be a list")
    try:
        situation_text(context)
        options = check_options([str(o) for o in raw["options"]])
    except DecisionError as exc:
        raise ScenarioError(f"{where}: scenario {sid!r}: {exc.field}: {exc}") from None
    choice = str(raw["choice"]).strip()
    matches = [o for o in options if o.casefold() == choice.casefold()]
    if not matches:
        raise ScenarioError(f"{where}: scenario {sid!r}: choice {choice!r} is not one of its options {options}")
    meta = {k: v for k, v in raw.items() if k not in ("id", "context", "options", "choice")}
    return Scenario(id=sid, context=context, options=options, choice=matches[0], meta=meta)


def parse_scenarios(text: str, where: str) -> list[Scenario]:
    """Scenarios from YAML (a ``scenarios:`` list, or a bare list) or JSONL text."""
    if where.endswith(".jsonl"):
        raws = []
        for n, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    raws.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ScenarioError(f"{where}: line {n} is not JSON: {exc.msg}") from None
    else:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ScenarioError(f"{where}: not valid YAML: {exc}") from None
        raws = data.get("scenarios") if isinstance(data, dict) else data
        if not isinstance(raws, list):
            raise ScenarioError(f"{where}: expected a 'scenarios:' list")
    scenarios = [_check(raw, where, i) for i, raw in enumerate(raws)]
    ids = [s.id for s in scenarios]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ScenarioError(f"{where}: scenario ids repeat: {repeated}")
    return scenarios


def load_scenario_file(path: Path) -> ScenarioSet:
    if not path.is_file():
        raise ScenarioError(f"scenario file {path} does not exist (twins.evaluation.scenarios)")
    return ScenarioSet("scenarios", str(path), parse_scenarios(path.read_text(), str(path)))


def demo_file(name: str) -> str:
    return (resources.files(DEMO_PACKAGE) / name).read_text()


def configured_sets(cfg: EvaluationConfig, persona: Persona) -> list[ScenarioSet]:
    """The twin's scenario files; the demo persona's own file when none are configured for it."""
    if cfg.scenarios is not None:
        return [load_scenario_file(Path(p)) for p in cfg.scenarios]
    if is_demo_persona(persona):
        return [
            ScenarioSet(
                "scenarios",
                "doppel/demo/scenarios.yaml",
                parse_scenarios(demo_file("scenarios.yaml"), "scenarios.yaml"),
            )
        ]
    return []


def deal_scenarios(records: list[Record], outcomes: DealOutcomes, val_fraction: float) -> ScenarioSet:
    """One scenario per held-out closed deal of the person: did it end won or lost?"""
    won = {s.casefold() for s in outcomes.won}
    lost = {s.casefold() for s in outcomes.lost}
    scenarios = []
    for record in records:
        if record.source != "deals" or split_of(record.group, val_fraction) != "val":
            continue
        stage = str(record.fields.get("deal_stage") or "").casefold()
        if stage not in won and stage not in lost:
            continue
        facts: dict[str, Any] = {"deal": record.fields.get("deal_name") or record.source_id}
        if record.fields.get("deal_amount") is not None:
            amount = float(record.fields["deal_amount"])  # NUMERIC arrives as Decimal
            facts["amount"] = int(amount) if amount.is_integer() else amount
        facts["question"] = "This deal is closed now. How did it end for you?"
        scenarios.append(
            Scenario(
                id=f"deal-{record.source_id}",
                context=facts,
                options=["Won", "Lost"],
                choice="Won" if stage in won else "Lost",
                meta={"stage": stage},
            )
        )
    return ScenarioSet("deals", "closed deals in the validation split", scenarios)
