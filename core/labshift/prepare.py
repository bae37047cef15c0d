"""The one rule that turns uploaded profiles into what the models read, used alike by the upload page, the fine-tune
page, the HTML report and ``pdo-rank``, so that a file ranks the same everywhere.

- Profiles from one lab, at least :data:`MIN_COHORT_SIZE` of them: aligned as one cohort onto the reference
  organoids (:func:`core.labshift.align.align_to_reference`).
- Fewer, or profiles from several labs: each is read on its own, as it is; a single profile cannot be aligned
  gene-wise, so the out-of-range check says whether it looks like the reference organoids.
- Every profile gets its out-of-range verdict (:func:`core.labshift.range_check.check_profile`).

The minimum cohort size comes from ``training_scripts.labshift_study`` (README, "Another lab's organoids").
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core.labshift.align import align_to_reference
from core.labshift.range_check import RangeVerdict, check_profile
from core.labshift.reference import ReferenceProfile

MIN_COHORT_SIZE = 8
ALIGNED, SEPARATE = "aligned as one cohort", "each profile on its own"


@dataclass(frozen=True)
class PreparedProfiles:
    """What the models read (``expression``: samples x genes, NaN = missing), how it was made, and each verdict."""

    expression: pd.DataFrame
    aligned: bool
    explanation: str
    verdicts: dict[str, RangeVerdict]

    @property
    def alignment(self) -> str:
        return ALIGNED if self.aligned else SEPARATE

    def out_of_range(self) -> list[str]:
        return [sample for sample, verdict in self.verdicts.items() if not verdict.in_range]


def aligns_as_cohort(n_samples: int, same_lab: bool | None) -> bool:
    """The rule: align when the profiles come from one lab (by default: when there are enough to align) and there
    are at least :data:`MIN_COHORT_SIZE` of them."""
    wanted = n_samples >= MIN_COHORT_SIZE if same_lab is None else same_lab
    return wanted and n_samples >= MIN_COHORT_SIZE


def prepare_profiles(
    expression: pd.DataFrame, reference: ReferenceProfile, same_lab: bool | None = None
) -> PreparedProfiles:
    """Apply the rule to ``expression`` (validated log2 profiles, samples x genes) and check every profile.

    ``same_lab``: True when the person says the profiles come from one lab and batch, False when they do not,
    None when unknown (then a file of at least :data:`MIN_COHORT_SIZE` profiles counts as one lab's cohort).
    """
    n = len(expression)
    aligned = aligns_as_cohort(n, same_lab)
    model_input = align_to_reference(expression, reference) if aligned else expression
    verdicts = {
        str(sample): check_profile(str(sample), model_input.loc[sample], expression.loc[sample], reference, aligned)
        for sample in expression.index
    }
    return PreparedProfiles(model_input, aligned, _explanation(n, same_lab, aligned, reference), verdicts)


def _explanation(n: int, same_lab: bool | None, aligned: bool, reference: ReferenceProfile) -> str:
    onto = f"the {reference.n_samples} reference organoids"
    if aligned:
        return (
            f"The {n} profiles were aligned as one lab's cohort: every gene was standardised within them and given "
            f"its mean and spread among {onto}, which removes what your lab, protocol and platform add to each gene."
        )
    if same_lab and n < MIN_COHORT_SIZE:
        return (
            f"{n} profile{'s are' if n > 1 else ' is'} too few to align as a cohort (at least {MIN_COHORT_SIZE} from "
            f"one lab are needed to estimate each gene's mean and spread): each is read as it is, against {onto}."
        )
    if same_lab is False:
        return f"Each profile is read on its own, as it is, against {onto} (not aligned as a cohort)."
    return f"Each profile is read on its own, as it is, against {onto}."
