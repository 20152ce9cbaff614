"""A version's PEFT LoRA adapter as a llama.cpp LoRA adapter GGUF.

llama.cpp then serves the untouched base GGUF plus this small file, the same
split as transformers' base + PEFT adapter. Two things differ from PEFT:

* llama GGUFs store q/k projection rows permuted for llama.cpp's RoPE layout
  (the permutation transformers undoes when it reads a GGUF), so ``lora_b`` of
  q_proj and k_proj is permuted the same way, with the heads of q and of k/v;
* numpy shapes are GGUF dimensions reversed: ``lora_a`` (r, in) is stored as
  ne [in, r] and ``lora_b`` (out, r) as ne [r, out], as llama.cpp expects.

The file lives at ``<version>/export/adapter-lora.gguf``, keyed by a hash of
the adapter so a stale export is rebuilt, never served.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from doppel.atomic import atomic_path
from doppel.config import DEFAULT_BASE_MODEL
from doppel.registry import Version

EXPORT_DIR = "export"
EXPORT_NAME = "adapter-lora.gguf"
CONVERTER = 1  # part of the cache key: bump when the output changes so old exports are rebuilt
_KEY_FIELD = "doppel.adapter.key"

# PEFT module (parent, name) -> llama.cpp tensor name inside blk.{i}.
MODULES = {
    ("self_attn", "q_proj"): "attn_q",
    ("self_attn", "k_proj"): "attn_k",
    ("self_attn", "v_proj"): "attn_v",
    ("self_attn", "o_proj"): "attn_output",
    ("mlp", "gate_proj"): "ffn_gate",
    ("mlp", "up_proj"): "ffn_up",
    ("mlp", "down_proj"): "ffn_down",
}
_TENSOR = re.compile(r"^base_model\.model\.model\.layers\.(\d+)\.(\w+)\.(\w+)\.lora_([AB])\.weight$")
# Init schemes that leave the base weights as they are; PiSSA, OLoRA, LoftQ, CorDA rewrite them,
# so their adapter is wrong on the original base GGUF.
_SAFE_INITS = {True, False, "gaussian", "eva", "orthogonal"}
# Adapter options llama.cpp has no equivalent for (a truthy value means the adapter uses it).
_UNSUPPORTED = {
    "use_dora": "DoRA (weight-decomposed LoRA)",
    "use_qalora": "QA-LoRA",
    "use_bdlora": "block-diagonal LoRA",
    "alora_invocation_tokens": "activated LoRA",
    "alpha_pattern": "per-module alpha (alpha_pattern)",
    "modules_to_save": "fully trained modules (modules_to_save)",
    "trainable_token_indices": "trained token embeddings (trainable_token_indices)",
    "target_parameters": "LoRA on parameters (target_parameters)",
    "layer_replication": "layer replication",
    "lora_bias": "LoRA biases (lora_bias)",
    "fan_in_fan_out": "transposed (fan_in_fan_out) weights",
}


class AdapterExportError(ValueError):
    """The adapter cannot be turned into a llama.cpp LoRA GGUF; the message says why."""


@dataclass(frozen=True)
class BaseShape:
    """What the conversion needs to know about the base model."""

    arch: str
    n_head: int
    n_head_kv: int
    n_layer: int
    tensors: dict[str, tuple[int, ...]] = field(default_factory=dict)  # GGUF name -> ne; empty: unknown


def adapter_gguf(version: Version, *, force: bool = False) -> Path:
    """The version's adapter as a llama.cpp LoRA GGUF, converted once and reused while the adapter is unchanged."""
    adapter_dir = version.adapter_dir
    config_path, weights_path = adapter_dir / "adapter_config.json", adapter_dir / "adapter_model.safetensors"
    if not config_path.is_file() or not weights_path.is_file():
        raise AdapterExportError(
            f"{adapter_dir} holds no PEFT adapter (adapter_config.json + adapter_model.safetensors)"
        )
    key = _adapter_key(config_path, weights_path)
    out = version.path / EXPORT_DIR / EXPORT_NAME
    if not force and out.is_file() and _stored_key(out) == key:
        return out
    lora_config = json.loads(config_path.read_text())
    _check_config(lora_config)
    base = _base_shape(version, lora_config)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed: a reader (or a concurrent converter) never sees half a file.
    with atomic_path(out) as tmp:
        write_adapter_gguf(lora_config, weights_path, tmp, base, key=key, name=f"{version.twin} {version.name}")
    return out


