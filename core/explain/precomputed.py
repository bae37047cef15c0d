"""Reference-cohort explanations computed at build time, so the dashboard shows them instantly.

For every drug of a bundle and every attribution view (:data:`core.explain.bundle_attributions.VIEWS`): the
top genes of the reference cohort (each organoid explained by its out-of-fold member). For the default view
also every gene's importance, the pathways over-represented among the top genes, for every gene-set
collection at two threshold sets: the paper's (adjusted p < 0.001, >= 10 genes) and a relaxed one (adjusted
p < 0.05, >= 3 genes), and the ranked enrichment (GSEA preranked) of :func:`relative_importance` in the
openly licensed collections ``RANKED_COLLECTIONS`` (the app computes other collections from the stored
importance on demand). How drug-specific each view is (top-50
overlap and cosine between drugs, :mod:`core.explain.specificity`) goes into the manifest.
Stored beside the bundles in ``trained_models/explanations/<bundle>/``; the bundle itself stays untouched.
"""

from __future__ import annotations

import datetime as dt
import json
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.datasets.common import file_sha256
from core.explain.bundle_attributions import (
    DEFAULT_VIEW,
    cohort_ranking,
    contrast_over_drugs,
    mean_importance,
    pathway_enrichment,
    reference_cohort_attributions,
)
from core.explain.enrichment import (
    COLLECTIONS,
    PAPER_MAX_ADJUSTED_P,
    PAPER_MIN_OVERLAP,
    PRERANK_PERMUTATIONS,
    ranked_enrichment,
)
from core.explain.gene_ranking import TOP_GENES_TESTED
from core.explain.specificity import TOP_K_OVERLAP, mean_cosine, top_k_overlap
from core.inference.bundle import ModelBundle

EXPLANATIONS = "explanations"
THRESHOLDS = {"paper": (PAPER_MAX_ADJUSTED_P, PAPER_MIN_OVERLAP), "relaxed": (0.05, 3)}
RANKED_COLLECTIONS = ("Hallmark", "Reactome")
RANKED_ROWS = 40  # pathways kept per drug and collection (smallest p first); the page shows 20
OTHER_VIEW_ROWS = 50  # genes kept per drug for the views that are not the default (the genes page shows <= 50)
FILES = {
    "genes": "reference_genes.csv.gz",
    "pathways": "reference_pathways.csv.gz",
    "ranked": "reference_ranked_pathways.csv.gz",
}
IMPORTANCE_FILE = "reference_importance.npz"


@dataclass
class ReferenceExplanations:
    """Over every drug of a bundle: ``genes`` (top genes per view and drug), ``pathways`` (ORA per drug,
    collection and threshold set), ``ranked`` (GSEA preranked of the relative importance, the strongest
    ``RANKED_ROWS`` per drug and collection), ``importance`` (drugs x genes) - all of the default view - and
    the specificity of every view."""

    genes: pd.DataFrame
    pathways: pd.DataFrame
    ranked: pd.DataFrame
    importance: pd.DataFrame
    specificity: dict[str, dict[str, float]]


def relative_importance(importance: pd.DataFrame) -> pd.DataFrame:
    """log2 of each drug's gene importance over the gene's mean importance across drugs (drugs x genes).

    A gene's importance scales with how much it varies between organoids, whatever the drug, so ranked
    enrichment of raw importance finds the same high-variance pathways for every drug; relative to the
    gene's own average it asks which pathways matter *more for this drug* than for the others.
    """
    floor = 1e-9 * float(importance.to_numpy().mean()) + np.finfo(float).tiny
    return np.log2((importance + floor) / (importance.mean(axis=0) + floor))


def view_attributions(bundle: ModelBundle, expression: pd.DataFrame) -> dict[str, np.ndarray]:
    """View -> (organoids, drugs, genes) reference-cohort attributions; the drug view is derived from the
    patient view (same expected gradients), so each costs one pass."""
    _, absolute = reference_cohort_attributions(bundle, expression, "absolute")
    _, patient = reference_cohort_attributions(bundle, expression, "patient")
    return {"drug": contrast_over_drugs(patient), "patient": patient, "absolute": absolute}


def specificity(attributions: np.ndarray) -> dict[str, float]:
    """Top-50 overlap (of the cohort rankings) and mean cosine (per organoid) between every pair of drugs."""
    importance = np.abs(attributions).mean(axis=0)
    return {f"top{TOP_K_OVERLAP}_overlap": top_k_overlap(importance), "cosine": mean_cosine(attributions)}


