"""Precompute every bundle's reference-cohort gene attributions and pathway enrichment per drug
(``trained_models/explanations/<bundle>/``), so the dashboard's genes and pathways pages open at once.

Example: ``python -m training_scripts.explain_bundles --bundles colorectal_tdnn_finetuned``.
"""
from __future__ import annotations

import argparse
import time

from core.artifacts import list_bundles, load_bundle
from core.config import models_dir
from core.data.registry import load_cohort
from core.explain.precomputed import compute_reference_explanations, explanation_dir, save_reference_explanations


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundles", nargs="*", help="bundle names (default: every bundle in the models folder)")
    args = parser.parse_args(argv)
    folder = models_dir()
    manifests = list_bundles(folder)
    for name in args.bundles or list(manifests):
        if "cross_validation" not in manifests[name]:
            print(f"{name}: skipped (no cross-validated reference organoids to explain)")
            continue
        bundle = load_bundle(folder / name)
        expression = load_cohort(bundle.manifest["target_cohort"]).expression
        start = time.perf_counter()
        genes, pathways = compute_reference_explanations(bundle, expression)
        save_reference_explanations(bundle, folder / name, genes, pathways, explanation_dir(folder, name))
        paper = pathways[pathways["thresholds"] == "paper"]
        print(f"{name}: {genes['drug'].nunique()} drugs in {time.perf_counter() - start:.0f} s; "
              f"drugs with >= 1 pathway at the paper's thresholds: {paper['drug'].nunique()}, "
              f"at the relaxed ones: {pathways[pathways['thresholds'] == 'relaxed']['drug'].nunique()}", flush=True)


if __name__ == "__main__":
    main()
