"""The process a job trains in: started by the worker, so the API stays responsive and
every byte of (GPU) memory goes back to the system when it ends."""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys

from doppel.config import Settings

log = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
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
    _die_with_parent()
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


def start(settings: Settings, run_id: int) -> multiprocessing.Process:
    # spawn, not fork: the worker has threads and an event loop that must not be copied.
    ctx = multiprocessing.get_context("spawn")
    process = ctx.Process(
        target=_main, args=(settings.model_dump_json(), run_id, os.getpid()), name=f"doppel-run-{run_id}"
    )
    process.start()
    return process
