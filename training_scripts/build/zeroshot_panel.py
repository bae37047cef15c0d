"""Build a zero-shot bundle that ranks another cohort's drug panel for any uploaded profile (default:
the 25 drugs of the pancreatic organoid screen of Tiriac et al. 2018, with the colorectal organoids
as the z-score reference). Needs ``training_scripts.build.pretrain`` first.

Example: ``python -m training_scripts.build.zeroshot_panel --model tdnn --panel pancreas``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.data.registry import load_cohort
from core.inference.bundle import save_bundle
from core.study_design import PRETRAINING_COHORT, TARGET_COHORT
from core.training.panel_bundle import build_panel_bundle
from core.training.pretrained import load_pretrained
from training_scripts.settings import MODELS, TRAINED_MODELS, pretrained_dir


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=MODELS, default="tdnn")
    parser.add_argument("--panel", default="pancreas", help="cohort whose drugs are ranked")
    parser.add_argument("--reference", default=TARGET_COHORT, help="cohort with expression for z-scores")
    parser.add_argument("--out", type=Path, default=TRAINED_MODELS)
    args = parser.parse_args(argv)
    pretrained, manifest = load_pretrained(pretrained_dir(args.model))
    bundle = build_panel_bundle(
        pretrained, load_cohort(PRETRAINING_COHORT), load_cohort(args.panel), load_cohort(args.reference), manifest
    )
    save_bundle(bundle, args.out / bundle.name)
    print(
        f"{bundle.name}: {len(bundle.drugs)} drugs, reference {len(bundle.reference_predictions['sample'].unique())} "
        f"{args.reference} organoids; saved to {args.out / bundle.name}"
    )


if __name__ == "__main__":
    main()
