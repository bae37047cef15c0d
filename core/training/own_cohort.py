"""Prasse et al.'s method on a lab's own screen: fine-tune the GDSC-pre-trained model on the uploaded
cohort and, for comparison, train the same architecture from scratch on it.

Both are built by :func:`core.training.bundles.build_bundle`, exactly like the committed bundles: a cell
cold-start cross-validation over the cohort's organoids (ComBat fitted on GDSC + each fold's training
organoids, early stopping on a 10% validation split), the fold models packaged as the bundle's members
and their out-of-fold predictions as its reference cohort (z-scores against this cohort) and its
benchmark (the same metric code as every other bundle, next to the naive baselines).

In-browser settings (``BROWSER_TRAINING``): batches of 64 and at most 30 epochs (patience 5, as in the
paper). Budget: a cohort of the pancreatic screen's size (44 organoids x 25 drugs) must fine-tune and train
from scratch, each 5-fold cross-validated, within 3 minutes on the 2-core CPU. Measured with
``training_scripts.timing.time_own_cohort`` (1,078 pairs, idle machine): tDNN 1.2 minutes, PaccMann 2.7 minutes
in all (see the README for where the time goes). The committed bundles' settings (batch 32, up to 100
epochs) took 2.5 minutes for tDNN under load, but only because early stopping ended every fold within 22
epochs: their cap allows 1,000 epochs over the 10 folds, the in-browser one 300, at about half the time per
epoch. The command line (``training_scripts.build.finetune_own_cohort``) defaults to the
committed bundles' settings.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import pandas as pd

from core.data.cohort import Cohort
from core.data.registry import load_cohort
from core.evaluation.evidence import CHANCE, NO_BETTER, Evidence
from core.evaluation.metrics import HEADLINE, METRICS
from core.inference.bundle import ModelBundle, bundles_to_zip_bytes
from core.inference.model import TrainedModel
from core.models.config import ModelConfig
from core.preprocessing.drug_features import descriptor_cache_read_only
from core.study_design import PRETRAINING_COHORT
from core.training.bundles import build_bundle
from core.training.fit import EpochProgress, TrainingSettings
from core.training.pretrained import pretrained_from_zeroshot_bundle

OWN_COHORT_TRAININGS = ("finetuned", "scratch")
DEFAULT_FOLDS = 5
BROWSER_TRAINING = TrainingSettings(batch_size=64, max_epochs=30)
# The headline (fold-centred) within-drug scores, as on the performance page, then the paper's score and the rest.
SCORES = (HEADLINE, "within_drug_fold_spearman", "paper_precision_oncology", "top5_overlap", "mse")
MODEL_LABELS = {
    "finetuned": "fine-tuned (pre-trained on GDSC)",
    "scratch": "from scratch",
    "naive_drug_mean": "naive: per-drug mean",
    "naive_sample_mean": "naive: per-organoid mean",
    "naive_additive": "naive: drug + organoid means",
}


@dataclass(frozen=True)
class TrainingStep:
    """Where a run stands: which model (0 = fine-tuned, 1 = from scratch), fold, and epoch (None at a fold's start)."""

    training: str
    fold: int
    n_folds: int
    epoch: int | None
    max_epochs: int
    val_loss: float | None

    @property
    def fraction(self) -> float:
        """Share of the work done, counting every fold as ``max_epochs`` (early stopping makes it jump ahead)."""
        folds_done = (
            OWN_COHORT_TRAININGS.index(self.training) * self.n_folds + self.fold + (self.epoch or 0) / self.max_epochs
        )
        return min(folds_done / (len(OWN_COHORT_TRAININGS) * self.n_folds), 1.0)

    def describe(self) -> str:
        model = "Fine-tuning" if self.training == "finetuned" else "Training from scratch"
        epoch = "starting" if self.epoch is None else f"epoch {self.epoch} (at most {self.max_epochs})"
        loss = "" if self.val_loss is None else f", validation loss {self.val_loss:.4f}"
        return f"{model}: fold {self.fold + 1} of {self.n_folds}, {epoch}{loss}"


Progress = Callable[[TrainingStep], None]


def n_folds_for(n_samples: int, requested: int = DEFAULT_FOLDS) -> int:
    """Folds of the cell cold-start split: as requested, but never more than there are organoids."""
    return max(2, min(requested, n_samples))


def train_own_cohort(
    cohort: Cohort,
    label: str,
    pretrained: TrainedModel,
    pretraining_manifest: dict,
    gdsc: Cohort,
    settings: TrainingSettings,
    n_folds: int = DEFAULT_FOLDS,
    progress: Progress | None = None,
    config: ModelConfig | None = None,
) -> dict[str, ModelBundle]:
    """The fine-tuned and from-scratch bundles of ``pretrained``'s architecture on ``cohort``, by training.

    ``config`` sets the from-scratch network's size (None: the architecture's default, which the
    committed pre-trained models use too). The manifests say the cohort was uploaded by a user and hold
    no uploaded data beyond what every bundle holds (drug structures, reference predictions, scores)
    and the SHA-256 of the uploaded files.
    """
    folds = n_folds_for(cohort.usable_pairs()["sample"].nunique(), n_folds)
    bundles = {}
    with descriptor_cache_read_only():  # the user's structures must not stay on the server's disk
        for training in OWN_COHORT_TRAININGS:
            start = time.perf_counter()
            bundle = build_bundle(
                training,
                pretrained.architecture,
                pretrained.expression.genes,
                gdsc,
                cohort,
                settings,
                folds,
                config=config,
                pretrained=pretrained if training == "finetuned" else None,
                pretraining_manifest=pretraining_manifest if training == "finetuned" else None,
                progress=None if progress is None else partial(_step, progress, training, folds, settings.max_epochs),
            )
            bundle.manifest = replace(
                bundle.manifest,
                build_seconds=round(time.perf_counter() - start, 1),
                cohort={
                    "label": label,
                    "source": "uploaded by a user (dashboard session or command line); the uploaded files are not part of "
                    "this bundle and are identified by their SHA-256 in data_files",
                    "provenance": cohort.provenance,
                },
            )
            bundles[training] = bundle
    return bundles


def train_own_cohort_to_zip(
    progress: Progress, cohort: Cohort, label: str, zeroshot_bundle: Path, settings: TrainingSettings, n_folds: int
) -> bytes:
    """:func:`train_own_cohort` from files a worker process can read itself (GDSC, the zero-shot bundle that
    carries the pre-trained network), returning both bundles as one zip archive built in memory: the
    picklable form in which :mod:`core.training.background` hands them back to the dashboard."""
    pretrained, manifest = pretrained_from_zeroshot_bundle(zeroshot_bundle)
    gdsc = load_cohort(PRETRAINING_COHORT)
    bundles = train_own_cohort(cohort, label, pretrained, manifest, gdsc, settings, n_folds, progress)
    return bundles_to_zip_bytes(list(bundles.values()))


def _step(
    progress: Progress, training: str, n_folds: int, max_epochs: int, fold: int, epoch: EpochProgress | None
) -> None:
    progress(
        TrainingStep(
            training,
            fold,
            n_folds,
            None if epoch is None else epoch.epoch,
            max_epochs,
            None if epoch is None else epoch.val_loss,
        )
    )


def comparison_table(bundles: dict[str, ModelBundle]) -> pd.DataFrame:
    """Cross-validated scores of the trained models and the naive baselines (scored on the same folds),
    one row per model, columns ``model`` and the registry labels of :data:`SCORES`."""
    rows = [
        bundles[training].benchmark.iloc[[0]].assign(model=training)
        for training in OWN_COHORT_TRAININGS
        if training in bundles
    ]
    first = next(iter(bundles.values())).benchmark
    naive = first[first["model"].str.startswith("naive")]
    table = pd.concat([*rows, naive], ignore_index=True)
    table["model"] = table["model"].map(MODEL_LABELS).fillna(table["model"])
    return table[["model", *[c for c in SCORES if c in table.columns]]].rename(
        columns={k: METRICS[k].label for k in SCORES}
    )


def beats_the_drug_average(verdicts: Iterable[Evidence]) -> bool:
    """True when at least one of a lab's models orders its organoids within a drug better than each drug's
    average does, beyond what shuffled organoids reach (a verdict that is not red, see
    :attr:`core.evaluation.evidence.Evidence.grade`): only then may the pages switch to them without asking."""
    return any(found.grade not in (NO_BETTER, CHANCE) for found in verdicts)
