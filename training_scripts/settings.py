"""The settings the committed bundles are built with, in one place (the manifests record them too).

Pre-training budgets are each architecture's in ``core.models.SPECS``: every architecture pre-trains on
this 2-core CPU in well under an hour. Early stopping usually ends runs before the cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.config import REPO_ROOT, cache_dir
from core.models import SPECS
from core.training.defaults import TARGET_TRAINING  # noqa: F401  (re-exported for the scripts)
from core.training.fit import TrainingSettings

MODELS = tuple(SPECS)
N_FOLDS = 5
TRAINED_MODELS = REPO_ROOT / "trained_models"


@dataclass(frozen=True)
class PretrainingBudget:
    max_pairs: int | None
    settings: TrainingSettings


PRETRAINING: dict[str, PretrainingBudget] = {
    name: PretrainingBudget(
        spec.pretraining_pairs,
        TrainingSettings(batch_size=spec.pretraining_batch_size, max_epochs=spec.pretraining_epochs),
    )
    for name, spec in SPECS.items()
}


def pretrained_dir(architecture: str) -> Path:
    """Where pre-trained checkpoints live: the cache, since the zero-shot bundle carries the same weights."""
    return cache_dir() / "pretrained" / architecture
