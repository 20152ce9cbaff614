"""Every benchmark script still imports: they run rarely, so a moved function would otherwise go unnoticed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"
SCRIPTS = sorted(p for p in BENCHMARKS.glob("*.py") if "__main__" in p.read_text())


def test_there_are_benchmark_scripts():
    assert {p.stem for p in SCRIPTS} >= {"evaluation", "inference", "nightly", "train_step"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_the_script_imports(script, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # they share benchmarks/timing.py
    spec = importlib.util.spec_from_file_location(f"benchmark_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)  # top-level imports only: main() is behind __name__ == "__main__"
    assert callable(getattr(module, "main", None))
