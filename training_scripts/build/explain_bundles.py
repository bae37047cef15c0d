"""Precompute every bundle's reference-cohort explanations per drug and attribution view
(``trained_models/explanations/<bundle>/``), so the dashboard's genes and pathways pages open at once, and
print how drug-specific each view is (top-50 overlap and cosine between drugs; writes
``trained_models/benchmark/explanation_specificity.csv``).

Example: ``python -m training_scripts.build.explain_bundles --bundles colorectal_tdnn_finetuned``.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from core.config import models_dir
from core.data.registry import load_cohort
from core.explain.bundle_attributions import DEFAULT_VIEW
from core.explain.precomputed import (
    compute_reference_explanations,
    explanation_dir,
    load_reference_explanations,
    relative_importance,
    save_reference_explanations,
)
from core.explain.specificity import TOP_K_OVERLAP, top_k_overlap
from core.inference.bundle import list_bundles, load_bundle

SPECIFICITY_FILE = "explanation_specificity.csv"


def specificity_table(names: list[str]) -> pd.DataFrame:
    """Bundle x view specificity of every bundle whose explanations are current, plus the top-50 overlap of the
    default view's relative importance (the scores its ranked enrichment uses)."""
    rows = []
    for name in names:
        loaded = load_reference_explanations(models_dir(), name)
        if loaded is None:
            continue
        rows += [{"bundle": name, "view": view, **values} for view, values in loaded.specificity.items()]
        rows.append(
            {
                "bundle": name,
                "view": f"{DEFAULT_VIEW}, relative importance",
                f"top{TOP_K_OVERLAP}_overlap": top_k_overlap(relative_importance(loaded.importance).to_numpy()),
            }
        )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundles", nargs="*", help="bundle names (default: every bundle in the models folder)")
    args = parser.parse_args(argv)
    folder = models_dir()
    manifests = list_bundles(folder)
    for name in args.bundles or list(manifests):
        if manifests[name].cross_validation is None:
            print(f"{name}: skipped (no cross-validated reference organoids to explain)")
            continue
        bundle = load_bundle(folder / name)
        expression = load_cohort(bundle.manifest.target_cohort).expression
        start = time.perf_counter()
        explained = compute_reference_explanations(bundle, expression)
        save_reference_explanations(bundle, folder / name, explained, explanation_dir(folder, name))
        pathways, ranked = explained.pathways, explained.ranked
        print(
            f"{name}: {explained.genes['drug'].nunique()} drugs in {time.perf_counter() - start:.0f} s; drugs with "
            f">= 1 pathway (default view) at the paper's ORA thresholds: "
            f"{pathways[pathways['thresholds'] == 'paper']['drug'].nunique()}, at the relaxed ones: "
            f"{pathways[pathways['thresholds'] == 'relaxed']['drug'].nunique()}, ranked FDR < 0.25: "
            f"{ranked[ranked['fdr'] < 0.25]['drug'].nunique()}; specificity {explained.specificity}",
            flush=True,
        )
    table = specificity_table(list(manifests))
    table.to_csv(folder / "benchmark" / SPECIFICITY_FILE, index=False, float_format="%.4f")
    print(table.pivot(index="bundle", columns="view").round(3).to_string())


if __name__ == "__main__":
    main()
