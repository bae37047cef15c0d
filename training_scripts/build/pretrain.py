"""Pre-train one architecture on GDSC1 cell lines (Prasse et al.): the start of zero-shot and fine-tuning.

Example: ``python -m training_scripts.build.pretrain --model tdnn``. Prints progress per epoch; writes a
one-member bundle to the cache (``$PDO_CACHE_DIR/pretrained/<model>``) unless ``--out`` says otherwise.

``--hold-out-tissue COREAD`` leaves GDSC's lines of that TCGA lineage out of the pre-training and records it in
the settings, so every bundle built on it can be tested on those lines (:mod:`core.usecases.held_out_lines`).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from core.data.cohort import Cohort
from core.data.panels import load_panel
from core.data.registry import load_cohort
from core.data.tissues import lines_of_tissue
from core.models import SPECS
from core.study_design import PRETRAINING_COHORT
from core.training.pretrained import save_pretrained
from core.training.protocols import pretrain
from core.usecases.held_out_lines import HELD_OUT_TISSUES
from training_scripts.settings import MODELS, PRETRAINING, pretrained_dir


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=MODELS, required=True)
    parser.add_argument("--max-pairs", type=int, help="random subset of GDSC pairs (default: the model's budget)")
    parser.add_argument("--max-epochs", type=int, help="epoch cap; early stopping (patience 5) may end sooner")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="output folder (default: the cache)")
    parser.add_argument(
        "--hold-out-tissue", action="append", default=[], help="TCGA label of lines to leave out (repeatable)"
    )
    return parser.parse_args(argv)


def without_tissues(gdsc: Cohort, labels: list[str]) -> Cohort:
    """The cohort less its lines of the TCGA ``labels``: their expression and every response."""
    held_out = {line for label in labels for line in lines_of_tissue(gdsc.expression, label).index}
    responses = gdsc.responses[~gdsc.responses["sample"].isin(held_out)].reset_index(drop=True)
    return replace(gdsc, responses=responses, expression=gdsc.expression.drop(index=list(held_out)))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    budget = PRETRAINING[args.model]
    settings = replace(
        budget.settings,
        seed=args.seed,
        **{k: v for k, v in {"max_epochs": args.max_epochs, "batch_size": args.batch_size}.items() if v},
    )
    max_pairs = args.max_pairs if args.max_pairs is not None else budget.max_pairs
    gdsc = without_tissues(load_cohort(PRETRAINING_COHORT), args.hold_out_tissue)
    genes = load_panel(SPECS[args.model].panel)
    print(
        f"Pre-training {args.model} on {PRETRAINING_COHORT} ({max_pairs or 'all'} pairs, {len(genes)} genes), "
        f"{settings}",
        flush=True,
    )
    start = time.perf_counter()
    trained = pretrain(args.model, gdsc, genes, settings, max_pairs=max_pairs)
    seconds = time.perf_counter() - start
    out = args.out or pretrained_dir(args.model)
    extra = {
        "max_pairs": max_pairs,
        "panel": SPECS[args.model].panel,
        "total_seconds": round(seconds, 1),
        HELD_OUT_TISSUES: args.hold_out_tissue,
    }
    save_pretrained(trained, gdsc, settings, extra, out)
    result = trained.fit_result
    print(
        f"Done in {seconds / 60:.1f} min: {result.epochs_run} epochs, best validation MSE {result.best_val_loss:.5f} "
        f"at epoch {result.best_epoch}; {result.seconds / result.epochs_run:.1f} s per epoch. Saved to {out}"
    )


if __name__ == "__main__":
    main()
