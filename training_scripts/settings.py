"""The settings the committed bundles are built with, in one place (the manifests record them too).

Pre-training budgets are chosen so every architecture pre-trains on this 2-core CPU in well under
an hour: tDNN and ConvNN on every usable GDSC1 pair, PaccMann (about 10 minutes per epoch over all
pairs on 2 cores) on a random 60,000-pair subset. Early stopping usually ends runs before the cap.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.config import REPO_ROOT, cache_dir
from core.training.defaults import PANEL_OF_MODEL, TARGET_TRAINING  # noqa: F401  (re-exported for the scripts)
from core.training.fit import TrainingSettings

MODELS = ("tdnn", "convnn", "paccmann")
TARGET_COHORT = "colorectal"
N_FOLDS = 5
TRAINED_MODELS = REPO_ROOT / "trained_models"


@dataclass(frozen=True)
class PretrainingBudget:
    max_pairs: int | None
    settings: TrainingSettings


PRETRAINING: dict[str, PretrainingBudget] = {
    "tdnn": PretrainingBudget(None, TrainingSettings(batch_size=512, max_epochs=20)),
    "convnn": PretrainingBudget(None, TrainingSettings(batch_size=512, max_epochs=10)),
    "paccmann": PretrainingBudget(60_000, TrainingSettings(batch_size=256, max_epochs=10)),
}


def pretrained_dir(model_name: str) -> Path:
    """Where pre-trained checkpoints live: the cache, since the zero-shot bundle carries the same weights."""
    return cache_dir() / "pretrained" / model_name
