"""Seeded kills during training, export and promotion: invariants hold after every one (see chaos.py).

`make test` runs three (two seeded moments, one at registration); the full run (30 seeded moments and each
of gate, registration and export for both targets) is `make test-long`, with its results in
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import pytest

from tests.integration.chaos import Chaos, chaos_config, kill_points, stage_points

SEED = 14


def _run(points, tmp_path, home, demo_db, tiny_model_dir) -> list:
    config = chaos_config(tmp_path / "chaos.toml", home, demo_db, tiny_model_dir)
    outcomes = []
    with Chaos(config, home, demo_db, tmp_path) as chaos:
        for target, at in points:
            outcomes.append(chaos.strike(target, at))
        removed = chaos.restart_worker()
        print(f"\nundisturbed run: {chaos.duration:.1f} s; leftovers removed by a new worker: {removed}")
    for o in outcomes:
        when = f"at stage {o.at}" if isinstance(o.at, str) else f"at {o.at:.2f} of a run"
        print(
            f"kill {o.target} {when}: {o.state} after {o.attempts} attempt(s)"
            f"{' (run had finished)' if o.missed else ''} {o.note[:80]}"
        )
    return outcomes


def test_a_few_seeded_kills_leave_everything_consistent(tmp_path, home, demo_db, tiny_model_dir):
    outcomes = _run([*kill_points(SEED, 2), ("child", "register")], tmp_path, home, demo_db, tiny_model_dir)
    assert len(outcomes) == 3


@pytest.mark.longrun
def test_thirty_seeded_kills_leave_everything_consistent(tmp_path, home, demo_db, tiny_model_dir):
    outcomes = _run([*kill_points(SEED, 30), *stage_points()], tmp_path, home, demo_db, tiny_model_dir)
    # Enough of them landed while the run was at work (not after it had finished) to mean something.
    assert sum(not o.missed for o in outcomes) >= 25
    # A dead worker's run resumes and succeeds; a killed child's run fails with its reason.
    assert all(o.state == "succeeded" for o in outcomes if o.target == "worker" and not o.missed)
