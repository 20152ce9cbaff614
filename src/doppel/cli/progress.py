"""Progress in the terminal: a stage line, a record counter while collecting, a bar while training."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from doppel.pipeline import Reporter
from doppel.sources.records import Record
from doppel.training.fit import StepInfo
from doppel.training.perplexity import LossResult

_STAGE_TEXT = {
    "base model": "Checking the base model",
    "load persona": "Loading the demo persona into PostgreSQL",
    "collect": "Collecting records",
    "dataset": "Building the data set",
    "index": "Indexing new records for retrieval (pgvector)",
    "train": "Training",
    "gate": "Comparing with the final version (promotion gate)",
    "register": "Registering the version",
    "evaluate": "Scoring the candidate (promotion.min_scores / max_scores)",
    "compare": "Comparing base, twin and real replies on held-out prompts",
    "export": "Exporting the new final version (merge, GGUF, Modelfile) and pushing it to Ollama hosts",
}


class RichReporter(Reporter):
    """A Reporter drawing with rich; use as a context manager around the work."""

    def __init__(self, console: Console):
        super().__init__()
        self.console = console
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            console=console,
            transient=False,
        )
        self._collect_task = None
        self._train_task = None
        self._counted: dict[str, object] = {}
        self.on_stage = self._stage
        self.on_progress = self._progress
        self.on_record = self._record
        self.callbacks = self

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()
        return False

    def _stage(self, name: str) -> None:
        if self._collect_task is not None:  # collecting is over once any later stage starts
            done = next(t.completed for t in self.progress.tasks if t.id == self._collect_task)
            self.progress.update(self._collect_task, total=done, completed=done)
            self.progress.stop_task(self._collect_task)
            self._collect_task = None
        self.console.print(f"[bold cyan]▸[/] {_STAGE_TEXT.get(name, name)}")

    def _progress(self, what: str, done: int, total: int) -> None:
        if what not in self._counted:
            if not total:
                return
            self._counted[what] = self.progress.add_task(what, total=total, info="")
        self.progress.update(self._counted[what], completed=done, total=total)

    def _record(self, record: Record) -> None:
        if self._collect_task is None:
            self._collect_task = self.progress.add_task("records", total=None, info="")
        self.progress.update(self._collect_task, advance=1, info=f"{record.source}")

    # fit callbacks
    def on_step(self, info: StepInfo) -> None:
        if self._train_task is None:
            self._train_task = self.progress.add_task("steps", total=info.total_steps, info="")
        self.progress.update(
            self._train_task,
            completed=info.step,
            info=f"epoch {info.epoch}/{info.epochs} · loss {info.loss:.3f} · {info.tokens_per_second:.0f} tok/s",
        )

    def on_eval(self, epoch: int, result: LossResult | None) -> None:
        if result is None:
            return
        when = "before training (base model)" if epoch == 0 else f"after epoch {epoch}"
        self.console.print(
            f"  val loss {result.loss:.3f} · perplexity {result.perplexity:.2f} {when} "
            f"[dim]({result.examples} examples, {result.tokens} tokens)[/]"
        )
