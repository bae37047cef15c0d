"""The fit loop shared by pre-training, fine-tuning and training from scratch.

Adam on mean squared error of the min-max scaled response, early stopping with patience 5 on a random
10% validation split of the training pairs, best weights restored (Prasse et al.); optionally an ordering
loss on drug-grouped batches (:mod:`core.training.ordering`). Fitted models predict
through the batched loop of :mod:`core.inference.model`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import keras
import numpy as np

from core.inference.model import FitResult
from core.inference.pairs import PairBatches, PairTable
from core.inference.target import TARGETS
from core.training.compiled import compiled_twin
from core.training.ordering import LOSSES, DrugGroupedBatches


@dataclass(frozen=True)
class TrainingSettings:
    """Optimiser, stopping and target settings; the fine-tuning run reuses the pre-training ones."""

    learning_rate: float = 1e-3
    batch_size: int = 512
    max_epochs: int = 100
    patience: int = 5
    validation_fraction: float = 0.1
    seed: int = 0
    target: str = "minmax"  # or "drug_centred": see core.inference.target
    loss: str = "mse"  # or an ordering loss on drug-grouped batches: see core.training.ordering

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, not {self.target!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, not {self.loss!r}")

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass(frozen=True)
class EpochProgress:
    """One finished epoch of :func:`fit`, as handed to its ``progress`` callback."""

    epoch: int
    max_epochs: int
    loss: float
    val_loss: float
    seconds: float
    seconds_left_at_most: float


class _EpochProgressCallback(keras.callbacks.Callback):
    """Hands every epoch (loss, validation loss, time, upper bound on time left) to ``progress``."""

    def __init__(self, max_epochs: int, progress: Callable[[EpochProgress], None]) -> None:
        super().__init__()
        self.max_epochs, self.progress = max_epochs, progress

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        seconds = time.perf_counter() - self._start
        logs = logs or {}
        self.progress(
            EpochProgress(
                epoch + 1,
                self.max_epochs,
                float(logs.get("loss", np.nan)),
                float(logs.get("val_loss", np.nan)),
                seconds,
                seconds * (self.max_epochs - epoch - 1),
            )
        )


def print_progress(epoch: EpochProgress) -> None:
    """Console progress for the training scripts."""
    print(
        f"  epoch {epoch.epoch:3d}/{epoch.max_epochs}  loss {epoch.loss:.5f}  val {epoch.val_loss:.5f}  "
        f"{epoch.seconds:5.1f}s  (at most {epoch.seconds_left_at_most / 60:.1f} min left; early stopping may end sooner)",
        flush=True,
    )


def split_validation(n_pairs: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random train / validation rows (the paper's 10% split over pairs)."""
    order = np.random.default_rng(seed).permutation(n_pairs)
    n_validation = max(1, int(round(n_pairs * fraction)))
    return order[n_validation:], order[:n_validation]


def fit(
    model: keras.Model,
    table: PairTable,
    settings: TrainingSettings,
    progress: Callable[[EpochProgress], None] | None = print_progress,
) -> FitResult:
    """Train ``model`` on ``table`` with Adam until the validation loss stops improving (best weights kept).

    The training runs on the architecture's compiled twin (:mod:`core.training.compiled`), so the fold
    models of a cross-validation share one traced training step; ``model`` ends with the trained weights.
    """
    train_rows, validation_rows = split_validation(len(table), settings.validation_fraction, settings.seed)
    callbacks: list[keras.callbacks.Callback] = [
        keras.callbacks.EarlyStopping(patience=settings.patience, restore_best_weights=True),
    ]
    if progress is not None:
        callbacks.append(_EpochProgressCallback(settings.max_epochs, progress))
    batches = PairBatches if settings.loss == "mse" else DrugGroupedBatches
    start = time.perf_counter()
    with compiled_twin(model, settings.learning_rate, settings.loss) as twin:
        history = twin.fit(
            batches(table.subset(train_rows), settings.batch_size, shuffle=True, seed=settings.seed),
            validation_data=batches(table.subset(validation_rows), settings.batch_size),
            epochs=settings.max_epochs,
            callbacks=callbacks,
            verbose=0,
        )
    validation = history.history["val_loss"]
    return FitResult(
        epochs_run=len(validation),
        best_epoch=int(np.argmin(validation)) + 1,
        best_val_loss=float(np.min(validation)),
        history={k: [float(v) for v in values] for k, values in history.history.items()},
        seconds=time.perf_counter() - start,
    )