def _ranked(scores: pd.Series, collection: str) -> pd.DataFrame:
    return ranked_enrichment(scores, collection).head(RANKED_ROWS)


def compute_reference_explanations(bundle: ModelBundle, expression: pd.DataFrame) -> ReferenceExplanations:
    """Every view's gene rankings and specificity; the default view's ORA, ranked enrichment and importance."""
    drugs = list(bundle.drugs["drug"])
    gene_tables, measured = [], {}
    for view, attributions in view_attributions(bundle, expression).items():
        measured[view] = specificity(attributions)
        rows = TOP_GENES_TESTED if view == DEFAULT_VIEW else OTHER_VIEW_ROWS
        for index, drug in enumerate(drugs):
            top = cohort_ranking(attributions[:, index], bundle.genes).head(rows)
            gene_tables.append(top.assign(view=view, drug=drug, rank=range(1, len(top) + 1)))
        if view == DEFAULT_VIEW:
            importance = mean_importance(attributions, drugs, bundle.genes)
    genes = pd.concat(gene_tables, ignore_index=True)
    default = genes[genes["view"] == DEFAULT_VIEW]
    pathways = pd.concat(
        [
            pathway_enrichment(
                default[default["drug"] == drug], bundle, collection, TOP_GENES_TESTED, max_p, min_overlap
            ).assign(drug=drug, collection=collection, thresholds=label)
            for drug in drugs
            for collection in COLLECTIONS
            for label, (max_p, min_overlap) in THRESHOLDS.items()
        ],
        ignore_index=True,
    )
    relative = relative_importance(importance)
    ranked = pd.concat(
        [
            _ranked(relative.loc[drug], collection).assign(drug=drug, collection=collection)
            for drug in drugs
            for collection in RANKED_COLLECTIONS
        ],
        ignore_index=True,
    )
    return ReferenceExplanations(genes, pathways, ranked, importance, measured)


def explanation_dir(models_folder: Path, bundle_name: str) -> Path:
    return models_folder / EXPLANATIONS / bundle_name


def save_reference_explanations(
    bundle: ModelBundle, bundle_folder: Path, explained: ReferenceExplanations, folder: Path
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for key, file_name in FILES.items():
        getattr(explained, key).to_csv(folder / file_name, index=False, float_format="%.6g")
    importance = explained.importance
    np.savez_compressed(
        folder / IMPORTANCE_FILE,
        importance=importance.to_numpy(np.float32),
        drugs=np.array(importance.index, dtype=str),
        genes=np.array(importance.columns, dtype=str),
    )
    (folder / "manifest.json").write_text(
        json.dumps(
            {
                "bundle": bundle.name,
                "bundle_manifest_sha256": file_sha256(bundle_folder / "manifest.json"),
                "top_k": TOP_GENES_TESTED,
                "default_view": DEFAULT_VIEW,
                "thresholds": THRESHOLDS,
                "collections": list(COLLECTIONS),
                "ranked_collections": list(RANKED_COLLECTIONS),
                "ranked_permutations": PRERANK_PERMUTATIONS,
                "ranked_scores": "log2 importance relative to the gene's mean importance over drugs",
                "specificity": explained.specificity,
                "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            },
            indent=1,
        )
    )


def load_reference_explanations(models_folder: Path, bundle_name: str) -> ReferenceExplanations | None:
    """The precomputed explanations of a bundle, or None if they were not built, are stale (the bundle was
    rebuilt since), predate the attribution views or cannot be read: a damaged file then costs the time of
    computing them, as for a bundle built without them, never a page."""
    try:
        return _stored_explanations(models_folder, bundle_name)
    except (OSError, EOFError, ValueError, KeyError, TypeError, zipfile.BadZipFile, zlib.error):
        return None


def _stored_explanations(models_folder: Path, bundle_name: str) -> ReferenceExplanations | None:
    folder = explanation_dir(models_folder, bundle_name)
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        return None
    manifest = json.loads(manifest_path.read_text())
    if manifest["bundle_manifest_sha256"] != file_sha256(models_folder / bundle_name / "manifest.json"):
        return None  # recompute rather than show another model's genes
    if "specificity" not in manifest or not all(
        (folder / name).is_file() for name in [*FILES.values(), IMPORTANCE_FILE]
    ):
        return None
    tables = {key: pd.read_csv(folder / file_name) for key, file_name in FILES.items()}
    with np.load(folder / IMPORTANCE_FILE) as stored:
        importance = pd.DataFrame(stored["importance"], index=stored["drugs"], columns=stored["genes"])
    return ReferenceExplanations(**tables, importance=importance, specificity=manifest["specificity"])
