"""Write ``REPORT.md`` of the within-drug studies (issue 12) from the files the study scripts wrote.

Example: ``python -m training_scripts.studies.within_drug_report`` after ``within_drug_study``,
``centred_targets_study`` and ``bundle_evidence``. A section whose file is missing says which command makes it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from core.benchmark.markdown import markdown_table
from core.config import models_dir
from core.evaluation.evidence import EVIDENCE_FILE

SECTIONS = [
    (
        "The shipped bundles (colorectal organoids, 5 cell cold-start folds)",
        "../" + EVIDENCE_FILE,
        "python -m training_scripts.build.bundle_evidence",
        "Fold-centred within-drug Pearson of each bundle's out-of-fold reference predictions; permutation p from 1,000 "
        "shuffles of the organoids within folds (one shuffle for all drugs); `null_sd`: the SD of the shuffled scores.",
    ),
    (
        "Per-drug ridge transferred from GDSC (colorectal organoids)",
        "summary.csv",
        "python -m training_scripts.studies.within_drug_study",
        "Mean and SD over three partitions of the organoids into 5 folds (fold seed 0 = the bundles' folds); "
        "permutation p of fold seed 0 (1,000 shuffles). `zeroshot`: the GDSC ridge as it is; `finetuned`: shrunk "
        "towards on the training organoids; `ridge_organoids_scratch`: organoids only; `ridge_selected_zeroshot`: the "
        "configuration chosen per outer fold on its training organoids (the honest choice among the grid: every other "
        "row is one configuration of a grid of 12, and its best is picked with hindsight).",
    ),
    (
        "tDNN: drug-centred targets against the paper's min-max targets, and ordering losses (colorectal organoids)",
        "deep_organoid_summary.csv",
        "python -m training_scripts.studies.centred_targets_study --steps organoids",
        "Mean and SD over training seeds 0-2 on the bundles' folds (zero-shot: one pre-training, so no spread); "
        "permutation p of seed 0. `mse+ordering` / `ordering`: fine-tuned and from scratch with the ordering loss "
        "added to the squared error or alone, on drug-grouped batches (the pre-training keeps the squared error).",
    ),
    (
        "External test: GDSC's 45 colorectal lines, held out of everything (ridge)",
        "external.csv",
        "python -m training_scripts.studies.within_drug_study",
        "The GDSC ridge fitted without the colorectal lines (zero-shot) and then shrunk towards on all organoids "
        "(fine-tuned), scored per drug across the 45 lines on the 74 drugs shared with the organoids.",
    ),
    (
        "External test: GDSC's colorectal lines (tDNN)",
        "deep_external.csv",
        "python -m training_scripts.studies.centred_targets_study --steps external",
        "tDNN pre-trained on GDSC without the colorectal lines (20 epochs), as it is and fine-tuned on every organoid.",
    ),
    (
        "GDSC cell cold-start (920 lines, the benchmark's 5 folds)",
        "deep_gdsc.csv",
        "python -m training_scripts.studies.centred_targets_study --steps gdsc",
        "`committed_*`: the committed benchmark's min-max tDNN and per-drug random forest on the same folds; "
        "`multitask_selected`: the variant with the lowest validation loss (training lines only) per fold; "
        "`multitask_ensemble`: the mean of the three variants (no selection).",
    ),
    (
        "Ordering loss: the multi-task network on GDSC cell cold-start",
        "deep_ordering_summary.csv",
        "python -m training_scripts.studies.centred_targets_study --steps ordering",
        "The same variant (two hidden layers, 512 and 256 units), seed and validation split, trained with the masked "
        "squared error (`mse`), one minus the per-drug Pearson over a batch's samples (`ordering`) or their sum; mean "
        "and SD over seeds 0-2; no permutation test (920 lines make the null's spread negligible).",
    ),
    (
        "The multi-task network carried to the organoids (colorectal organoids, the bundles' 5 folds)",
        "multitask_organoids_summary.csv",
        "python -m training_scripts.studies.centred_targets_study --steps transfer",
        "The network of the two sections above (512 and 256 units) trained on GDSC's lines (the 74 drugs shared with "
        "the organoids) with each loss and alignment, then applied as it is (`zeroshot`) or after 20 epochs at a "
        "learning rate of 1e-4 on the training organoids (`finetuned`); `multitask_selected_zeroshot`: the "
        "(loss, alignment) chosen per outer fold on its training organoids. Mean and SD over network seeds 0-2; "
        "permutation p of seed 0 (1,000 shuffles).",
    ),
    (
        "External test: GDSC's colorectal lines (multi-task network)",
        "multitask_external_summary.csv",
        "python -m training_scripts.studies.centred_targets_study --steps transfer",
        "The same networks trained without the colorectal lines, as they are and fine-tuned on every organoid; mean "
        "and SD over seeds 0-2, permutation p of seed 0.",
    ),
]
DROP = ["permutation_null_mean", "seed"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folder", type=Path, default=models_dir() / "benchmark" / "within_drug")
    args = parser.parse_args(argv)
    parts = [
        "# Within-drug ordering: what was tried and what it scored",
        "Every score is the fold-centred within-drug Pearson (observed and predicted responses centred per drug "
        "within each test fold, then correlated per drug across samples, averaged over drugs): any prediction "
        "that is constant within a fold, the naive baselines included, scores exactly 0. Generated by "
        "`python -m training_scripts.studies.within_drug_report`.",
    ]
    for title, file, command, note in SECTIONS:
        path = args.folder / file
        if not path.is_file():
            parts.append(f"## {title}\n\nNot computed yet: `{command}`.")
            continue
        table = pd.read_csv(path).drop(columns=[c for c in DROP if c in pd.read_csv(path, nrows=0).columns])
        table = table.drop(columns=[c for c in ("reference_sha256",) if c in table.columns])
        sort = next(c for c in ("fold_pearson_mean", "within_drug_fold_pearson", "within_drug") if c in table.columns)
        parts.append(
            f"## {title}\n\n{note} (`{command}`)\n\n"
            + markdown_table(table.sort_values(sort, ascending=False).reset_index(drop=True))
        )
    report = args.folder / "REPORT.md"
    report.write_text("\n\n".join(parts) + "\n")
    print(f"wrote {report}")


if __name__ == "__main__":
    main()
