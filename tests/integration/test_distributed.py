"""Training on several processes with torchrun and DDP, on CPU with gloo (the same code path as NCCL on GPUs).

The launch is the real one: ``torch.distributed.run`` starts the processes and they join its rendezvous;
nothing here builds a process group by hand.
"""

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from doppel.db import Database
from doppel.jobs.child import run_in_child
from doppel.registry import Registry
from doppel.runs import create_run, get_run, request_cancel

SCRIPT = Path(__file__).with_name("distributed_fit.py")
FAST = {"max_steps": 4, "batch_size": 4, "max_length": 128, "eval_batches": 2, "epochs": 1}


def _torchrun(processes: int, model_dir: Path, out: Path) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}"]
        + [str(SCRIPT), str(model_dir), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return torch.load(out, weights_only=True)


def test_two_gloo_processes_train_the_adapter_one_process_trains(tiny_model_dir, tmp_path):
    alone = _torchrun(1, tiny_model_dir, tmp_path / "one.pt")
    pair = _torchrun(2, tiny_model_dir, tmp_path / "two.pt")
    assert alone["steps"] == pair["steps"] == 8  # 2 epochs of 4 steps (3+3+3+1 examples)
    # The same global batch gives the same step losses: each rank's loss is scaled by the whole step's
    # target count, including the steps that leave rank 1 with no example to count.
    assert pair["losses"] == pytest.approx(alone["losses"], rel=1e-4)
    assert alone["losses"][-1] < alone["losses"][0]
    moved = 0
    for name, weight in alone["adapter"].items():
        other = pair["adapter"][name]
        # The all-reduce sums fp32 gradients in another order, and Adam's per-element scaling magnifies that
        # where a gradient is near zero: measured up to 3.5e-6, against updates of up to 8 x lr = 0.04.
        assert torch.allclose(weight, other, rtol=0, atol=2e-5), name
        if "lora_B" in name:
            moved += int(weight.abs().max() > 1e-4)  # B starts at zero: training moved it
    assert moved > 0


def _on_two(settings):
    return settings.model_copy(update={"service": settings.service.model_copy(update={"gpus": 2})})


@pytest.fixture
def tiny_settings(make_settings, tiny_model_dir, demo_db):
    return _on_two(make_settings(base_model={"name": str(tiny_model_dir)}, training=FAST))


def _queued(settings) -> tuple[Database, int]:
    db = Database(settings)
    db.ensure_schema()
    with db.connection() as conn:
        run_id = create_run(conn, "allan-maverick", "full", {"mode": "full"}, trigger="api")
    return db, run_id


def test_a_worker_with_gpus_2_trains_a_run_as_a_torchrun_job(tiny_settings):
    """What `doppel worker --gpus 2` does with a queued run: the launcher, two ranks, one version."""
    db, run_id = _queued(tiny_settings)
    asyncio.run(run_in_child(tiny_settings, db, run_id))
    run = get_run(db, run_id)
    assert run.state == "succeeded", (run.error, run.message)
    assert run.version == "v1.0" and run.metrics["steps"] == 4 and run.metrics["processes"] == 2
    assert run.progress.step == run.progress.total_steps == 4 and run.progress.val_loss is not None
    version = Registry(tiny_settings.resolved_models_dir).get("allan-maverick")
    assert version.name == "v1.0" and (version.path / "adapter" / "adapter_model.safetensors").is_file()
    assert not (tiny_settings.home / "runs" / "allan-maverick" / f"run-{run_id}" / "checkpoints").exists()


def test_a_distributed_run_that_fails_before_training_ends_every_rank(make_settings, demo_db, tmp_path):
    """Rank 0 fails at the base model; the other rank, waiting for its training, is released, not left hanging."""
    broken = _on_two(make_settings(base_model={"name": str(tmp_path / "nope")}, training=FAST))
    db, run_id = _queued(broken)
    asyncio.run(asyncio.wait_for(run_in_child(broken, db, run_id), timeout=240))
    run = get_run(db, run_id)
    assert run.state == "failed" and "nope" in (run.error or "")


def test_a_cancel_stops_every_rank_of_a_distributed_run(make_settings, tiny_model_dir, demo_db):
    """Rank 0 reads the cancel; the step's all-reduce carries it, so every rank stops at the same step."""
    settings = _on_two(
        make_settings(base_model={"name": str(tiny_model_dir)}, training={**FAST, "max_steps": 400, "epochs": 50})
    )
    # Only the training loop may stop it: the worker would end the process only after 600 s.
    settings = settings.model_copy(
        update={"service": settings.service.model_copy(update={"cancel_grace_seconds": 600.0})}
    )
    db, run_id = _queued(settings)

    async def train_then_cancel() -> None:
        task = asyncio.create_task(run_in_child(settings, db, run_id))
        while (get_run(db, run_id).progress.step or 0) < 2:
            assert not task.done(), get_run(db, run_id).error
            await asyncio.sleep(0.2)
        request_cancel(db, "allan-maverick", run_id)
        await asyncio.wait_for(task, timeout=120)

    asyncio.run(train_then_cancel())
    run = get_run(db, run_id)
    assert run.state == "cancelled" and run.version is None
    assert 2 <= run.progress.step < 400
    assert Registry(settings.resolved_models_dir).final("allan-maverick") is None


def test_a_worker_refuses_more_gpus_than_its_node_has(monkeypatch):
    from doppel.jobs.child import check_gpus

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    check_gpus(2)
    with pytest.raises(RuntimeError, match=r"service.gpus \(--gpus\) is 4 but this node has 2 CUDA"):
        check_gpus(4)


def test_doppel_train_under_torchrun_trains_one_version_on_two_processes(
    tmp_path, home, database_url, tiny_model_dir, demo_db
):
    """The several-nodes path (`torchrun ... -m doppel train`), here as one node of two gloo processes."""
    config = tmp_path / "doppel.toml"
    config.write_text(
        f'home = "{home}"\ndatabase_url = "{database_url}"\n\n[[twins]]\nname = "allan-maverick"\n'
        f'[twins.base_model]\nname = "{tiny_model_dir}"\n[twins.retrieval]\nenabled = false\n'
        "[twins.training]\nmax_steps = 3\nmax_length = 128\neval_batches = 1\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]
        + ["-m", "doppel", "train", "--full", "--config", str(config)],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    version = Registry(home / "models").final("allan-maverick")
    assert version is not None and version.name == "v1.0"
    metrics = json.loads((version.path / "metrics.json").read_text())
    assert metrics["processes"] == 2 and metrics["steps"] == 3
