"""Reference-cohort explanations computed at build time, so the dashboard shows them instantly.

For every drug of a bundle: the top genes of the reference cohort (integrated gradients, each organoid
explained by its out-of-fold member) and the pathways over-represented among them, for every gene-set
collection at two threshold sets: the paper's (adjusted p < 0.001, >= 10 genes) and a relaxed one
(adjusted p < 0.05, >= 3 genes), since a 655-gene panel rarely reaches the paper's bar.
Stored beside the bundles in ``trained_models/explanations/<bundle>/``; the bundle itself stays untouched.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd

from core.artifacts import ModelBundle
from core.data.datasets.common import file_sha256
from core.explain.dashboard_api import pathway_enrichment, reference_attributions
from core.explain.enrichment import COLLECTIONS, PAPER_MAX_ADJUSTED_P, PAPER_MIN_OVERLAP
from core.explain.gene_ranking import TOP_K

EXPLANATIONS = "explanations"
THRESHOLDS = {"paper": (PAPER_MAX_ADJUSTED_P, PAPER_MIN_OVERLAP), "relaxed": (0.05, 3)}


def explanation_dir(models_folder: Path, bundle_name: str) -> Path:
    return models_folder / EXPLANATIONS / bundle_name


def compute_reference_explanations(bundle: ModelBundle, expression: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(genes, pathways) long tables over every drug of ``bundle``."""
    gene_tables, pathway_tables = [], []
    for drug in bundle.drugs["drug"]:
        ranking = reference_attributions(bundle, expression, drug).head(TOP_K)
        gene_tables.append(ranking.assign(drug=drug, rank=range(1, len(ranking) + 1)))
        for collection in COLLECTIONS:
            for label, (max_p, min_overlap) in THRESHOLDS.items():
                found = pathway_enrichment(ranking, bundle, collection, TOP_K, max_p, min_overlap)
                pathway_tables.append(found.assign(drug=drug, collection=collection, thresholds=label))
    genes = pd.concat(gene_tables, ignore_index=True)
    pathways = pd.concat(pathway_tables, ignore_index=True)
    return genes, pathways


def save_reference_explanations(bundle: ModelBundle, bundle_folder: Path, genes: pd.DataFrame,
                                pathways: pd.DataFrame, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    genes.to_csv(folder / "reference_genes.csv.gz", index=False, float_format="%.6g")
    pathways.to_csv(folder / "reference_pathways.csv.gz", index=False, float_format="%.6g")
    (folder / "manifest.json").write_text(json.dumps({
        "bundle": bundle.name,
        "bundle_manifest_sha256": file_sha256(bundle_folder / "manifest.json"),
        "top_k": TOP_K,
        "thresholds": THRESHOLDS,
        "collections": list(COLLECTIONS),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }, indent=1))


def load_reference_explanations(models_folder: Path, bundle_name: str) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The precomputed (genes, pathways) of a bundle, or None if they were not built or are stale."""
    folder = explanation_dir(models_folder, bundle_name)
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        return None
    manifest = json.loads(manifest_path.read_text())
    if manifest["bundle_manifest_sha256"] != file_sha256(models_folder / bundle_name / "manifest.json"):
        return None  # the bundle was rebuilt since: recompute rather than show another model's genes
    return (pd.read_csv(folder / "reference_genes.csv.gz"), pd.read_csv(folder / "reference_pathways.csv.gz"))
