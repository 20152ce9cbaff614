"""``doppel doctor``: everything a run needs, checked up front, each with what to fix."""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass
from typing import Literal

import psutil

from doppel.config import Settings
from doppel.db import Database, DatabaseError
from doppel.sources import EMBEDDED_HINT, check_twin_tables
from doppel.training.base_models import BaseModelError, resolve_base_model
from doppel.training.placement import cpu_has_native_bf16

Status = Literal["ok", "warn", "fail"]

MIN_FREE_DISK_GB = 5.0
MIN_FREE_MEMORY_GB = 4.0


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str


def _database(settings: Settings) -> tuple[list[Check], Database | None]:
    db = Database(settings)
    roles = [("database", db)] if db.crm is db else [("CRM database", db.crm), ("state database", db)]
    checks = []
    for name, which in roles:
        try:
            with which.connection() as conn:
                version = conn.execute("SHOW server_version").fetchone()[0]
            checks.append(Check(name, "ok", f"{which.describe()}, PostgreSQL {version}"))
        except DatabaseError as exc:
            checks.append(Check(name, "fail", str(exc)))
    return checks, db if all(c.status == "ok" for c in checks) else None


def _tables(settings: Settings, db: Database) -> list[Check]:
    checks = []
    with db.crm.connection() as conn:
        for twin in settings.twins:
            for source, problem in check_twin_tables(conn, twin).items():
                name = f"{twin.name}: {source}"
                if problem and settings.embedded and "does not exist" in problem:
                    problem += f" ({EMBEDDED_HINT})"
                found = Check(name, "ok", "tables and columns found")
                checks.append(Check(name, "fail", problem) if problem else found)
            if not twin.sources.enabled():
                checks.append(Check(f"{twin.name}: sources", "fail", "every source is disabled (sources.*.enabled)"))
    return checks


def _base_models(settings: Settings) -> list[Check]:
    checks = []
    for twin in settings.twins:
        try:
            base = resolve_base_model(twin.base_model, settings.home)
            checks.append(Check(f"{twin.name}: base model", "ok", f"{base.name} ({base.path})"))
        except BaseModelError as exc:
            checks.append(Check(f"{twin.name}: base model", "fail", str(exc)))
    return checks


def _gpu() -> Check:
    import torch

    if torch.cuda.is_available():
        free, total = torch.cuda.mem_get_info(0)
        has_bnb = importlib.util.find_spec("bitsandbytes") is not None
        mode = "4-bit QLoRA" if has_bnb else "LoRA (pip install bitsandbytes for 4-bit QLoRA)"
        return Check(
            "gpu",
            "ok" if has_bnb else "warn",
            f"{torch.cuda.get_device_name(0)}: {free / 2**30:.1f} of {total / 2**30:.1f} GiB free; {mode}",
        )
    precision = "bf16 autocast" if cpu_has_native_bf16() else "fp32 (no native bf16 on this CPU)"
    return Check("gpu", "warn", f"no CUDA GPU: training runs on CPU in {precision}; fine for small models")


def _serving(settings: Settings) -> list[Check]:
    """Which backend serves each twin here: ``auto`` depends on the machine (CUDA, llama_cpp), so say what it is."""
    from doppel.inference.backends import auto_choice, cuda_available, llama_cpp_can_serve

    checks = []
    for twin in settings.twins:
        kind, name = twin.inference.backend, f"{twin.name}: serving"
        if kind == "auto":
            choice = auto_choice(twin)
            slow = choice.kind == "transformers" and not cuda_available()
            detail = f"auto: {choice.kind} ({choice.reason})"
            # transformers on a CPU replies about 5x slower than llama.cpp: worth a warning, not a failure.
            checks.append(Check(name, "warn" if slow else "ok", detail))
        elif kind == "llamacpp" and (problem := llama_cpp_can_serve(twin)):
            checks.append(Check(name, "fail", f"llamacpp: {problem}"))
        else:
            checks.append(Check(name, "ok", kind))
    return checks


def _disk(settings: Settings) -> Check:
    settings.home.mkdir(parents=True, exist_ok=True)
    free_gb = shutil.disk_usage(settings.home).free / 2**30
    status: Status = "ok" if free_gb >= MIN_FREE_DISK_GB else "warn"
    fix = "" if status == "ok" else f"; free some space or point DOPPEL_HOME elsewhere (want {MIN_FREE_DISK_GB:g} GiB)"
    return Check("disk", status, f"{free_gb:.1f} GiB free at {settings.home}{fix}")


def _memory() -> Check:
    available = psutil.virtual_memory().available / 2**30
    status: Status = "ok" if available >= MIN_FREE_MEMORY_GB else "warn"
    fix = "" if status == "ok" else "; training a 135M model wants about 4 GiB"
    return Check("memory", status, f"{available:.1f} GiB available{fix}")


def _converter(settings: Settings) -> Check:
    from doppel.export.gguf import GGUFExportError, converter_script

    try:
        return Check("gguf converter", "ok", f"llama.cpp's converter at {converter_script(settings.home)}")
    except GGUFExportError as exc:
        return Check("gguf converter", "warn", f"`doppel export` cannot make GGUF files: {exc}")


def _retrieval(settings: Settings, db: Database) -> list[Check]:
    """pgvector where a twin retrieves: creating the extension and table is what a training run would do."""
    from doppel.retrieval.store import RecordIndex, RetrievalUnavailable

    wanted = [t for t in settings.twins if t.retrieval.enabled]
    if not wanted:
        return []
    index = RecordIndex(db)
    try:
        index.ensure()
    except RetrievalUnavailable as exc:
        return [Check("retrieval", "fail", str(exc))]
    checks = []
    for twin in wanted:
        rows = sum(index.count(twin.name).values())
        status, text = ("ok", f"{rows} records indexed") if rows else ("warn", "no index yet: run `doppel index`")
        checks.append(Check(f"{twin.name}: retrieval", status, text))
    return checks


def run_checks(settings: Settings) -> list[Check]:
    checks, db = _database(settings)
    if db is not None:
        checks += _tables(settings, db)
        checks += _retrieval(settings, db)
    checks += _base_models(settings)
    checks += _serving(settings)
    checks += [_gpu(), _converter(settings), _disk(settings), _memory()]
    return checks