def write_adapter_gguf(
    lora_config: dict, weights: Path, out: Path, base: BaseShape, *, key: str = "", name: str = ""
) -> None:
    """Convert the PEFT adapter (its config and safetensors file) into ``out``."""
    import gguf

    _check_config(lora_config)
    if base.arch != "llama":
        raise AdapterExportError(f"only Llama-architecture base models are supported, not {base.arch!r}")
    tensors = {}
    for (layer, target), (a, b) in sorted(_load_pairs(weights).items()):
        weight = f"blk.{layer}.{target}.weight"
        _check_shapes(weight, a, b, base)
        if lora_config.get("use_rslora"):
            # PEFT scales by alpha/sqrt(r), llama.cpp by alpha/r: fold the difference into lora_b.
            b = b * math.sqrt(a.shape[0])
        if target == "attn_q":
            b = rope_permute(b, base.n_head)
        elif target == "attn_k":
            b = rope_permute(b, base.n_head_kv)
        tensors[f"{weight}.lora_a"] = np.ascontiguousarray(a, dtype=np.float32)
        tensors[f"{weight}.lora_b"] = np.ascontiguousarray(b, dtype=np.float32)
    # Everything is checked before the file is opened.
    writer = gguf.GGUFWriter(out, base.arch)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(lora_config["lora_alpha"]))
    if name:
        writer.add_name(name)
    if key:
        writer.add_string(_KEY_FIELD, key)
    for tensor_name, array in tensors.items():
        writer.add_tensor(tensor_name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def rope_permute(rows: np.ndarray, n_head: int) -> np.ndarray:
    """Reorder output rows from Hugging Face's rotate-half RoPE layout to llama.cpp's interleaved one."""
    out = rows.shape[0]
    if out % (2 * n_head):
        raise AdapterExportError(f"{out} q/k rows do not split into {n_head} heads of even size")
    return rows.reshape(n_head, 2, out // n_head // 2, *rows.shape[1:]).swapaxes(1, 2).reshape(rows.shape)


def _check_config(cfg: dict) -> None:
    if cfg.get("peft_type", "LORA") != "LORA":
        raise AdapterExportError(f"the adapter is {cfg.get('peft_type')!r}, not LoRA; llama.cpp loads LoRA only")
    used = [what for key, what in _UNSUPPORTED.items() if cfg.get(key)]
    if cfg.get("bias", "none") != "none":
        used.append(f"trained biases (bias={cfg['bias']!r})")
    init = cfg.get("init_lora_weights", True)
    if not isinstance(init, (bool, str)) or init not in _SAFE_INITS:
        used.append(f"init_lora_weights={init!r}, which changes the base weights")
    if used:
        raise AdapterExportError(f"the adapter uses {', '.join(used)}, which a llama.cpp LoRA GGUF cannot express")


def _load_pairs(weights: Path) -> dict[tuple[int, str], tuple[np.ndarray, np.ndarray]]:
    from safetensors.torch import load_file

    parts: dict[tuple[int, str], dict[str, np.ndarray]] = {}
    unknown = []
    for key, value in load_file(str(weights)).items():
        match = _TENSOR.match(key)
        target = MODULES.get((match.group(2), match.group(3))) if match else None
        if target is None:
            unknown.append(key)
            continue
        # float() first: numpy has no bfloat16, and llama.cpp adds LoRA in f32 anyway.
        parts.setdefault((int(match.group(1)), target), {})[match.group(4)] = value.float().numpy()
    if unknown:
        shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        hint = " (DoRA magnitudes)" if any("lora_magnitude_vector" in k for k in unknown) else ""
        raise AdapterExportError(
            f"the adapter has tensors llama.cpp conversion does not know{hint}: {shown}; only LoRA on the "
            "q/k/v/o attention and gate/up/down MLP projections of decoder layers can be converted"
        )
    if not parts:
        raise AdapterExportError(f"{weights} holds no LoRA tensors")
    half = [f"layer {layer} {target}" for (layer, target), ab in parts.items() if set(ab) != {"A", "B"}]
    if half:
        raise AdapterExportError(f"the adapter lacks lora_A or lora_B for {', '.join(sorted(half))}")
    return {k: (ab["A"], ab["B"]) for k, ab in parts.items()}


def _check_shapes(tensor: str, a: np.ndarray, b: np.ndarray, base: BaseShape) -> None:
    layer = int(tensor.split(".")[1])
    if layer >= base.n_layer:
        raise AdapterExportError(f"the adapter has layer {layer} but the base model has {base.n_layer} layers")
    if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[1]:
        raise AdapterExportError(f"{tensor}: lora_A {a.shape} and lora_B {b.shape} do not make a LoRA pair")
    ne = base.tensors.get(tensor)
    if base.tensors and ne is None:
        raise AdapterExportError(f"the base model has no tensor {tensor} for the adapter to modify")
    if ne is not None and (a.shape[1], b.shape[0]) != tuple(ne[:2]):
        raise AdapterExportError(
            f"{tensor}: the adapter maps {a.shape[1]} -> {b.shape[0]} but the base weight is {ne[0]} -> {ne[1]}; "
            "was it trained on another base model?"
        )


def _adapter_key(config_path: Path, weights_path: Path) -> str:
    from doppel.digests import sha256_file

    digest = hashlib.sha256(f"converter {CONVERTER}\n".encode())
    digest.update(hashlib.sha256(config_path.read_bytes()).digest())
    digest.update(sha256_file(weights_path).encode())
    return digest.hexdigest()


def _stored_key(path: Path) -> str | None:
    try:
        return read_gguf_header(path)[0].get(_KEY_FIELD)
    except Exception:  # unreadable or truncated: convert again
        return None


def _base_shape(version: Version, lora_config: dict) -> BaseShape:
    """Head counts (and tensor shapes when known) of the base the adapter was trained on."""
    name = (version.manifest.get("base_model") or {}).get("name") or (
        version.read_json("config.json").get("base_model") or {}
    ).get("name")
    if name == DEFAULT_BASE_MODEL:
        from doppel.training.base_models import smollm2_gguf

        return gguf_shape(smollm2_gguf())
    folder = lora_config.get("base_model_name_or_path") or ""
    config_file = Path(folder).expanduser() / "config.json"
    if not folder or not config_file.is_file():
        raise AdapterExportError(
            f"cannot find the base model's config.json (adapter base {folder!r}) to read its attention heads"
        )
    hf = json.loads(config_file.read_text())
    n_head = int(hf["num_attention_heads"])
    return BaseShape(
        arch=hf.get("model_type", "?"),
        n_head=n_head,
        n_head_kv=int(hf.get("num_key_value_heads") or n_head),
        n_layer=int(hf["num_hidden_layers"]),
    )


@lru_cache(maxsize=8)
def gguf_shape(path: Path) -> BaseShape:
    """The heads, layers and tensor shapes of a model GGUF, read from its header."""
    fields, tensors = read_gguf_header(path)

    def value(key: str):
        if key not in fields:
            raise AdapterExportError(f"{path} lacks {key}")
        return fields[key]

    arch = str(value("general.architecture"))
    n_head = int(value(f"{arch}.attention.head_count"))
    return BaseShape(
        arch=arch,
        n_head=n_head,
        n_head_kv=int(fields.get(f"{arch}.attention.head_count_kv", n_head)),
        n_layer=int(value(f"{arch}.block_count")),
        tensors=tensors,
    )


# GGUF value types: struct format of the scalars; 8 is a string, 9 an array.
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


def read_gguf_header(path: Path) -> tuple[dict, dict[str, tuple[int, ...]]]:
    """Scalar and string metadata (arrays skipped) and tensor shapes (ne) of a GGUF file.

    gguf.GGUFReader takes seconds on a model GGUF because it builds a numpy view per
    vocabulary entry; skipping the arrays reads the same header in milliseconds.
    """
    import mmap
    import struct

    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        if buf[:4] != b"GGUF":
            raise AdapterExportError(f"{path} is not a GGUF file")
        version, n_tensors, n_kv = struct.unpack_from("<IQQ", buf, 4)
        if version < 2:
            raise AdapterExportError(f"{path} is GGUF v{version}; only v2 and later are read")
        pos = 24

        def take(fmt: str):
            nonlocal pos
            out = struct.unpack_from("<" + fmt, buf, pos)[0]
            pos += struct.calcsize("<" + fmt)
            return out

        def string() -> str:
            nonlocal pos
            size = take("Q")
            pos += size
            return bytes(buf[pos - size : pos]).decode("utf-8", "replace")

        def skip_array() -> None:
            nonlocal pos
            kind, count = take("I"), take("Q")
            if kind in _SCALARS:
                pos += count * struct.calcsize("<" + _SCALARS[kind])
            elif kind == 8:
                for _ in range(count):
                    size = take("Q")  # not `pos += take()`: that reads pos before take moves it
                    pos += size
            else:
                for _ in range(count):
                    skip_array()

        fields: dict = {}
        for _ in range(n_kv):
            key, kind = string(), take("I")
            if kind in _SCALARS:
                fields[key] = take(_SCALARS[kind])
            elif kind == 8:
                fields[key] = string()
            elif kind == 9:
                skip_array()
            else:
                raise AdapterExportError(f"{path}: unknown GGUF value type {kind} for {key}")
        tensors = {}
        for _ in range(n_tensors):
            name = string()
            dims = tuple(take("Q") for _ in range(take("I")))
            pos += 4 + 8  # type, offset
            tensors[name] = dims
    return fields, tensors
