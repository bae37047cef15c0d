"""How accuracy grows with the number of organoid pairs a model is trained on (Prasse et al., Fig. 2):
fine-tuned vs from-scratch models at 0 (zero-shot), 10, 50, 100, 500, 1,000 and all training pairs, in
the same 5-fold cell cold-start cross-validation as the bundles, each size a random subset of the fold's
training pairs. Writes ``trained_models/benchmark/finetune_sizes.csv`` (scores next to the naive
baselines of the same folds). Needs ``training_scripts.pretrain`` first.

Example: ``python -m training_scripts.finetune_size_sweep --models tdnn convnn``.
"""
from __future__ import annotations

import argparse
import time

import pandas as pd

from core.config import models_dir
from core.data.registry import PRETRAINING_DATASET, load_cohort
from core.evaluation.cohort_scores import cross_validated_scores
from core.training.crossval import cross_validate, sample_folds
from core.training.pretrained import load_pretrained
from core.training.protocols import finetune, train_from_scratch, zero_shot
from training_scripts.settings import MODELS, N_FOLDS, TARGET_COHORT, TARGET_TRAINING, pretrained_dir

SIZES = (0, 10, 50, 100, 500, 1000, None)  # None: every training pair of the fold


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", choices=MODELS, default=["tdnn"])
    parser.add_argument("--sizes", nargs="+", type=int, help="only these sizes (default: 0 10 50 100 500 1000 all); "
                        "rows already in the output file for other sizes are kept")
    args = parser.parse_args(argv)
    gdsc, cohort = load_cohort(PRETRAINING_DATASET), load_cohort(TARGET_COHORT)
    folds = sample_folds(sorted(set(cohort.usable_pairs()["sample"])), N_FOLDS, TARGET_TRAINING.seed)
    drugs = sorted(d for d, smiles in cohort.drug_smiles.items() if smiles)
    output = models_dir() / "benchmark" / "finetune_sizes.csv"
    rows = [pd.read_csv(output, dtype={"n_finetune": str})] if output.is_file() else []
    for model_name in args.models:
        pretrained, _ = load_pretrained(pretrained_dir(model_name))
        genes = pretrained.expression.genes
        for size in (args.sizes or SIZES):
            kinds = ["zeroshot"] if size == 0 else ["finetuned", "scratch"]
            for kind in kinds:
                start = time.perf_counter()

                def fit_fold(fold: int, train_pairs: pd.DataFrame, kind: str = kind, size: int | None = size):
                    if size and size < len(train_pairs):  # 0 (zero-shot) keeps every organoid for ComBat
                        train_pairs = train_pairs.sample(n=size, random_state=fold).reset_index(drop=True)
                    if kind == "zeroshot":
                        return zero_shot(pretrained, gdsc, cohort.expression.loc[train_pairs["sample"].unique()])
                    if kind == "finetuned":
                        return finetune(pretrained, gdsc, cohort, train_pairs, TARGET_TRAINING, progress=None)
                    return train_from_scratch(model_name, genes, gdsc, cohort, train_pairs, TARGET_TRAINING,
                                              progress=None)

                _, oof = cross_validate(cohort, folds, fit_fold, drugs)
                scores = cross_validated_scores(oof, f"{model_name}_{kind}")
                label = "all" if size is None else str(size)
                scores.insert(0, "n_finetune", [label if "naive" not in m else pd.NA for m in scores["model"]])
                scores.insert(0, "architecture", model_name)
                rows.append(scores)
                model_row = scores.iloc[0]
                print(f"{model_name} {kind:9s} n={label:>4s}: paper {model_row['paper_precision_oncology']:.3f}  "
                      f"within-drug {model_row['within_drug_pearson']:+.3f} (raw {model_row['within_drug_pearson_raw']:+.3f})  "
                      f"MSE {model_row['mse']:.4f}  [{time.perf_counter() - start:.0f} s]", flush=True)
                output.parent.mkdir(parents=True, exist_ok=True)
                table = pd.concat(rows, ignore_index=True).drop_duplicates(["architecture", "model", "n_finetune"], keep="last")
                table.to_csv(output, index=False, float_format="%.4f")


if __name__ == "__main__":
    main()
