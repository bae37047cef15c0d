"""Shared engine of the fine-tune, train-from-scratch and build-all scripts: cross-validate, package, save."""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from core.data.panels import load_panel
from core.data.registry import load_cohort
from core.inference.bundle import save_bundle
from core.models import SPECS
from core.study_design import PRETRAINING_COHORT, TARGET_COHORT, bundle_name
from core.training.bundles import build_bundle
from core.training.pretrained import load_pretrained
from training_scripts.settings import MODELS, N_FOLDS, TARGET_TRAINING, TRAINED_MODELS, pretrained_dir


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--cohort", default=TARGET_COHORT, help="target cohort (must have expression)")
    parser.add_argument("--folds", type=int, default=N_FOLDS, help="cross-validation folds over organoids")
    parser.add_argument("--out", type=Path, default=TRAINED_MODELS, help="folder that receives the bundles")
    parser.add_argument("--pretrained", type=Path, help="pre-trained model folder (default: the cache, per model)")


def build_and_save(trainings: list[str], args: argparse.Namespace) -> None:
    """Build the ``trainings`` bundles of every model in ``args.models`` for ``args.cohort`` and save them."""
    gdsc = load_cohort(PRETRAINING_COHORT)
    cohort = load_cohort(args.cohort)
    if not cohort.has_expression:
        raise SystemExit(f"Cohort {args.cohort} has no expression: {cohort.expression_note}")
    for architecture in args.models:
        pretrained, pretraining_manifest = None, None
        if any(training != "scratch" for training in trainings):
            folder = args.pretrained or pretrained_dir(architecture)
            if not (folder / "manifest.json").is_file():
                raise SystemExit(
                    f"No pre-trained {architecture} in {folder}: run "
                    f"`python -m training_scripts.build.pretrain --model {architecture}` first."
                )
            pretrained, pretraining_manifest = load_pretrained(folder)
        genes = pretrained.expression.genes if pretrained else load_panel(SPECS[architecture].panel)
        for training in trainings:
            start = time.perf_counter()
            bundle = build_bundle(
                training,
                architecture,
                genes,
                gdsc,
                cohort,
                TARGET_TRAINING,
                args.folds,
                pretrained=pretrained,
                pretraining_manifest=pretraining_manifest,
            )
            bundle.manifest = replace(bundle.manifest, build_seconds=round(time.perf_counter() - start, 1))
            save_bundle(
                bundle,
                args.out / bundle_name(cohort.name, architecture, training),
                shared_weights=training == "zeroshot",
            )
            scores = bundle.benchmark.set_index("model")
            print(
                f"{bundle.name}: built in {bundle.manifest.build_seconds / 60:.1f} min\n"
                f"{scores[['paper_precision_oncology', 'within_drug_pearson', 'within_drug_spearman', 'top5_overlap', 'mse']].round(3).to_string()}",
                flush=True,
            )
