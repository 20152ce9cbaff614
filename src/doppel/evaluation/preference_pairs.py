"""The pairs preference training learns from, and the held-out pairs its gain is measured on.

Two sources give a pair (a prompt, a chosen reply, a rejected reply):

- an edit of a twin's reply (``doppel.feedback``): chosen = the edit, rejected = the reply;
- a blind review (``doppel.reviews``) where the reviewer picked the person's real reply over the
  twin's: chosen = the real reply, rejected = the twin's.

A pair is held out when its prompt is a validation prompt: one of the data set's
validation examples (the scorecard's review pairs all are), or, for a prompt
the data set does not hold, by the same stable hash that splits the records.
Held-out pairs never train; they measure whether the twin now prefers the
chosen reply more often than final did.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from doppel.config import TwinConfig
from doppel.dataset.examples import BuildResult, Example, split_of
from doppel.dataset.tokenize import encode
from doppel.db import SCHEMA, Database
from doppel.evaluation.reviews import PAIRS_FILE, load_pairs
from doppel.evaluation.store import evaluation_dir
from doppel.feedback import list_feedback
from doppel.registry import Registry
from doppel.training.preference import TokenizedPair


@dataclass
class PreferencePairs:
    train: list[TokenizedPair] = field(default_factory=list)
    held_out: list[TokenizedPair] = field(default_factory=list)
    feedback_ids: list[int] = field(default_factory=list)  # the edits among ``train``: marked learned
    sources: dict[str, int] = field(default_factory=dict)  # {"edits": n, "reviews": n}

    def counts(self) -> dict:
        return {"train": len(self.train), "held_out": len(self.held_out), **self.sources}


@dataclass(frozen=True)
class _Raw:
    prompt: list[dict]  # the turns before the reply, without the system turn
    chosen: str
    rejected: str
    source: str  # "edit" | "review"
    feedback_id: int | None = None


def collect_pairs(
    db: Database, registry: Registry, twin: TwinConfig, built: BuildResult, tokenizer, max_length: int
) -> PreferencePairs:
    """Every pair on file for the twin, tokenized as training examples are, split into train and held out."""
    raws = _edits(db, twin.name) + _reviews(db, registry, twin.name)
    known = {_prompt_key(e.prompt_messages): e.split for e in built.examples}
    system = {"role": "system", "content": twin.persona.system_message()}
    out, seen = PreferencePairs(), set()
    for raw in raws:
        key = _prompt_key(raw.prompt)
        identity = (key, raw.chosen.strip(), raw.rejected.strip())
        if identity in seen:
            continue
        seen.add(identity)
        split = known.get(key) or split_of(f"feedback:{key}", twin.training.val_fraction)
        name = hashlib.sha256("\0".join(identity).encode()).hexdigest()[:12]
        chosen, rejected = (
            encode(
                tokenizer,
                Example((system, *raw.prompt, {"role": "assistant", "content": text}), split, raw.source, name),
                max_length,
            )
            for text in (raw.chosen, raw.rejected)
        )
        pair = TokenizedPair(chosen, rejected, key=name)
        if split == "val":
            out.held_out.append(pair)
        else:
            out.train.append(pair)
            if raw.feedback_id is not None:
                out.feedback_ids.append(raw.feedback_id)
        out.sources[raw.source + "s"] = out.sources.get(raw.source + "s", 0) + 1
    return out


def _prompt_key(turns: list[dict]) -> str:
    """A prompt's identity: its turns' roles and words, whitespace-normalised (no system turn)."""
    return "\n".join(f"{t['role']}: {' '.join(str(t['content']).split())}" for t in turns if t["role"] != "system")


def _edits(db: Database, twin: str) -> list[_Raw]:
    return [
        _Raw([m for m in f.messages if m["role"] != "system"], f.edited or "", f.reply, "edit", f.id)
        for f in list_feedback(db, twin)
        if f.is_pair
    ]


def _reviews(db: Database, registry: Registry, twin: str) -> list[_Raw]:
    """Review pairs whose reviewer picked the real reply, from every version that kept its pairs."""
    with db.connection() as conn:
        rows = conn.execute(
            f"SELECT DISTINCT version, pair_id FROM {SCHEMA}.reviews WHERE twin = %s AND picked = 'real'", (twin,)
        ).fetchall()
    wanted: dict[str, set[str]] = {}
    for version, pair_id in rows:
        wanted.setdefault(version, set()).add(pair_id)
    raws = []
    for version in registry.versions(twin):
        if version.name not in wanted or not (evaluation_dir(version) / PAIRS_FILE).is_file():
            continue
        for pair in load_pairs(evaluation_dir(version))["pairs"]:
            if pair["pair_id"] in wanted[version.name] and pair["real"].strip() != pair["twin"].strip():
                prompt = [*pair.get("history", []), {"role": "user", "content": pair["prompt"]}]
                raws.append(_Raw(prompt, pair["real"], pair["twin"], "review"))
    return raws
