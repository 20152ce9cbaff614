"""``doppel export``: a version as merged weights, GGUF files and an Ollama Modelfile.

Everything lands in ``<version>/export/``::

    merged/                              base + adapter, safetensors (kept when export.keep_merged)
    <twin>-<version>-f16.gguf            the converter's output, always made (every quantization starts from it)
    <twin>-<version>-<quant>.gguf        q8_0 / q4_k_m
    Modelfile, ollama.json               for ``ollama create`` / Ollama's /api/create

Each file is written aside and renamed, so a crash leaves no half file, and a
finished GGUF is recognised by the provenance in its header (twin, version,
base fingerprint, quantization): running the export again reuses it. The
version's manifest gains ``exports: {quant: {file, sha256, bytes, created_at}}``.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from doppel.atomic import atomic_write_json
from doppel.config import Settings, TwinConfig
from doppel.registry import MANIFEST, Version

EXPORT_DIR = "export"
MERGED = "merged"
STEPS = ("merge", "convert", "quantize", "modelfile")

Progress = Callable[[str, int, int], None]


class ExportError(ValueError):
    """The version cannot be exported as asked; the message says why."""


class ForgottenDataError(ExportError):
    """The version learned from records someone asked to be forgotten; exporting it needs ``force``."""


def check_exportable(settings: Settings, version: Version, *, force: bool = False) -> None:
    """Refuse a version marked as trained on forgotten records (doppel.privacy.forget), unless forced:
    an export leaves the machine and cannot be called back."""
    from doppel.registry import Registry

    requests = Registry(settings.resolved_models_dir).forgotten_marks(version.twin).get(version.name)
    if requests and not force:
        raise ForgottenDataError(
            f"{version.twin} {version.name} was trained on records of forget request"
            f"{'s' if len(requests) > 1 else ''} {', '.join(f'#{i}' for i in requests)}: export a version "
            "trained after them (`doppel train --full` makes one), or pass --force to export it anyway"
        )


@dataclass
class ExportResult:
    folder: Path
    merged_dir: Path | None  # None when export.keep_merged is off (or the GGUF was reused without it)
    gguf_f16: Path
    gguf: Path  # the requested quantization (the f16 file itself for quant="f16")
    modelfile: Path
    ollama_json: Path
    quant: str
    sizes: dict[str, int] = field(default_factory=dict)  # file (or folder) name -> bytes
    seconds: dict[str, float] = field(default_factory=dict)  # step -> seconds, for the steps that ran
    reused: list[str] = field(default_factory=list)  # steps skipped because their output was already there


def export_version(
    settings: Settings,
    twin: TwinConfig,
    version: Version,
    *,
    quant: str | None = None,
    progress: Progress | None = None,
    force: bool = False,
) -> ExportResult:
    """Merge, convert, quantize, write the Modelfile; ``force`` exports a version holding forgotten data."""
    from doppel.export import gguf

    check_exportable(settings, version, force=force)

    quant = quant or twin.export.quant
    if quant not in gguf.FTYPES:
        raise ExportError(f"unknown quantization {quant!r}; choose one of {', '.join(gguf.FTYPES)}")
    folder = version.path / EXPORT_DIR
    folder.mkdir(exist_ok=True)
    stem = f"{version.twin}-{version.name}"
    f16, target = folder / f"{stem}-f16.gguf", folder / f"{stem}-{quant}.gguf"
    merged = folder / MERGED
    metadata = _provenance(settings, twin, version)
    threads = twin.inference.threads or None
    result = ExportResult(folder, None, f16, target, folder / "Modelfile", folder / "ollama.json", quant)
    report = progress or (lambda stage, done, total: None)

    @contextmanager
    def step(name: str) -> Iterator[None]:
        report(name, STEPS.index(name), len(STEPS))
        start = time.perf_counter()
        yield
        result.seconds[name] = round(time.perf_counter() - start, 3)

    with _locked(folder):  # two exports of one version would do the same work twice
        _sweep(folder, stem)
        built: set[str] = set()
        if gguf.is_current(f16, metadata, "f16"):
            result.reused += ["merge", "convert"]
        else:
            if (merged / "config.json").is_file():  # renamed into place only when complete
                result.reused.append("merge")
            else:
                from doppel.export.merge import merge_version

                with step("merge"):
                    merge_version(settings, twin, version, merged)
            with step("convert"):
                script = gguf.converter_script(settings.home)
                gguf.convert(
                    merged, f16, script=script, metadata=metadata, name=f"{twin.name} {version.name}", threads=threads
                )
            built.add("f16")
        if quant != "f16":
            if gguf.is_current(target, metadata, quant):
                result.reused.append("quantize")
            else:
                with step("quantize"):
                    gguf.quantize(f16, target, quant, metadata, threads=threads)
                built.add(quant)
        with step("modelfile"):
            _write_ollama(settings, twin, version, target.name, folder)
        if twin.export.keep_merged and merged.is_dir():
            result.merged_dir = merged
        else:
            shutil.rmtree(merged, ignore_errors=True)
        _record(version, {"f16": f16, quant: target}, built)
        report("done", len(STEPS), len(STEPS))

    for path in (f16, target, result.modelfile, result.ollama_json):
        result.sizes[path.name] = path.stat().st_size
    if result.merged_dir is not None:
        result.sizes[f"{MERGED}/"] = sum(p.stat().st_size for p in merged.rglob("*") if p.is_file())
    return result


def _provenance(settings: Settings, twin: TwinConfig, version: Version) -> dict[str, str]:
    """What every GGUF of the version records (and what makes an existing one reusable)."""
    trained = version.manifest.get("base_model") or {}
    name = trained.get("name") or twin.base_model.name
    if name != twin.base_model.name:
        raise ExportError(
            f"{version.twin} {version.name} was trained on base model {name!r} but the twin is now configured with "
            f"{twin.base_model.name!r}; merging its adapter into another base would be wrong"
        )
    fingerprint = trained.get("fingerprint")
    if not fingerprint:
        from doppel.training.base_models import resolve_base_model

        fingerprint = resolve_base_model(twin.base_model, settings.home).fingerprint
    return {
        "doppel.twin": version.twin,
        "doppel.version": version.name,
        "doppel.base_model": name if len(name.encode()) <= 127 else "…" + name[-100:],  # a long local path
        "doppel.base_fingerprint": fingerprint or "unknown",
    }


def _write_ollama(settings: Settings, twin: TwinConfig, version: Version, gguf_name: str, folder: Path) -> None:
    from doppel.export.modelfile import check_chatml, ollama_spec, write_ollama_files
    from doppel.inference.backends.common import twin_tokenizer
    from doppel.training.base_models import context_length

    check_chatml(twin_tokenizer(settings, twin, version))  # the tokenizer (and template) it was trained with
    window = context_length(twin.base_model, settings.home)
    write_ollama_files(folder, ollama_spec(twin, gguf_name, context_window=window))


def _record(version: Version, files: dict[str, Path], built: set[str]) -> None:
    """Note the GGUFs in the manifest (rewritten atomically, every other key kept); rehash only what was built."""
    from doppel.digests import sha256_file

    path = version.path / MANIFEST
    manifest = json.loads(path.read_text())
    exports = manifest.setdefault("exports", {})
    for quant, gguf_path in files.items():
        rel, size = f"{EXPORT_DIR}/{gguf_path.name}", gguf_path.stat().st_size
        entry = exports.get(quant) or {}
        if quant in built or entry.get("file") != rel or entry.get("bytes") != size:
            exports[quant] = {
                "file": rel,
                "sha256": sha256_file(gguf_path),
                "bytes": size,
                "created_at": datetime.fromtimestamp(gguf_path.stat().st_mtime, UTC).isoformat(),
            }
    atomic_write_json(path, manifest, indent=2, default=str)


def _sweep(folder: Path, stem: str) -> None:
    """Remove what an interrupted export left aside (only ours: other writers share the folder)."""
    prefixes = (f".{stem}-", f".{MERGED}.", ".Modelfile.", ".ollama.json.")
    for path in folder.iterdir():
        if path.name.startswith(prefixes) and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.name.startswith(prefixes):
            path.unlink(missing_ok=True)


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    with open(folder / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield
