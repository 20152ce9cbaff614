"""A run's progress column: typed on the way in and out, the same JSON in the row."""

from doppel.runs import RunProgress

# As a training run left it in doppel.runs.progress (an incremental run: its selection counts ride along).
STORED = {
    "mode": "incremental",
    "stage": "train",
    "step": 12,
    "total_steps": 40,
    "epoch": 1,
    "epochs": 3,
    "train_loss": 2.31,
    "eta_seconds": 51.2,
    "examples": {"train": 77, "val": 21},
    "new": 5,
    "replay": 20,
    "loss_history": [[1, 3.58], [2, 3.09]],
}


def test_a_stored_progress_reads_typed_and_writes_back_unchanged():
    progress = RunProgress.model_validate(STORED)
    assert progress.step == 12 and progress.examples == {"train": 77, "val": 21}
    assert progress.stored() == STORED  # nothing added, nothing lost (extra fields kept)


def test_updates_set_fields_and_unset_ones_are_not_stored():
    progress = RunProgress(mode="evaluate")
    progress.update(stage="style", step=3, total_steps=32)
    assert progress.stored() == {"mode": "evaluate", "stage": "style", "step": 3, "total_steps": 32}
