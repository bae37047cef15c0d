"""Colorectal cancer organoids of van de Wetering et al. 2015: the one patient-derived cohort here
with both expression (GSE64392, log2 microarray) and drug responses (GDSC1 drug ids, Sanger screen)."""

from __future__ import annotations

import pandas as pd

from core.config import data_root
from core.data.cohort import Cohort
from core.data.datasets.common import file_sha256, harmonise_gene_columns, resolve_drug_structures

FOLDER = "patient/colorectal_organoids_vandewetering2015"
_METRIC_COLUMNS = {"auc": "auc_median", "ln_ic50": "ln_ic50_median"}


def load_colorectal(metric: str = "auc") -> Cohort:
    """Median over replicate screens per organoid x drug (``auc``: 0-1 viability AUC; ``ln_ic50``)."""
    if metric not in _METRIC_COLUMNS:
        raise ValueError(f"metric must be one of {sorted(_METRIC_COLUMNS)}")
    folder = data_root() / FOLDER
    table = pd.read_csv(folder / "response_median.csv.gz", dtype={"gdsc_drug_id": str})
    responses = table.rename(columns={"organoid": "sample", _METRIC_COLUMNS[metric]: "value"}).assign(metric=metric)
    responses = responses[["sample", "drug", "value", "metric", "gdsc_drug_id", "n_replicates", "max_conc_uM"]]
    # Structures are resolved under the names the response table uses: drugs.csv spells five of them
    # differently (e.g. "Irinotecan trihydrochloride" for the screen's "Irinotecan").
    screened = responses[["drug", "gdsc_drug_id"]].drop_duplicates("drug")
    smiles, _, gdsc_names, unmatched = resolve_drug_structures(screened)
    expression = pd.read_csv(folder / "expression_log2_microarray.csv.gz", index_col="organoid")
    files = ["response_median.csv.gz", "expression_log2_microarray.csv.gz"]
    return Cohort(
        name="colorectal",
        responses=responses,
        drug_smiles=smiles,
        metric=metric,
        lower_is_sensitive=True,
        provenance=(
            "van de Wetering et al., Cell 2015: 22 colorectal organoids with log2 microarray expression "
            "(GSE64392, collapsed to symbols by Kong et al. 2020), 19 x 83 drug screen (Table S2b, median "
            "over replicates). See patient/PROVENANCE.md."
        ),
        expression=harmonise_gene_columns(expression),
        unmatched_drugs=unmatched,
        drug_gdsc_names=gdsc_names,
        data_files={f"{FOLDER}/{f}": file_sha256(folder / f) for f in files},
    )
