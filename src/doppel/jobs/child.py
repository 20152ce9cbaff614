"""The process a job trains in: started by the worker, so the API stays responsive and
every byte of (GPU) memory goes back to the system when it ends; ``run_in_child`` starts
it and watches it (cancel, exit code) from the worker."""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import time

from doppel.config import Settings
from doppel.db import Database
from doppel.runs import finish_run, get_run

log = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Linux: have the kernel kill this process when the worker that started it dies.

    A worker killed with SIGKILL cannot clean up; without this its training
    process would go on as an orphan while another worker resumes the job.
    """
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:  # not Linux: the heartbeat still tells the reaper
        return


def _main(settings_json: str, run_id: int, parent_pid: int) -> None:
    die_with_parent()
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        sys.exit(1)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s run-%(process)d %(levelname)s %(message)s")
    from doppel.jobs.execute import execute_run

    settings = Settings.model_validate_json(settings_json)
    try:
        execute_run(settings, run_id)
    except Exception:  # already recorded on the run's row; the exit code tells the worker
        log.exception("run %s failed", run_id)
        sys.exit(1)


# Where the launcher hands the run's settings to its ranks (the environment torchrun passes on; never argv,
# which any user of the machine can read).
SETTINGS_ENV = "DOPPEL_RUN_SETTINGS"


def _launch(settings_json: str, run_id: int, parent_pid: int, processes: int) -> None:
    """The run as a torchrun job of ``processes`` ranks on this node (``service.gpus`` > 1).

    torchrun's agent runs here, in a process that dies with the worker; it
    starts the ranks (``doppel.jobs.rank``), each of which dies with it, and
    fails the whole job when one rank fails.
    """
    die_with_parent()
    if os.getppid() != parent_pid:
        sys.exit(1)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s run-%(process)d %(levelname)s %(message)s")
    from torch.distributed.run import main as torchrun

    os.environ[SETTINGS_ENV] = settings_json
    try:
        torchrun(
            [
                "--standalone",
                f"--nproc-per-node={processes}",
                "--max-restarts=0",
                "-m",
                "doppel.jobs.rank",
                str(run_id),
            ]
        )
    except Exception:  # torchrun's ChildFailedError: the ranks' errors are in the log and on the run's row
        log.exception("run %s: the distributed job failed", run_id)
        sys.exit(1)


def check_gpus(wanted: int) -> None:
    """A worker asked for more GPUs than its node has fails at start, not at its first run."""
    if wanted <= 1:
        return
    import torch

    if not torch.cuda.is_available():
        log.warning("service.gpus = %d on a node without CUDA: runs train in %d CPU processes (gloo)", wanted, wanted)
    elif torch.cuda.device_count() < wanted:
        raise RuntimeError(
            f"service.gpus (--gpus) is {wanted} but this node has {torch.cuda.device_count()} CUDA device(s)"
        )


def start(settings: Settings, run_id: int) -> multiprocessing.Process:
    # spawn, not fork: the worker has threads and an event loop that must not be copied.
    ctx = multiprocessing.get_context("spawn")
    processes = settings.service.gpus
    if processes > 1:
        target, args = _launch, (settings.model_dump_json(), run_id, os.getpid(), processes)
    else:
        target, args = _main, (settings.model_dump_json(), run_id, os.getpid())
    process = ctx.Process(target=target, args=args, name=f"doppel-run-{run_id}")
    process.start()
    return process


async def run_in_child(settings: Settings, db: Database, run_id: int) -> None:
    """Train ``run_id`` in a child process and wait for it, killing it if a cancel is ignored."""
    run = get_run(db, run_id)
    if run is None or run.state not in ("queued", "running"):
        log.info("run %s is %s; skipping", run_id, run.state if run else "gone")
        return
    # The child gets the database's concrete URL: an embedded server is already up.
    concrete = {"database_url": db.crm.url, "state_database_url": db.url if db.crm is not db else ""}
    process = start(settings.model_copy(update=concrete), run_id)
    log.info("run %s (%s %s) training in process %s", run_id, run.mode, run.twin, process.pid)
    cancel_seen: float | None = None
    while process.is_alive():
        await asyncio.sleep(0.5)
        current = get_run(db, run_id)
        if current is not None and current.cancel_requested:
            cancel_seen = cancel_seen or time.monotonic()
            # The loop stops at its next step; a process stuck elsewhere is ended.
            grace = settings.service.cancel_grace_seconds
            if time.monotonic() - cancel_seen > grace:
                log.warning("run %s ignored its cancel for %ss; terminating", run_id, grace)
                process.terminate()
                await asyncio.sleep(2)
                if process.is_alive():
                    process.kill()
    process.join()
    final = get_run(db, run_id)
    if final is not None and final.state in ("queued", "running"):
        if final.cancel_requested:
            finish_run(db, run_id, "cancelled", message="cancelled; the training process was ended")
        else:
            finish_run(db, run_id, "failed", error=f"the training process exited with code {process.exitcode}")
