"""The paper's clinical check: do a cancer type's standard first-line drugs rank high for its organoids?

Prasse et al. report that for pancreatic organoids the standard drugs fall in the predicted top 5 in 68%
and the top 10 in 89% of cases. Here, per organoid, drugs are ranked by predicted z-score across the
cohort (what the dashboard shows, lower = more sensitive) and, for comparison, by the raw predicted
response (which favours drugs that are potent for everyone); the same is done with the observed
responses, and chance is k / number of drugs ranked.
"""

from __future__ import annotations

import pandas as pd

FIRST_LINE = {"colorectal": ("5-Fluorouracil", "Oxaliplatin", "Irinotecan", "SN-38")}
TOP_DRUG_CUTOFFS = (5, 10)  # k of "a first-line drug ranks in the top k", as the paper reports


def _ranks(table: pd.DataFrame, column: str, by_z: bool) -> pd.Series:
    """Rank of each drug within its sample (1 = most sensitive) by ``column`` or its per-drug z-score."""
    values = table[column]
    if by_z:
        grouped = table.groupby("drug")[column]
        values = (values - grouped.transform("mean")) / grouped.transform("std", ddof=0)
    return values.groupby(table["sample"]).rank(method="first")


def first_line_hits(table: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Share of (organoid, first-line drug) pairs ranked in the top k, predicted vs observed vs chance.

    ``table``: one model's held-out predictions (sample, drug, y_true, y_pred) for every organoid.
    """
    drugs = [d for d in FIRST_LINE[dataset] if d in set(table["drug"])]
    n_drugs = table.groupby("sample")["drug"].size()
    rows = []
    for ranking, by_z in (("z-score", True), ("raw response", False)):
        ranked = table.assign(predicted=_ranks(table, "y_pred", by_z), observed=_ranks(table, "y_true", by_z))
        standard = ranked[ranked["drug"].isin(drugs)]
        for k in TOP_DRUG_CUTOFFS:
            rows.append(
                {
                    "ranking": ranking,
                    "k": k,
                    "first_line_drugs": ", ".join(drugs),
                    "pairs": len(standard),
                    "predicted_share": float((standard["predicted"] <= k).mean()),
                    "observed_share": float((standard["observed"] <= k).mean()),
                    "chance_share": float((k / standard["sample"].map(n_drugs)).mean()),
                }
            )
    return pd.DataFrame(rows)
