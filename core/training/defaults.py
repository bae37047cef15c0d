"""Defaults shared by the build scripts, the benchmark and in-app training, so all train models alike."""

from __future__ import annotations

from core.training.fit import TrainingSettings

# Fine-tuning and training from scratch on a target cohort: the pre-training optimiser, smaller batches
# for a cohort of about 1,200 pairs.
TARGET_TRAINING = TrainingSettings(batch_size=32, max_epochs=100)
