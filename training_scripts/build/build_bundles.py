"""Rebuild every committed bundle in ``trained_models/`` from the data: pre-train each architecture on
GDSC1 (skipped where a pre-trained model with the same settings is cached, unless ``--repretrain``),
then the zero-shot, fine-tuned and from-scratch bundles of the colorectal organoids.

Example: ``python -m training_scripts.build.build_bundles`` (about an hour on 2 CPU cores).
"""

from __future__ import annotations

import argparse

from core.inference.bundle import unverified_manifest
from training_scripts.build import pretrain
from training_scripts.build.cohort_bundles import add_common_arguments, build_and_save
from training_scripts.settings import PRETRAINING, pretrained_dir


def has_current_pretraining(architecture: str) -> bool:
    """A cached pre-trained model exists and was trained with today's budget and settings."""
    folder = pretrained_dir(architecture)
    if not (folder / "manifest.json").is_file():
        return False
    settings = unverified_manifest(folder).settings or {}
    budget = PRETRAINING[architecture]
    return settings.get("max_pairs") == budget.max_pairs and settings.get("training") == budget.settings.to_dict()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser)
    parser.add_argument("--repretrain", action="store_true", help="pre-train again even if a model is cached")
    args = parser.parse_args(argv)
    for architecture in args.models:
        if args.repretrain or not has_current_pretraining(architecture):
            pretrain.main(["--model", architecture])
    build_and_save(["zeroshot", "finetuned", "scratch"], args)


if __name__ == "__main__":
    main()
