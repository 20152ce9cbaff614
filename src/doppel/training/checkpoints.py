"""Checkpoints: the adapter, optimizer and scheduler state, and progress so far.

Each checkpoint is written to a hidden temporary folder and renamed into
place, so a crash mid-write leaves the previous checkpoint as the latest one.
Only adapter weights are saved (the base model never changes), which keeps a
checkpoint a few megabytes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import torch

_NAME = re.compile(r"^step-(\d+)$")


def _adapter_state(model) -> dict[str, torch.Tensor]:
    from peft import get_peft_model_state_dict

    return {k: v.detach().cpu() for k, v in get_peft_model_state_dict(model).items()}


def save(folder: Path, step: int, model, optimizer, scheduler, progress: dict) -> Path:
    """Write checkpoint ``step-<step>``; ``progress`` is JSON (where in the data, results so far)."""
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"step-{step}"
    tmp = folder / f".step-{step}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    torch.save(
        {
            "adapter": _adapter_state(model),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": torch.get_rng_state(),
        },
        tmp / "state.pt",
    )
    (tmp / "progress.json").write_text(json.dumps(progress))
    shutil.rmtree(final, ignore_errors=True)
    os.rename(tmp, final)
    # Older checkpoints are no longer needed to resume.
    for old in folder.iterdir():
        match = _NAME.match(old.name)
        if match and int(match.group(1)) < step:
            shutil.rmtree(old, ignore_errors=True)
    return final


def latest(folder: Path) -> Path | None:
    if not folder.is_dir():
        return None
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    found = [(e, p) for e, p in found if (p / "progress.json").is_file() and (p / "state.pt").is_file()]
    return max(found)[1] if found else None


def load_latest(folder: Path, model, optimizer, scheduler) -> dict | None:
    """Restore the newest checkpoint into the given objects; its progress, or None when there is none."""
    path = latest(folder)
    if path is None:
        return None
    from peft import set_peft_model_state_dict

    state = torch.load(path / "state.pt", map_location="cpu", weights_only=True)
    set_peft_model_state_dict(model, state["adapter"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"])
    return json.loads((path / "progress.json").read_text())
