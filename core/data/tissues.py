"""GDSC's cell lines by tissue (TCGA label): which lines share the target cohort's lineage.

The colorectal lines are the external test with power for the colorectal bundles (45 lines with expression, against
19 organoids), so the studies and the bundles' evidence pick them out the same way.
"""

from __future__ import annotations

import pandas as pd

from core.config import data_root

COLORECTAL_LABEL = "COREAD"  # TCGA's label of GDSC's colon and rectum lines
CELL_LINES_FILE = "invitro/gdsc_deepdr2023/cell_lines.csv"


def gdsc_tissue_labels() -> pd.Series:
    """cell_line_id -> TCGA label (NaN where GDSC gives none), one row per line."""
    lines = pd.read_csv(data_root() / CELL_LINES_FILE, dtype={"cell_line_id": str})
    return lines.drop_duplicates("cell_line_id").set_index("cell_line_id")["tcga_label"]


def lines_of_tissue(expression: pd.DataFrame, label: str) -> pd.DataFrame:
    """The rows of a GDSC expression matrix (lines x genes) whose TCGA label is ``label``."""
    labels = gdsc_tissue_labels().reindex(expression.index)
    return expression.loc[labels.index[labels == label]]
