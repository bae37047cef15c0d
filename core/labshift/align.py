"""One lab's cohort aligned gene-wise onto the reference organoids, before any model sees it.

Every gene is standardised within the uploaded cohort and given the reference organoids' mean and SD of that gene:
whatever a lab, its protocol or its platform adds to or multiplies a gene by is removed, and what is left is how each
organoid differs from its own cohort, told in the reference's units. This assumes the cohort is, on average, like the
reference cohort; ``training_scripts.studies.labshift_study`` measures what that costs with small cohorts and compares it with
ComBat and with no alignment.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.labshift.reference import ReferenceProfile

MIN_VALUES_PER_GENE = 2  # a gene's spread within the cohort needs two values


def align_to_reference(expression: pd.DataFrame, reference: ReferenceProfile) -> pd.DataFrame:
    """``expression`` (samples x genes, one lab's cohort) with each gene moved onto the reference's mean and SD.

    Genes the reference does not hold, and genes the cohort cannot place (fewer than two values, or no spread),
    become missing: the models then treat them as they treated them for the reference organoids (the reference
    average), rather than read a level no reference organoid was measured on.
    """
    mean, sd = reference.series()
    genes = expression.columns.intersection(mean.index)
    values = expression[genes].astype(np.float64)
    cohort_mean = values.mean(axis=0)
    cohort_sd = values.std(axis=0, ddof=1)
    placeable = (values.notna().sum(axis=0) >= MIN_VALUES_PER_GENE) & (cohort_sd > 0)
    aligned = (values - cohort_mean) / cohort_sd * sd[genes] + mean[genes]
    aligned.loc[:, ~placeable] = np.nan
    return aligned.reindex(columns=expression.columns).astype(np.float32)
