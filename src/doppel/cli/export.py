"""``doppel export`` and ``doppel distribute``: a version as GGUF and a Modelfile, pushed to Ollama hosts."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from doppel.cli.app import app
from doppel.cli.console import console, err_console
from doppel.cli.errors import fail, guard
from doppel.cli.settings import ConfigOpt, TwinOpt, command_settings, find_version
from doppel.config import Settings, TwinConfig
from doppel.registry import Version

VersionArg = Annotated[str, typer.Argument(help="Version to export (default: final).")]
FORCE_HELP = "Export a version trained on records someone asked to be forgotten (refused without it)."


@app.command("export")
@guard
def export_command(
    version: VersionArg = "final",
    config: ConfigOpt = None,
    twin: TwinOpt = None,
    quant: Annotated[str | None, typer.Option(help="f16 | q8_0 | q4_k_m (default: export.quant).")] = None,
    push: Annotated[bool, typer.Option(help="Also push it to export.hosts (as `doppel distribute`).")] = False,
    force: Annotated[bool, typer.Option("--force", help=FORCE_HELP)] = False,
):
    """Merge the version's adapter into the base model, convert it to GGUF, quantize, write a Modelfile.

    Everything goes to <models_dir>/<twin>/<version>/export/; `ollama create <twin> -f .../export/Modelfile`
    works from there by hand. Re-running reuses finished files.
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from doppel.export.run import export_version

    settings = command_settings(config)
    twin_cfg = settings.twin(twin)
    if quant is not None:
        export_cfg = twin_cfg.export.model_validate({**twin_cfg.export.model_dump(), "quant": quant})
        twin_cfg = twin_cfg.model_copy(update={"export": export_cfg})
    found = find_version(settings, twin_cfg, version)
    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err_console) as bar:
        task = bar.add_task(f"exporting {twin_cfg.name} {found.name}", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=f"{found.name}: {stage}", completed=done, total=total or None)

        result = export_version(settings, twin_cfg, found, quant=twin_cfg.export.quant, progress=progress, force=force)
    for label, path in (
        ("merged", result.merged_dir),
        ("f16 GGUF", result.gguf_f16),
        (f"{result.quant} GGUF", result.gguf),
        ("Modelfile", result.modelfile),
    ):
        if path is not None:
            size = _size(path)
            sys.stdout.write(f"{label:>12}: {path}" + (f"  ({size})" if size else "") + "\n")
    err_console.print(f"[dim]{sum(result.seconds.values()):.0f} s[/]")
    if push:
        _push(settings, twin_cfg, found, result.folder, twin_cfg.export.hosts)


@app.command()
@guard
def distribute(
    version: VersionArg = "final",
    config: ConfigOpt = None,
    twin: TwinOpt = None,
    host: Annotated[
        list[str] | None, typer.Option("--host", help="Ollama host URL, repeatable (default: export.hosts).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help=FORCE_HELP)] = False,
):
    """Push an exported version to Ollama hosts as <twin>:<version> (and <twin>:latest for final).

    Hosts are updated in parallel and get only the files they lack; one host down does not
    stop the others. Exits 1 if any host failed. Runs `doppel export` first if needed.
    """
    from doppel.export.run import export_version

    settings = command_settings(config)
    twin_cfg = settings.twin(twin)
    found = find_version(settings, twin_cfg, version)
    with err_console.status(f"exporting {twin_cfg.name} {found.name} (reused when already done)"):
        result = export_version(settings, twin_cfg, found, force=force)
    _push(settings, twin_cfg, found, result.folder, list(host or twin_cfg.export.hosts))


def _size(path: str | Path) -> str:
    path = Path(path)
    if path.is_dir():
        total = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    elif path.is_file():
        total = path.stat().st_size
    else:
        return ""
    return f"{total / 1e6:.0f} MB" if total >= 1e6 else f"{total / 1e3:.1f} kB"


def _push(settings: Settings, twin_cfg: TwinConfig, version: Version, folder: Path, hosts: list[str]) -> None:
    """Push an export to ``hosts`` as publishing does, one line per host; exit 1 if any host failed."""
    from doppel.export.distribute import distribute
    from doppel.export.publish import ollama_target

    if not hosts:
        fail(ValueError(f"no Ollama hosts: pass --host or set [twins.export] hosts for {twin_cfg.name}"))
    model, tags = ollama_target(settings, twin_cfg, version)
    with err_console.status(f"pushing {model}:{','.join(tags)} to {len(hosts)} host(s)"):
        outcomes = distribute(folder, hosts, model, tags)
    for o in outcomes:
        if o.ok:
            console.print(
                f"[green]ok[/]   {o.host}  {model}:{', '.join(tags)}  "
                f"(uploaded {o.uploaded / 1e6:.1f} MB, already there {o.skipped / 1e6:.1f} MB, {o.seconds:.1f} s)",
                soft_wrap=True,
            )
        else:
            console.print(f"[red]fail[/] {o.host}  {escape(str(o.error))}", soft_wrap=True)
    if not all(o.ok for o in outcomes):
        raise typer.Exit(1)
