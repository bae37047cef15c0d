"""GDSC's cell lines by tissue (TCGA label): which lines share the target cohort's lineage.

The colorectal lines are the external test with power for the colorectal bundles (45 lines with expression, against
19 organoids), so the studies and the bundles' evidence pick them out the same way.
"""

from __future__ import annotations

import pandas as pd

from core.config import data_root

COLORECTAL_LABEL = "COREAD"  # TCGA's label of GDSC's colon and rectum lines
CELL_LINES_FILE = "invitro/gdsc_deepdr2023/cell_lines.csv"


def gdsc_cell_lines() -> pd.DataFrame:
    """One row per GDSC line (index cell_line_id): its GDSC1 tissue and TCGA label (NaN where GDSC gives none)."""
    lines = pd.read_csv(data_root() / CELL_LINES_FILE, dtype={"cell_line_id": str})
    return lines.drop_duplicates("cell_line_id").set_index("cell_line_id")[["tissue_gdsc1", "tcga_label"]]


def gdsc_tissue_labels() -> pd.Series:
    """cell_line_id -> TCGA label (NaN where GDSC gives none), one row per line."""
    return gdsc_cell_lines()["tcga_label"]


def lines_of_tissue(expression: pd.DataFrame, label: str) -> pd.DataFrame:
    """The rows of a GDSC expression matrix (lines x genes) whose TCGA label is ``label``."""
    labels = gdsc_tissue_labels().reindex(expression.index)
    return expression.loc[labels.index[labels == label]]
