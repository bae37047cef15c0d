"""What the benchmark runs: one :class:`Task` per (dataset, split, model, fine-tuning size, fold).

Two profiles. ``full`` is the grid the committed results come from; ``quick`` is a subset that finishes in
under 30 minutes on a 2-core CPU (tDNN only, three fine-tuning sizes, no GDSC, a lighter pre-training in
drug cold-start). Fold counts: 5 for the colorectal organoids in cell cold-start (19 organoids: 10 folds
would leave 1-2 organoids per test fold), 10 in drug cold-start (81 drugs), 5 on GDSC (920 cell lines;
the budget, not the data, limits it there; GDSC is scored in cell cold-start only).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.models import SPECS
from core.study_design import CELL, DRUG, PRETRAINING_COHORT, TARGET_COHORT, model_key

ARCHITECTURES = tuple(SPECS)
FINETUNE_SIZES = ("10", "50", "100", "500", "1000", "all")  # "0" is the zero-shot model
CLASSICAL_PER_DRUG = ("elasticnet_per_drug", "rf_per_drug")  # need the drug seen in training: cell cold-start
CLASSICAL_DRUG_FEATURES = ("elasticnet_drug_features", "rf_drug_features")  # genes + descriptors: any split


@dataclass(frozen=True)
class Task:
    """One independent grid cell; ``model`` is ``<architecture>_<zeroshot|finetuned|scratch>`` or a
    classical baseline name; ``n_finetune`` is the number of training pairs ("all", or "0" for zero-shot)."""

    dataset: str
    split: str
    model: str
    n_finetune: str
    fold: int

    @property
    def key(self) -> str:
        return f"{self.dataset}__{self.split}__{self.model}__n{self.n_finetune}__f{self.fold}"

    @property
    def architecture(self) -> str | None:
        name = self.model.split("_")[0]
        return name if name in ARCHITECTURES else None

    @property
    def needs_fold_pretraining(self) -> bool:
        """Drug cold-start deep models start from a model pre-trained without the fold's test drugs."""
        return (
            self.split == DRUG
            and self.dataset != PRETRAINING_COHORT
            and self.model.endswith(("_zeroshot", "_finetuned"))
        )


@dataclass(frozen=True)
class Profile:
    """A grid: which folds, architectures and sizes, and the drug cold-start pre-training budget."""

    name: str
    folds: dict[tuple[str, str], int]
    cell_architectures: tuple[str, ...]
    cell_sizes: tuple[str, ...]
    drug_architectures: tuple[str, ...]
    drug_sizes: tuple[str, ...]
    drug_pretraining_pairs: int
    drug_pretraining_epochs: int
    gdsc_models: dict[str, tuple[str, ...]]  # split -> models on GDSC (trained on GDSC itself: "scratch")
    gdsc_max_pairs: int
    gdsc_epochs: int

    def tasks(self) -> list[Task]:
        tasks: list[Task] = []
        for (dataset, split), n_folds in self.folds.items():
            for model, size in self._models(dataset, split):
                tasks += [Task(dataset, split, model, size, fold) for fold in range(n_folds)]
        return tasks

    def _models(self, dataset: str, split: str) -> list[tuple[str, str]]:
        if dataset == PRETRAINING_COHORT:
            return [(model, "all") for model in self.gdsc_models.get(split, ())]
        architectures = self.cell_architectures if split == CELL else self.drug_architectures
        sizes = self.cell_sizes if split == CELL else self.drug_sizes
        models = [(model_key(architecture, "zeroshot"), "0") for architecture in architectures]
        models += [
            (model_key(architecture, training), size)
            for architecture in architectures
            for size in sizes
            for training in ("finetuned", "scratch")
        ]
        classical = (*CLASSICAL_PER_DRUG, *CLASSICAL_DRUG_FEATURES) if split == CELL else CLASSICAL_DRUG_FEATURES
        return models + [(name, "all") for name in classical]


FULL = Profile(
    name="full",
    folds={(TARGET_COHORT, CELL): 5, (TARGET_COHORT, DRUG): 10, (PRETRAINING_COHORT, CELL): 5},
    cell_architectures=ARCHITECTURES,
    cell_sizes=FINETUNE_SIZES,
    drug_architectures=("tdnn",),
    drug_sizes=("100", "500", "all"),
    drug_pretraining_pairs=50_000,
    drug_pretraining_epochs=3,
    # Left out for the session's CPU budget: the per-drug elastic net on GDSC (12.5 min per fold here,
    # 309 inner-CV fits) and GDSC drug cold-start.
    gdsc_models={CELL: ("tdnn_scratch", "rf_per_drug")},
    gdsc_max_pairs=100_000,
    gdsc_epochs=5,
)

QUICK = Profile(
    name="quick",
    folds={(TARGET_COHORT, CELL): 5, (TARGET_COHORT, DRUG): 5},
    cell_architectures=("tdnn",),
    cell_sizes=("100", "all"),
    drug_architectures=("tdnn",),
    drug_sizes=("all",),
    drug_pretraining_pairs=30_000,
    drug_pretraining_epochs=3,
    gdsc_models={},
    gdsc_max_pairs=0,
    gdsc_epochs=0,
)

PROFILES = {profile.name: profile for profile in (FULL, QUICK)}
