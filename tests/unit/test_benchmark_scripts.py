"""Every benchmark script still imports: they run rarely, so a moved function would otherwise go unnoticed."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"
SCRIPTS = sorted(p for p in BENCHMARKS.glob("*.py") if "__main__" in p.read_text())


def test_there_are_benchmark_scripts():
    assert {p.stem for p in SCRIPTS} >= {"decide_latency", "evaluation", "inference", "nightly", "train_step"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_the_script_imports(script, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # they share benchmarks/timing.py
    spec = importlib.util.spec_from_file_location(f"benchmark_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)  # top-level imports only: main() is behind __name__ == "__main__"
    assert callable(getattr(module, "main", None))


def _load(name: str, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_decide_latency_never_asks_a_situation_twice(monkeypatch):
    bench = _load("decide_latency", monkeypatch)
    # Its default run: 20 timed calls and 1 warm-up for each of 4 sides, each call a situation of its own.
    drawn = bench.situations((20 + 1) * 4)
    assert len(set(drawn)) == len(drawn) == 84
    assert drawn == bench.situations(84)  # seeded: the same run asks the same situations
    lengths = sorted(len(s) for s in drawn)
    assert lengths[-1] < 2 * lengths[0]  # similar lengths, so no call is timed on a much longer prompt


def test_percentile_interpolates_like_numpy(monkeypatch):
    timing = _load("timing", monkeypatch)
    values = [float(v) for v in range(1, 21)]
    assert timing.percentile(values, 50) == 10.5
    assert timing.percentile(values, 95) == pytest.approx(19.05)
    assert timing.percentile([3.0], 95) == 3.0 and timing.percentile(values, 100) == 20.0


def _gpu_train(*flags: str) -> subprocess.CompletedProcess:
    script = BENCHMARKS / "gpu_train.py"
    return subprocess.run([sys.executable, str(script), *flags], capture_output=True, text=True, timeout=300)


def test_gpu_train_says_it_needs_cuda():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    done = _gpu_train()
    assert done.returncode == 1
    assert "no CUDA GPU" in done.stderr and "--tiny --cpu" in done.stderr


@pytest.mark.timeout(300)
def test_gpu_train_smoke_run_on_the_cpu():
    """The GPU benchmark's own CPU mode, end to end: both sides load the tiny Llama in a child process each,
    train, and the report comes out."""
    for module in ("trl", "datasets"):  # the `bench` extra: the TRL baseline
        pytest.importorskip(module)
    done = _gpu_train("--tiny", "--cpu", "--repeats", "1", "--warmup", "1", "--steps", "1", "--length", "128")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    out = done.stdout
    assert "attention doppel_packed" in out  # doppel's per-example attention was in use
    for line in ("supervised tokens per second", "doppel / TRL, supervised tokens/s (medians)", "memory estimate"):
        assert line in out, out
    assert "repeat 1/1: doppel" in out and "repeat 1/1: TRL SFTTrainer" in out
