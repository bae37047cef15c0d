"""Fine-tune the GDSC-pre-trained model on your own organoid screen, and train the same architecture from
scratch for comparison: the dashboard's *Fine-tune on your cohort* page from the command line, for larger
cohorts and GPUs (TensorFlow uses a GPU when it finds one).

Both files go through the dashboard's checks (what is left out and why is printed); both bundles are
cross-validated over your organoids and written to ``--out`` as ``<name>_<architecture>_finetuned`` and
``..._scratch``, the committed bundles' format. Load them in the dashboard by zipping the folders (or point
``PDO_MODELS_DIR`` at a copy of ``trained_models`` holding them). Exit status 2 when the files are refused.

Example::

    python -m training_scripts.build.finetune_own_cohort expression.csv responses.csv --metric auc \\
        --architecture tdnn --name pancreas --out my_bundles
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from core.config import models_dir
from core.data.registry import load_cohort
from core.inference.bundle import BundleError, save_bundle
from core.models import SPECS
from core.study_design import PRETRAINING_COHORT
from core.training.defaults import TARGET_TRAINING
from core.training.fit import TrainingSettings
from core.training.own_cohort import DEFAULT_FOLDS, TrainingStep, comparison_table, train_own_cohort
from core.training.pretrained import pretrained_from_zeroshot_bundle
from core.upload import UploadError
from core.upload.cohort import validate_cohort_upload

EXIT_REFUSED = 2


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    folder = args.pretrained or models_dir() / f"colorectal_{args.architecture}_zeroshot"
    try:
        pretrained, pretraining_manifest = pretrained_from_zeroshot_bundle(folder)
    except (BundleError, ValueError) as error:
        print(f"Error: no pre-trained {args.architecture} model: {error}", file=sys.stderr)
        return EXIT_REFUSED
    try:
        uploaded = validate_cohort_upload(
            args.expression.read_bytes(),
            args.expression.name,
            args.responses.read_bytes(),
            args.responses.name,
            metric=args.metric,
            lower_is_sensitive=not args.higher_is_sensitive,
            panel=pretrained.expression.genes,
            name=args.name,
            label=args.label or args.name,
        )
    except OSError as error:
        print(f"Error: cannot read {error.filename}: {error.strerror}", file=sys.stderr)
        return EXIT_REFUSED
    except UploadError as error:
        print(f"Not usable: {error}", file=sys.stderr)
        return EXIT_REFUSED
    print(uploaded.check.to_text(), flush=True)

    settings = TrainingSettings(batch_size=args.batch_size, max_epochs=args.max_epochs, seed=args.seed)
    start = time.perf_counter()
    bundles = train_own_cohort(
        uploaded.cohort,
        args.label or args.name,
        pretrained,
        pretraining_manifest,
        load_cohort(PRETRAINING_COHORT),
        settings,
        args.folds,
        _print_step,
    )
    for bundle in bundles.values():
        save_bundle(bundle, args.out / bundle.name)
        print(f"wrote {args.out / bundle.name} ({bundle.manifest.build_seconds:.0f} s)")
    print(f"\ntrained in {(time.perf_counter() - start) / 60:.1f} min; cross-validated scores on the cohort:")
    print(comparison_table(bundles).round(3).to_string(index=False))
    return 0


def _print_step(step: TrainingStep) -> None:
    if step.epoch is None or step.epoch % 5 == 0:
        print(f"  {step.describe()}", flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training_scripts.build.finetune_own_cohort",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("expression", type=Path, help="expression table (CSV, TSV, TXT, XLSX; gzip allowed)")
    parser.add_argument("responses", type=Path, help="response table: sample, drug, value (optionally smiles)")
    parser.add_argument(
        "--metric", required=True, choices=["auc", "ln_ic50"], help="AUC (0-1) or ln IC50 (natural log, micromolar)"
    )
    parser.add_argument(
        "--higher-is-sensitive",
        action="store_true",
        help="higher values mean more sensitive (default: lower = more sensitive)",
    )
    parser.add_argument("--architecture", default="tdnn", choices=list(SPECS))
    parser.add_argument(
        "--pretrained",
        type=Path,
        help="zero-shot bundle carrying the pre-trained model (default: trained_models/"
        "colorectal_<architecture>_zeroshot)",
    )
    parser.add_argument("--name", default="own", help="bundle name prefix (default: own)")
    parser.add_argument("--label", help="cohort name shown in the dashboard (default: --name)")
    parser.add_argument("--folds", type=int, default=DEFAULT_FOLDS, help="cross-validation folds over organoids")
    parser.add_argument("--batch-size", type=int, default=TARGET_TRAINING.batch_size)
    parser.add_argument(
        "--max-epochs",
        type=int,
        default=TARGET_TRAINING.max_epochs,
        help="cap on epochs; early stopping (patience 5) usually ends sooner",
    )
    parser.add_argument("--seed", type=int, default=TARGET_TRAINING.seed)
    parser.add_argument("--out", type=Path, required=True, help="folder that receives the two bundle folders")
    return parser


if __name__ == "__main__":
    sys.exit(main())
