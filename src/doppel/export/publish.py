"""Export a version and push it to the twin's Ollama hosts: what `export.after_promotion` runs."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from doppel.config import Settings, TwinConfig
from doppel.registry import FINAL, Registry, Version

log = logging.getLogger(__name__)


@dataclass
class Published:
    version: str
    gguf: str | None = None
    hosts: list[dict] = field(default_factory=list)  # one {"host", "ok", "error", ...} per host
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and all(h["ok"] for h in self.hosts)

    def summary(self) -> str:
        if self.error:
            return f"export of {self.version} failed: {self.error}"
        failed = [h["host"] for h in self.hosts if not h["ok"]]
        pushed = f", pushed to {len(self.hosts) - len(failed)}/{len(self.hosts)} Ollama hosts" if self.hosts else ""
        return f"exported {self.version}{pushed}" + (f" (failed: {', '.join(failed)})" if failed else "")


def ollama_tags(version: Version, *, is_final: bool) -> list[str]:
    """Every version under its own tag; the final one also as ``latest`` (what `ollama run <twin>` picks)."""
    return [version.name, "latest"] if is_final else [version.name]


def ollama_target(settings: Settings, twin: TwinConfig, version: Version) -> tuple[str, list[str]]:
    """The Ollama model and tags ``version`` is pushed as; ``doppel distribute`` and :func:`publish` both use it,
    so a version gets the same names on the hosts whichever way it went out."""
    final = Registry(settings.resolved_models_dir).final(twin.name)
    is_final = final is not None and final.name == version.name
    return twin.inference.model or twin.name, ollama_tags(version, is_final=is_final)


def publish(settings: Settings, twin: TwinConfig, version: Version, *, progress=None) -> Published:
    """Export ``version`` (merged, GGUF, Modelfile) and push it to ``export.hosts``. Never raises for a host:
    each one's outcome is in the result, so one host down does not stop the others (or the caller)."""
    from doppel.export.distribute import distribute
    from doppel.export.run import export_version

    result = Published(version.name)
    try:
        exported = export_version(settings, twin, version, progress=progress)
        result.gguf = str(exported.gguf)
    except Exception as exc:  # the version stays final and usable; the run reports what failed
        log.error("export of %s %s failed: %s", twin.name, version.name, exc)
        result.error = f"{type(exc).__name__}: {exc}"
        return result
    if twin.export.hosts:
        model, tags = ollama_target(settings, twin, version)
        outcomes = distribute(exported.folder, twin.export.hosts, model, tags)
        result.hosts = [_host_dict(o) for o in outcomes]
    return result


def _host_dict(outcome) -> dict:
    return {
        k: getattr(outcome, k) for k in ("host", "ok", "uploaded", "skipped", "seconds", "error") if hasattr(outcome, k)
    }


__all__ = ["FINAL", "Published", "ollama_tags", "ollama_target", "publish"]
