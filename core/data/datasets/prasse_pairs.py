"""Cohorts rebuilt from the cross-validation outputs of Prasse et al. 2022 (``prasse2022_pairs``).

Pancreatic organoids, Beat AML, lung xenografts and CCLE share one file layout: response pairs with
the paper's two fold assignments and a per-cohort SMILES table. Their expression was never published
in a reachable form, so these cohorts serve responses and folds only (``expression`` is None).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core.config import data_root
from core.data.cohort import Cohort
from core.data.datasets.common import file_sha256, resolve_drug_structures

FOLD_COLUMNS = ["fold_precision_oncology", "fold_drug_development"]


@dataclass(frozen=True)
class PairsSpec:
    """Where one cohort's files are and what their columns mean."""

    name: str
    folder: str
    sample_column: str
    drug_column: str
    value_column: str
    metric: str
    smiles_name_column: str
    provenance: str
    expression_note: str


SPECS: dict[str, PairsSpec] = {
    spec.name: spec
    for spec in [
        PairsSpec(
            "pancreas",
            "patient/pancreas_tiriac2018",
            "organoid",
            "drug",
            "auc",
            "auc",
            "drug",
            "Tiriac et al., Cancer Discov 2018: 44 pancreatic organoids x 25 drugs (normalised AUC, 0-1).",
            "RNA-seq is in GDC ORGANOID-PANCREATIC (dbGaP phs001611) and was not reachable offline; "
            "the file-to-organoid map is in gdc_rnaseq_file_to_organoid.csv.",
        ),
        PairsSpec(
            "beat_aml",
            "patient/beat_aml_tyner2018",
            "lab_id",
            "inhibitor",
            "auc",
            "auc",
            "inhibitor",
            "Tyner et al., Nature 2018 (Beat AML): 213 patient samples x 109 inhibitors, ex-vivo AUC (0-300).",
            "Beat AML RNA-seq is behind Synapse login / Git-LFS pointers; not available offline.",
        ),
        PairsSpec(
            "lung_pdx",
            "patient/lung_xenografts",
            "pat_id",
            "drug",
            "tc_value",
            "tc_percent",
            "inhibitor",
            "NSCLC patient-derived xenografts (PREDICT, Berlin) as used by Prasse et al.: tumour volume "
            "T/C % (unit unconfirmed). The 120 rows repeat 57 patient x drug pairs once per expression sample.",
            "The xenograft expression blob is missing from the paper's repository.",
        ),
        PairsSpec(
            "ccle",
            "patient/ccle_invitro_reference",
            "ccle_cell_line",
            "drug",
            "ic50_uM",
            "ic50_uM",
            "inhibitor",
            "CCLE NP24 (Barretina et al. 2012) pairs of Prasse et al.: 472 cell lines x 24 drugs, IC50 in uM "
            "capped at 8.",
            "CCLE expression (RPKM) was not obtained.",
        ),
    ]
}


def load_prasse_pairs(name: str) -> Cohort:
    """The cohort ``name`` (one of :data:`SPECS`) with the paper's pairs and folds, no expression."""
    spec = SPECS[name]
    folder = data_root() / spec.folder
    pairs = pd.read_csv(folder / "prasse2022_pairs.csv.gz", dtype={spec.sample_column: str})
    responses = pairs.rename(
        columns={spec.sample_column: "sample", spec.drug_column: "drug", spec.value_column: "value"}
    ).assign(metric=spec.metric)[["sample", "drug", "value", "metric", "y_scaled", *FOLD_COLUMNS]]
    structures = pd.read_csv(folder / "drug_smiles.csv").rename(
        columns={spec.smiles_name_column: "drug", "canonical_smiles": "smiles"}
    )
    screened = pd.DataFrame({"drug": sorted(responses["drug"].unique())}).merge(
        structures[["drug", "smiles", "inchikey"]], on="drug", how="left"
    )
    smiles, _, gdsc_names, unmatched = resolve_drug_structures(screened)
    return Cohort(
        name=spec.name,
        responses=responses,
        drug_smiles=smiles,
        metric=spec.metric,
        lower_is_sensitive=True,
        provenance=spec.provenance + " Pairs and folds from Prasse et al. 2022; see patient/PROVENANCE.md.",
        expression=None,
        expression_note=spec.expression_note,
        unmatched_drugs=unmatched,
        drug_gdsc_names=gdsc_names,
        data_files={
            f"{spec.folder}/{f}": file_sha256(folder / f) for f in ["prasse2022_pairs.csv.gz", "drug_smiles.csv"]
        },
    )
