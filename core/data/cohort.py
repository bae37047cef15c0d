"""The one shape every dataset is served in."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

RESPONSE_COLUMNS = ["sample", "drug", "value", "metric"]


@dataclass
class Cohort:
    """Expression, drug responses and drug structures of one dataset.

    - ``expression``: samples x approved HGNC symbols, float32; ``None`` where the public data hold no
      expression for this cohort (``expression_note`` then says why).
    - ``responses``: long table with at least ``sample, drug, value, metric``; optional fold columns
      (``fold_precision_oncology``, ``fold_drug_development``) and ``gdsc_drug_id``.
    - ``drug_smiles``: drug name as used in ``responses`` -> RDKit canonical SMILES, or None when no
      usable structure exists (listed in ``unmatched_drugs``).
    - ``lower_is_sensitive``: direction of the response metric.
    - ``response_unit``: label of ``value`` where it is not the metric itself (an upload turned around to
      lower = more sensitive holds "1 - AUC" or "-ln IC50"); empty means the metric.
    """

    name: str
    responses: pd.DataFrame
    drug_smiles: dict[str, str | None]
    metric: str
    lower_is_sensitive: bool
    provenance: str
    expression: pd.DataFrame | None = None
    expression_note: str = ""
    unmatched_drugs: list[str] = field(default_factory=list)
    drug_gdsc_names: dict[str, str | None] = field(default_factory=dict)  # drug -> GDSC name (join key)
    data_files: dict[str, str] = field(default_factory=dict)  # file relative to the data root -> SHA-256
    response_unit: str = ""

    def __post_init__(self) -> None:
        missing = [c for c in RESPONSE_COLUMNS if c not in self.responses.columns]
        if missing:
            raise ValueError(f"{self.name}: response table lacks columns {missing}")
        if self.expression is not None and self.expression.index.has_duplicates:
            raise ValueError(f"{self.name}: duplicated sample names in the expression matrix")

    @property
    def has_expression(self) -> bool:
        return self.expression is not None

    def usable_pairs(self) -> pd.DataFrame:
        """Response rows a model can train on: the sample has expression and the drug a structure."""
        with_structure = [d for d, s in self.drug_smiles.items() if s is not None]
        rows = self.responses[self.responses["drug"].isin(with_structure)]
        if self.expression is None:
            return rows.iloc[0:0]
        return rows[rows["sample"].isin(list(self.expression.index))]
