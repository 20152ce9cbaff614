"""One rank of a run trained on several processes: ``python -m doppel.jobs.rank RUN_ID`` under torchrun.

Started by the worker's launcher (``jobs.child``) with the run's settings in
the environment. Rank 0 executes the run as a single process would, handing
the other ranks their training when it gets there; they train their share
and exit (``training.distributed``).
"""

from __future__ import annotations

import logging
import os
import sys

from doppel.config import Settings
from doppel.jobs.child import SETTINGS_ENV, die_with_parent
from doppel.training import distributed

log = logging.getLogger(__name__)


def main(argv: list[str]) -> int:
    die_with_parent()  # the torchrun agent: when it is killed, so are its ranks
    run_id = int(argv[0])
    world = distributed.init()
    rank = world.rank if world else 0
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s run-{run_id}/rank-{rank} %(levelname)s %(message)s")
    try:
        if world is None or world.is_main:
            from doppel.jobs.execute import execute_run

            settings = Settings.model_validate_json(os.environ[SETTINGS_ENV])
            try:
                execute_run(settings, run_id)
            finally:
                distributed.release()  # a run that ended before training must not leave the others waiting
        else:
            from doppel.training.follower import follow

            follow()
    except Exception:
        log.exception("run %s failed on rank %d", run_id, rank)
        return 1
    finally:
        distributed.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
